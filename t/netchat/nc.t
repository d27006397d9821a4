#!/usr/bin/perl
# netchat against nc(1) (netcat-openbsd) on the other end, both ways: the
# wire format is plain LF-terminated lines, so nc can stand for either side
# of seed 001's one_to_one. Turn-taking with nc as the server and as the
# client (two lines sent at once are taken one per turn), then -f full
# duplex with nc in both roles.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(build tmpdir free_port slurp wait_file);
use Proc qw(spawn type fill line quiet exit_code);
use IO::Handle;
use IO::Select;
use POSIX qw(:sys_wait_h);
use Test::More;
use Time::HiRes qw(time sleep);

my $netchat = build('netchat');
plan skip_all => 'build/netchat not built (make build/netchat)' unless -x $netchat;
my $nc = (grep { -x } map { "$_/nc" } split(/:/, $ENV{PATH}))[0];
plan skip_all => 'nc(1) not installed (netcat-openbsd)' unless $nc;
plan skip_all => 'nc is not OpenBSD netcat (needs -N)'
    unless `$nc -h 2>&1` =~ /OpenBSD netcat/;

my $dir = tmpdir();
$SIG{PIPE} = 'IGNORE';
$Proc::DIR = $dir;
# --- nc -l as the server, netchat as the client ---
my $port = free_port();
my $ncs = spawn('nc-server', $nc, '-lvn', '127.0.0.1', $port);
ok(wait_file($ncs->{err}, qr/Listening on 127\.0\.0\.1 $port/), 'nc -l listening');
my $cli = spawn('client', $netchat, '-w', '10', '127.0.0.1', $port);
type($cli, "hi nc\n");
is(line($ncs), "hi nc\n", 'netchat client -> nc: the line with LF, nothing else');
type($ncs, "hi netchat\n");
is(line($cli), "hi netchat\n", 'nc -> netchat client: printed');
type($cli, "more\n");
is(line($ncs), "more\n", 'the next turn works');
type($ncs, "x\ny\n");
is(line($cli), "x\n", 'two lines from nc at once: the first is this turn\'s');
type($cli, "after x\n");
is(line($ncs), "after x\n", 'client spoke');
is(line($cli), "y\n", 'the second is the next turn\'s');
type($cli, "\n");
is(exit_code($cli), 0, 'netchat client: blank line, exit 0');
is($cli->{all}, "hi netchat\nx\ny\n", 'netchat client stdout exact');
close($ncs->{in});
is(exit_code($ncs), 0, 'nc saw the connection end');
is($ncs->{all}, "hi nc\nmore\nafter x\n", 'nc stdout: the bytes netchat sent, exactly');

# --- netchat server, nc as the client ---
$port = free_port();
my $srv = spawn('server', $netchat, '-v', '-w', '10', '-b', '127.0.0.1', 'server', $port);
ok(wait_file($srv->{err}, qr/listening on 127\.0\.0\.1 port $port/), 'netchat server listening');
my $ncc = spawn('nc-client', $nc, '-N', '127.0.0.1', $port);
type($ncc, "from nc\n");
is(line($srv), "from nc\n", 'nc -> netchat server');
type($srv, "to nc\n");
is(line($ncc), "to nc\n", 'netchat server -> nc');
type($ncc, "a\nb\n");
is(line($srv), "a\n", 'two lines from nc at once: one per turn');
ok(quiet($srv, 0.3), 'the second waits for the server\'s turn to pass');
type($srv, "ok a\n");
is(line($ncc), "ok a\n", 'server answered');
is(line($srv), "b\n", 'then the second line is printed');
type($srv, "\n");
is(line($ncc, 5), undef, 'server blank line: nc sees the end of the connection');
close($ncc->{in});
is(exit_code($ncc), 0, 'nc exits 0');
is($ncc->{all}, "to nc\nok a\n", 'nc stdout: the server\'s lines exactly');
# The next client: nc with its input at end at once (-N shuts down).
my $ncc2 = spawn('nc-client2', $nc, '-N', '127.0.0.1', $port);
type($ncc2, "second nc\n");
close($ncc2->{in});
is(line($srv), "second nc\n", 'the server accepted the next nc client');
# Its turn now: the server sees nc's end of data on its next network turn.
type($srv, "bye second\n");
is(line($ncc2), "bye second\n", 'a half-closed nc still gets the answer');
ok(wait_file($srv->{err}, qr/(?s)connection from.*connection from.*connection closed by peer/),
    'then nc\'s end of data is "connection closed by peer"');
is(exit_code($ncc2), 0, 'second nc exits 0');
close($srv->{in});
is(exit_code($srv), 0, 'netchat server exits 0 at the end of its input');

# --- -f: netchat -f server, nc client ---
$port = free_port();
$srv = spawn('fserver', $netchat, '-f', '-v', '-w', '10', '-b', '127.0.0.1', 'server', $port);
ok(wait_file($srv->{err}, qr/listening on/), '-f server listening');
$ncc = spawn('fnc-client', $nc, '-N', '127.0.0.1', $port);
ok(wait_file($srv->{err}, qr/connection from/), '-f: nc connected');
type($srv, "welcome\n");
is(line($ncc), "welcome\n", '-f: the server may speak first');
type($srv, "and again\n");
is(line($ncc), "and again\n", '-f: and twice in a row');
type($ncc, "n1\nn2\n");
is(join('', map { line($srv) // '' } 1 .. 2), "n1\nn2\n", '-f: nc lines printed as they come');
close($ncc->{in});
ok(wait_file($srv->{err}, qr/connection closed by peer/), '-f: nc\'s end of data ends the conversation');
is(exit_code($ncc), 0, '-f: nc exits 0');
is($ncc->{all}, "welcome\nand again\n", '-f: nc stdout exact');
close($srv->{in});
is(exit_code($srv), 0, '-f: server exits 0');

# --- -f: netchat -f client, nc -l server ---
$port = free_port();
$ncs = spawn('fnc-server', $nc, '-lvn', '127.0.0.1', $port);
ok(wait_file($ncs->{err}, qr/Listening on/), 'nc -l listening');
$cli = spawn('fclient', $netchat, '-f', '-w', '10', '127.0.0.1', $port);
type($cli, "f1\nf2\n");
is(join('', map { line($ncs) // '' } 1 .. 2), "f1\nf2\n", '-f client -> nc: two lines in a row');
type($ncs, "g1\n");
is(line($cli), "g1\n", '-f nc -> client');
# The client's input ends: it half-closes; nc takes that as the end.
close($cli->{in});
close($ncs->{in});
is(exit_code($cli), 0, '-f client exits 0 when nc closes');
is($cli->{all}, "g1\n", '-f client stdout exact');
is(exit_code($ncs), 0, 'nc exits 0');


done_testing();
