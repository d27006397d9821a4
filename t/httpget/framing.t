#!/usr/bin/perl
# httpget against a scripted Perl server: every way RFC 9112 6.3 delimits
# a response body (Content-Length, chunked with extensions and a trailer,
# close-delimited, none), 1xx interim responses, and hostile responses
# (huge or overflowing chunk sizes, missing CRLF, truncated bodies, endless
# lines, conflicting lengths): the exact body bytes on stdout, the exit
# status, and never a crash (a signal) whatever the server sends.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(build tmpdir slurp spit);
use IO::Socket::IP;
use POSIX qw(:sys_wait_h);
use Test::More;
use Time::HiRes qw(sleep);

my $httpget = build('httpget');
plan skip_all => "build/httpget not built (make build/httpget)"
    unless -x $httpget;
$SIG{PIPE} = 'IGNORE';
my $dir = tmpdir();
my $n = 0;

# Serve one connection on a fresh loopback port: read the request head,
# record it in $dir/req.N, then send each part of @parts (a number is a
# pause in seconds; the string 'HOLD' keeps the connection open, silent,
# until the client goes) and close. Returns (pid, port, request file).
sub serve_one {
	my (@parts) = @_;
	my $l = IO::Socket::IP->new(LocalAddr => '127.0.0.1', LocalPort => 0,
	    Proto => 'tcp', Listen => 8, ReuseAddr => 1) or die "listen: $!";
	my $req = "$dir/req." . ++$n;
	my $pid = fork() // die "fork: $!";
	if ($pid == 0) {
		alarm(20);
		my $c = $l->accept or POSIX::_exit(1);
		my $buf = '';
		while ($buf !~ /\r\n\r\n/) {
			my $r = sysread($c, $buf, 4096, length($buf));
			last unless $r;
		}
		spit($req, $buf);
		for my $p (@parts) {
			if ($p eq 'HOLD') {
				1 while sysread($c, my $junk, 4096);
			} elsif ($p =~ /^\d+(\.\d+)?$/) {
				sleep($p);
			} else {
				syswrite($c, $p) // last;
			}
		}
		close($c);
		POSIX::_exit(0);
	}
	my $port = $l->sockport;
	close($l);
	return ($pid, $port, $req);
}

# Run httpget with @args then host, port and path; returns { rc, sig, out,
# err } once both it and the server are done.
sub get {
	my ($args, @parts) = @_;
	my ($spid, $port, $req) = serve_one(@parts);
	my $out = "$dir/out.$n";
	my $err = "$dir/err.$n";
	my $pid = fork() // die "fork: $!";
	if ($pid == 0) {
		open(STDIN, '<', '/dev/null');
		open(STDOUT, '>', $out);
		open(STDERR, '>', $err);
		exec($httpget, @$args, '127.0.0.1', $port, '/x')
		    or POSIX::_exit(127);
	}
	waitpid($pid, 0);
	my $st = $?;
	kill('TERM', $spid);
	waitpid($spid, 0);
	return { rc => $st >> 8, sig => $st & 127, out => slurp($out),
	    err => slurp($err), req => slurp($req) };
}

my $ok = "HTTP/1.1 200 OK\r\n";
my $r;

# The request itself: HTTP/1.1, Host with the port, Connection: close.
$r = get([], "${ok}Content-Length: 2\r\n\r\nhi");
like($r->{req}, qr{\AGET /x HTTP/1\.1\r\n}, 'request line is HTTP/1.1');
like($r->{req}, qr{\r\nHost: 127\.0\.0\.1:\d+\r\n}, 'Host with the port');
like($r->{req}, qr{\r\nConnection: close\r\n}, 'Connection: close');
like($r->{req}, qr{\r\nUser-Agent: httpget/\S+}, 'a User-Agent');
is($r->{out}, 'hi', 'Content-Length body');
is($r->{rc}, 0, 'exit 0 on 200');

# Content-Length: stop at the length, even when the server sends more and
# keeps the connection open (no waiting for a close).
$r = get(['-t', '5'], "${ok}Content-Length: 5\r\n\r\nhelloEXTRA", 'HOLD');
is($r->{out}, 'hello', 'exactly Content-Length bytes');
is($r->{rc}, 0, '... and done without waiting for the close');

# Chunked with extensions, a trailer, chunks split over pauses, and the
# server holding the connection open after the last chunk.
$r = get(['-t', '5'],
    "${ok}Transfer-Encoding: chunked\r\n\r\n",
    "5;name=value;x=\"q;uoted\"\r\nhello\r\n", 0.1,
    "1A \t;ext\r\n", "abcdefghijklmnopqrstuvwxyz", "\r\n",
    "0;last=1\r\nExpires: never\r\nX-Trailer: yes\r\n\r\n", 'HOLD');
is($r->{out}, 'helloabcdefghijklmnopqrstuvwxyz', 'chunked body decoded');
is($r->{rc}, 0, 'chunked: exit 0, trailer read, no wait for the close');

# Chunked takes precedence over Content-Length (RFC 9112 6.3 item 3).
$r = get([], "${ok}Content-Length: 3\r\nTransfer-Encoding: gzip, chunked\r\n\r\n" .
    "4\r\nabcd\r\n0\r\n\r\n");
is($r->{out}, 'abcd', 'Transfer-Encoding wins over Content-Length');

# Bare LF line endings are accepted (RFC 9112 2.2).
$r = get([], "HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n3\nabc\n0\n\n");
is($r->{out}, 'abc', 'bare LF accepted');
is($r->{rc}, 0, 'bare LF: exit 0');

# Close-delimited: HTTP/1.0 with no length, in several blocks.
$r = get([], "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n",
    "part one, ", 0.1, "part two", 0.1, "\0binary\xff");
is($r->{out}, "part one, part two\0binary\xff", 'close-delimited body');
is($r->{rc}, 0, 'close-delimited: exit 0');

# A Transfer-Encoding that does not end in chunked: read to the close.
$r = get([], "${ok}Transfer-Encoding: identity\r\n\r\nraw bytes");
is($r->{out}, 'raw bytes', 'non-chunked Transfer-Encoding: to the close');

# 1xx interim responses are skipped; -i shows them as they came.
$r = get(['-i'], "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\n" .
    "${ok}Content-Length: 2\r\n\r\nok");
is($r->{out}, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\n" .
    "${ok}Content-Length: 2\r\n\r\nok", '-i: interim and final heads, then the body');
is($r->{rc}, 0, 'exit 0 after 1xx');

# 204 and 304 have no body even with a Content-Length.
$r = get(['-t', '5'], "HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n", 'HOLD');
is($r->{out}, '', '204: no body');
is($r->{rc}, 0, '204 is 2xx: exit 0');

# Non-2xx: body still printed, status line on stderr, exit 1.
$r = get([], "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n\r\nbusy");
is($r->{rc}, 1, '503: exit 1');
is($r->{err}, "httpget: HTTP/1.1 503 Service Unavailable\n", '503: status line on stderr');
is($r->{out}, 'busy', '503: body on stdout');

# Control bytes in the reason phrase never reach the terminal.
$r = get([], "HTTP/1.1 404 Not\x1b[2J Found\r\nContent-Length: 0\r\n\r\n");
is($r->{err}, "httpget: HTTP/1.1 404 Not?[2J Found\n", 'reason phrase escaped');

# Hostile and broken responses: exit 1 with a reason, never a signal.
my @hostile = (
    [ 'huge chunk-size', qr/chunk-size too large/,
      "${ok}Transfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFFFFFFFFFFFFF\r\nabc" ],
    [ 'chunk-size beyond the bound', qr/chunk-size too large/,
      "${ok}Transfer-Encoding: chunked\r\n\r\n7FFFFFFFFFFFFFFF\r\nabc" ],
    [ 'large chunk-size, then the close', qr/truncated chunk-data/,
      "${ok}Transfer-Encoding: chunked\r\n\r\nFFFFFFFF\r\nabc" ],
    [ 'missing CRLF after chunk-data', qr/no CRLF after chunk-data/,
      "${ok}Transfer-Encoding: chunked\r\n\r\n3\r\nabcdef\r\n0\r\n\r\n" ],
    [ 'no chunk-size', qr/malformed chunk-size/,
      "${ok}Transfer-Encoding: chunked\r\n\r\n;ext\r\nabc\r\n0\r\n\r\n" ],
    [ 'junk after chunk-size', qr/malformed chunk-size/,
      "${ok}Transfer-Encoding: chunked\r\n\r\n3x\r\nabc\r\n0\r\n\r\n" ],
    [ 'negative chunk-size', qr/malformed chunk-size/,
      "${ok}Transfer-Encoding: chunked\r\n\r\n-1\r\nabc\r\n0\r\n\r\n" ],
    [ 'endless chunk extension', qr/chunk-size line longer than/,
      "${ok}Transfer-Encoding: chunked\r\n\r\n3;" . ('x' x 5000) . "\r\nabc\r\n" ],
    [ 'truncated before the last chunk', qr/truncated before a chunk-size/,
      "${ok}Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n" ],
    [ 'truncated trailer section', qr/truncated in the trailer/,
      "${ok}Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-T: 1\r\n" ],
    [ 'endless trailer', qr/trailer section too large/,
      "${ok}Transfer-Encoding: chunked\r\n\r\n0\r\n" . ("X-T: " . ('y' x 1000) . "\r\n") x 80 . "\r\n" ],
    [ 'truncated Content-Length body', qr/body truncated at 5 of 100 bytes/,
      "${ok}Content-Length: 100\r\n\r\nshort" ],
    [ 'conflicting Content-Length', qr/conflicting Content-Length/,
      "${ok}Content-Length: 3\r\nContent-Length: 4\r\n\r\nabcd" ],
    [ 'Content-Length list that differs', qr/conflicting Content-Length/,
      "${ok}Content-Length: 3, 4\r\n\r\nabcd" ],
    [ 'signed Content-Length', qr/invalid Content-Length/,
      "${ok}Content-Length: +3\r\n\r\nabc" ],
    [ 'enormous Content-Length', qr/Content-Length too large/,
      "${ok}Content-Length: 99999999999999999999999999\r\n\r\nabc" ],
    [ 'folded Content-Length', qr/folded/,
      "${ok}Content-Length: 3\r\n 4\r\n\r\nabcd" ],
    [ 'space before the colon', qr/malformed header field/,
      "${ok}Content-Length : 3\r\n\r\nabc" ],
    [ 'endless header line', qr/header field longer than/,
      "${ok}X-Long: " . ('z' x 20000) . "\r\n\r\n" ],
    [ 'too many header fields', qr/too many header fields/,
      $ok . ("X-A: b\r\n" x 200) . "\r\n" ],
    [ 'header section too large', qr/header section too large/,
      $ok . (("X-A: " . ('b' x 4000) . "\r\n") x 20) . "\r\n" ],
    [ 'HTTP/0.9-style bare body', qr/malformed status line/,
      "<html>no status line</html>\n" ],
    [ 'HTTP/2 status line', qr/not HTTP\/1\.x/,
      "HTTP/2.0 200 OK\r\n\r\n" ],
    [ 'endless 1xx responses', qr/too many interim/,
      "HTTP/1.1 102 Processing\r\n\r\n" x 100 ],
    [ 'closed without a response', qr/closed without a response/, '' ],
    [ 'closed in the header section', qr/closed in the header section/,
      "${ok}Content-Length: 3\r\n" ],
);
for my $h (@hostile) {
	my ($name, $re, @parts) = @$h;
	$r = get(['-t', '5'], @parts);
	is($r->{sig}, 0, "$name: no signal");
	is($r->{rc}, 1, "$name: exit 1");
	like($r->{err}, $re, "$name: says why");
}
# What arrived before the damage is written out, nothing more.
$r = get([], "${ok}Transfer-Encoding: chunked\r\n\r\n3\r\nabcdef\r\n");
is($r->{out}, 'abc', 'missing CRLF: the chunk before it, no more');

# A server that accepts and never answers: -t bounds the wait, exit 111.
$r = get(['-t', '1'], 'HOLD');
is($r->{rc}, 111, 'silent server: exit 111');
like($r->{err}, qr/read 127\.0\.0\.1 port \d+: timed out after 1 s/, 'silent server: timed out');

# A server that stalls mid-body: also a timeout.
$r = get(['-t', '1'], "${ok}Content-Length: 10\r\n\r\nabc", 'HOLD');
is($r->{rc}, 111, 'stalled body: exit 111');
is($r->{out}, 'abc', 'stalled body: what came is written');

done_testing();
