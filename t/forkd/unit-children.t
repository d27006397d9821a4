#!/usr/bin/perl
# The table of running handlers in forkd, unit tests (cmocka, TAP output):
# t/unit/child_test.c.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(cmocka_run);
cmocka_run(qw(child_test));
