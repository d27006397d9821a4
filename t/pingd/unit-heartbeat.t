#!/usr/bin/perl
# pingd's heartbeat parser, hb_parse (cmocka, TAP output):
# t/unit/heartbeat_test.c.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(cmocka_run);
cmocka_run(qw(heartbeat_test));
