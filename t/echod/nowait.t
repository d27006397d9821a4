#!/usr/bin/perl
# echod with a connected socket on fd 0 (the nowait contract) against
# peers that stall: one that sends and never reads still lets echod go at
# the idle time (-i), one that keeps its end open after the terminator's
# echo too. With -t, bytes sent after the "." line never cost the peer the
# echo still queued behind a full window (also on a listening socket).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(build tmpdir slurp read_n wait_exit);
use IO::Select;
use IO::Socket::IP;
use POSIX qw(:sys_wait_h);
use Socket qw(SOL_SOCKET SO_RCVBUF SO_SNDBUF);
use Errno qw(EAGAIN EWOULDBLOCK);
use Test::More;
use Time::HiRes qw(time sleep);

my $echod = build('echod');
plan skip_all => "build/echod not built (make build/echod)" unless -x $echod;
$SIG{PIPE} = 'IGNORE';

my $dir = tmpdir();
my @pids;
my $nerr = 0;

# Run echod with socket $s on fds 0 and 1. Returns (pid, stderr file).
sub run_on {
	my ($s, @args) = @_;
	my $err = "$dir/echod" . $nerr++ . ".err";
	my $pid = fork() // die "fork: $!";
	if ($pid == 0) {
		POSIX::dup2(fileno($s), 0) or POSIX::_exit(126);
		POSIX::dup2(fileno($s), 1) or POSIX::_exit(126);
		open(STDERR, '>', $err) or POSIX::_exit(126);
		exec($echod, '-d', @args) or POSIX::_exit(127);
	}
	push @pids, $pid;
	return ($pid, $err);
}

# A connected pair over loopback: echod gets the accepted end (nowait).
# Returns (pid, client socket, stderr file).
sub nowait {
	my (%o) = @_;
	my $l = IO::Socket::IP->new(LocalAddr => '127.0.0.1', LocalPort => 0,
	    Proto => 'tcp', Listen => 1) or die "listen: $!";
	my $cs = IO::Socket::IP->new(PeerHost => '127.0.0.1',
	    PeerPort => $l->sockport, Proto => 'tcp') or die "connect: $!";
	setsockopt($cs, SOL_SOCKET, SO_RCVBUF, $o{rcvbuf}) if $o{rcvbuf};
	my $a = $l->accept or die "accept: $!";
	my ($pid, $err) = run_on($a, @{ $o{args} // [] });
	close($a);
	close($l);
	return ($pid, $cs, $err);
}

# Write as much of $data as goes without blocking, until the peer stalls.
# Returns the number of bytes written.
sub stuff {
	my ($s, $max) = @_;
	$s->blocking(0);
	my $chunk = 'x' x 65536;
	my $sent = 0;
	while ($sent < $max) {
		my $n = syswrite($s, $chunk);
		if (!defined $n) {
			die "write: $!" unless $! == EAGAIN || $! == EWOULDBLOCK;
			last unless IO::Select->new($s)->can_write(0.5);
			next;
		}
		$sent += $n;
	}
	$s->blocking(1);
	return $sent;
}

# A client socket to 127.0.0.1:$port with a receive buffer of $rcvbuf
# bytes set before the connect (so the window it offers stays small).
sub dial {
	my ($port, $rcvbuf) = @_;
	socket(my $s, Socket::AF_INET, Socket::SOCK_STREAM, 0) or die "socket: $!";
	setsockopt($s, SOL_SOCKET, SO_RCVBUF, $rcvbuf) or die "SO_RCVBUF: $!"
	    if $rcvbuf;
	connect($s, Socket::pack_sockaddr_in($port, Socket::inet_aton('127.0.0.1')))
	    or die "connect: $!";
	return $s;
}

# The TCP state (hex, as /proc/net/tcp has it: 04 is FIN_WAIT1) of the
# loopback socket from local port $lport to remote port $rport, or ''.
sub tcp_state {
	my ($lport, $rport) = @_;
	open(my $fh, '<', '/proc/net/tcp') or return '';
	while (<$fh>) {
		my (undef, $l, $r, $st) = split;
		next unless defined $st && $l =~ /:([0-9A-F]{4})$/;
		next unless hex($1) == $lport;
		next unless $r =~ /:([0-9A-F]{4})$/ && hex($1) == $rport;
		return $st;
	}
	return '';
}

# nowait: a peer that sends without ever reading. echod's blocking write
# must still end at the idle time (-i), not hold the process forever.
{
	my ($pid, $c, $err) = nowait(args => ['-i', '1'], rcvbuf => 4096);
	my $sent = stuff($c, 64 << 20);
	cmp_ok($sent, '<', 64 << 20, "nowait: a peer that does not read is stalled after $sent bytes");
	my $st = wait_exit($pid, 6);
	ok(defined $st, 'nowait: echod leaves at the idle time though its write is blocked');
	is($st // -1, 0, 'nowait: exit 0 for a peer gone idle');
	like(slurp($err) // '', qr/close 127\.0\.0\.1:\d+ in \d+ out \d+ \(idle\)/,
	    'nowait: logged as idle');
	close($c);
}

# -t: the echo is in the kernel, not yet taken by the peer (its window is
# full) when echod reads the ".": echod sends its FIN after it. Bytes the
# peer sends after the "." must not make the kernel answer RST and throw
# the unsent echo away: the peer gets every byte up to the "." line.
sub after_dot {
	my ($name, $s, $sport) = @_;
	my $cport = (Socket::unpack_sockaddr_in(getsockname($s)))[0];
	my $data = ('y' x 1023 . "\n") x 256;	# 256 KiB
	my $want = $data . ".\n";
	syswrite($s, $want) == length($want) or die "write: $!";
	# echod has written all of it back and shut down its side.
	my $end = time + 5;
	sleep(0.02) while time < $end && tcp_state($sport, $cport) ne '04';
	is(tcp_state($sport, $cport), '04', "$name: echod's FIN queued behind the unread echo");
	syswrite($s, "more after the dot\n" x 10);
	my $got = read_n($s, length($want) + 1, 10);
	ok($got eq $want, "$name: all " . length($want) . ' bytes up to "." back despite bytes after it')
	    or diag('got ' . length($got));
	close($s);
}

{
	my $l = IO::Socket::IP->new(LocalAddr => '127.0.0.1', LocalPort => 0,
	    Proto => 'tcp', Listen => 16) or die "listen: $!";
	run_on($l, '-t', '-i', '10');
	after_dot('listener', dial($l->sockport, 4096), $l->sockport);
	close($l);
	$l = IO::Socket::IP->new(LocalAddr => '127.0.0.1', LocalPort => 0,
	    Proto => 'tcp', Listen => 1) or die "listen: $!";
	my $s = dial($l->sockport, 4096);
	my $a = $l->accept or die "accept: $!";
	run_on($a, '-t', '-i', '10');
	close($a);
	after_dot('nowait', $s, $l->sockport);
	close($l);
}

# A peer that keeps its socket open after the terminator's echo and FIN:
# the linger ends at the idle time (-i 1 here, below ECHO_LINGER_MS).
{
	my ($pid, $c, $err) = nowait(args => ['-t', '-i', '1']);
	syswrite($c, "a\n.\n");
	is(read_n($c, 100, 5), "a\n.\n", 'linger: echo and EOF');
	my $st = wait_exit($pid, 5);
	is($st // -1, 0, 'linger: echod exits 0 though the peer never closes');
	like(slurp($err) // '', qr/close 127\.0\.0\.1:\d+ in 4 out 4 \(terminator\)/,
	    'linger: logged as the terminator');
	close($c);
}

END {
	local $?;
	for my $p (@pids) {
		kill('TERM', $p);
		waitpid($p, 0);
	}
}

done_testing();
