#!/usr/bin/perl
# httpd: every status of issue 5 for static files, as curl and HTTP::Tiny
# see it, through two workers sharing a listening socket made here (the
# prefork contract), with the access log read from the syslog capture.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(build tmpdir syslog_start wait_log need_root
    connect_tcp slurp spit listen_exec);
use HTTP::Tiny;
use IO::Socket::IP;
use POSIX qw(mkfifo);
use Test::More;
use Time::HiRes qw(time sleep);

need_root();
plan skip_all => 'build/httpd is not built' unless -x build('httpd');
plan skip_all => 'curl is not installed' if system('curl --version >/dev/null 2>&1') != 0;

my $dir = tmpdir();
my $root = "$dir/www";
system('cp', '-R', "$FindBin::Bin/../../etc/www", $root) == 0 or die "cp";
mkdir "$root/empty";
mkdir "$root/sub";
spit("$root/sub/index.html", "<p>sub</p>\n");
spit("$root/big.txt", join('', map { sprintf("%07d\n", $_) } 0 .. 99999));
spit("$root/empty.txt", '');
mkfifo("$root/fifo", 0644) or die "mkfifo: $!";
my $sl = syslog_start($dir);

my ($port, @pids) = listen_exec(workers => 2, sl => $sl,
    cmd => [build('httpd'), '-r', $root, '-t', '1', '-k', '2', '-n', '3',
    '-b', '4096']);
my $base = "http://127.0.0.1:$port";

# Raw request: bytes in, every byte until EOF (or 5 s) out.
sub raw {
	my ($req, $wait) = @_;
	my $s = connect_tcp($port) or die "connect: $!";
	print $s $req;
	my ($buf, $all) = ('', '');
	my $end = time + ($wait // 5);
	$s->blocking(0);
	while (time < $end) {
		my $n = sysread($s, $buf, 65536);
		if (defined $n && $n == 0) { last }
		if (defined $n) { $all .= $buf; next }
		sleep(0.02);
	}
	return $all;
}
sub status_of { return $_[0] =~ m{^HTTP/1\.1 (\d{3}) } ? $1 : 0 }

my $ht = HTTP::Tiny->new(timeout => 5, keep_alive => 1);
my $r = $ht->get("$base/");
is($r->{status}, 200, 'HTTP::Tiny GET / is 200');
is($r->{content}, slurp("$root/index.html"), '... the bytes of index.html');
is($r->{headers}{'content-type'}, 'text/html', '... Content-Type text/html');
is($r->{headers}{'content-length'}, -s "$root/index.html", '... Content-Length');
like($r->{headers}{'last-modified'}, qr/^\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT$/,
    '... Last-Modified is an IMF-fixdate');
like($r->{headers}{date}, qr/GMT$/, '... Date');

$r = $ht->get("$base/forkd.png");
is($r->{status}, 200, 'GET /forkd.png');
is($r->{headers}{'content-type'}, 'image/png', '... image/png');
is($r->{content}, slurp("$root/forkd.png"), '... the PNG bytes');

$r = $ht->get("$base/big.txt");
is(length($r->{content}), 800000, 'an 800 kB file arrives whole (sendfile)');
ok($r->{content} eq slurp("$root/big.txt"), '... byte for byte');

$r = $ht->head("$base/big.txt");
is($r->{status}, 200, 'HEAD is 200');
is($r->{headers}{'content-length'}, 800000, '... with the Content-Length');
is($r->{content} // '', '', '... and no body');

# Ranges (RFC 9110 14).
$r = $ht->get("$base/big.txt", { headers => { Range => 'bytes=8-15' } });
is($r->{status}, 206, 'Range bytes=8-15: 206');
is($r->{content}, "0000001\n", '... the 8 bytes');
is($r->{headers}{'content-range'}, 'bytes 8-15/800000', '... Content-Range');
$r = $ht->get("$base/big.txt", { headers => { Range => 'bytes=-8' } });
is($r->{content}, "0099999\n", 'suffix range: the last 8 bytes');
$r = $ht->get("$base/big.txt", { headers => { Range => 'bytes=900000-' } });
is($r->{status}, 416, 'a range past the end: 416');
is($r->{headers}{'content-range'}, 'bytes */800000', '... Content-Range bytes */len');
$r = $ht->get("$base/big.txt", { headers => { Range => 'bytes=0-1,5-6' } });
is($r->{status}, 200, 'several ranges: the whole file (200)');

# Conditional requests.
my $lm = $ht->head("$base/forkd.png")->{headers}{'last-modified'};
$r = $ht->get("$base/forkd.png", { headers => { 'If-Modified-Since' => $lm } });
is($r->{status}, 304, 'If-Modified-Since = Last-Modified: 304');
is($r->{content} // '', '', '... no body');
$r = $ht->get("$base/forkd.png",
    { headers => { 'If-Modified-Since' => 'Thu, 01 Jan 1998 00:00:00 GMT' } });
is($r->{status}, 200, 'If-Modified-Since in the past: 200');

# Directories.
my $out = `curl -s -o /dev/null -w '%{http_code} %{redirect_url}' $base/sub`;
is($out, "301 $base/sub/", 'curl: a directory without slash: 301 to the slash form');
$out = `curl -s $base/sub/`;
is($out, "<p>sub</p>\n", 'curl: the directory\'s index.html');
$out = `curl -s -o /dev/null -w '%{http_code}' $base/empty/`;
is($out, '403', 'a directory without index.html: 403 (no listing)');
$out = `curl -s -o /dev/null -w '%{http_code}' $base/fifo`;
is($out, '403', 'a FIFO: 403');
$out = `curl -s -w ' %{http_code} %{content_type}' $base/nothing.html`;
like($out, qr{<h1>404 Not Found</h1>.* 404 text/html}s, '404 with a small HTML page (seed 004)');
$out = `curl -s -o /dev/null -w '%{http_code}' $base/empty.txt`;
is($out, '200', 'an empty file: 200');

# Methods.
$r = $ht->post_form("$base/index.html", { a => 1 });
is($r->{status}, 405, 'POST to a static file: 405');
is($r->{headers}{allow}, 'GET, HEAD', '... Allow: GET, HEAD');
$out = raw("BREW / HTTP/1.1\r\nHost: x\r\n\r\n");
is(status_of($out), 501, 'an unknown method: 501');

# Malformed requests: 400.
is(status_of(raw("GET / HTTP/1.1\r\n\r\n")), 400, 'HTTP/1.1 without Host: 400');
is(status_of(raw("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n")), 400,
    'two Host fields: 400');
is(status_of(raw("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n" .
    "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n")), 400,
    'Content-Length with Transfer-Encoding: 400');
is(status_of(raw("GET / HTTP/1.1\r\nHost: a\r\nBad Header: x\r\n\r\n")), 400,
    'whitespace in a field name: 400');
is(status_of(raw("GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n folded\r\n\r\n")), 400,
    'obs-fold: 400');
is(status_of(raw("GET  / HTTP/1.1\r\nHost: a\r\n\r\n")), 400,
    'two spaces in the request line: 400');
is(status_of(raw("GET / HTTP/1.x\r\nHost: a\r\n\r\n")), 400, 'a bad version: 400');
is(status_of(raw("GET / HTTP/2.0\r\nHost: a\r\n\r\n")), 505, 'HTTP/2.0: 505');
is(status_of(raw("GET /" . ('a' x 9000) . " HTTP/1.1\r\nHost: a\r\n\r\n")), 414,
    'a 9000-byte request-target: 414');
is(status_of(raw("GET / HTTP/1.1\r\nHost: a\r\n" .
    join('', map { "X-$_: " . ('v' x 1000) . "\r\n" } 1 .. 20) . "\r\n")), 431,
    '20 kB of header fields: 431');
is(status_of(raw("POST /index.html HTTP/1.1\r\nHost: a\r\nContent-Length: 5000\r\n\r\n")),
    413, 'a body over -b: 413');

# HTTP/0.9: the bare body (seed 002's telnet "GET /").
$out = raw("GET /\r\n");
is($out, slurp("$root/index.html"), 'GET / without a version: the bare body');

# Keep-alive, bounded by -n 3: three answers, the third says close.
$out = raw("GET /sub/ HTTP/1.1\r\nHost: a\r\n\r\n" x 4);
my @st = ($out =~ m{^HTTP/1\.1 (\d+)}mg);
is(scalar(@st), 3, 'keep-alive: -n 3 requests answered on one connection');
is(() = ($out =~ /^Connection: close\r$/mg), 1, '... the last one with Connection: close');
$out = raw("GET /sub/ HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /sub/ HTTP/1.0\r\n\r\n");
@st = ($out =~ m{^HTTP/1\.1 (\d+)}mg);
is(scalar(@st), 2, 'HTTP/1.0 keep-alive: two answers');
like($out, qr/^Connection: keep-alive\r$/m, '... Connection: keep-alive');

# Slowloris: a head not done within -t 1 gets 408, and the worker still
# serves others meanwhile.
my $slow = connect_tcp($port);
print $slow "GET / HTTP/1.1\r\nHost: a\r\n";
my $t0 = time;
is($ht->get("$base/sub/")->{status}, 200, 'while a slow client waits, others are served');
$slow->blocking(1);
my $got = '';
while (sysread($slow, my $b, 4096)) { $got .= $b }
my $dt = time - $t0;
is(status_of($got), 408, 'slowloris: 408');
ok($dt >= 0.8 && $dt < 4, sprintf('... after about -t 1 s (%.1f s), then closed', $dt));

# Idle keep-alive connections close after -k quietly.
my $idle = connect_tcp($port);
print $idle "GET /sub/ HTTP/1.1\r\nHost: a\r\n\r\n";
$got = '';
$t0 = time;
$got = Forkd::read_n($idle, 1 << 20, 10);	# to EOF, 10 s at most
ok(time - $t0 >= 1.5, 'an idle keep-alive connection is closed after -k');
is(() = ($got =~ m{^HTTP/1\.1 }mg), 1, '... with no 408 for it');

# The access log: combined log format.
my $line = wait_log($sl, qr{"GET /forkd\.png HTTP/1\.1" 200 327 });
ok($line, 'access log line for /forkd.png');
like($line // '', qr{httpd\[\d+\]: 127\.0\.0\.1 - - \[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\] "GET /forkd\.png HTTP/1\.1" 200 327 "-" "HTTP-Tiny/[\d.]+"},
    '... host ident user [date] "request" status bytes "referer" "agent"');
ok(wait_log($sl, qr{"GET / HTTP/1\.1" 400 }), 'errors are logged too');
ok(!grep({ /sandbox|SIGSYS/ } Forkd::log_lines($sl)), 'no sandbox complaint in the log');
my %workers = map { /httpd\[(\d+)\]: 127\.0\.0\.1 - - / ? ($1, 1) : () } Forkd::log_lines($sl);
is(scalar(grep { Forkd::alive($_) } @pids), 2,
    'both workers are still running (not zombies)');

kill('TERM', @pids);
waitpid($_, 0) for @pids;
kill('TERM', $sl->{pid});
waitpid($sl->{pid}, 0);
done_testing();
