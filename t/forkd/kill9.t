#!/usr/bin/perl
# kill -9 of forkd: its wait and prefork handlers get SIGHUP as their
# parent-death signal, let the port go at once, finish the connections
# they are serving and exit; a datagram handler exits at once; a nowait
# handler serves its connection to the end. A new forkd binds the same
# ports while the old connections are still being served.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(build tmpdir forkd_start forkd_stop wait_log log_lines
    need_root free_port free_udp_port connect_tcp read_lines slurp spit
    alive children);
use IO::Select;
use IO::Socket::IP;
use POSIX qw(:sys_wait_h);
use Test::More;
use Time::HiRes qw(time sleep);

for my $p (qw(forkd echod httpd smtpd pingd)) {
	plan skip_all => "build/$p not built" unless -x build($p);
}
plan skip_all => 'needs curl' if system('curl --version >/dev/null 2>&1') != 0;
need_root();

my $dir = tmpdir();
my $spool = "$dir/spool";
my $root = "$dir/www";
mkdir $_ or die "$_: $!" for ($spool, $root);
spit("$root/hello.txt", "hello\n");
chmod 0755, $dir, $root;	# httpd runs as nobody
chmod 0644, "$root/hello.txt";
my ($pe, $pn, $ph, $ps) = map { free_port() } 1 .. 4;
my ($ue, $up) = map { free_udp_port() } 1 .. 2;
my ($echod, $httpd, $smtpd, $pingd) = map { build($_) } qw(echod httpd smtpd pingd);
my $conf = <<"CONF";
127.0.0.1:$pe stream tcp prefork.2 nobody $echod echod
127.0.0.1:$pn stream tcp nowait nobody $echod echod
127.0.0.1:$ph stream tcp prefork.2 nobody $httpd httpd -r $root -k 30
127.0.0.1:$ps stream tcp prefork.2 root $smtpd smtpd -m $spool -t 60 -n kill9.example
127.0.0.1:$ue dgram udp wait nobody $echod echod -x 30
127.0.0.1:$up dgram udp wait nobody $pingd pingd -l 0 -x 30
CONF
my $f = forkd_start(dir => $dir, conf => $conf, wait_ports => [$pe, $pn, $ph, $ps]);
ok(wait_log($f->{sl}, qr/started: 6 services/), 'forkd started 6 services')
    or BAIL_OUT('forkd did not start: ' . (slurp($f->{stderr}) // ''));

# Send a line to an echo connection; what comes back, up to its LF.
sub line_echo {
	my ($s, $text) = @_;
	print $s $text;
	my ($got, $sel, $end) = ('', IO::Select->new($s), time + 5);
	while ($got !~ /\n/ && time < $end && $sel->can_read(0.2)) {
		sysread($s, my $b, 100) or last;
		$got .= $b;
	}
	return $got;
}

# In flight when forkd dies: an echo connection of the pool and one of
# nowait, an HTTP request half sent, an SMTP transaction in DATA, and a
# datagram handler of each kind holding its socket.
my $e = connect_tcp($pe) or die "echod: $!";
is(line_echo($e, "before\n"), "before\n", 'prefork echod answers before');
my $en = connect_tcp($pn) or die "echod nowait: $!";
is(line_echo($en, "before\n"), "before\n", 'nowait echod answers before');
my $h = connect_tcp($ph) or die "httpd: $!";
print $h "GET /hello.txt HTTP/1.1\r\nHost: a\r\n";
my $s = connect_tcp($ps) or die "smtpd: $!";
like(read_lines($s, 1) // '', qr/^220 /, 'smtpd greets');
print $s "HELO a\r\nMAIL FROM:<a\@b.example>\r\nRCPT TO:<c\@d.example>\r\nDATA\r\n";
like(read_lines($s, 4) // '', qr/^354 /m, 'smtpd in DATA');
print $s "Subject: kill -9\r\n\r\nfirst half\r\n";
my $u = IO::Socket::IP->new(PeerHost => '127.0.0.1', PeerPort => $ue, Proto => 'udp') or die;
my $v = IO::Socket::IP->new(PeerHost => '127.0.0.1', PeerPort => $up, Proto => 'udp') or die;
$u->send("dgram\n");
$v->send("ping\n");
ok(IO::Select->new($u)->can_read(3), 'echod/udp answers');
ok(IO::Select->new($v)->can_read(3), 'pingd answers');
sleep(0.3);
my @kids = children($f->{pid});
cmp_ok(scalar(@kids), ">=", 9,
    scalar(@kids) . ' handlers of forkd (3 pools of 2, 1 nowait, 2 udp)');

kill('KILL', $f->{pid});
waitpid($f->{pid}, 0);
$f->{pid} = 0;
my $t0 = time;

# The ports are free at once: a new forkd binds them all and serves.
# (A forkd that cannot bind exits at once; one that could logs
# "started" a second time.)
sub started { scalar(grep { /started: 6 services/ } log_lines($f->{sl})) }
my $g;
while (time < $t0 + 5) {
	$g = forkd_start(dir => $dir, sl => $f->{sl}, conf => $conf);
	my $exited = 0;
	while (time < $t0 + 10 && started() < 2) {
		if (waitpid($g->{pid}, WNOHANG) == $g->{pid}) { $exited = 1; last }
		sleep(0.05);
	}
	last if !$exited && started() >= 2;
	$g = undef;
	sleep(0.2);
}
ok($g, sprintf('a new forkd binds every port %.1f s after kill -9', time - $t0))
    or diag(slurp("$dir/forkd.stderr") // '');
my $e2 = connect_tcp($pe);
is($e2 ? line_echo($e2, "new\n") : '', "new\n", 'the new forkd serves echo');
my $r = `curl -s -m 5 http://127.0.0.1:$ph/hello.txt`;
is($r, "hello\n", 'the new forkd serves HTTP');
my $u2 = IO::Socket::IP->new(PeerHost => '127.0.0.1', PeerPort => $ue, Proto => 'udp') or die;
$u2->send("again\n");
my $got = '';
$u2->recv($got, 100) if IO::Select->new($u2)->can_read(3);
is($got, "again\n", 'the new forkd serves echo/udp');

# The old handlers finish what they serve.
is(line_echo($e, "after\n"), "after\n", 'the old prefork echod still serves its connection');
is(line_echo($en, "after\n"), "after\n", 'the old nowait echod still serves its connection');
print $h "\r\n";
my $resp = '';
my $sel = IO::Select->new($h);
while ($sel->can_read(3)) {
	sysread($h, my $b, 4096) or last;
	$resp .= $b;
	last if $resp =~ /\r\n\r\nhello\n/;
}
like($resp, qr{^HTTP/1\.1 200 .*\r\n\r\nhello\n\z}s,
    'the old httpd answers the request it was reading');
print $s "second half\r\n.\r\n";
like(read_lines($s, 1, 5) // '', qr/^250 /, 'the old smtpd delivers the message it was receiving');
print $s "QUIT\r\n";
read_lines($s, 1, 5);
like(slurp("$spool/mailbox") // '', qr/first half\r?\nsecond half/, '... and it is in the mailbox');
close($_) for ($e, $en, $h, $s);

# Then every old handler is gone.
my $end = time + 40;
my @left;
while (time < $end) {
	@left = grep { alive($_) } @kids;
	last unless @left;
	sleep(0.2);
}
is("@left", '', 'every handler of the killed forkd has exited once its work ended')
    or kill('KILL', @left);
# Exited as they meant to (a sandbox violation would kill them too).
my %gone;
for (log_lines($f->{sl})) {
	$gone{$1}++ if /(\w+)\[\d+\]: .*supervisor gone/;
}
is($gone{echod} // 0, 3, 'echod: the 2 prefork workers and the udp one logged the supervisor gone');
is($gone{httpd} // 0, 2, 'httpd: the 2 workers too');
is($gone{smtpd} // 0, 2, 'smtpd: the 2 workers too');
is($gone{pingd} // 0, 1, 'pingd too');

forkd_stop($g) if $g;
done_testing();
