#!/usr/bin/perl
# echod through build/forkd in each service type: nowait (one echod per
# connection), prefork.4 (a pool sharing the listener, each echod serving
# many connections with poll), wait on a stream (one echod for all) and
# wait on dgram/udp (one echod until idle). forkd and echod log to a
# captured /dev/log. The supervisor's own behaviour is t/forkd/'s business;
# this file is about echod under it.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(build tmpdir slurp spit free_port free_udp_port wait_port
    connect_tcp forkd_start forkd_stop wait_log log_lines need_root
    read_n);
use IO::Select;
use IO::Socket::IP;
use Errno qw(EAGAIN EWOULDBLOCK);
use Test::More;
use Time::HiRes qw(time sleep);

my $echod = build('echod');
plan skip_all => 'build/echod and build/forkd not built'
    unless -x $echod && -x build('forkd');
need_root();
$SIG{PIPE} = 'IGNORE';

# Services run as nobody when nobody may run the build (the usual case),
# so echod is tested as the unprivileged user the sample config names.
my $user = system('runuser', '-u', 'nobody', '--', 'test', '-x', $echod) == 0
    ? 'nobody' : 'root';

my ($pn, $pp, $pw) = (free_port(), free_port(), free_port());
my $pu = free_udp_port();
my $conf = <<"EOF";
# echod in every service type
127.0.0.1:$pn	stream	tcp	nowait		$user	$echod	echod -t
127.0.0.1:$pp	stream	tcp	prefork.4	$user	$echod	echod -t -i 5
127.0.0.1:$pw	stream	tcp	wait		$user	$echod	echod
127.0.0.1:$pu	dgram	udp	wait		$user	$echod	echod -x 1
EOF
my $f = forkd_start(conf => $conf, wait_ports => [$pn, $pp, $pw]);
my $sl = $f->{sl};

sub nc_echo {
	my ($port, $in) = @_;
	spit("$f->{dir}/nc.in", $in);
	return scalar `timeout 10 nc 127.0.0.1 $port <'$f->{dir}/nc.in'`;
}

# $n clients connected at once, answered last first; returns the count right.
sub concurrent {
	my ($port, $n, $term) = @_;
	my @c = map { connect_tcp($port) or die "connect $port: $!" } 1 .. $n;
	my $ok = 0;
	for my $i (reverse 0 .. $#c) {
		my $line = "client $i of $n\n";
		syswrite($c[$i], $line);
		$ok++ if read_n($c[$i], length($line), 5) eq $line;
	}
	if ($term) {
		for my $s (@c) {
			syswrite($s, ".\n");
			read_n($s, 1 << 20, 5);	# to the close
		}
	}
	close($_) for @c;
	return $ok;
}

# True when the peer closes $s within $timeout seconds (no more bytes).
sub closed {
	my ($s, $timeout) = @_;
	return 0 unless IO::Select->new($s)->can_read($timeout // 5);
	my $r = sysread($s, my $junk, 1);
	return defined $r && $r == 0;
}

sub exchange {
	my ($s, $data, $timeout) = @_;
	$s->blocking(0);
	my ($off, $got) = (0, '');
	my $end = time + ($timeout // 20);
	while (time < $end && length($got) < length($data)) {
		my $rs = IO::Select->new($s);
		my $ws = IO::Select->new($off < length($data) ? ($s) : ());
		my ($r, $w) = IO::Select->select($rs, $ws, undef, 1);
		if ($w && @$w) {
			my $n = syswrite($s, $data, 65536, $off);
			$off += $n if defined $n;
		}
		if ($r && @$r) {
			my $n = sysread($s, $got, 65536, length($got));
			last if defined $n && $n == 0;
			last if !defined $n && $! != EAGAIN && $! != EWOULDBLOCK;
		}
	}
	$s->blocking(1);
	return $got;
}

# The course's check, through forkd.
SKIP: {
	skip('no nc in PATH', 2) unless grep { -x "$_/nc" } split(/:/, $ENV{PATH} // '');
	is(nc_echo($pn, "hello\n.\n"), "hello\n.\n", 'nowait: printf "hello\n.\n" | nc prints both lines back');
	is(nc_echo($pp, "hello\n.\n"), "hello\n.\n", 'prefork.4: the same');
}

is(concurrent($pn, 50, 1), 50, 'nowait: 50 concurrent clients');
is(concurrent($pp, 50, 1), 50, 'prefork.4: 50 concurrent clients');
is(concurrent($pw, 50, 0), 50, 'wait (stream): one echod serves 50 clients at once');

{
	open(my $r, '<:raw', '/dev/urandom') or die;
	read($r, my $data, 1 << 20);
	close($r);
	$data =~ s/(\A|\n)\.(?=\r?\n)/$1X/g for 1 .. 2;
	my $s = connect_tcp($pp);
	my $got = exchange($s, $data . "\n.\n", 30);
	ok($got eq $data . "\n.\n" && closed($s), 'prefork.4: 1 MiB random + "\n.\n" byte-exact, then closed');
	$s = connect_tcp($pn);
	$got = exchange($s, $data . "\n.\n", 30);
	ok($got eq $data . "\n.\n" && closed($s), 'nowait: 1 MiB random + "\n.\n" byte-exact, then closed');
	$s = connect_tcp($pw);
	$got = exchange($s, $data, 30);
	ok($got eq $data, 'wait (stream, no -t): 1 MiB random byte-exact');
}

# UDP wait: answered, the echod leaves when idle, the next datagram
# brings a new one.
{
	my $u = IO::Socket::IP->new(PeerHost => '127.0.0.1', PeerPort => $pu,
	    Proto => 'udp') or die;
	my $got;
	$u->send("first\n");
	$u->recv($got, 65536) if IO::Select->new($u)->can_read(5);
	is($got, "first\n", 'wait (dgram): datagram echoed');
	ok(wait_log($sl, qr/echod\[\d+\]: datagram: idle 1 s: exiting after 1 datagrams/, 5),
	    'wait (dgram): echod leaves after -x 1');
	ok(wait_log($sl, qr{127\.0\.0\.1:$pu/udp: pid \d+ exited 0}, 5),
	    'forkd logs the dgram echod exit 0');
	$got = undef;
	$u->send("second\n");
	$u->recv($got, 65536) if IO::Select->new($u)->can_read(5);
	is($got, "second\n", 'wait (dgram): the next datagram starts a new echod');
}

ok(wait_log($sl, qr/echod\[\d+\]: connect 127\.0\.0\.1:\d+/), 'syslog: echod connect lines');
ok(wait_log($sl, qr/echod\[\d+\]: close 127\.0\.0\.1:\d+ in 1048579 out 1048579 \(terminator\)/),
    'syslog: echod close line with the byte counts of the 1 MiB client');
my @bad = grep { /\bsandbox: (?!entered)|SIGSYS|signal 31/i } log_lines($sl);
is_deeply(\@bad, [], 'no sandbox violation logged') or diag(join("\n", @bad));

my $st = forkd_stop($f);
is($st, 0, 'forkd stops with status 0');

done_testing();
