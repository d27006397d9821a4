#!/usr/bin/perl
# The systemd socket-passing protocol's unit tests (cmocka, TAP output):
# t/unit/activation_test.c.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(cmocka_run);
cmocka_run(qw(activation_test));
