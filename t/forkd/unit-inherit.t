#!/usr/bin/perl
# The inherited sockets' unit tests (cmocka, TAP output): t/unit/listen_test.c.
use strict;
use warnings;
use FindBin;
my $bin = "$FindBin::Bin/../build/t/listen_test";
if (!-x $bin) {
	print "1..0 # SKIP $bin is not built (make all)\n";
	exit 0;
}
exec($bin) or die "exec $bin: $!";
