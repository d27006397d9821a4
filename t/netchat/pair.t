#!/usr/bin/perl
# netchat against itself, both sides' stdin and stdout through pipes: seed
# 001's one_to_one turn-taking (the client speaks first, one line each
# way, a line typed out of turn waits for the turn, a blank line ends, the
# server then accepts the next client, the end of its input stops it), -f
# full duplex, IPv6, and the refusals with their exit statuses.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(build tmpdir free_port slurp wait_file);
use Proc qw(spawn type fill line quiet exit_code);
use IO::Handle;
use IO::Select;
use IO::Socket::IP;
use POSIX qw(:sys_wait_h);
use Test::More;
use Time::HiRes qw(time sleep);

my $netchat = build('netchat');
plan skip_all => 'build/netchat not built (make build/netchat)' unless -x $netchat;

my $dir = tmpdir();
$Proc::DIR = $dir;
# --- alternation, seed 001 ---
my $port = free_port();
my $srv = spawn('server', $netchat, '-v', '-w', '10', '-b', '127.0.0.1', 'server', $port);
ok(wait_file($srv->{err}, qr/^netchat: listening on 127\.0\.0\.1 port $port$/m),
    'server -v: "listening on 127.0.0.1 port N" on stderr');

my $cli = spawn('client', $netchat, '-w', '10', '127.0.0.1', $port);
type($cli, "hello server\n");
is(line($srv), "hello server\n", 'client speaks first: the server prints its line');
ok(wait_file($srv->{err}, qr/^netchat: connection from 127\.0\.0\.1 port \d+$/m),
    'server -v: "connection from ..." on stderr');
type($srv, "hello client\n");
is(line($cli), "hello client\n", 'server answers: the client prints the line');

# Out of turn: the client types again before the server answered. The
# line waits in the client until the server's turn is over.
type($cli, "one\n");
is(line($srv), "one\n", 'client line "one" arrives');
type($cli, "two (typed out of turn)\n");
ok(quiet($srv, 0.5), 'a second client line is not sent before the server has spoken');
type($srv, "reply to one\n");
is(line($cli), "reply to one\n", 'server reply reaches the client');
is(line($srv), "two (typed out of turn)\n", 'then the waiting line goes');
type($srv, "reply to two\n");
is(line($cli), "reply to two\n", 'and the server answers it');

# A blank line ends the conversation; the client exits 0.
type($cli, "\n");
is(line($cli, 5), undef, 'client: blank line, its output ends');
is(exit_code($cli), 0, 'client exits 0 after a blank line');
is($cli->{all}, "hello client\nreply to one\nreply to two\n",
    'client stdout: exactly the server\'s lines');
is(slurp($cli->{err}), '', 'client without -v and not on a terminal: nothing on stderr');
ok(wait_file($srv->{err}, qr/^netchat: connection closed by peer$/m),
    'server -v: "connection closed by peer"');

# The server accepts the next client; its blank line ends that one.
my $cli2 = spawn('client2', $netchat, '-v', '-w', '10', '127.0.0.1', $port);
type($cli2, "second client\n");
is(line($srv), "second client\n", 'server accepted the next client');
type($srv, "bye\n");
is(line($cli2), "bye\n", 'second client gets the answer');
type($cli2, "last words\n");
is(line($srv), "last words\n", 'and talks again');
type($srv, "\n");
is(line($cli2, 5), undef, 'server blank line closes the connection');
is(exit_code($cli2), 0, 'the client exits 0 when the server closes');
like(slurp($cli2->{err}), qr/^netchat: connected to 127\.0\.0\.1 port $port\nnetchat: connection closed by peer\n\z/,
    'client -v: "connected to", "connection closed by peer"');

# The end of the server's input stops it, even while it waits for clients.
close($srv->{in});
is(exit_code($srv), 0, 'server exits 0 at the end of its input');
is($srv->{all}, "hello server\none\ntwo (typed out of turn)\nsecond client\nlast words\n",
    'server stdout: exactly the clients\' lines');

# --- -f: full duplex ---
$port = free_port();
$srv = spawn('fserver', $netchat, '-f', '-v', '-w', '10', '-b', '127.0.0.1', 'server', $port);
ok(wait_file($srv->{err}, qr/listening on/), '-f server listening');
$cli = spawn('fclient', $netchat, '-f', '-w', '10', '127.0.0.1', $port);
type($cli, "c1\nc2\nc3\n");
is(join('', map { line($srv) // '' } 1 .. 3), "c1\nc2\nc3\n", '-f: three client lines in a row, no turn-taking');
type($srv, "s1\ns2\n");
is(join('', map { line($cli) // '' } 1 .. 2), "s1\ns2\n", '-f: two server lines in a row');
type($cli, "c4\n");
type($srv, "s3\n");
is(line($srv), "c4\n", '-f: both type at once (client line)');
is(line($cli), "s3\n", '-f: both type at once (server line)');
# The client's input ends: it half-closes, the server still talks.
close($cli->{in});
ok(wait_file($srv->{err}, qr/connection closed by peer/), '-f: the end of the client\'s input reaches the server');
is(exit_code($cli), 0, '-f: client exits 0 when the server closes in turn');
is($cli->{all}, "s1\ns2\ns3\n", '-f: client stdout exact');
close($srv->{in});
is(exit_code($srv), 0, '-f: server exits 0 at the end of its input');
is($srv->{all}, "c1\nc2\nc3\nc4\n", '-f: server stdout exact');

# --- IPv6 ---
SKIP: {
	skip('no IPv6 loopback', 4) unless IO::Socket::IP->new(LocalAddr => '::1', Proto => 'tcp', Listen => 1);
	$port = free_port();
	$srv = spawn('server6', $netchat, '-v', '-w', '10', '-b', '::1', 'server', $port);
	ok(wait_file($srv->{err}, qr/listening on ::1 port $port/), 'server on ::1');
	$cli = spawn('client6', $netchat, '-w', '10', '::1', $port);
	type($cli, "over ipv6\n");
	is(line($srv), "over ipv6\n", 'IPv6: client line arrives');
	type($srv, "and back\n");
	is(line($cli), "and back\n", 'IPv6: server line arrives');
	type($cli, "\n");
	is(exit_code($cli), 0, 'IPv6: client exits 0');
	close($srv->{in});
	exit_code($srv);
}

# --- refusals ---
is(system("$netchat 2>/dev/null") >> 8, 100, 'no arguments: usage, exit 100');
is(system("$netchat 127.0.0.1 0 2>/dev/null") >> 8, 100, 'port 0: exit 100');
my $help = `$netchat -h 2>/dev/null`;
is($? >> 8, 0, '-h: exit 0');
like($help, qr/^usage: netchat /, '-h: usage on stdout');
$port = free_port();
my $msg = `$netchat 127.0.0.1 $port </dev/null 2>&1`;
is($? >> 8, 111, 'connection refused: exit 111 (temporary)');
like($msg, qr/^netchat: connect 127\.0\.0\.1 port $port: Connection refused$/m, 'refused: "netchat: what: why"');


done_testing();
