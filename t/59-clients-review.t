#!/usr/bin/perl
# Review of the clients against hostile or unusual peers and inputs:
# each test here failed before the fix it names.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Forkd qw(build tmpdir free_port slurp spit);
use Proc qw(wait_file);
use IO::Select;
use IO::Socket::IP;
use POSIX qw(:sys_wait_h);
use Test::More;

my $dir = tmpdir();
my @pids;
END { local $?; kill('KILL', $_) for @pids; waitpid($_, 0) for @pids }

# Start @cmd with stdin from $in (a file) and stderr to $err; its pid.
sub start {
	my ($in, $err, @cmd) = @_;
	my $pid = fork() // die "fork: $!";
	if ($pid == 0) {
		open(STDIN, '<', $in) or POSIX::_exit(126);
		open(STDOUT, '>', '/dev/null') or POSIX::_exit(126);
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

done_testing();
