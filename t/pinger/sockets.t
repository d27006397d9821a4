#!/usr/bin/perl
# pinger(1)'s two ICMP sockets, each inside a network namespace of its own
# (unshare -n) so net.ipv4.ping_group_range can be set without touching
# the host's: the unprivileged ICMP datagram socket when the range holds
# our group, the raw socket otherwise; IPv4 and ICMPv6; and a lost request.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(build tmpdir slurp);
use Test::More;

my $pinger = build('pinger');
plan skip_all => "build/pinger not built" unless -x $pinger;
plan skip_all => 'needs root for network namespaces' if $> != 0;
plan skip_all => 'needs unshare -n (util-linux) and ip (iproute2)'
    if system('unshare -n ip link set lo up 2>/dev/null') != 0;
my $tmp = tmpdir();

# Run @cmd in a new network namespace with lo up and ping_group_range set
# to $range (and the extra sysctls in @$sysctl). Returns (stdout, status,
# stderr).
sub in_netns {
	my ($range, $sysctl, @cmd) = @_;
	my $script = 'set -e; ip link set lo up; ' .
	    "sysctl -q -w net.ipv4.ping_group_range='$range'; " .
	    join('', map { "sysctl -q -w '$_'; " } @$sysctl) .
	    'exec "$@"';
	my $pid = open(my $fh, '-|') // die "fork: $!";
	if ($pid == 0) {
		open(STDERR, '>', "$tmp/stderr") or POSIX::_exit(127);
		exec('unshare', '-n', 'sh', '-c', $script, 'sh', @cmd)
		    or POSIX::_exit(127);
	}
	local $SIG{ALRM} = sub { kill('KILL', $pid) };
	alarm(20);
	my $out = do { local $/; <$fh> } // '';
	close($fh);
	alarm(0);
	return ($out, $? >> 8, slurp("$tmp/stderr") // '');
}

my $open = '0 2147483647';
my $closed = '1 0';
my $setpriv = system('setpriv --version >/dev/null 2>&1') == 0;
my @nobody = ('setpriv', '--reuid=65534', '--regid=65534', '--clear-groups');

for my $host ('127.0.0.1', '::1') {
	my ($out, $rc, $err) = in_netns($open, [], $pinger, '-v', '-c', 2,
	    '-i', '0.2', $host);
	is($rc, 0, "$host, range open: exit 0") or diag($out, $err);
	like($out, qr/^pinger: ICMP datagram socket \(unprivileged/m,
	    "$host, range open: -v says the ICMP datagram socket");
	like($out, qr/^64 bytes from \Q$host\E: icmp_seq=2 ttl=\d+ time=[\d.]+ ms$/m,
	    "$host, range open: replies");
	like($out, qr/^2 packets transmitted, 2 received, 0% packet loss, time \d+ms$/m,
	    "$host, range open: 2/2");

	($out, $rc, $err) = in_netns($closed, [], $pinger, '-v', '-c', 2,
	    '-i', '0.2', $host);
	is($rc, 0, "$host, range closed, root: exit 0") or diag($out, $err);
	like($out, qr/^pinger: raw ICMP socket \(privileged\)/m,
	    "$host, range closed: -v says the raw socket");
	like($out, qr/^64 bytes from \Q$host\E: icmp_seq=2 ttl=\d+ time=[\d.]+ ms$/m,
	    "$host, range closed: replies on the raw socket");
	like($out, qr/^2 packets transmitted, 2 received, 0% packet loss/m,
	    "$host, range closed: 2/2");
	my @own = ($out =~ /icmp_seq=(\d+)/g);
	is("@own", "1 2", "$host, raw: our own echo requests seen on lo " .
	    "are not taken for replies");

	SKIP: {
		skip('setpriv (util-linux) missing', 4) unless $setpriv;
		($out, $rc, $err) = in_netns($open, [], @nobody, $pinger,
		    '-v', '-c', 1, $host);
		is($rc, 0, "$host, as nobody, range open: exit 0")
		    or diag($out, $err);
		like($out, qr/^pinger: ICMP datagram socket/m,
		    "$host, as nobody: the unprivileged socket");
		($out, $rc, $err) = in_netns($closed, [], @nobody, $pinger,
		    '-c', 1, $host);
		is($rc, 2, "$host, as nobody, range closed: exit 2");
		like($err, qr/^pinger: socket: .*ping_group_range/m,
		    "$host, as nobody, range closed: says why");
	}
}

# A lost request: the namespace's own stack ignores echo requests.
for my $range ($open, $closed) {
	my ($out, $rc, $err) = in_netns($range,
	    ['net.ipv4.icmp_echo_ignore_all=1'], $pinger, '-c', 2, '-i',
	    '0.2', '-W', '0.3', '127.0.0.1');
	is($rc, 1, "range '$range', no reply: exit 1") or diag($out, $err);
	is(() = $out =~ /^Request timed out$/mg, 2,
	    "range '$range': 'Request timed out' for each (seed 004)");
	like($out, qr/^2 packets transmitted, 0 received, 100% packet loss, time \d+ms$/m,
	    "range '$range': 100% packet loss");
	unlike($out, qr/^rtt /m, "range '$range': no rtt line without replies");
}

done_testing();
