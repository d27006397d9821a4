#!/usr/bin/perl
# pinger(1) reports ICMP errors about its requests: network namespaces made
# here (two clients, a router, a far host, joined by veth pairs; the
# addresses exist only inside them) where the router has an "unreachable"
# route, and forwards with TTL 1 only to be told "Time to live exceeded".
# One client uses the raw socket (ping_group_range closed), the other the
# ICMP datagram socket (range open), whose errors come on the error queue.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(build tmpdir slurp);
use Test::More;

my $pinger = build('pinger');
plan skip_all => "build/pinger not built" unless -x $pinger;
plan skip_all => 'needs root for network namespaces' if $> != 0;
plan skip_all => 'needs ip netns (iproute2) and veth'
    if system("ip netns add pgchk$$ 2>/dev/null") != 0;
system("ip netns del pgchk$$");
my $tmp = tmpdir();

# Names carry our pid: two runs never meet. Deleted in END, whatever.
my %ns = map { $_ => "pg$_$$" } qw(A1 A2 R B);
my @made;
END { system('ip', 'netns', 'del', $_) for reverse @made }

sub sh {
	my ($cmd) = @_;
	system($cmd) == 0 or BAIL_OUT("setup failed: $cmd");
}

for my $n (values %ns) {
	sh("ip netns add $n");
	push @made, $n;
	sh("ip -n $n link set lo up");
	# No duplicate address detection: a fresh link's IPv6 (its
	# link-local address too) is usable at once, not after a second.
	sh("ip netns exec $n sysctl -q -w net.ipv6.conf.all.accept_dad=0 " .
	    "net.ipv6.conf.default.accept_dad=0");
}
# The router forwards from the start: turning IPv6 forwarding on later
# resets its links, and the first packets after that go missing.
sh("ip netns exec $ns{R} sysctl -q -w net.ipv4.ip_forward=1 " .
    "net.ipv6.conf.all.forwarding=1");
# client Ak: 10.9k.0.2 (fd00:9k::2) -- router: 10.9k.0.1 (fd00:9k::1)
my %net = (A1 => 98, A2 => 96, B => 97);
for my $c (qw(A1 A2 B)) {
	my $o = $net{$c};
	sh("ip link add v$c netns $ns{$c} type veth peer name r$c netns $ns{R}");
	sh("ip -n $ns{$c} addr add 10.$o.0.2/24 dev v$c");
	sh("ip -n $ns{$c} addr add fd00:${o}::2/64 dev v$c nodad");
	sh("ip -n $ns{R} addr add 10.$o.0.1/24 dev r$c");
	sh("ip -n $ns{R} addr add fd00:${o}::1/64 dev r$c nodad");
	sh("ip -n $ns{$c} link set v$c up");
	sh("ip -n $ns{R} link set r$c up");
	sh("ip -n $ns{$c} route add default via 10.$o.0.1");
	sh("ip -n $ns{$c} -6 route add default via fd00:${o}::1");
}
sh("ip -n $ns{R} route add unreachable 10.99.0.0/24");
sh("ip -n $ns{R} -6 route add unreachable fd00:99::/64");
sh("ip netns exec $ns{A1} sysctl -q -w net.ipv4.ping_group_range='1 0'");
sh("ip netns exec $ns{A2} sysctl -q -w " .
    "net.ipv4.ping_group_range='0 2147483647'");

sub run_in {
	my ($n, @cmd) = @_;
	my $pid = open(my $fh, '-|') // die "fork: $!";
	if ($pid == 0) {
		open(STDERR, '>', "$tmp/stderr") or POSIX::_exit(127);
		exec('ip', 'netns', 'exec', $n, @cmd) or POSIX::_exit(127);
	}
	local $SIG{ALRM} = sub { kill('KILL', $pid) };
	alarm(20);
	my $out = do { local $/; <$fh> } // '';
	close($fh);
	alarm(0);
	return ($out, $? >> 8, slurp("$tmp/stderr") // '');
}

# A fresh veth link takes a moment before IPv6 neighbour discovery works:
# wait until each client reaches the far host over IPv6 (replies, which
# use none of the router's budget for errors).
for my $c (qw(A1 A2)) {
	my $end = time() + 10;
	my $ready = 0;
	while (!$ready && time() < $end) {
		$ready = system("ip netns exec $ns{$c} $pinger -q -c 1 -W 0.2 " .
		    "fd00:97::2 >/dev/null 2>&1") == 0;
	}
	ok($ready, "$c: IPv6 through the router is up");
}

# The router's ICMP errors are rate limited per source address (about
# five at once, then one a second): each client asks for four at most.
for my $c (qw(A1 A2)) {
	my $o = $net{$c};
	my $kind = $c eq 'A1' ? 'raw socket' : 'datagram socket';
	my ($out, $rc, $err) = run_in($ns{$c}, $pinger, '-v', '-c', 2, '-i',
	    '0.2', '-W', '0.5', '10.99.0.5');
	like($out, $c eq 'A1' ? qr/^pinger: raw ICMP socket/m :
	    qr/^pinger: ICMP datagram socket/m, "$c: the $kind");
	for my $seq (1, 2) {
		like($out, qr/^From 10\.$o\.0\.1 icmp_seq=$seq Destination Host Unreachable$/m,
		    "$c ($kind): icmp_seq=$seq Destination Host Unreachable " .
		    "from the router") or diag($out, $err);
	}
	like($out, qr/^2 packets transmitted, 0 received, \+2 errors, 100% packet loss, time \d+ms$/m,
	    "$c: +2 errors in the summary, as ping");
	unlike($out, qr/^Request timed out$/m,
	    "$c: an answered error is not also a timeout");
	is($rc, 1, "$c: no reply: exit 1");

	($out, $rc, $err) = run_in($ns{$c}, $pinger, '-c', 1, '-t', 1,
	    '-W', '0.5', '10.97.0.2');
	like($out, qr/^From 10\.$o\.0\.1 icmp_seq=1 Time to live exceeded$/m,
	    "$c ($kind): -t 1 through the router: Time to live exceeded")
	    or diag($out, $err);
	is($rc, 1, "$c: -t 1: exit 1");

	($out, $rc, $err) = run_in($ns{$c}, $pinger, '-c', 2, '-i', '0.2',
	    '10.97.0.2');
	like($out, qr/^64 bytes from 10\.97\.0\.2: icmp_seq=2 ttl=63 time=[\d.]+ ms$/m,
	    "$c: through the router, one hop: ttl=63") or diag($out, $err);
	is($rc, 0, "$c: replies: exit 0");

	($out, $rc, $err) = run_in($ns{$c}, $pinger, '-c', 1, 'fd00:97::2');
	like($out, qr/^64 bytes from fd00:97::2: icmp_seq=1 ttl=63 time=/m,
	    "$c: ICMPv6 through the router: hop limit 63")
	    or diag($out, $err);

	($out, $rc, $err) = run_in($ns{$c}, $pinger, '-c', 1, '-W', '0.5',
	    'fd00:99::5');
	like($out, qr/^From fd00:${o}::1 icmp_seq=1 Destination unreachable: No route$/m,
	    "$c ($kind): ICMPv6 unreachable route: No route")
	    or diag($out, $err);
	is($rc, 1, "$c: ICMPv6 error: exit 1");

}

done_testing();
