#!/usr/bin/perl
# pingd, the UDP pinger server of seed 004, with a bound UDP socket on fd 0
# (the forkd/inetd "wait" dgram contract) and standalone with -p: replies
# in upper case to the sender over IPv4 and IPv6, never longer than the
# request; -l 0 answers all, -l 100 none, -l 30 a plausible share; the
# exit after -x seconds idle; pinger -u against it when build/pinger exists.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(build tmpdir need_root syslog_start wait_log free_udp_port
    slurp dgram_exec udp_bound udp_client recv_dgram wait_exit);
use IO::Select;
use IO::Socket::IP;
use POSIX qw(:sys_wait_h);
use Test::More;
use Time::HiRes qw(time sleep);

my $pingd = build('pingd');
plan skip_all => 'build/pingd not built (make build/pingd)' unless -x $pingd;
need_root();

my $dir = tmpdir();
my $sl = syslog_start($dir);
# pingd with $u (a bound UDP socket) as fd 0 and 1, as forkd runs a "wait"
# dgram handler; its syslog goes to the capture. Returns the pid.
sub start_pingd {
	my ($u, @args) = @_;
	return dgram_exec(sock => $u, sl => $sl, stderr => "$dir/pingd.err",
	    cmd => [$pingd, @args]);
}

sub ping_msg { sprintf('Ping %d %.6f', $_[0], time) }

# --- -l 0: every request answered, in upper case, to its sender ---
my $u = udp_bound();
my $port = $u->sockport;
my $pid = start_pingd($u, '-l', '0', '-x', '2');
close($u);
my $c = udp_client($port);
my $ok = 0;
my $exact = 1;
for my $seq (1 .. 10) {
	my $m = ping_msg($seq);
	$c->send($m);
	my $r = recv_dgram($c, 2);
	$ok++ if defined $r;
	$exact = 0 unless defined $r && $r eq uc($m) && $r =~ /^PING $seq /;
}
is($ok, 10, '-l 0: 10 of 10 pings answered');
ok($exact, '-l 0: each reply is the request in upper case ("PING N TIME")');

my $other = udp_client($port);
$other->send('from the other client');
$c->send('from the first client');
is(recv_dgram($other), 'FROM THE OTHER CLIENT', 'reply goes to its own sender (b)');
is(recv_dgram($c), 'FROM THE FIRST CLIENT', 'reply goes to its own sender (a)');

# Only ASCII a-z change (Python's bytes.upper() of the seed's server).
my $bin = join('', map { chr } 0 .. 255);
(my $want = $bin) =~ tr/a-z/A-Z/;
$c->send($bin);
my $r = recv_dgram($c) // '';
ok($r eq $want, 'binary request: only a-z upper-cased, other bytes as sent');

my $big = 'x' x 60000;
$c->send($big);
$r = recv_dgram($c) // '';
is(length($r), 60000, '60000-byte request: reply of the same size, not cut');

# No amplification: a reply is never longer than its request.
my $longer = 0;
for my $m ('', 'a', "ping\n", 'Ping 1 2', 'z' x 1500) {
	$c->send($m);
	my $x = recv_dgram($c, 2);
	$longer++ if !defined $x || length($x) > length($m);
}
is($longer, 0, 'replies to 0..1500-byte requests never longer than the request');

ok(wait_log($sl, qr/pingd\[$pid\]: pinger on udp 127\.0\.0\.1:$port, loss 0%, idle exit 2 s/),
    'start line in syslog names the socket, loss and idle time');

# --- idle exit after -x ---
my $t0 = time;
my $st = wait_exit($pid, 6);
my $took = time - $t0;
is($st, 0, '-x 2: exits 0 when idle');
ok($took > 1.5 && $took < 4, sprintf('-x 2: exit came after %.1f s of silence', $took));
ok(wait_log($sl, qr/pingd\[$pid\]: idle for 2 s: exiting after 19 requests, 19 answered, 0 dropped/),
    'exit line in syslog counts the requests');

# --- IPv6 ---
SKIP: {
	my $u6 = udp_bound('::1');
	skip('no IPv6 loopback here', 1) unless $u6;
	my $p6 = $u6->sockport;
	my $pid6 = start_pingd($u6, '-x', '1');
	close($u6);
	my $c6 = udp_client($p6, '::1');
	$c6->send('Ping 1 over ipv6');
	is(recv_dgram($c6), 'PING 1 OVER IPV6', 'IPv6: reply from [::1]');
	wait_exit($pid6, 5);
}

# --- -l 100: nothing answered ---
$u = udp_bound();
$port = $u->sockport;
$pid = start_pingd($u, '-l', '100', '-x', '1');
close($u);
$c = udp_client($port);
$c->send(ping_msg($_)) for 1 .. 10;
$ok = 0;
$ok++ while defined recv_dgram($c, 0.5);
is($ok, 0, '-l 100: 0 of 10 pings answered');
is(wait_exit($pid, 5), 0, '-l 100: exits 0 when idle');
ok(wait_log($sl, qr/pingd\[$pid\]: idle for 1 s: exiting after 10 requests, 0 answered, 10 dropped/),
    '-l 100: the drops are counted in the exit line');

# --- -l 30: the seed's server; loss is binomial(200, 0.3) ---
$u = udp_bound();
$port = $u->sockport;
$pid = start_pingd($u, '-l', '30', '-x', '1');
close($u);
$c = udp_client($port);
my %seen;
for my $seq (1 .. 200) {
	$c->send(ping_msg($seq));
	# Read what is already back, so no socket buffer ever fills.
	while (defined(my $x = recv_dgram($c, 0))) {
		$seen{$1}++ if $x =~ /^PING (\d+) /;
	}
}
while (defined(my $x = recv_dgram($c, 0.5))) {
	$seen{$1}++ if $x =~ /^PING (\d+) /;
}
my $got = keys %seen;
my $loss = 100 * (200 - $got) / 200;
# mean 30 %, sd 3.2 %: 15..45 % is more than 4 sd either way.
ok($loss >= 15 && $loss <= 45, "-l 30: $loss% of 200 pings lost (accepted 15..45%)");
is((grep { $_ > 1 } values %seen), 0, '-l 30: no request answered twice');
wait_exit($pid, 5);

# --- standalone: -p binds its own socket ---
my $sp = free_udp_port();
$pid = start_pingd(undef, '-p', $sp, '-b', '127.0.0.1', '-x', '1');
ok(wait_log($sl, qr/pingd\[$pid\]: pinger on udp 127\.0\.0\.1:$sp/),
    'standalone: -p/-b bind 127.0.0.1 itself');
$c = udp_client($sp);
$c->send('standalone');
is(recv_dgram($c), 'STANDALONE', 'standalone: answers');
is(wait_exit($pid, 5), 0, 'standalone with -x 1: exits when idle');

# --- refusals ---
is(system("$pingd -l 101 2>/dev/null") >> 8, 100, '-l 101: usage error, exit 100');
is(system("$pingd -z 2>/dev/null") >> 8, 100, 'unknown option: exit 100');
my $rc = system("echo hi | $pingd 2>/dev/null") >> 8;
is($rc, 100, 'fd 0 a pipe, no -p: refused with exit 100');

# --- pinger -u from issue 6, when it is built ---
SKIP: {
	my $pinger = build('pinger');
	skip('build/pinger not built', 6) unless -x $pinger;
	$u = udp_bound();
	$port = $u->sockport;
	$pid = start_pingd($u, '-l', '0', '-x', '1');
	close($u);
	my $out = `$pinger -u $port -c 10 -W 1 -i 0.05 127.0.0.1 2>&1`;
	my $st = $? >> 8;
	is($st, 0, 'pinger -u against pingd -l 0: exit 0');
	like($out, qr/^10 packets transmitted, 10 received, 0% packet loss/m,
	    'pinger -u: 10 transmitted, 10 received') or diag($out);
	like($out, qr/PING 10 \d+\.\d+/, 'pinger -u prints the upper-case reply');
	wait_exit($pid, 5);

	$u = udp_bound();
	$port = $u->sockport;
	$pid = start_pingd($u, '-l', '100', '-x', '1');
	close($u);
	$out = `$pinger -u $port -c 3 -W 0.3 -i 0.05 127.0.0.1 2>&1`;
	$st = $? >> 8;
	is($st, 1, 'pinger -u against pingd -l 100: exit 1');
	like($out, qr/^3 packets transmitted, 0 received, 100% packet loss/m,
	    'pinger -u: 0 received') or diag($out);
	like($out, qr/Request timed out/, 'pinger -u: "Request timed out"');
	wait_exit($pid, 5);
}

kill('TERM', $sl->{pid});
waitpid($sl->{pid}, 0);
diag(slurp("$dir/pingd.err") // '') if !Test::More->builder->is_passing;
done_testing();
