#!/usr/bin/perl
# Every fuzz harness (fuzz/NAME.c) over its corpus (fuzz/corpus/NAME),
# once, through the replay main() built with the build's own compiler
# ($B/fuzz/replay-NAME, make fuzz-replay): a crash the fuzzers found and
# that was fixed stays fixed. Under make check-asan these run with ASan
# and UBSan. make fuzz runs the same harnesses under libFuzzer.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(build);
use Test::More;

my $top = "$FindBin::Bin/../..";
my @names = sort map { m{/([^/]+)\.c$} ? $1 : () } glob("$top/fuzz/*.c");
@names = grep { $_ ne 'replay' && $_ ne 'quiet' } @names;
plan skip_all => 'no fuzz harnesses in fuzz/' unless @names;
my @missing = grep { !-x build("fuzz/replay-$_") } @names;
plan skip_all => 'replay programs not built (make fuzz-replay): ' .
    join(' ', @missing) if @missing;

for my $n (@names) {
	my $corpus = "$top/fuzz/corpus/$n";
	my @inputs = grep { -f } glob("$corpus/*");
	ok(@inputs >= 2, "$n: a seed corpus in fuzz/corpus/$n") or next;
	# The whole wait status: a crash is a signal, not an exit code.
	open(my $fh, '-|', build("fuzz/replay-$n"), $corpus)
	    or die "replay-$n: $!";
	my $out = do { local $/; <$fh> } // '';
	close($fh);
	is($?, 0, "$n: every input replayed without a crash or a report");
	like($out, qr/^replay-\Q$n\E: ${\ scalar @inputs} inputs$/m,
	    "$n: all " . scalar(@inputs) . ' inputs ran');
}
done_testing();
