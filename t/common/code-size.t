#!/usr/bin/perl
# The size limits of the C code hold in the tree: no function over 80
# lines and no file over 600 in lib/, supervisor/, daemons/, clients/,
# fuzz/ and bench/*.c (mk/lint-size.pl, which `make lint` also runs,
# names each one that does not).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(run_cmd);
use Test::More;

my $top = "$FindBin::Bin/../..";
my $r = run_cmd({ dir => $top, timeout => 60 }, 'perl', 'mk/lint-size.pl');
is($r->{rc}, 0, 'no function over 80 lines, no file over 600')
    or diag($r->{out} . $r->{err});
done_testing();
