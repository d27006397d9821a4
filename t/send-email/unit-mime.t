#!/usr/bin/perl
# send-email's MIME builder in C (cmocka, TAP output): t/unit/mime_test.c.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(cmocka_run);
cmocka_run(qw(mime_test));
