#!/usr/bin/perl
# smtpd's HELO, MAIL and RCPT arguments as pure functions (cmocka, TAP
# output): t/unit/smtppath_test.c.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(cmocka_run);
cmocka_run(qw(smtppath_test));
