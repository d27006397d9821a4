#!/usr/bin/perl
# lint-size.pl: the size limits of the C code, for `make lint`.
#
#   perl mk/lint-size.pl [FILE ...]
#
# Names every function over 80 lines ("FILE:LINE FUNCTION: N lines, over
# 80") and every file over 600 lines ("FILE:LINE: N lines, over 600", the
# line being the first past the limit), and exits 1 when there is one.
# Without FILEs it reads the C sources and headers of lib/, supervisor/,
# daemons/, clients/ and fuzz/ and bench/*.c, leaving out the tests
# (supervisor/test_*, t/).
#
# A function is counted as the kernel's and OpenBSD's style writes one:
# its body from a '{' in column 0 to the next '}' in column 0, both lines
# counted; its name is the identifier that opens one of the five lines
# above the '{' and is followed by '('.
use strict;
use warnings;
use File::Find;

my $MAX_FUNC = 80;
my $MAX_FILE = 600;

my @files = @ARGV;
if (!@files) {
	my @dirs = grep { -d } qw(lib supervisor daemons clients fuzz);
	find({ no_chdir => 1, wanted => sub {
		push @files, $File::Find::name
		    if /\.[ch]\z/ && !m{/test_[^/]*\z};
	} }, @dirs) if @dirs;
	push @files, glob('bench/*.c');
	@files = sort @files;
}

my $bad = 0;
for my $f (@files) {
	open(my $fh, '<', $f) or die "lint-size: $f: $!\n";
	my @l = <$fh>;
	close($fh);
	if (@l > $MAX_FILE) {
		printf "%s:%d: %d lines, over %d\n", $f, $MAX_FILE + 1,
		    scalar @l, $MAX_FILE;
		$bad = 1;
	}
	my ($start, $name, $nameline);
	for my $i (0 .. $#l) {
		if ($l[$i] =~ /^\{/) {
			$start = $i;
			($name, $nameline) = ('?', $i + 1);
			for (my $j = $i - 1; $j >= 0 && $j > $i - 6; $j--) {
				if ($l[$j] =~ /^(\w+)\s*\(/) {
					($name, $nameline) = ($1, $j + 1);
					last;
				}
			}
		} elsif ($l[$i] =~ /^\}/ && defined $start) {
			my $n = $i - $start + 1;
			if ($n > $MAX_FUNC) {
				printf "%s:%d %s: %d lines, over %d\n", $f,
				    $nameline, $name, $n, $MAX_FUNC;
				$bad = 1;
			}
			undef $start;
		}
	}
}
exit $bad;
