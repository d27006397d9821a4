#!/usr/bin/perl
# The config parser's unit tests (cmocka, TAP output): t/unit/conf_test.c.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(build);
my $bin = build('t/conf_test');
if (!-x $bin) {
	print "1..0 # SKIP $bin is not built (make all)\n";
	exit 0;
}
exec($bin) or die "exec $bin: $!";
