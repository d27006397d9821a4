#!/usr/bin/perl
# The clients' and handlers' shared network plumbing, unit by unit
# (cmocka, TAP output): t/unit/addr_test.c (lib/addr.c) and
# t/unit/io_test.c (lib/clock.c, lib/io.c, lib/dial.c, over loopback) and
# t/unit/serve_test.c (lib/serve.c naming both ends of a connection).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(cmocka_run);
cmocka_run(qw(addr_test io_test serve_test));
