#!/usr/bin/perl
# No forged datagram starts a UDP loop. Inside a network namespace of its
# own, the test forges datagrams with a raw socket (IP_HDRINCL) whose
# source is one of our UDP services and whose destination is another (or
# the same), as an attacker on the path could: echod to itself, echod to
# another echod, echod and pingd -l 0, two pingd -l 0, pingd to itself,
# and echod to the heartbeat receiver. A packet socket on lo counts every
# datagram the services then exchange: a small bound, and every handler
# goes idle and exits, which a live loop would never let it. pingd run
# standalone (-p) answers no datagram from its own port or from a port
# below 1024 (echo's 7), and logs it as not answered.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(build tmpdir slurp dgram_exec udp_bound wait_exit syslog_start
    syslog_wrap wait_log log_lines);
use IO::Select;
use IO::Socket::IP;
use Socket qw(AF_INET SOCK_RAW inet_aton pack_sockaddr_in);
use POSIX ();
use Test::More;
use Time::HiRes qw(time sleep);

my ($echod, $pingd) = (build('echod'), build('pingd'));
plan skip_all => 'build/echod and build/pingd not built'
    unless -x $echod && -x $pingd;
plan skip_all => 'needs root (raw sockets in a network namespace)' if $> != 0;

# Into a network namespace of our own: nothing forged leaves it.
unless ($ENV{FORKD_T_NETNS}) {
	$ENV{FORKD_T_NETNS} = 1;
	exec('unshare', '-n', $^X, $0, @ARGV)
	    or plan skip_all => "needs unshare(1) -n: $!";
}
plan skip_all => 'cannot bring lo up in the namespace'
    if system('ip link set lo up 2>/dev/null') != 0;

my $dir = tmpdir();
my $n = 0;

# A service on a bound 127.0.0.1 socket, as forkd's "wait" dgram runs
# it, exiting after 1 s without a datagram. Returns [pid, port, stderr].
sub service {
	my (@cmd) = @_;
	my $u = udp_bound() or die "udp: $!";
	my $f = "$dir/svc" . ++$n . '.err';
	my $pid = dgram_exec(sock => $u, stderr => $f, cmd => [@cmd]);
	my $port = $u->sockport;
	close($u);
	return { pid => $pid, port => $port, err => $f };
}
sub echod { service($echod, '-d', '-x', '1') }
sub pingd { service($pingd, '-d', '-x', '1', '-l', '0', @_) }

# One IPv4 UDP datagram from 127.0.0.1:sport to 127.0.0.1:dport, the
# source forged: the kernel fills the IP checksum, length and id; a UDP
# checksum of 0 means none (RFC 768).
sub forge {
	my ($sport, $dport, $payload) = @_;
	socket(my $raw, AF_INET, SOCK_RAW, 255) or die "raw socket: $!";
	my $lo = inet_aton('127.0.0.1');
	my $udp = pack('nnnn', $sport, $dport, 8 + length($payload), 0) . $payload;
	my $ip = pack('CCnnnCCn', 0x45, 0, 20 + length($udp), 0, 0, 64, 17, 0) .
	    $lo . $lo;
	send($raw, $ip . $udp, 0, pack_sockaddr_in($dport, $lo)) or die "send: $!";
	close($raw);
}

# A packet socket on every interface (lo is the only one here): each
# UDP datagram received, as [sport, dport]. Frames we send are seen
# twice on lo, once outgoing (sll_pkttype 4): those are skipped.
socket(my $sniff, 17, SOCK_RAW, 0x0300) or die "AF_PACKET: $!";	# ETH_P_ALL
sub drain {
	my $sel = IO::Select->new($sniff);
	while ($sel->can_read(0)) { recv($sniff, my $b, 100, 0) }
	return;
}
sub count {
	my (%ports) = @_;	# the ports of the services under test
	my $sel = IO::Select->new($sniff);
	my ($total, $end, $quiet) = (0, time + 5, time + 1.5);
	# Until 1.5 s without one of theirs, or at most 5 s (or 100000).
	while (time < $end && time < $quiet && $total < 100000) {
		next unless $sel->can_read(0.1);
		my $from = recv($sniff, my $frame, 100, 0);
		next unless defined $from && length($from) >= 11;
		next if unpack('C', substr($from, 10, 1)) == 4;
		next if length($frame) < 14 + 28;
		my ($vihl, $proto) = unpack('C x8 C', substr($frame, 14));
		next unless $proto == 17;
		my ($sp, $dp) = unpack('nn', substr($frame, 14 + ($vihl & 15) * 4));
		next unless $ports{$sp} || $ports{$dp};
		$total++;
		$quiet = time + 1.5;
	}
	return $total;
}

# The exit line's counters of each service: all must exit by themselves.
sub finish {
	my ($what, @svc) = @_;
	for my $s (@svc) {
		my $st = wait_exit($s->{pid}, 10);
		ok(defined $st && $st == 0, "$what: handler on port $s->{port} went idle and exited 0")
		    or do { kill('KILL', $s->{pid}); waitpid($s->{pid}, 0) };
	}
}

my $BOUND = 40;

# 1. echod to itself: its own port is never answered.
{
	my $e = echod();
	sleep(0.3);
	drain();
	forge($e->{port}, $e->{port}, "loop\n");
	my $c = count($e->{port} => 1);
	ok($c <= 1, "echod <- echod itself: $c datagram(s) seen (the forged one)");
	finish('echod self', $e);
	like(slurp($e->{err}), qr/exiting after 1 datagrams, 5 bytes, 1 not answered/,
	    '... its exit line: 1 datagram, not answered');
}

# 2. two echods, each forged as the other.
{
	my ($e1, $e2) = (echod(), echod());
	sleep(0.3);
	drain();
	forge($e2->{port}, $e1->{port}, "loop\n");
	my $c = count($e1->{port} => 1, $e2->{port} => 1);
	ok($c > 1 && $c <= $BOUND, "echod <-> echod: $c datagrams, at most $BOUND");
	finish('echod pair', $e1, $e2);
}

# 3. echod and pingd -l 0 (upper case, then a fixed point).
{
	my ($e, $p) = (echod(), pingd());
	sleep(0.3);
	drain();
	forge($p->{port}, $e->{port}, "ping loop\n");
	my $c = count($e->{port} => 1, $p->{port} => 1);
	ok($c > 1 && $c <= $BOUND, "echod <-> pingd -l 0: $c datagrams, at most $BOUND");
	finish('echod and pingd', $e, $p);
	like(slurp($p->{err}), qr/not answered/, '... pingd names what it left unanswered');
}

# 4. two pingd -l 0.
{
	my ($p1, $p2) = (pingd(), pingd());
	sleep(0.3);
	drain();
	forge($p2->{port}, $p1->{port}, "ping loop\n");
	my $c = count($p1->{port} => 1, $p2->{port} => 1);
	ok($c > 1 && $c <= $BOUND, "pingd <-> pingd -l 0: $c datagrams, at most $BOUND");
	finish('pingd pair', $p1, $p2);
}

# 5. pingd to itself.
{
	my $p = pingd();
	sleep(0.3);
	drain();
	forge($p->{port}, $p->{port}, "ping loop\n");
	my $c = count($p->{port} => 1);
	ok($c <= 1, "pingd <- pingd itself: $c datagram(s) seen (the forged one)");
	finish('pingd self', $p);
}

# 6. echod and the heartbeat receiver, which never answers.
{
	my ($e, $h) = (echod(), pingd('-H'));
	sleep(0.3);
	drain();
	forge($h->{port}, $e->{port}, "Heartbeat 1 1.0\n");
	my $c = count($e->{port} => 1, $h->{port} => 1);
	ok($c <= 2, "echod -> heartbeat receiver: $c datagrams (forged, one echo)");
	finish('echod and heartbeat', $e, $h);
}

# 7. Another server on a high port that answers anything with new bytes
#    each time (here a Perl one): no reflection to spot, the general
#    budget ends it.
{
	my $e = echod();
	my $srv = udp_bound() or die;
	my $sport = $srv->sockport;
	my $pid = fork() // die "fork: $!";
	if ($pid == 0) {
		my ($i, $end) = (0, time + 8);
		my $sel = IO::Select->new($srv);
		while (time < $end) {
			next unless $sel->can_read(0.2);
			my $peer = $srv->recv(my $b, 100) // next;
			send($srv, 'n' . ++$i, 0, $peer);
		}
		POSIX::_exit(0);
	}
	close($srv);
	sleep(0.3);
	drain();
	forge($sport, $e->{port}, "start\n");
	my $c = count($e->{port} => 1, $sport => 1);
	ok($c > 2 && $c <= 600,
	    "echod <-> a server answering with new bytes: $c datagrams, at most 600 (2 x 256, and the refill)");
	finish('echod and an answer-anything server', $e);
	kill('TERM', $pid);
	waitpid($pid, 0);
}

# 8. A real client still gets its 200 answers at once, and a repeated
#    payload is answered up to the reflection budget.
{
	my $e = echod();
	my $c = IO::Socket::IP->new(PeerHost => '127.0.0.1', PeerPort => $e->{port},
	    Proto => 'udp') or die;
	my $sel = IO::Select->new($c);
	my $got = 0;
	for my $i (1 .. 200) {
		$c->send("d$i");
		while ($sel->can_read(0)) { $c->recv(my $b, 100); $got++ }
	}
	while ($sel->can_read(0.5)) { $c->recv(my $b, 100); $got++ }
	is($got, 200, 'a client sending 200 different datagrams at once: 200 answers');
	finish('client', $e);
}

# pingd: a datagram from its own port (a forged source, or another pingd)
# or from a port below 1024 (echo, chargen, ...) is not answered: the
# upper-cased reply is its own reply, and the two would bounce forever.
{
	my $sl = syslog_start($dir);
	my $port = 12000 + $$ % 1000;
	my $pid = fork() // die "fork: $!";
	if ($pid == 0) {
		open(STDIN, '<', '/dev/null');
		open(STDOUT, '>', '/dev/null');
		open(STDERR, '>>', "$dir/pingd.err");
		exec(syslog_wrap($sl), $pingd, '-v', '-b', '127.0.0.1', '-p',
		    $port) or POSIX::_exit(127);
	}
	ok(wait_log($sl, qr/pinger on udp 127\.0\.0\.1:$port/),
	    'pingd started') or diag(slurp("$dir/pingd.err"));

	# One datagram from 127.0.0.1:$port to itself, made on a raw socket
	# with our own IP header (IPPROTO_RAW); the kernel fills the IP
	# checksum, a UDP checksum of 0 is none (RFC 768).
	my $payload = 'ping 1 loop';
	my $udp = pack('nnnn', $port, $port, 8 + length($payload), 0) . $payload;
	my $ip = pack('CCnnnCCnNN', 0x45, 0, 20 + length($udp), 0, 0, 64, 17,
	    0, unpack('N', inet_aton('127.0.0.1')),
	    unpack('N', inet_aton('127.0.0.1')));
	socket(my $hdr, AF_INET, SOCK_RAW, 255) or die "IPPROTO_RAW: $!";
	send($hdr, $ip . $udp, 0, pack_sockaddr_in(0, inet_aton('127.0.0.1')))
	    or die "send: $!";

	# And one from port 7, the echo service's.
	my $low = IO::Socket::IP->new(LocalAddr => '127.0.0.1', LocalPort => 7,
	    PeerHost => '127.0.0.1', PeerPort => $port, Proto => 'udp')
	    or die "bind port 7: $!";
	$low->send('ping 2 from echo') or die "send: $!";

	# pingd takes datagrams in order: once this one is answered, the
	# two before it were answered too, or not at all.
	my $c = IO::Socket::IP->new(PeerHost => '127.0.0.1',
	    PeerPort => $port, Proto => 'udp') or die "client: $!";
	$c->send('ping 3 after') or die "send: $!";
	my $buf;
	ok(IO::Select->new($c)->can_read(5) && defined($c->recv($buf, 100)) &&
	    $buf eq 'PING 3 AFTER', 'pingd: an ordinary ping answered');
	ok(!IO::Select->new($low)->can_read(0), 'pingd: no reply to port 7');
	my @n = grep { /ping from 127\.0\.0\.1:$port: / } log_lines($sl);
	is(scalar(@n), 0, 'pingd: no reply to a datagram from its own port, ' .
	    'so no loop') or diag(scalar(@n), " requests from itself");
	ok(wait_log($sl, qr/127\.0\.0\.1:$port: .*not answered/),
	    'pingd: the datagram from its own port is logged as not answered');
	ok(wait_log($sl, qr/127\.0\.0\.1:7: .*not answered/),
	    'pingd: the one from port 7 too');
	kill('TERM', $pid);
	waitpid($pid, 0);
}

done_testing();
