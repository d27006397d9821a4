#!/usr/bin/perl
# pinger -u (seed 004's UDP pinger) and -H (the UDP heartbeat client)
# against pingd and against small servers written here that record the
# bytes they get.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(build tmpdir slurp run_cmd);
use IO::Socket::IP;
use POSIX ();
use Test::More;
use Time::HiRes qw(sleep time);

my $pinger = build('pinger');
plan skip_all => "build/pinger not built" unless -x $pinger;
my $pingd = build('pingd');
my $tmp = tmpdir();
my @kids;
END { local $?; for (@kids) { kill("KILL", $_); waitpid($_, 0) } }

# The bound on one run of a program (run_cmd), in seconds.
my $limit = { timeout => 30 };

# A UDP server of ours, bound before the fork (no race, no wait): it logs
# each datagram, one a line, to $log and answers per $mode: 'upper' (the
# seed's server), 'drop' (never), 'late3' (ping 3 answered after 0.3 s,
# when the pinger has given up on it). Returns (port, pid).
sub fake_server {
	my ($mode, $log, $host) = @_;
	my $s = IO::Socket::IP->new(LocalAddr => $host // '127.0.0.1',
	    LocalPort => 0, Proto => 'udp') or die "udp: $!";
	my $port = $s->sockport;
	my $pid = fork() // die "fork: $!";
	if ($pid == 0) {
		open(my $fh, '>>', $log) or POSIX::_exit(1);
		$fh->autoflush(1);
		my $buf;
		while (my $peer = $s->recv($buf, 2048)) {
			print $fh "$buf\n";
			next if $mode eq 'drop';
			if ($mode eq 'late3' && $buf =~ /^Ping 3 /) {
				sleep(0.3);
			}
			$s->send(uc($buf), 0, $peer);
		}
		POSIX::_exit(0);
	}
	close($s);
	push @kids, $pid;
	return ($port, $pid);
}

# pingd as forkd runs a "dgram udp wait" service: a bound UDP socket on
# fd 0, made here, then exec. Returns (port, pid).
sub pingd_on_fd0 {
	my (@args) = @_;
	my $s = IO::Socket::IP->new(LocalAddr => '127.0.0.1', LocalPort => 0,
	    Proto => 'udp') or die "udp: $!";
	my $port = $s->sockport;
	my $pid = fork() // die "fork: $!";
	if ($pid == 0) {
		POSIX::dup2(fileno($s), 0) or POSIX::_exit(127);
		POSIX::dup2(fileno($s), 1) or POSIX::_exit(127);
		open(STDERR, '>', "$tmp/pingd.stderr");
		exec($pingd, @args) or POSIX::_exit(127);
	}
	close($s);
	push @kids, $pid;
	return ($port, $pid);
}

my $reply_re = qr/^Reply from 127\.0\.0\.1: PING (\d+) (\d+)\.(\d{6}) udp_seq=(\d+) time=\d+(?:\.\d+)? ms$/;

# The wire format and the seed's defaults, against the seed's server.
{
	my $log = "$tmp/upper.log";
	my ($port) = fake_server('upper', $log);
	my $t0 = time;
	my ($rc, $out, $err) = run_cmd($limit, $pinger, '-u', $port, '-i', '0.05',
	    '127.0.0.1');
	is($rc, 0, 'upper-casing server: exit 0') or diag($out, $err);
	my @l = split(/\n/, $out);
	like($l[0], qr/^PING 127\.0\.0\.1 \(127\.0\.0\.1\) port $port: UDP, 10 pings\.$/,
	    'first line: host, address, port, 10 pings by default');
	my @r = grep { /$reply_re/ } @l;
	is(scalar @r, 10, 'ten replies printed, the seed\'s ten pings');
	is(join(' ', map { /$reply_re/; "$1=$4" } @r),
	    join(' ', map { "$_=$_" } 1 .. 10),
	    'each reply printed is the server\'s text for its own ping');
	like($out, qr/^--- 127\.0\.0\.1 ping statistics ---\n10 packets transmitted, 10 received, 0% packet loss, time \d+ms\nrtt min\/avg\/max\/mdev = [\d.]+\/[\d.]+\/[\d.]+\/[\d.]+ ms\n\z/m,
	    'the summary of ping, 10/10');
	my @got = split(/\n/, slurp($log) // '');
	is(scalar @got, 10, 'the server got ten datagrams');
	my $ok = 1;
	for my $i (0 .. $#got) {
		$ok = 0 unless $got[$i] =~ /^Ping (\d+) (\d+)\.(\d{6})$/ &&
		    $1 == $i + 1 && abs("$2.$3" - $t0) < 60;
	}
	ok($ok, 'on the wire: "Ping SEQ SECONDS.MICROSECONDS", SEQ 1..10, ' .
	    'the time of sending') or diag(explain(\@got));
}

# Lost and late replies.
{
	my ($port) = fake_server('drop', "$tmp/drop.log");
	my ($rc, $out) = run_cmd($limit, $pinger, '-u', $port, '-c', 3, '-i', '0.05',
	    '-W', '0.1', '127.0.0.1');
	is($rc, 1, 'silent server: exit 1');
	is(() = $out =~ /^Request timed out$/mg, 3,
	    'silent server: "Request timed out" for each');
	like($out, qr/^3 packets transmitted, 0 received, 100% packet loss, time \d+ms$/m,
	    'silent server: 100% loss');
	unlike($out, qr/^rtt /m, 'silent server: no rtt line');

	($port) = fake_server('late3', "$tmp/late.log");
	($rc, $out) = run_cmd($limit, $pinger, '-u', $port, '-c', 5, '-i', '0.05',
	    '-W', '0.2', '127.0.0.1');
	is($rc, 0, 'late reply: exit 0');
	my @seq = map { /$reply_re/ ? $4 : () } split(/\n/, $out);
	is("@seq", '1 2 4 5', 'the late reply to ping 3 is not taken for ' .
	    'ping 4\'s: every reply matches its own ping');
	like($out, qr/PING 2 [^\n]*\nRequest timed out\nReply from 127\.0\.0\.1: PING 4 /,
	    'ping 3: Request timed out, in its place');
	like($out, qr/^5 packets transmitted, 4 received, 20% packet loss/m,
	    'late reply: 20% loss');

	# Nobody on the port: the ICMP port unreachable, said.
	my $free = Forkd::free_udp_port();
	($rc, $out) = run_cmd($limit, $pinger, '-u', $free, '-c', 2, '-i', '0.05',
	    '-W', '0.2', '127.0.0.1');
	like($out, qr/^From 127\.0\.0\.1 udp_seq=1 Destination Port Unreachable$/m,
	    'closed port: Destination Port Unreachable');
	is($rc, 1, 'closed port: exit 1');
}

# IPv6.
{
	my $s = IO::Socket::IP->new(LocalAddr => '::1', LocalPort => 0,
	    Proto => 'udp');
	SKIP: {
		skip('no IPv6 loopback', 2) unless $s;
		close($s);
		my ($port) = fake_server('upper', "$tmp/v6.log", '::1');
		my ($rc, $out) = run_cmd($limit, $pinger, '-6', '-u', $port, '-c', 2,
		    '-i', '0.05', '::1');
		is($rc, 0, '::1: exit 0');
		like($out, qr/^Reply from ::1: PING 2 \d+\.\d{6} udp_seq=2 time=/m,
		    '::1: replies');
	}
}

# The heartbeat client: the exact datagrams, at the interval.
{
	my $log = "$tmp/hb.log";
	my ($port) = fake_server('drop', $log);
	my $t0 = time;
	my ($rc, $out) = run_cmd($limit, $pinger, '-H', $port, '-c', 4, '-i', '0.1',
	    '127.0.0.1');
	my $dt = time - $t0;
	is($rc, 0, 'heartbeat: exit 0');
	like($out, qr/^HEARTBEAT 127\.0\.0\.1 \(127\.0\.0\.1\) port $port: every 0\.100 s\.$/m,
	    'heartbeat: first line');
	like($out, qr/^4 heartbeats sent, time \d+ms$/m, 'heartbeat: summary');
	my $end = time + 5;
	sleep(0.02) while time < $end && (() = (slurp($log) // '') =~ /\n/g) < 4;
	my @got = split(/\n/, slurp($log) // '');
	is(scalar(grep { /^Heartbeat \d+ \d+\.\d{6}\z/ } @got), 4,
	    'heartbeat: four datagrams, "Heartbeat SEQ SECONDS.MICROSECONDS"')
	    or diag(explain(\@got));
	is(join(' ', map { /^Heartbeat (\d+)/ ? $1 : '?' } @got), '1 2 3 4',
	    'heartbeat: SEQ counts from 1');
	my @ts = map { /(\d+\.\d+)$/ ? $1 : 0 } @got;
	ok($ts[3] - $ts[0] > 0.25 && $ts[3] - $ts[0] < 1.5 && $dt >= 0.25,
	    'heartbeat: sent at -i 0.1 s');
}

# Against pingd itself, as forkd runs it (a bound socket on fd 0).
SKIP: {
	skip('build/pingd not built', 11) unless -x $pingd;
	my ($port, $pid) = pingd_on_fd0('-l', '0', '-x', '5');
	my ($rc, $out, $err) = run_cmd($limit, $pinger, '-u', $port, '-i', '0.02',
	    '-W', '0.5', '127.0.0.1');
	is($rc, 0, 'pingd -l 0: exit 0') or diag($out, $err,
	    slurp("$tmp/pingd.stderr"));
	is(scalar(grep { /$reply_re/ } split(/\n/, $out)), 10,
	    'pingd -l 0: ten replies');
	like($out, qr/^10 packets transmitted, 10 received, 0% packet loss/m,
	    'pingd -l 0: 10/10');
	kill('TERM', $pid);

	($port, $pid) = pingd_on_fd0('-l', '100', '-x', '5');
	($rc, $out, $err) = run_cmd($limit, $pinger, '-u', $port, '-i', '0.02', '-W',
	    '0.1', '127.0.0.1');
	is($rc, 1, 'pingd -l 100: exit 1') or diag($out, $err);
	is(() = $out =~ /^Request timed out$/mg, 10,
	    'pingd -l 100: ten timeouts');
	like($out, qr/^10 packets transmitted, 0 received, 100% packet loss/m,
	    'pingd -l 100: 0/10');
	kill('TERM', $pid);

	# pingd -H reads our heartbeats; -d copies its log to stderr, and it
	# says what it counted when we fall silent (-T 1) and exits (-x 2).
	($port, $pid) = pingd_on_fd0('-H', '-d', '-T', '1', '-x', '2');
	($rc, $out) = run_cmd($limit, $pinger, '-H', $port, '-c', 3, '-i', '0.05',
	    '127.0.0.1');
	is($rc, 0, 'heartbeat to pingd -H: exit 0');
	my $end = time + 6;
	my $said = '';
	while (time < $end) {
		$said = slurp("$tmp/pingd.stderr") // '';
		last if $said =~ /exiting after \d+ heartbeats/;
		sleep(0.05);
	}
	like($said, qr/heartbeat: 127\.0\.0\.1:\d+: up, seq 1, one-way delay [\d.]+ ms/,
	    'pingd -H: our first heartbeat parsed, seq 1') or diag($said);
	like($said, qr/exiting after 3 heartbeats/,
	    'pingd -H: all three counted');
	like($said, qr/down: no heartbeat for 1 s \(last seq 3; 3 received, 0 lost/,
	    'pingd -H: down after our last, seq 3, none lost');
	unlike($said, qr/not a heartbeat|: lost |late or duplicate/,
	    'pingd -H: nothing malformed, lost or out of order')
	    or diag($said);
	waitpid($pid, 0);
}

done_testing();
