#!/usr/bin/perl
# The log API's unit tests (cmocka, TAP output): t/unit/log_test.c.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(cmocka_run);
cmocka_run(qw(log_test));
