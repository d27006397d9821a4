#!/usr/bin/perl
# httpd's pure functions, unit by unit (cmocka, TAP output):
# t/unit/httpfile_test.c (file_range and the header lines of a static
# file's answer, resp_file_fields).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(cmocka_run);
cmocka_run(qw(httpfile_test));
