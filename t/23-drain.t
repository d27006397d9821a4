#!/usr/bin/perl
# The handlers' graceful stop, SIGTERM (lib/drain.c), unit tests (cmocka,
# TAP output): t/unit/drain_test.c.
use strict;
use warnings;
use FindBin;
my $bin = "$FindBin::Bin/../build/t/drain_test";
if (!-x $bin) {
	print "1..0 # SKIP $bin is not built (make all)\n";
	exit 0;
}
exec($bin) or die "exec $bin: $!";
