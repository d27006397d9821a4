#!/usr/bin/perl
# echod under review: hostile and unusual peers. A connected socket on fd 0
# (the nowait contract), a listening one (prefork), a datagram one (wait).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Forkd qw(build tmpdir slurp connect_tcp);
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

# Wait up to $timeout s for $pid to exit; its status, or undef.
sub wait_exit {
	my ($pid, $timeout) = @_;
	my $end = time + $timeout;
	while (time < $end) {
		return $? if waitpid($pid, WNOHANG) == $pid;
		sleep(0.02);
	}
	return undef;
}

# Wait up to $timeout s for $re in file $f.
sub wait_file {
	my ($f, $re, $timeout) = @_;
	my $end = time + ($timeout // 5);
	while (time < $end) {
		return 1 if (slurp($f) // '') =~ $re;
		sleep(0.02);
	}
	return 0;
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

# Read from $s until $n bytes, EOF or $timeout s.
sub read_n {
	my ($s, $n, $timeout) = @_;
	my ($buf, $sel, $end) = ('', IO::Select->new($s), time + ($timeout // 5));
	while (length($buf) < $n && (my $left = $end - time) > 0) {
		last unless $sel->can_read($left);
		my $r = sysread($s, $buf, 65536, length($buf));
		last unless $r;
	}
	return $buf;
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

END {
	local $?;
	for my $p (@pids) {
		kill('TERM', $p);
		waitpid($p, 0);
	}
}

done_testing();
