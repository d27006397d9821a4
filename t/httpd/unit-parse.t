#!/usr/bin/perl
# httpd's pure parsers (cmocka, TAP output): t/unit/httpparse_test.c
# (req_parse, req_path_decode and chunked_decode).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(cmocka_run);
cmocka_run(qw(httpparse_test));
