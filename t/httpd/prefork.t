#!/usr/bin/perl
# httpd under forkd with prefork.2 as user nobody (the sample config's
# shape): 200 concurrent keep-alive clients are all answered, twice on
# their own connections, by two workers; slow clients get 408 without
# holding a worker. Without build/forkd, two httpd processes share a
# listening socket made here instead (the same contract).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(build tmpdir free_port syslog_start syslog_wrap wait_log
    need_root wait_port connect_tcp slurp spit forkd_start forkd_stop);
use HTTP::Tiny;
use IO::Select;
use IO::Socket::IP;
use Test::More;
use Time::HiRes qw(time sleep);

need_root();
plan skip_all => 'build/httpd is not built' unless -x build('httpd');

my $dir = tmpdir();
chmod 0755, $dir;	# the workers run as nobody
my $root = "$dir/www";
system('cp', '-R', "$FindBin::Bin/../../etc/www", $root) == 0 or die "cp";
system('chmod', '-R', 'a+rX', $root);
my $index = slurp("$root/index.html");
my $port = free_port();
my ($f, $sl, @pids);
my $httpd = build('httpd');
if (-x build('forkd')) {
	$f = forkd_start(dir => $dir, conf =>
	    "127.0.0.1:$port stream tcp prefork.2 nobody $httpd httpd -r $root -t 1 -k 30\n",
	    wait_ports => [ $port ]);
	$sl = $f->{sl};
	note('through build/forkd');
} else {
	$sl = syslog_start($dir);
	my $l = IO::Socket::IP->new(LocalAddr => '127.0.0.1', LocalPort => $port,
	    Listen => 128, ReuseAddr => 1, Proto => 'tcp') or die "listen: $!";
	for (1 .. 2) {
		my $pid = fork() // die;
		if ($pid == 0) {
			POSIX::dup2(fileno($l), 0) or POSIX::_exit(127);
			open(STDOUT, '>', '/dev/null');
			exec(syslog_wrap($sl), $httpd, '-r', $root, '-t', '1', '-k', '30')
			    or POSIX::_exit(127);
		}
		push @pids, $pid;
	}
	close($l);
	note('two httpd processes on one listener (no build/forkd)');
}
ok(wait_port($port, 5), 'httpd answers on its port');

# Read one whole response (head + Content-Length body) from each socket
# in @s, all at once. Returns the number of complete 200 responses.
sub read_all {
	my ($socks, $timeout) = @_;
	my %buf = map { (fileno($_), '') } @$socks;
	my %done;
	my $sel = IO::Select->new(@$socks);
	my $end = time + $timeout;
	while ($sel->count && time < $end) {
		for my $s ($sel->can_read(0.5)) {
			my $n = sysread($s, my $b, 65536);
			my $fd = fileno($s);
			if (!$n) { $sel->remove($s); next }
			$buf{$fd} .= $b;
			if ($buf{$fd} =~ /\A(HTTP\/1\.1 200 OK\r\n.*?Content-Length: (\d+)\r\n.*?\r\n\r\n)/s &&
			    length($buf{$fd}) >= length($1) + $2) {
				$done{$fd} = 1 if substr($buf{$fd}, length($1)) eq $index;
				$sel->remove($s);
			}
		}
	}
	return scalar(keys %done);
}

my $N = 200;
my @s;
for (1 .. $N) {
	my $s = connect_tcp($port) or last;
	push @s, $s;
}
is(scalar(@s), $N, "$N clients connected");
print $_ "GET / HTTP/1.1\r\nHost: a\r\n\r\n" for @s;
is(read_all(\@s, 20), $N, "all $N keep-alive clients got index.html");
# They all stay connected and idle; each asks once more on its own
# connection: idle keep-alive connections starve nobody.
my $fresh = connect_tcp($port);
print $fresh "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
is(read_all([ $fresh ], 5), 1, 'a new client is answered while 200 idle ones hold their connections');
print $_ "GET / HTTP/1.1\r\nHost: a\r\n\r\n" for @s;
is(read_all(\@s, 20), $N, "all $N answered again on their kept connections");

# What one request costs on this machine now, the baseline of the limit
# below (a loaded machine stretches both).
my $b0 = time;
my $base = connect_tcp($port);
print $base "GET / HTTP/1.1\r\nHost: a\r\n\r\n" if $base;
read_all([ $base ], 5) if $base;
my $baseline = time - $b0;

# Slowloris: 20 clients that never finish their heads.
my @slow;
for (1 .. 20) {
	my $s = connect_tcp($port) or last;
	print $s "GET / HTTP/1.1\r\nHost: a\r\nX-Slow: ";
	push @slow, $s;
}
my $t0 = time;
my $quick = connect_tcp($port);
print $quick "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
is(read_all([ $quick ], 5), 1, 'with 20 slow clients, a normal client is served');
# Their timeout is -t 1: served well before it, allowing for the machine.
my $quick_dt = time - $t0;
ok($quick_dt < 0.9 + 3 * $baseline, sprintf('... at once, not after their '
    . 'timeout (%.2f s; one request alone: %.2f s)', $quick_dt, $baseline));
my $got408 = 0;
for my $s (@slow) {
	my $all = '';
	$s->blocking(1);
	while (sysread($s, my $b, 4096)) { $all .= $b }
	$got408++ if $all =~ /^HTTP\/1\.1 408 Request Timeout\r\n/;
}
is($got408, 20, 'every slow client got 408 after -t 1 and was closed');
close($_) for @s;
$quick = connect_tcp($port);
print $quick "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
is(read_all([ $quick ], 5), 1, 'afterwards the workers serve as before');
my $ht = HTTP::Tiny->new(timeout => 5);
my $r = $ht->post_form("http://127.0.0.1:$port/cgi-bin/form.pl",
    { yourname => 'nobody', comment => 'prefork' });
is($r->{content}, "<p>Your name:  nobody <br>\n<p>You comment:  prefork\n",
    'the seed\'s form through CGI in a worker running as nobody');
ok(wait_log($sl, qr{httpd\[\d+\]: 127\.0\.0\.1 - - \[[^]]+\] "GET / HTTP/1\.1" 200 \d+ }),
    'access log lines arrive through the syslog capture');
ok(!grep({ /\bsandbox: (?!entered)|SIGSYS|signal 31/ } Forkd::log_lines($sl)), 'no sandbox violation logged');

if ($f) {
	forkd_stop($f);
} else {
	kill('TERM', @pids);
	waitpid($_, 0) for @pids;
	kill('TERM', $sl->{pid});
	waitpid($sl->{pid}, 0);
}
done_testing();
