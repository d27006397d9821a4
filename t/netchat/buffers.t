#!/usr/bin/perl
# netchat's buffers and bounds against a peer written here: input typed
# ahead past its 8 KiB buffer does not keep the server from accepting; -w
# bounds the connect to a listener that drops SYNs, as nc -w does; a line
# longer than the buffer is one line and one turn, both ways.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(build tmpdir free_port slurp spit wait_file);
use IO::Select;
use IO::Socket::IP;
use POSIX qw(:sys_wait_h);
use Test::More;

my $dir = tmpdir();
my @pids;
END { local $?; kill('KILL', $_) for @pids; waitpid($_, 0) for @pids }

# Start @cmd with stdin from $in (a file), stderr to $err and stdout to
# $main::OUT (default /dev/null); its pid.
our $OUT = '/dev/null';
sub start {
	my ($in, $err, @cmd) = @_;
	my $pid = fork() // die "fork: $!";
	if ($pid == 0) {
		open(STDIN, '<', $in) or POSIX::_exit(126);
		open(STDOUT, '>', $OUT) or POSIX::_exit(126);
		open(STDERR, '>', $err) or POSIX::_exit(126);
		exec(@cmd) or POSIX::_exit(127);
	}
	push @pids, $pid;
	return $pid;
}

# A line from $s within $timeout s, or undef.
sub readline_within {
	my ($s, $timeout) = @_;
	my ($buf, $sel) = ('', IO::Select->new($s));
	while ($buf !~ /\n/) {
		return undef unless $sel->can_read($timeout);
		sysread($s, $buf, 4096, length($buf)) or return undef;
	}
	return $buf =~ /\A(.*?\n)/s ? $1 : undef;
}

# netchat server: more typed-ahead input than its 8 KiB buffer holds
# (here a file) kept stdin readable with the buffer full, and the wait
# loop looked at stdin before the listener: it spun and never accepted.
SKIP: {
	my $nc = build('netchat');
	skip('build/netchat not built', 2) unless -x $nc;
	my $port = free_port();
	spit("$dir/typed", "hello\n" x 1500);
	my $pid = start("$dir/typed", "$dir/nc.err", $nc, '-v', '-w', '10',
	    '-b', '127.0.0.1', 'server', $port);
	ok(wait_file("$dir/nc.err", qr/listening on/), 'netchat server listens');
	my $c = IO::Socket::IP->new(PeerHost => '127.0.0.1',
	    PeerPort => $port) or die "connect: $!";
	syswrite($c, "hi\n");
	is(readline_within($c, 10), "hello\n",
	    'with 9000 bytes typed ahead, it accepts and answers the first line');
	close($c);
	kill('TERM', $pid);
}

# netchat -w bounds the connect as nc -w does: a listener whose queue is
# full drops SYNs, and the blocking connect(2) waited out the kernel's
# minutes of retries whatever -w said.
SKIP: {
	my $nc = build('netchat');
	skip('build/netchat not built', 2) unless -x $nc;
	# (IO::Socket::IP takes Listen => 0 as no listen at all.)
	my $l = IO::Socket::IP->new(LocalHost => '127.0.0.1', LocalPort => 0)
	    or die "bind: $!";
	listen($l, 0) or die "listen: $!";
	my $port = $l->sockport;
	# Fill the accept queue: once one is queued, the next SYN is dropped.
	my @fill;
	for (1 .. 3) {
		push @fill, IO::Socket::IP->new(PeerHost => '127.0.0.1',
		    PeerPort => $port, Blocking => 0) or die "connect: $!";
	}
	spit("$dir/hi", "hi\n");
	my $t0 = time;
	my $pid = start("$dir/hi", "$dir/ncw.err", $nc, '-w', '1',
	    '127.0.0.1', $port);
	my $st;
	for (1 .. 1000) {
		last if waitpid($pid, WNOHANG) == $pid && defined($st = $? >> 8);
		select(undef, undef, undef, 0.02);
	}
	is($st, 111, 'netchat -w 1 to a host that drops SYNs: exit 111 (temporary) within 20 s');
	like(slurp("$dir/ncw.err") // '', qr/^netchat: connect 127\.0\.0\.1 port $port: Connection timed out$/m,
	    'and says the connect timed out');
	@pids = grep { $_ != $pid } @pids;
	kill('KILL', $pid) unless defined $st;
}

# netchat's turns are lines: a line longer than its 8 KiB buffer went out
# in pieces, each taken as a turn of its own, with an LF added after each
# (bytes the peer never sent, and the turns out of step).
SKIP: {
	my $nc = build('netchat');
	skip('build/netchat not built', 4) unless -x $nc;
	my $long = 'A' x 10000;
	# The peer's long line to the server's stdout.
	my $port = free_port();
	spit("$dir/ok", "ok\n");
	local $OUT = "$dir/long.out";
	my $pid = start("$dir/ok", "$dir/long.err", $nc, '-v', '-w', '10',
	    '-b', '127.0.0.1', 'server', $port);
	wait_file("$dir/long.err", qr/listening on/) or die "no netchat server";
	my $c = IO::Socket::IP->new(PeerHost => '127.0.0.1',
	    PeerPort => $port) or die "connect: $!";
	syswrite($c, "$long\n");
	is(readline_within($c, 10), "ok\n", 'a 10000-byte line: the server answers');
	close($c);
	my $st;
	for (1 .. 500) {
		last if waitpid($pid, WNOHANG) == $pid && defined($st = $?);
		select(undef, undef, undef, 0.02);
	}
	@pids = grep { $_ != $pid } @pids if defined $st;
	ok((slurp("$dir/long.out") // '') eq "$long\n",
	    'the server printed the 10000-byte line as it came, one line');

	# The user's long line to the peer, in one turn.
	my $l = IO::Socket::IP->new(LocalHost => '127.0.0.1', LocalPort => 0,
	    Listen => 1) or die "listen: $!";
	spit("$dir/long.in", "$long\nsecond\n");
	$OUT = "$dir/long2.out";
	$pid = start("$dir/long.in", "$dir/long2.err", $nc, '-w', '10',
	    '127.0.0.1', $l->sockport);
	my $a = $l->accept or die "accept: $!";
	my $got = readline_within($a, 10) // '';
	ok($got eq "$long\n", 'the client sent the 10000-byte line as one line')
	    or diag(length($got) . ' bytes');
	syswrite($a, "reply\n");
	ok((readline_within($a, 10) // "") eq "second\n", "and its next line on its next turn");
	close($a);
}

done_testing();
