#!/usr/bin/perl
# The prefork pool's back-off, unit tests (cmocka, TAP output): t/unit/pool_test.c.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(cmocka_run);
cmocka_run(qw(pool_test));
