#!/usr/bin/perl
# What pinger(1) does with packets it did not ask for, made here on a raw
# socket inside a network namespace of the test's own (unshare -n):
# a second copy of a reply is a (DUP!), a copy with another timestamp is
# not ours; ICMP errors whose quoted datagram lies about its header length
# (CVE-2022-23093), is cut short, or names another identifier are ignored,
# and the one that quotes our request is reported. Then pinger -u against
# pingd run by forkd.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(build tmpdir slurp forkd_start forkd_stop wait_log
    free_udp_port);
use IO::Select;
use Socket qw(inet_aton pack_sockaddr_in PF_INET SOCK_RAW);
use Test::More;
use Time::HiRes qw(time);

my $pinger = build('pinger');
plan skip_all => "build/pinger not built" unless -x $pinger;
plan skip_all => 'needs root for a network namespace and raw sockets'
    if $> != 0;

# Run the rest of this file inside a new network namespace.
if (!$ENV{PINGER_T84_NETNS}) {
	$ENV{PINGER_T84_NETNS} = 1;
	{ no warnings 'exec'; exec('unshare', '-n', $^X, $0, @ARGV); }
	plan skip_all => "unshare -n: $!";
}
system('ip link set lo up') == 0
    or plan skip_all => 'ip (iproute2) cannot bring lo up';
my $tmp = tmpdir();

sub sysctl { system('sysctl', '-q', '-w', @_) == 0 or die "sysctl @_" }

# RFC 1071 checksum.
sub cksum {
	my ($d) = @_;
	$d .= "\0" if length($d) % 2;
	my $s = unpack('%32n*', $d);
	$s = ($s >> 16) + ($s & 0xffff) while $s >> 16;
	return ~$s & 0xffff;
}

sub icmp {
	my ($type, $code, $rest, $body) = @_;
	my $m = pack('CCn', $type, $code, 0) . $rest . $body;
	substr($m, 2, 2) = pack('n', cksum($m));
	return $m;
}

# Start pinger with @args; for each echo request it sends (seen on lo by
# our raw socket) call $on_request->($raw, $iphdr, $icmp, $id, $seq).
# Returns (stdout, exit status).
sub spoof_run {
	my ($nreq, $on_request, @args) = @_;
	socket(my $raw, PF_INET, SOCK_RAW, 1) or die "raw socket: $!";
	my $pid = open(my $fh, '-|') // die "fork: $!";
	if ($pid == 0) {
		close($raw);
		open(STDERR, '>', "$tmp/stderr");
		exec($pinger, @args) or POSIX::_exit(127);
	}
	my $sel = IO::Select->new($raw);
	my $end = time + 10;
	my %seen;
	while (keys(%seen) < $nreq && time < $end) {
		next unless $sel->can_read(0.5);
		my $buf = '';
		defined(recv($raw, $buf, 65535, 0)) or last;
		next if length($buf) < 28;
		my $hl = (ord($buf) & 0x0f) * 4;
		my $ic = substr($buf, $hl);
		my ($type, $code, $sum, $id, $seq) = unpack('CCnnn', $ic);
		next unless $type == 8 && !$seen{$seq}++;
		$on_request->($raw, substr($buf, 0, $hl), $ic, $id, $seq);
	}
	local $SIG{ALRM} = sub { kill('KILL', $pid) };
	alarm(15);
	my $out = do { local $/; <$fh> } // '';
	close($fh);
	alarm(0);
	return ($out, $? >> 8);
}

my $lo = pack_sockaddr_in(0, inet_aton('127.0.0.1'));

for my $sock (['raw', '1 0'], ['datagram', '0 2147483647']) {
	my ($kind, $range) = @$sock;
	sysctl("net.ipv4.ping_group_range=$range");

	# Duplicates: the kernel answers, and so do we, twice: once with the
	# request's payload (a true duplicate), once with its timestamp
	# changed (not a reply to anything we sent).
	sysctl('net.ipv4.icmp_echo_ignore_all=0');
	# Only for requests 1 and 2: pinger is still waiting for 3 then.
	my ($out, $rc) = spoof_run(3, sub {
		my ($raw, $ip, $ic, $id, $seq) = @_;
		return if $seq > 2;
		my $payload = substr($ic, 8);
		send($raw, icmp(0, 0, pack('nn', $id, $seq), $payload), 0, $lo);
		substr($payload, 0, 1) = chr(ord($payload) ^ 0xff);
		send($raw, icmp(0, 0, pack('nn', $id, $seq), $payload), 0, $lo);
	}, '-c', 3, '-i', '0.3', '127.0.0.1');
	is($rc, 0, "$kind: exit 0");
	is(() = $out =~ /^64 bytes from 127\.0\.0\.1: icmp_seq=1 ttl=\d+ time=[\d.]+ ms \(DUP!\)$/mg,
	    1, "$kind: the second copy of reply 1 is (DUP!)") or diag($out);
	like($out, qr/^3 packets transmitted, 3 received, \+2 duplicates, 0% packet loss, time \d+ms$/m,
	    "$kind: +2 duplicates; the copies with a foreign timestamp " .
	    "are not counted") or diag($out);

	# Errors: no echo replies now; for request 1 we send the malformed
	# errors first, then the true one.
	sysctl('net.ipv4.icmp_echo_ignore_all=1');
	($out, $rc) = spoof_run(2, sub {
		my ($raw, $ip, $ic, $id, $seq) = @_;
		my $q = $ip . substr($ic, 0, 8);
		my $lie = $q;
		substr($lie, 0, 1) = chr(0x4f);	# IHL 15: 60 bytes claimed
		# A quoted header that claims 60 bytes with 28 there.
		send($raw, icmp(3, 1, pack('N', 0), $lie), 0, $lo);
		# Nothing quoted at all.
		send($raw, icmp(3, 1, pack('N', 0), ''), 0, $lo);
		# Cut inside the quoted ICMP header.
		send($raw, icmp(3, 1, pack('N', 0), substr($q, 0, 24)), 0, $lo);
		# Another identifier's request.
		my $other = $q;
		substr($other, 20 + 4, 2) = pack('n', ($id + 1) & 0xffff);
		send($raw, icmp(3, 1, pack('N', 0), $other), 0, $lo)
		    if $kind eq 'raw';
		# Ours, on request 1 only: port unreachable, a code
		# nothing else here would produce.
		send($raw, icmp(3, 3, pack('N', 0), $q), 0, $lo)
		    if $seq == 1;
	}, '-v', '-c', 2, '-i', '0.3', '-W', '0.6', '127.0.0.1');
	is($rc, 1, "$kind, errors only: exit 1");
	my @from = ($out =~ /^(From .*)$/mg);
	is_deeply(\@from,
	    ['From 127.0.0.1 icmp_seq=1 Destination Port Unreachable'],
	    "$kind: only the error that quotes our request is reported")
	    or diag($out);
	like($out, qr/^Request timed out$/m, "$kind: request 2 timed out");
	like($out, qr/^2 packets transmitted, 0 received, \+1 errors, 100% packet loss/m,
	    "$kind: +1 errors");
}

# pinger -u against pingd started by forkd for each burst.
SKIP: {
	my $pingd = build('pingd');
	skip('build/forkd or build/pingd not built', 3)
	    unless -x build('forkd') && -x $pingd;
	my $port = free_udp_port();
	my $f = forkd_start(dir => $tmp, conf =>
	    "127.0.0.1:$port dgram udp wait nobody $pingd pingd -l 0 -x 2\n");
	ok(wait_log($f->{sl}, qr/started: 1 service/),
	    'forkd started with pingd') or diag(slurp($f->{stderr}));
	my $pid = open(my $fh, '-|', $pinger, '-u', $port, '-i', '0.02',
	    '-W', '0.5', '127.0.0.1') // die "fork: $!";
	my $out = do { local $/; <$fh> } // '';
	close($fh);
	is($? >> 8, 0, 'pinger -u to pingd under forkd: exit 0');
	like($out, qr/^10 packets transmitted, 10 received, 0% packet loss/m,
	    'pinger -u to pingd under forkd: 10/10') or diag($out);
	forkd_stop($f);
}

done_testing();
