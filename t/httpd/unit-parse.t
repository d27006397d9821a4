#!/usr/bin/perl
# The handlers' pure parsers, unit by unit (cmocka, TAP output):
# t/unit/httpparse_test.c (httpd's req_parse, req_path_decode and
# chunked_decode) and t/unit/heartbeat_test.c (pingd's hb_parse).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Forkd qw(cmocka_run);
cmocka_run(qw(httpparse_test heartbeat_test));
