#!/usr/bin/perl
# The inherited sockets' unit tests (cmocka, TAP output): t/unit/listen_test.c.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(cmocka_run);
cmocka_run(qw(listen_test));
