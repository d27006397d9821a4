#!/usr/bin/perl
# pinger(1) where it must do as iputils ping does, inside a network
# namespace of the test's own (unshare -n): the ICMPv6 first line as ping
# prints it; the largest payload ping sends, on the raw and the datagram
# socket; a reply read after its -W deadline is lost, not received;
# SIGINT in a long interval ends the wait with the summary and ping's
# exit status.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(build tmpdir run_cmd);
use IO::Select;
use Socket qw(inet_aton pack_sockaddr_in PF_INET SOCK_RAW);
use Test::More;
use Time::HiRes qw(time sleep);

my $pinger = build('pinger');
plan skip_all => "build/pinger not built" unless -x $pinger;
plan skip_all => 'needs root for a network namespace and raw sockets'
    if $> != 0;
plan skip_all => 'needs unshare(1) from util-linux'
    if system('unshare -n -m true 2>/dev/null') != 0;

# Run the rest of this file inside a new network namespace.
if (!$ENV{PINGER_T_NETNS}) {
	$ENV{PINGER_T_NETNS} = 1;
	{ no warnings 'exec'; exec('unshare', '-n', $^X, $0, @ARGV); }
	plan skip_all => "unshare -n: $!";
}
system('ip link set lo up') == 0
    or plan skip_all => 'ip (iproute2) cannot bring lo up';
my $tmp = tmpdir();

sub sysctl { system('sysctl', '-q', '-w', @_) == 0 or die "sysctl @_" }

# The bound on one run of a program (run_cmd), in seconds.
my $limit = { timeout => 20 };

# The first line for ICMPv6 is iputils' "PING host(addr) 56 data bytes",
# with no space before the parenthesis (ping6_common.c), unlike IPv4's.
SKIP: {
	my ($rc, $out) = run_cmd($limit, $pinger, qw(-c 1 ::1));
	skip("no ::1 in this namespace: $out", 2) if $rc != 0;
	my ($first) = split(/\n/, $out);
	is($first, 'PING ::1(::1) 56 data bytes',
	    'ICMPv6: the first line exactly as iputils ping prints it');
	(undef, $out) = run_cmd($limit, $pinger, qw(-c 1 -s 100 ::1));
	($first) = split(/\n/, $out);
	is($first, 'PING ::1(::1) 100 data bytes', 'ICMPv6 -s 100: the same');
}

# -s: ping sends up to 65507 data bytes over IPv4 (65535 - 20 - 8), on the
# raw socket and on the ping socket alike.
for my $sock (['raw', '1 0'], ['datagram', '0 2147483647']) {
	my ($kind, $range) = @$sock;
	sysctl("net.ipv4.ping_group_range=$range");
	my ($rc, $out, $err) = run_cmd($limit, $pinger, qw(-c 1 -s 65507 127.0.0.1));
	is($rc, 0, "$kind: -s 65507: exit 0") or diag($out, $err);
	like($out, qr/^PING 127\.0\.0\.1 \(127\.0\.0\.1\) 65507\(65535\) bytes of data\.$/m,
	    "$kind: -s 65507: 65507(65535) bytes, as ping");
	like($out, qr/^65515 bytes from 127\.0\.0\.1: icmp_seq=1 ttl=\d+ time=/m,
	    "$kind: -s 65507: the whole reply back");
	($rc, $out) = run_cmd($limit, $pinger, qw(-c 1 -s 65508 127.0.0.1));
	is($rc, 2, "$kind: -s 65508: too large, exit 2");
}

# A reply that reaches pinger only after its -W deadline is lost, as
# pinger(1) says, whenever pinger comes to read it: here pinger is stopped
# while it waits, the reply is sent after the deadline, and pinger goes on.
for my $sock (['raw', '1 0'], ['datagram', '0 2147483647']) {
	my ($kind, $range) = @$sock;
	sysctl("net.ipv4.ping_group_range=$range");
	sysctl('net.ipv4.icmp_echo_ignore_all=1');
	socket(my $raw, PF_INET, SOCK_RAW, 1) or die "raw socket: $!";
	my $pid = open(my $fh, '-|') // die "fork: $!";
	if ($pid == 0) {
		close($raw);
		open(STDERR, '>', "$tmp/stderr");
		exec($pinger, qw(-v -c 1 -W 0.3 127.0.0.1)) or POSIX::_exit(127);
	}
	my $sel = IO::Select->new($raw);
	my ($req, $sent);
	my $end = time + 10;
	while (!defined($req) && time < $end) {
		next unless $sel->can_read(0.5);
		my $buf = '';
		defined(recv($raw, $buf, 65535, 0)) or last;
		my $hl = (ord($buf) & 0x0f) * 4;
		my $ic = substr($buf, $hl);
		next unless length($ic) >= 8 && ord($ic) == 8;
		$sent = time;
		kill('STOP', $pid);
		$req = $ic;
	}
	ok(defined($req), "$kind: pinger's echo request seen");
	# Wait out the deadline (0.3 s after sending) with pinger stopped.
	sleep(0.05) while time < $sent + 0.6;
	my $reply = $req;
	substr($reply, 0, 1) = chr(0);
	substr($reply, 2, 2) = "\0\0";
	my $d = $reply;
	$d .= "\0" if length($d) % 2;
	my $s = unpack('%32n*', $d);
	$s = ($s >> 16) + ($s & 0xffff) while $s >> 16;
	substr($reply, 2, 2) = pack('n', ~$s & 0xffff);
	send($raw, $reply, 0, pack_sockaddr_in(0, inet_aton('127.0.0.1')));
	kill('CONT', $pid);
	local $SIG{ALRM} = sub { kill('KILL', $pid) };
	alarm(15);
	my $out = do { local $/; <$fh> } // '';
	close($fh);
	alarm(0);
	is($? >> 8, 1, "$kind: a reply after the deadline: exit 1")
	    or diag($out);
	unlike($out, qr/bytes from/, "$kind: the late reply is not shown " .
	    "as received");
	like($out, qr/^Request timed out$/m, "$kind: the request timed out");
	like($out, qr/^1 packets transmitted, 0 received, 100% packet loss/m,
	    "$kind: counted lost");
	close($raw);
}
sysctl('net.ipv4.icmp_echo_ignore_all=0');

# SIGINT (Ctrl-C) in the middle of a long interval ends the wait at once
# with the summary and ping's exit status. The race this also guards (a
# signal between the test of the flag and the wait, missed for the whole
# -i 3600) cannot be provoked on purpose; stats_wait() closes it with
# ppoll(2).
for my $mode (['ICMP', qw(-i 3600 127.0.0.1)],
    ['UDP', qw(-u 9 -W 0.05 -i 3600 127.0.0.1)]) {
	my ($kind, @args) = @$mode;
	my $pid = open(my $fh, '-|') // die "fork: $!";
	if ($pid == 0) {
		open(STDERR, '>', "$tmp/stderr");
		exec($pinger, @args) or POSIX::_exit(127);
	}
	local $SIG{ALRM} = sub { kill('KILL', $pid) };
	alarm(10);
	my $out = '';
	while (my $l = <$fh>) {
		$out .= $l;
		last if $l =~ /^(64 bytes from|From) /;
	}
	my $t0 = time;
	kill('INT', $pid);
	$out .= do { local $/; <$fh> } // '';
	close($fh);
	alarm(0);
	my $rc = $? >> 8;
	ok(time - $t0 < 5, "$kind: SIGINT during -i 3600 ends the wait");
	like($out, qr/^--- 127\.0\.0\.1 ping statistics ---\n1 packets transmitted, /m,
	    "$kind: SIGINT prints the summary") or diag($out);
	is($rc, $kind eq 'ICMP' ? 0 : 1, "$kind: exit status as ping's");
}

done_testing();
