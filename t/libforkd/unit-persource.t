#!/usr/bin/perl
# The per-source table's unit tests (cmocka, TAP output): t/unit/persource_test.c.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(cmocka_run);
cmocka_run(qw(persource_test));
