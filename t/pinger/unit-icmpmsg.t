#!/usr/bin/perl
# Unit tests of pinger's ICMP and ICMPv6 message parsing
# (cmocka, TAP output): t/unit/icmpmsg_test.c.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(build);
my $bin = build('t/icmpmsg_test');
if (!-x $bin) {
	print "1..0 # SKIP $bin is not built (make all)\n";
	exit 0;
}
exec($bin) or die "exec $bin: $!";
