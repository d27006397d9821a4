package Proc;
# Interactive programs under test: started with pipes on stdin and stdout
# (stderr to a file), typed to, and read line by line with deadlines.
# Used by the tests of programs that converse (netchat).
use strict;
use warnings;
use Exporter 'import';
use IO::Handle;
use IO::Select;
use POSIX qw(:sys_wait_h);
use Time::HiRes qw(time sleep);
use Forkd qw(tmpdir wait_exit);

our @EXPORT_OK = qw(spawn type fill line quiet exit_code);

# Where the programs' stderr files go; set it, or a temporary one is made.
our $DIR;

our @kids;

# Run @cmd with pipes on stdin and stdout, stderr to "$DIR/$name.err".
sub spawn {
	my ($name, @cmd) = @_;
	$DIR //= tmpdir();
	pipe(my $in_r, my $in_w) or die "pipe: $!";
	pipe(my $out_r, my $out_w) or die "pipe: $!";
	my $pid = fork() // die "fork: $!";
	if ($pid == 0) {
		open(STDIN, '<&', $in_r) or POSIX::_exit(126);
		open(STDOUT, '>&', $out_w) or POSIX::_exit(126);
		open(STDERR, '>', "$DIR/$name.err") or POSIX::_exit(126);
		close($in_w);
		close($out_r);
		exec(@cmd) or POSIX::_exit(127);
	}
	close($in_r);
	close($out_w);
	$in_w->autoflush(1);
	push(@kids, $pid);
	return { name => $name, pid => $pid, in => $in_w, out => $out_r,
	    buf => '', all => '', err => "$DIR/$name.err" };
}

sub type { my ($p, $s) = @_; print { $p->{in} } $s }

# Read into $p->{buf} for up to $timeout s; 0 at EOF.
sub fill {
	my ($p, $timeout) = @_;
	return 1 unless IO::Select->new($p->{out})->can_read($timeout);
	my $n = sysread($p->{out}, my $chunk, 65536);
	return 0 if !$n;
	$p->{buf} .= $chunk;
	$p->{all} .= $chunk;
	return 1;
}

# The next line $p printed, within $timeout s (default 5), or undef.
sub line {
	my ($p, $timeout) = @_;
	my $end = time + ($timeout // 5);
	while (1) {
		return $1 if $p->{buf} =~ s/\A(.*?\n)//s;
		my $left = $end - time;
		return undef if $left <= 0;
		fill($p, $left) or return undef;
	}
}

# Nothing printed by $p for $timeout s (the output must not come early).
sub quiet {
	my ($p, $timeout) = @_;
	fill($p, $timeout);
	return $p->{buf} eq '';
}

# The exit status (0-255) of $p once it ends, within $timeout s (default
# 5), or undef if it still runs. Forkd's wait_exit gives the wait status.
sub exit_code {
	my ($p, $timeout) = @_;
	my $st = wait_exit($p->{pid}, $timeout // 5);
	return undef unless defined $st;
	@kids = grep { $_ != $p->{pid} } @kids;
	return $st >> 8;
}

# Whatever a test leaves running ends with it.
END {
	my $st = $?;
	kill('TERM', $_) for @kids;
	waitpid($_, 0) for @kids;
	$? = $st;
}

1;
