#!/usr/bin/perl
# echod with a listening socket on fd 0, as forkd's prefork.N and stream
# wait services give it: many connections at once in one process (seed
# 000's non-blocking server), 1 MiB byte-exact, the -t terminator,
# back-pressure, the idle timeout and the connection bound; the
# terminator split across reads at every position, and a client that
# shuts down its write side still gets all of its echo.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(build tmpdir slurp connect_tcp read_n);
use IO::Select;
use IO::Socket::IP;
use POSIX qw(:sys_wait_h);
use Socket qw(SOL_SOCKET SO_RCVBUF SO_SNDBUF IPPROTO_TCP TCP_QUICKACK);
use Errno qw(EAGAIN EWOULDBLOCK EINTR);
use Test::More;
use Time::HiRes qw(time sleep);

my $echod = build('echod');
plan skip_all => "build/echod not built (make build/echod)" unless -x $echod;
$SIG{PIPE} = 'IGNORE';

my $dir = tmpdir();
my @pids;

# Start echod with a listening socket made here on fds 0 and 1 (the
# prefork contract). Returns (pid, port, stderr file).
sub start_echod {
	my ($name, @args) = @_;
	my $l = IO::Socket::IP->new(LocalAddr => '127.0.0.1', LocalPort => 0,
	    Proto => 'tcp', Listen => 128, ReuseAddr => 1) or die "listen: $!";
	my $err = "$dir/$name.err";
	my $pid = fork() // die "fork: $!";
	if ($pid == 0) {
		POSIX::dup2(fileno($l), 0) or POSIX::_exit(126);
		POSIX::dup2(fileno($l), 1) or POSIX::_exit(126);
		open(STDERR, '>', $err) or POSIX::_exit(126);
		exec($echod, '-d', @args) or POSIX::_exit(127);
	}
	my $port = $l->sockport;
	close($l);
	push @pids, $pid;
	return ($pid, $port, $err);
}

# Wait up to $timeout s for EOF on $s (discarding data). Returns 1 on EOF.
sub wait_eof {
	my ($s, $timeout) = @_;
	my $sel = IO::Select->new($s);
	my $end = time + $timeout;
	while ((my $left = $end - time) > 0) {
		last unless $sel->can_read($left);
		my $r = sysread($s, my $junk, 65536);
		return 1 if defined $r && $r == 0;
		return 1 if !defined $r;	# ECONNRESET counts as closed
	}
	return 0;
}

# Send $data while reading the echo, both non-blocking. Returns the echo.
sub exchange {
	my ($s, $data, $timeout) = @_;
	$s->blocking(0);
	my ($off, $got) = (0, '');
	my $end = time + ($timeout // 20);
	while (time < $end) {
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

my ($pid, $port, $err) = start_echod('main', '-t', '-i', '10');

# 50 clients connected at once; each is answered while all are open.
{
	my @c;
	for my $i (1 .. 50) {
		my $s = connect_tcp($port) or die "connect: $!";
		push @c, $s;
	}
	my $ok = 0;
	# Answer the last first: a server that served one connection at a
	# time would leave it unanswered.
	for my $i (reverse 0 .. $#c) {
		syswrite($c[$i], "client $i\n");
		$ok++ if read_n($c[$i], length("client $i\n"), 5) eq "client $i\n";
	}
	is($ok, 50, '50 concurrent clients each get their own line back');
	my $closed = 0;
	for my $i (0 .. $#c) {
		syswrite($c[$i], ".\n");
		my $back = read_n($c[$i], 2, 5);
		$closed++ if $back eq ".\n" && wait_eof($c[$i], 5);
	}
	is($closed, 50, 'each of 50 ends on its "." line, echoed before the close');
}

# 1 MiB of random bytes, byte-exact, then the terminator.
{
	open(my $r, '<:raw', '/dev/urandom') or die $!;
	read($r, my $data, 1 << 20) == 1 << 20 or die "urandom";
	close($r);
	# No accidental terminator inside the random bytes.
	$data =~ s/(\A|\n)\.(?=\r?\n)/$1X/g;
	$data =~ s/(\A|\n)\.(?=\r?\n)/$1X/g;
	my $s = connect_tcp($port) or die "connect: $!";
	my $got = exchange($s, $data . "\n.\n", 30);
	ok($got eq $data . "\n.\n", '1 MiB of random bytes + "\n.\n" echoed byte-exact, then closed')
	    or diag('got ' . length($got) . ' of ' . (length($data) + 3) . ' bytes');
}

# -t with the exact bytes, CRLF form, bytes after "." dropped.
{
	my $s = connect_tcp($port);
	syswrite($s, "hello\r\nworld\r\n.\r\nignored\r\n");
	is(read_n($s, 1000, 5), "hello\r\nworld\r\n.\r\n", '-t: CRLF lines back exactly up to ".\r\n"');
}

# Back-pressure: a client that sends without reading fills the buffers
# and is then no longer read from (its writes block), while another client
# is still served at once; then it reads everything back intact.
{
	my $hog = IO::Socket::IP->new(PeerHost => '127.0.0.1', PeerPort => $port,
	    Proto => 'tcp') or die "connect: $!";
	setsockopt($hog, SOL_SOCKET, SO_RCVBUF, 65536);
	setsockopt($hog, SOL_SOCKET, SO_SNDBUF, 65536);
	$hog->blocking(0);
	my $chunk = ('0123456789abcdef' x 4096);	# 64 KiB of no "."
	my $sent = '';
	my $stalled = 0;
	my $end = time + 10;
	while (time < $end && length($sent) < 64 << 20) {
		my $n = syswrite($hog, $chunk);
		if (!defined $n) {
			die "hog write: $!" unless $! == EAGAIN || $! == EWOULDBLOCK;
			# Blocked: give echod time to drain, see if it still is.
			my $w = IO::Select->new($hog);
			unless ($w->can_write(0.5)) { $stalled = 1; last }
			next;
		}
		$sent .= substr($chunk, 0, $n);
	}
	ok($stalled, 'back-pressure: a client that does not read is stopped after ' .
	    length($sent) . ' bytes');
	cmp_ok(length($sent), '<', 16 << 20, 'echod did not buffer an unbounded amount');
	my $other = connect_tcp($port);
	syswrite($other, "still here\n");
	is(read_n($other, 11, 5), "still here\n", 'another client is served while one is stalled');
	close($other);
	$hog->blocking(1);
	my $got = read_n($hog, length($sent), 10);
	ok($got eq $sent, 'the stalled client then reads all ' . length($sent) . ' bytes back intact');
	close($hog);
}

# A client that resets its connection does not hurt the server.
{
	my $s = connect_tcp($port);
	syswrite($s, "x" x 1000);
	setsockopt($s, SOL_SOCKET, Socket::SO_LINGER, pack('ii', 1, 0));
	close($s);
	my $t = connect_tcp($port);
	syswrite($t, "after reset\n");
	is(read_n($t, 12, 5), "after reset\n", 'serving goes on after a client RST');
}

ok(kill(0, $pid) && waitpid($pid, WNOHANG) == 0, 'echod (listener) still running');
my $log = slurp($err) // '';
like($log, qr/connect 127\.0\.0\.1:\d+ conns \d+\/256/, 'log: connect line with the peer and the count');
like($log, qr/close 127\.0\.0\.1:\d+ in 1048579 out 1048579 \(terminator\)/, 'log: close line with byte counts for the 1 MiB client');
unlike($log, qr/not allowed|SIGSYS/, 'sandbox: nothing refused');

# -i: a peer that says nothing is dropped after the idle time.
{
	my ($p2, $port2, $err2) = start_echod('idle', '-i', '1');
	my $s = connect_tcp($port2) or die;
	my $t0 = time;
	ok(wait_eof($s, 5), 'an idle connection is closed');
	my $dt = time - $t0;
	ok($dt >= 0.8 && $dt < 4, sprintf('after about -i 1 second (%.1f s)', $dt));
	my $end = time + 3;
	sleep(0.05) while time < $end && (slurp($err2) // '') !~ /\(idle\)/;
	like(slurp($err2) // '', qr/close 127\.0\.0\.1:\d+ in 0 out 0 \(idle\)/, 'log: closed as idle');
}

# -c: the bound on connections per process; past it new callers wait in
# the backlog (for another worker) and are served when a slot frees.
{
	my ($p3, $port3, $err3) = start_echod('bound', '-c', '2');
	my @c = map { connect_tcp($port3) or die } 1 .. 3;
	syswrite($_, "hi\n") for @c;
	is(read_n($c[0], 3, 5), "hi\n", '-c 2: first served');
	is(read_n($c[1], 3, 5), "hi\n", '-c 2: second served');
	is(read_n($c[2], 3, 0.5), '', '-c 2: third waits while two are open');
	close($c[0]);
	is(read_n($c[2], 3, 5), "hi\n", '-c 2: third served once a slot frees');
}

# Several processes on one listener (prefork.N): each takes connections.
{
	my $l = IO::Socket::IP->new(LocalAddr => '127.0.0.1', LocalPort => 0,
	    Proto => 'tcp', Listen => 128, ReuseAddr => 1) or die;
	my @w;
	for my $i (1 .. 3) {
		my $pid = fork() // die;
		if ($pid == 0) {
			POSIX::dup2(fileno($l), 0);
			open(STDERR, '>', "$dir/w$i.err");
			exec($echod, '-d') or POSIX::_exit(127);
		}
		push @w, $pid;
		push @pids, $pid;
	}
	my $p = $l->sockport;
	my $ok = 0;
	my @c = map { connect_tcp($p) or die } 1 .. 30;
	for my $i (0 .. $#c) {
		syswrite($c[$i], "w$i\n");
		$ok++ if read_n($c[$i], length("w$i\n"), 5) eq "w$i\n";
	}
	is($ok, 30, '3 workers on one listener: 30 clients served');
	# A worker that loses the race for a connection must not sleep in
	# accept(2) while its own connections wait. Answered last first.
	my @d = map { connect_tcp($p) or die } 1 .. 30;
	$ok = 0;
	for my $i (reverse 0 .. $#d) {
		syswrite($d[$i], "b$i\n");
		last unless read_n($d[$i], length("b$i\n"), 5) eq "b$i\n";
		$ok++;
	}
	is($ok, 30, 'a worker losing the race: 30 more clients served');
	# and the open ones still answer.
	$ok = 0;
	for my $i (0 .. $#c) {
		syswrite($c[$i], "again\n");
		last unless read_n($c[$i], 6, 5) eq "again\n";
		$ok++;
	}
	is($ok, 30, 'connections open across it keep being served');
	close($_) for @c, @d;
	close($l);
}

# IPv6: the same on ::1, the peer logged as such.
SKIP: {
	my $l6 = IO::Socket::IP->new(LocalAddr => '::1', LocalPort => 0,
	    Proto => 'tcp', Listen => 16, ReuseAddr => 1);
	skip 'no IPv6 loopback (::1)', 2 unless $l6;
	my $pid6 = fork() // die;
	if ($pid6 == 0) {
		POSIX::dup2(fileno($l6), 0);
		open(STDERR, '>', "$dir/v6.err");
		exec($echod, '-d', '-t') or POSIX::_exit(127);
	}
	push @pids, $pid6;
	my $s = connect_tcp($l6->sockport, '::1') or die "connect ::1: $!";
	close($l6);
	syswrite($s, "over v6\n.\n");
	is(read_n($s, 100, 5), "over v6\n.\n", 'IPv6: echoed up to the terminator');
	close($s);	# echod closes on our EOF after its FIN
	my $end = time + 3;
	sleep(0.05) while time < $end && (slurp("$dir/v6.err") // '') !~ /close/;
	like(slurp("$dir/v6.err") // '', qr/close ::1:\d+ in 10 out 10 \(terminator\)/, 'IPv6: peer logged as ::1');
}

END {
	local $?;
	for my $p (@pids) {
		kill('TERM', $p);
		waitpid($p, 0);
	}
}

# Listener: the terminator split across reads at every position (the
# first part's echo is awaited, so echod has read it alone), and a client
# that shuts down its write side still gets all of its echo back.
{
	my (undef, $port) = start_echod('split', '-t', '-i', '10');
	my ($ok, $n) = (0, 0);
	for my $case (["ab\n.\n", 'zz'], [".\n", 'zz'], ["ab\r\n.\r\n", 'zz'],
	    [('q' x 40000) . "\n.\n", 'zz']) {
		my ($want, $after) = @$case;
		# Every position of the short ones; of the long line, the
		# first and the last few, around the "." line after it.
		my $len = length($want);
		for my $i (grep { $_ <= 8 || $_ >= $len - 8 } 1 .. $len - 1) {
			$n++;
			my $s = connect_tcp($port) or die "connect: $!";
			syswrite($s, substr($want, 0, $i));
			my $got = read_n($s, $i, 5);
			syswrite($s, substr($want, $i) . $after);
			$got .= read_n($s, length($want) + 10, 5);
			$ok++ if $got eq $want;
			close($s);
		}
	}
	is($ok, $n, "listener: the terminator split at each of $n positions");

	my $data = join('', map { chr(int(rand(256))) } 1 .. 300000);
	$data =~ s/(\A|\n)\.(?=\r?\n)/$1X/g;
	my $s = connect_tcp($port) or die "connect: $!";
	my $pid = fork() // die;
	if ($pid == 0) {
		syswrite($s, $data) == length($data) or POSIX::_exit(1);
		shutdown($s, 1);
		POSIX::_exit(0);
	}
	my $got = read_n($s, length($data) + 1, 10);
	waitpid($pid, 0);
	ok($got eq $data, 'listener: half-closed client gets all ' . length($data) . ' bytes back')
	    or diag('got ' . length($got));
	close($s);
}

# Delayed acknowledgements: echod turns TCP_QUICKACK off on the listener
# it is handed, before its sandbox, so each accepted connection inherits
# it and the echo carries the ACK of the bytes it answers; echoes still
# come back whole, a short line and a large transfer.
{
	my $l = IO::Socket::IP->new(LocalAddr => '127.0.0.1', LocalPort => 0,
	    Proto => 'tcp', Listen => 128, ReuseAddr => 1) or die "listen: $!";
	my $quick = sub { unpack('i', getsockopt($l, IPPROTO_TCP, TCP_QUICKACK)
	    // pack('i', -1)) };
	is($quick->(), 1, 'delayed ACKs: a fresh listener acknowledges at once');
	my $pid = fork() // die "fork: $!";
	if ($pid == 0) {
		POSIX::dup2(fileno($l), 0) or POSIX::_exit(126);
		POSIX::dup2(fileno($l), 1) or POSIX::_exit(126);
		open(STDERR, '>', "$dir/delack.err") or POSIX::_exit(126);
		exec($echod, '-d') or POSIX::_exit(127);
	}
	push @pids, $pid;
	my $end = time + 5;
	sleep(0.05) while time < $end && $quick->() != 0;
	is($quick->(), 0, 'delayed ACKs: echod turned TCP_QUICKACK off on its listener');
	my $s = connect_tcp($l->sockport) or die "connect: $!";
	syswrite($s, "short\n");
	is(read_n($s, 6, 5), "short\n", 'delayed ACKs: a short line echoed');
	my $big = 'd' x 500000;
	is(exchange($s, $big, 20), $big, 'delayed ACKs: 500000 bytes echoed whole');
	close($s);
	close($l);
}

done_testing();
