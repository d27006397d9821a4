#!/usr/bin/perl
# echod with a bound datagram socket on fd 0 (forkd or inetd "wait" on
# dgram/udp): RFC 862 over UDP, each datagram back to its sender, and the
# exit after -x seconds of silence so the supervisor takes the socket back;
# no answer to a source port below 1024 (a forged one would make two
# services answer each other for ever), an answer to an empty datagram.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(build tmpdir slurp dgram_exec udp_bound udp_client recv_dgram
    wait_exit wait_file);
use IO::Select;
use IO::Socket::IP;
use POSIX qw(:sys_wait_h);
use Test::More;
use Time::HiRes qw(time sleep);

my $echod = build('echod');
plan skip_all => "build/echod not built (make build/echod)" unless -x $echod;

my $dir = tmpdir();

# echod -d with $u (a bound UDP socket; a new one if undef) on fds 0 and
# 1, as forkd runs a "wait" dgram handler. Returns the pid, the socket and
# echod's stderr file.
sub start_dgram {
	my ($name, $u, @args) = @_;
	$u //= udp_bound() or die "udp: $!";
	my $pid = dgram_exec(sock => $u, stderr => "$dir/$name.err",
	    cmd => [$echod, '-d', @args]);
	return ($pid, $u, "$dir/$name.err");
}

my ($pid, $u, $err) = start_dgram('main', undef, '-x', '1');
my $port = $u->sockport;

my $a = udp_client($port);
my $b = udp_client($port);
$a->send("hello from a\n");
$b->send("hello from b\n");
is(recv_dgram($a), "hello from a\n", 'datagram back to sender a');
is(recv_dgram($b), "hello from b\n", 'datagram back to sender b, not to a');

my $bin = join('', map { chr } 0 .. 255) x 4;
$a->send($bin);
ok((recv_dgram($a) // '') eq $bin, 'binary datagram of 1024 bytes byte-exact');

my $big = join('', map { chr(int(rand(256))) } 1 .. 60000);
$a->send($big);
my $got = recv_dgram($a) // '';
ok($got eq $big, 'datagram of 60000 bytes byte-exact') or diag('got ' . length($got));

$a->send('');
is(recv_dgram($a), '', 'an empty datagram is answered with an empty one');

# "\n.\n" means nothing over UDP; each datagram stands alone.
$a->send("x\n.\n");
is(recv_dgram($a), "x\n.\n", 'no terminator over UDP: "x\n.\n" echoed');

my $n = 0;
$a->send("d$_") for 1 .. 20;
for (1 .. 20) { $n++ if defined recv_dgram($a, 2) }
is($n, 20, '20 datagrams in a burst, 20 answers');

# Silence: echod leaves after -x 1, exit 0.
my $t0 = time;
my $st = wait_exit($pid, 5);
my $idle = time - $t0;
ok(defined $st, 'echod exits after -x 1 second without a datagram');
cmp_ok($idle, '>=', 0.8, 'not before its second of silence')
    or diag("exited after $idle s");
is($st, 0, 'idle exit status 0');
my $log = slurp($err) // '';
like($log, qr/datagram: serving 127\.0\.0\.1:$port/, 'log: serving line');
like($log, qr/datagram: idle 1 s: exiting after 26 datagrams/, 'log: idle exit with the count');
unlike($log, qr/not allowed/, 'sandbox: nothing refused');

# What arrives after the exit waits in the socket for the next echod (the
# supervisor's "wait" restart), and is answered by it.
$a->send("queued\n");
my ($pid2) = start_dgram('second', $u, '-x', '1');
is(recv_dgram($a, 3), "queued\n", 'a datagram sent between two echods is answered by the next');
ok(defined wait_exit($pid2, 5), 'second echod exits when idle too');

# -x 0: never leaves on its own.
my ($pid3, $u3) = start_dgram('forever', undef, '-x', '0');
ok(!defined wait_exit($pid3, 1.5), '-x 0: still running after 1.5 s of silence');
kill('TERM', $pid3);
waitpid($pid3, 0);

# UDP: no answer to a source port below 1024 (echo 7, chargen 19, another
# echod): a forged one would make two services answer each other for ever.
SKIP: {
	skip 'binding a port below 1024 needs root', 4 if $> != 0;
	my ($pid, $u, $err) = start_dgram('lowport', undef, '-x', '0');
	my $low;
	for my $p (reverse 600 .. 1023) {
		$low = IO::Socket::IP->new(LocalAddr => '127.0.0.1',
		    LocalPort => $p, PeerHost => '127.0.0.1',
		    PeerPort => $u->sockport, Proto => 'udp') and last;
	}
	skip 'no free UDP port below 1024', 4 unless $low;
	my $high = IO::Socket::IP->new(PeerHost => '127.0.0.1',
	    PeerPort => $u->sockport, Proto => 'udp') or die "udp: $!";
	# Served in order: once the second is answered, the first was seen.
	$low->send("from a reserved port\n");
	$high->send("from an ephemeral port\n");
	my $got;
	$high->recv($got, 65536) if IO::Select->new($high)->can_read(5);
	is($got, "from an ephemeral port\n", 'udp: a datagram from an ephemeral port is answered');
	ok(!IO::Select->new($low)->can_read(0), 'udp: one from port ' . $low->sockport . ' is not');
	ok(wait_file($err, qr/from 127\.0\.0\.1:\d+: not answered/), 'udp: logged (debug)');
	# An empty datagram is still answered, from the right port.
	$high->send('');
	$got = undef;
	$high->recv($got, 65536) if IO::Select->new($high)->can_read(5);
	is($got, '', 'udp: an empty datagram gets an empty answer');
	kill('TERM', $pid);
}

done_testing();
