#!/usr/bin/perl
# Review of the clients against hostile or unusual peers and inputs:
# each test here failed before the fix it names.
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

# A one-connection SMTP server that accepts everything; the bytes it got
# between DATA's 354 and the final "." come back through the pipe.
sub smtp_fake {
	my $l = IO::Socket::IP->new(LocalHost => '127.0.0.1', LocalPort => 0,
	    Listen => 1) or die "listen: $!";
	pipe(my $r, my $w) or die "pipe: $!";
	my $pid = fork() // die "fork: $!";
	if ($pid == 0) {
		close($r);
		my $c = $l->accept or POSIX::_exit(1);
		my ($buf, $data, $indata) = ('', '', 0);
		syswrite($c, "220 fake ESMTP\r\n");
		while (sysread($c, $buf, 65536, length($buf))) {
			while ($buf =~ s/\A(.*?\r\n)//s) {
				my $line = $1;
				if ($indata) {
					if ($line eq ".\r\n") {
						$indata = 0;
						syswrite($c, "250 ok\r\n");
					} else {
						$data .= $line;
					}
				} elsif ($line =~ /^DATA/i) {
					$indata = 1;
					syswrite($c, "354 go\r\n");
				} elsif ($line =~ /^QUIT/i) {
					syswrite($c, "221 bye\r\n");
					syswrite($w, $data);
					POSIX::_exit(0);
				} else {
					syswrite($c, "250 ok\r\n");
				}
			}
		}
		POSIX::_exit(1);
	}
	close($w);
	push @pids, $pid;
	return ($l->sockport, $r, $pid);
}

# send-email: the word is the Subject only when it can be one; a word
# with a control byte (allowed in the body) was refused with exit 100
# "subject: control character", a -s the user never gave.
SKIP: {
	my $se = build('send-email');
	skip('build/send-email not built', 3) unless -x $se;
	my ($port, $r, $pid) = smtp_fake();
	my $st = system($se, '-t', '10', '-p', $port, '127.0.0.1', 'a@b.example',
	    "bell\aword") >> 8;
	is($st, 0, 'send-email with a control byte in the word: exit 0');
	kill('KILL', $pid) if $st != 0;
	my $data = do { local $/; <$r> } // '';
	like($data, qr/^Subject: \(no subject\)\r$/m, 'the Subject is "(no subject)"');
	like($data, qr/\r\n\r\nbell\aword\r\n\z/, 'the word is the body');
	waitpid($pid, 0);
	@pids = grep { $_ != $pid } @pids;
}

done_testing();
