#!/usr/bin/perl
# httpd: chunked request bodies (RFC 9112 7.1). curl's chunked uploads
# reach a CGI script decoded, with CONTENT_LENGTH (RFC 3875 4.1.2); a
# static request's chunked body is read and thrown away, and the request
# pipelined after it is answered; malformed or endless bodies get 400 and
# the connection closed, a body past -b 413, a trickled one 408; other
# transfer codings 501, and Content-Length with Transfer-Encoding 400.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(build tmpdir listen_exec need_root connect_tcp slurp spit);
use IO::Select;
use POSIX qw(:sys_wait_h);
use Test::More;
use Time::HiRes qw(time);

need_root();
plan skip_all => 'build/httpd is not built' unless -x build('httpd');
plan skip_all => 'curl is not installed' if system('curl --version >/dev/null 2>&1') != 0;

my $dir = tmpdir();
my $root = "$dir/www";
mkdir $root;
mkdir "$root/cgi-bin";
mkdir "$root/sub";
spit("$root/index.html", "<p>index</p>\n");
spit("$root/sub/index.html", "<p>sub</p>\n");
# The script answers with what it was given: CONTENT_LENGTH, whether a
# Transfer-Encoding leaked into its environment, then its stdin.
spit("$root/cgi-bin/echo.sh", "#!/bin/sh\n" .
    "printf 'Content-Type: application/octet-stream\\n\\n'\n" .
    "printf '%s|%s\\n' \"\${CONTENT_LENGTH-unset}\" \"\${HTTP_TRANSFER_ENCODING-unset}\"\n" .
    "exec cat\n");
chmod 0755, "$root/cgi-bin/echo.sh";

my $max = 400000;
my ($port, @pids) = listen_exec(workers => 2,
    cmd => [build('httpd'), '-r', $root, '-t', '3', '-b', $max]);
my $base = "http://127.0.0.1:$port";

# Bytes in (written in pieces of $step bytes, if given); every byte until
# EOF out, and whether EOF came within $wait seconds (default 10).
sub raw {
	my ($req, %o) = @_;
	my $s = connect_tcp($port) or die "connect: $!";
	$s->autoflush(1);
	my $step = $o{step} // length($req);
	for (my $i = 0; $i < length($req); $i += $step) {
		# A server that answered and closed takes no more: stop.
		last unless defined syswrite($s, substr($req, $i, $step));
	}
	shutdown($s, 1) if $o{shut};
	my ($out, $eof) = ('', 0);
	my $sel = IO::Select->new($s);
	my $end = time + ($o{wait} // 10);
	while ((my $left = $end - time) > 0) {
		last unless $sel->can_read($left);
		my $n = sysread($s, my $buf, 65536);
		if (!$n) { $eof = 1; last }
		$out .= $buf;
	}
	close($s);
	return ($out, $eof);
}
sub status_of { return $_[0] =~ m{^HTTP/1\.1 (\d{3}) } ? $1 : 0 }
# Chunks of $n bytes each, then the last-chunk and the empty trailer.
sub chunk {
	my ($body, $n) = @_;
	my $out = '';
	for (my $i = 0; $i < length($body); $i += $n) {
		my $c = substr($body, $i, $n);
		$out .= sprintf("%x\r\n%s\r\n", length($c), $c);
	}
	return "$out" . "0\r\n\r\n";
}

# How many of the workers still run.
sub running { return scalar grep { waitpid($_, WNOHANG) == 0 } @pids }

# curl's chunked uploads to a CGI script: the bytes and their length.
srand(67);
my $bin = join('', map { chr(int(rand(256))) } 1 .. 300000);
spit("$dir/bin", $bin);
spit("$dir/text", "name=Ada&comment=chunked\n");
my $out = `curl -s -H 'Transfer-Encoding: chunked' --data-binary \@$dir/text $base/cgi-bin/echo.sh`;
is($out, "25|unset\nname=Ada&comment=chunked\n",
    'curl -H "Transfer-Encoding: chunked" --data-binary: CONTENT_LENGTH and the body');
$out = `curl -s -H 'Transfer-Encoding: chunked' --data-binary \@$dir/bin $base/cgi-bin/echo.sh`;
ok($out eq "300000|unset\n$bin", '... a binary body of 300000 bytes, byte for byte');
$out = `curl -s -X POST -T - $base/cgi-bin/echo.sh < $dir/bin`;
ok($out eq "300000|unset\n$bin", 'curl -X POST -T - (length unknown): the same bytes');
$out = `curl -s -H 'Transfer-Encoding: chunked' --data-binary '' $base/cgi-bin/echo.sh`;
is($out, "unset|unset\n", 'an empty chunked body: no CONTENT_LENGTH, as for Content-Length: 0');

# By hand: chunk extensions and a trailer, to the script and to a file.
my $req = "POST /cgi-bin/echo.sh HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" .
    "5;name=value;quoted=\"a;b\"\r\nhello\r\n" . "1 ; x\r\n,\r\n" .
    "00007\r\n world!\r\n" . "0;last\r\nX-Sum: 13\r\nX-Other: y\r\n\r\n";
my ($got, $eof) = raw($req);
like($got, qr{^HTTP/1\.1 200 .*\r\n\r\n13\|unset\nhello, world!\z}s,
    'extensions and a trailer: the script gets the 13 data bytes');
($got) = raw($req, step => 3);
like($got, qr{\r\n\r\n13\|unset\nhello, world!\z}s, '... sent in 3-byte pieces too');

my $two = "GET /index.html HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" .
    "3;ext=1\r\nabc\r\nA\r\n0123456789\r\n0\r\nTrailer-Field: v\r\n\r\n" .
    "GET /sub/ HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
for my $step (length($two), 1, 7) {
	($got, $eof) = raw($two, step => $step);
	my @st = $got =~ m{^HTTP/1\.1 (\d{3}) }mg;
	is("@st", '200 200', "a chunked GET, then a pipelined GET (pieces of $step): two 200s");
	like($got, qr{\A[^\0]*?\r\n\r\n<p>index</p>\nHTTP/1\.1 200 OK\r\n.*\r\n\r\n<p>sub</p>\n\z}s,
	    '... each with its own body, in order');
	ok($eof, '... and the close asked for');
}
($got) = raw("POST /index.html HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" .
    "2\r\nab\r\n0\r\n\r\nHEAD /index.html HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
my @st = $got =~ m{^HTTP/1\.1 (\d{3}) }mg;
is("@st", '405 200', 'a chunked POST to a file: 405, and the connection goes on');

# Malformed chunked bodies: 400, and the connection closed.
my $head = "GET /index.html HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
my $cgi = "POST /cgi-bin/echo.sh HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
my @bad = (
	["5\nhello\r\n0\r\n\r\n", 'a bare LF after the chunk-size'],
	["5\r\nhello\n0\r\n\r\n", 'a bare LF after the data'],
	["5\r\nhelloXY0\r\n\r\n", 'no CRLF after the data'],
	["5\r\nhello\r\n0\r\n\n", 'a bare LF as the final line'],
	["0\r\nX: y\n\r\n", 'a bare LF after a trailer field'],
	["00000000000000005\r\nhello\r\n0\r\n\r\n", 'a chunk-size of 17 hex digits'],
	["FFFFFFFFFFFFFFFF\r\nhello\r\n0\r\n\r\n", 'a chunk-size past 63 bits'],
	["8000000000000000\r\nhello\r\n0\r\n\r\n", 'a chunk-size of 2^63'],
	["-5\r\nhello\r\n0\r\n\r\n", 'a negative chunk-size'],
	["0x5\r\nhello\r\n0\r\n\r\n", 'a chunk-size with 0x'],
	["\r\nhello\r\n0\r\n\r\n", 'an empty chunk-size'],
	["5 x\r\nhello\r\n0\r\n\r\n", 'junk after the chunk-size'],
	["5;a\0b\r\nhello\r\n0\r\n\r\n", 'a NUL in an extension'],
	["5;" . ('e' x 5000), 'an endless extension'],
	["0\r\nX: " . ('t' x 20000), 'an endless trailer'],
);
for my $b (@bad) {
	my ($body, $what) = @$b;
	my ($o, $e) = raw($head . $body);
	is(status_of($o), 400, "$what: 400");
	ok($e, '... and the connection closed');
}
for my $b (@bad[0, 2, 6, 13, 14]) {
	my ($body, $what) = @$b;
	my ($o, $e) = raw($cgi . $body);
	is(status_of($o), 400, "to CGI, $what: 400");
	ok($e, '... and the connection closed');
}

# Past -b: 413, for a file and for a script, with the decoded length.
my $over = chunk('x' x ($max + 1000), 10000);
($got, $eof) = raw($head . $over, shut => 1);
is(status_of($got), 413, "a chunked body of more than -b $max bytes to a file: 413");
ok($eof, '... and the connection closed');
($got, $eof) = raw($cgi . $over, shut => 1);
is(status_of($got), 413, '... to a script: 413');
ok($eof, '... and the connection closed');
($got) = raw($cgi . chunk('y' x $max, 65536));
$got =~ s/\A.*?\r\n\r\n//s;
ok($got eq "$max|unset\n" . ('y' x $max), "exactly -b bytes to a script: all of it");

# Transfer codings other than chunked alone, and framing in two ways.
for my $te ('gzip, chunked', 'identity', 'chunked, gzip', 'x-chunked') {
	($got, $eof) = raw("POST /cgi-bin/echo.sh HTTP/1.1\r\nHost: a\r\n" .
	    "Transfer-Encoding: $te\r\n\r\n0\r\n\r\n");
	is(status_of($got), 501, "Transfer-Encoding: $te: 501");
}
($got) = raw("POST /cgi-bin/echo.sh HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n" .
    "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
is(status_of($got), 501, 'chunked twice: 501');
($got, $eof) = raw("POST /cgi-bin/echo.sh HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n" .
    "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
is(status_of($got), 400, 'chunked with Content-Length: 400');
ok($eof, '... and the connection closed');
($got) = raw("GET /index.html HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n" .
    "Content-Length: 0\r\n\r\n0\r\n\r\n");
is(status_of($got), 400, '... to a file too');
($got) = raw("POST /cgi-bin/echo.sh HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
like($got, qr{^HTTP/1\.[01] 400 }, 'Transfer-Encoding in HTTP/1.0 (faulty framing): 400');

# A chunked body that stops coming: 408 within -t (3 s), file or script.
my @slow = map { connect_tcp($port) or die "connect: $!" } 1 .. 2;
my $t0 = time;
syswrite($slow[0], $head . "5\r\nhel");
syswrite($slow[1], $cgi . "5\r\nhel");
for my $i (0, 1) {
	my ($o, $sel) = ('', IO::Select->new($slow[$i]));
	while ($sel->can_read(10)) {
		last unless sysread($slow[$i], my $buf, 4096);
		$o .= $buf;
	}
	is(status_of($o), 408, ($i ? 'to a script' : 'to a file') .
	    ': a chunked body cut short gets 408');
}
ok(time - $t0 < 9, '... within -t, not later');

is(running(), 2, 'both workers are still running');
done_testing();
