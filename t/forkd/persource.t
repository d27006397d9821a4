#!/usr/bin/perl
# Per-source limits (forkd.conf(5): /max-child/max-connections-per-ip-per-
# minute/max-child-per-ip) for nowait and prefork services: one address
# over its cap is refused with its protocol's refusal (smtpd 421, httpd
# 503, echod a close) while another address is served; the refusal is
# logged once a minute per address; the counts come back to zero after the
# clients disconnect and after the handlers holding them are killed.
# 127.0.0.1 and 127.0.0.2 are the two sources (loopback holds all of 127/8).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(build tmpdir slurp spit forkd_start forkd_stop wait_log log_lines
    need_root free_port read_n);
use IO::Socket::IP;
use Test::More;
use Time::HiRes qw(time sleep);

for my $p (qw(forkd echod smtpd httpd)) {
	plan skip_all => "build/$p not built" unless -x build($p);
}
need_root();
$SIG{PIPE} = 'IGNORE';

my $user = system('runuser', '-u', 'nobody', '--', 'test', '-x',
    build('echod')) == 0 ? 'nobody' : 'root';
my $dir = tmpdir();
chmod(0755, $dir);
mkdir("$dir/www");
mkdir("$dir/spool");
spit("$dir/www/index.html", "hello\n");
chmod(0644, "$dir/www/index.html");

my ($pe, $pn, $ps, $ph, $pr) = map { free_port() } 1 .. 5;
my ($echod, $smtpd, $httpd) = map { build($_) } qw(echod smtpd httpd);
my $f = forkd_start(dir => $dir, wait_ports => [$pe, $pn, $ps, $ph, $pr],
    conf => <<"EOF");
127.0.0.1:$pe	stream	tcp	prefork.2/0/0/2	$user	$echod	echod
127.0.0.1:$pn	stream	tcp	nowait/0/0/2	$user	$echod	echod
127.0.0.1:$ps	stream	tcp	prefork.4/0/0/2	root	$smtpd	smtpd -m $dir/spool -n mx.test
127.0.0.1:$ph	stream	tcp	prefork.2/0/0/1	$user	$httpd	httpd -r $dir/www
127.0.0.1:$pr	stream	tcp	nowait/0/3	$user	$echod	echod
EOF
my $sl = $f->{sl};

sub conn {
	my ($port, $src) = @_;
	return IO::Socket::IP->new(PeerHost => '127.0.0.1', PeerPort => $port,
	    LocalHost => $src // '127.0.0.1', Proto => 'tcp')
	    // die "connect $port from " . ($src // '127.0.0.1') . ": $!";
}

# An echo round trip on $s: 1 if served.
sub echoes {
	my ($s, $tag) = @_;
	my $line = "echo $tag\n";
	syswrite($s, $line);
	return read_n($s, length($line), 3) eq $line;
}

# 1 if the server closed $s without echoing (EOF or reset within 3 s).
sub closed {
	my ($s) = @_;
	syswrite($s, "x\n");
	return read_n($s, 2, 3) eq '' ? 1 : 0;
}

# Connect $n from $src until all echo (the server's side of earlier closes
# may take a moment); returns the sockets, or () after 5 s.
sub served {
	my ($port, $n, $src) = @_;
	my $end = time + 5;
	while (time < $end) {
		my @c = map { conn($port, $src) } 1 .. $n;
		my $ok = grep { echoes($_, 'again') } @c;
		return @c if $ok == $n;
		close($_) for @c;
		sleep(0.2);
	}
	return ();
}

# The pids holding established connections to local port $port.
sub holders {
	my ($port) = @_;
	my %pid;
	for (`ss -Htnp state established '( sport = :$port )' 2>/dev/null`) {
		$pid{$1} = 1 while /pid=(\d+)/g;
	}
	delete $pid{$f->{pid}};
	return keys %pid;
}

for my $case (['prefork.2/0/0/2', $pe], ['nowait/0/0/2', $pn]) {
	my ($mode, $port) = @$case;
	# served() retries: forkd_start's probe of the port, closed by the
	# client, counts until its handler has read the EOF.
	my @held = served($port, 2);
	is(scalar(@held), 2, "$mode: two connections from 127.0.0.1 served");
	ok(closed(conn($port)), "$mode: a third from 127.0.0.1 is closed");
	ok(closed(conn($port)), "$mode: and a fourth");
	ok(echoes(conn($port, '127.0.0.2'), 'other'),
	    "$mode: 127.0.0.2 is served meanwhile");

	# Back to zero after the clients disconnect.
	close($_) for @held;
	@held = served($port, 2);
	is(scalar(@held), 2, "$mode: after disconnecting, 127.0.0.1 has "
	    . "two again");
	ok(closed(conn($port)), "$mode: and not three");

	# Back to zero after the handlers holding them are killed.
	my @pids = holders($port);
	ok(@pids >= 1, "$mode: the handlers holding them: @pids");
	kill('KILL', @pids);
	close($_) for @held;
	@held = served($port, 2);
	is(scalar(@held), 2, "$mode: after SIGKILL of the handlers, "
	    . "127.0.0.1 has two again");
	ok(closed(conn($port)), "$mode: and still not three");
	close($_) for @held;
}

# Logged once per address and minute: 4 refusals of 127.0.0.1 per service.
sleep(0.5);
my @lines = log_lines($sl);
is(scalar(grep { / echod\[\d+\]: 127\.0\.0\.1:\d+: refused: max-child-per-ip/ }
    @lines), 1, 'prefork: one log line for four refusals of 127.0.0.1');
is(scalar(grep { m{ forkd\[\d+\]: 127\.0\.0\.1:$pn/tcp: pid \d+: 127\.0\.0\.1: refused: max-child-per-ip 2}
    } @lines), 1, 'nowait: one log line for four refusals of 127.0.0.1');

# SMTP: the 421 of RFC 5321 3.8 in place of the greeting.
{
	my @s = map { conn($ps) } 1 .. 2;
	like(read_n($_, 4, 5), qr/^220 /, 'smtpd: 220 within the cap') for @s;
	my $x = conn($ps);
	is(read_n($x, 200, 5), "421 4.7.0 mx.test Error: too many "
	    . "connections from your address\r\n",
	    'smtpd: over the cap, the 421 line, then the close');
	like(read_n(conn($ps, '127.0.0.2'), 4, 5), qr/^220 /,
	    'smtpd: 127.0.0.2 greeted meanwhile');
	ok(wait_log($sl, qr/ smtpd\[\d+\]: 127\.0\.0\.1:\d+: refused/, 3),
	    'smtpd: the refusal logged');
	close($_) for @s;
}

# HTTP: 503 with Retry-After.
{
	my $idle = conn($ph);
	syswrite($idle, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
	like(read_n($idle, 15, 5), qr{^HTTP/1\.1 200}, 'httpd: one served, '
	    . 'kept alive');
	my $x = conn($ph);
	syswrite($x, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
	my $r = read_n($x, 4096, 5);
	like($r, qr{\AHTTP/1\.1 503 Service Unavailable\r\n.*Retry-After: 60\r\n}s,
	    'httpd: over the cap, 503 Service Unavailable');
	like($r, qr/\r\n\r\nToo many connections from your address\.\n\z/,
	    'httpd: the whole 503 body, then the close');
	my $o = conn($ph, '127.0.0.2');
	syswrite($o, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
	like(read_n($o, 4096, 5), qr{^HTTP/1\.1 200.*\r\n\r\nhello\n\z}s,
	    'httpd: 127.0.0.2 served meanwhile');
	close($idle);
}

# max-connections-per-ip-per-minute 3: the fourth in the minute is refused.
# From 127.0.0.3: forkd_start's wait for the port came from 127.0.0.1.
{
	my $ok = 0;
	for (1 .. 3) {
		my $s = conn($pr, '127.0.0.3');
		$ok++ if echoes($s, 'rate');
		close($s);
	}
	is($ok, 3, 'rate: three connections in the minute served');
	ok(closed(conn($pr, '127.0.0.3')), 'rate: the fourth refused');
	ok(echoes(conn($pr, '127.0.0.2'), 'rate'), 'rate: 127.0.0.2 served');
	ok(wait_log($sl, qr{refused: max-connections-per-ip-per-minute 3}, 3),
	    'rate: the refusal logged');
}

# A reload (SIGHUP) that lowers a cap holds at once in the running pool;
# one that adds a cap to a service without one replaces its pool.
{
	my $conf = slurp($f->{conf});
	$conf =~ s{prefork\.2/0/0/2}{prefork.2/0/0/1};
	$conf =~ s{prefork\.2/0/0/1\t(\Q$user\E\t\S+httpd)}{prefork.2\t$1};
	spit($f->{conf}, $conf);
	kill('HUP', $f->{pid});
	ok(wait_log($sl, qr/reload: /, 5), 'reload: done');
	my @held = served($pe, 1);
	is(scalar(@held), 1, 'reload: 127.0.0.1 is served once');
	ok(closed(conn($pe)), 'reload: a second is refused: the cap is 1 now');
	close($_) for @held;
	ok(wait_log($sl, qr{$ph/tcp: handler changed: replacing the pool}, 3),
	    'reload: httpd lost its cap: its pool is replaced');
}

is(forkd_stop($f), 0, 'forkd stops cleanly');
done_testing();
