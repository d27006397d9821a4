#!/usr/bin/perl
# The PROXY protocol parser's unit tests (cmocka, TAP output): t/unit/proxy_test.c.
use strict;
use warnings;
use FindBin;
my $bin = "$FindBin::Bin/../build/t/proxy_test";
if (!-x $bin) {
	print "1..0 # SKIP $bin is not built (make all)\n";
	exit 0;
}
exec($bin) or die "exec $bin: $!";
