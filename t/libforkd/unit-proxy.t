#!/usr/bin/perl
# The PROXY protocol parser's unit tests (cmocka, TAP output): t/unit/proxy_test.c.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(cmocka_run);
cmocka_run(qw(proxy_test));
