#!/usr/bin/perl
# The datagram guard's unit tests (cmocka, TAP output): t/unit/dguard_test.c.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(cmocka_run);
cmocka_run(qw(dguard_test));
