#!/usr/bin/perl
# smtpd's rules for the message text after DATA, as pure functions of a
# line, and the split of a MAIL or RCPT path (cmocka, TAP output):
# t/unit/smtpdata_test.c.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(cmocka_run);
cmocka_run(qw(smtpdata_test));
