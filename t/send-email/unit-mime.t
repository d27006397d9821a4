#!/usr/bin/perl
# send-email's MIME builder in C (cmocka, TAP output): t/unit/mime_test.c.
use strict;
use warnings;
use FindBin;
my $bin = "$FindBin::Bin/../build/t/mime_test";
if (!-x $bin) {
	print "1..0 # SKIP $bin is not built (make all)\n";
	exit 0;
}
exec($bin) or die "exec $bin: $!";
