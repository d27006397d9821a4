#!/usr/bin/perl
# The growing buffer's and the option helpers' unit tests (cmocka, TAP
# output): t/unit/buf_test.c.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(cmocka_run);
cmocka_run(qw(buf_test));
