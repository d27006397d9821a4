#!/usr/bin/perl
# httpd and the requests of hostile clients, each checked on the bytes on
# the wire, the access log line or its cost to the worker: a half-closed
# client that reads nothing costs no CPU and its cut reply is logged; a
# redirect whose Location outgrows the header buffer stays framed; the
# absolute-form with an empty path (RFC 9112 3.2.2); '"' escaped in the
# combined log format; obs-text in field values (RFC 9110 5.5); a request
# line without a version that is not a GET; an invalid Host (RFC 9112
# 3.2); a path too long to serve (414). One worker on a listening socket
# made here, in its seccomp profile (kill mode), its syslog captured.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(build tmpdir syslog_start wait_log need_root
    connect_tcp slurp spit listen_exec);
use IO::Select;
use IO::Socket::IP;
use POSIX qw(:sys_wait_h);
use Socket qw(SOL_SOCKET SO_RCVBUF SHUT_WR);
use Test::More;
use Time::HiRes qw(time sleep);

need_root();
plan skip_all => 'build/httpd is not built' unless -x build('httpd');

my $dir = tmpdir();
my $root = "$dir/www";
mkdir $root;
mkdir "$root/sub";
spit("$root/index.html", "<p>root</p>\n");
spit("$root/sub/index.html", "<p>sub</p>\n");
# Larger than any socket buffer on both sides, so a client that does not
# read leaves the worker waiting to write.
spit("$root/big.bin", 'x' x (24 * 1024 * 1024));
my $sl = syslog_start($dir);

my ($port, $pid) = listen_exec(sl => $sl,
    cmd => [build('httpd'), '-r', $root, '-t', '3', '-k', '3']);

# Raw request: bytes in, every byte until EOF (or 5 s) out.
sub raw {
	my ($req) = @_;
	my $s = connect_tcp($port) or die "connect: $!";
	print $s $req;
	my ($all, $buf) = ('');
	my $end = time + 5;
	$s->blocking(0);
	while (time < $end) {
		my $n = sysread($s, $buf, 65536);
		last if defined $n && $n == 0;
		if (defined $n) { $all .= $buf; next }
		sleep(0.01);
	}
	return $all;
}

# Split a byte stream into responses by Content-Length; each is
# [ status, { lower-case field => value }, body ]. Stops at what cannot
# be framed.
sub responses {
	my ($s) = @_;
	my @r;
	while ($s =~ s{\AHTTP/1\.1 (\d{3}) [^\r\n]*\r\n((?:[^\r\n]+\r\n)*)\r\n}{}) {
		my ($st, $h) = ($1, $2);
		my %h = map { /^([^:]+):\s*(.*)$/ ? (lc($1), $2) : () } split /\r\n/, $h;
		last unless defined $h{'content-length'};
		push @r, [ $st, \%h, substr($s, 0, $h{'content-length'}, '') ];
	}
	return @r;
}

# CPU seconds the worker used so far (utime + stime).
sub cpu {
	my $s = slurp("/proc/$pid/stat") // return 0;
	my @f = split ' ', (split /\) /, $s, 2)[1];
	return ($f[11] + $f[12]) / POSIX::sysconf(POSIX::_SC_CLK_TCK());
}

ok(Forkd::wait_port($port, 5), 'httpd answers');

# A client that sent its request, shut its writing side (FIN) and reads
# nothing: the worker waits to write, and must sleep while it waits. A
# level-triggered EPOLLRDHUP, reported at once forever, made it spin.
{
	my $s = connect_tcp($port) or die;
	setsockopt($s, SOL_SOCKET, SO_RCVBUF, 4096);
	print $s "GET /big.bin HTTP/1.1\r\nHost: a\r\n\r\n";
	shutdown($s, SHUT_WR);
	# The answer has begun: the worker fills the socket buffers within
	# milliseconds, then has nothing to do but wait.
	ok(IO::Select->new($s)->can_read(5), 'the answer to a stalled client begins');
	# Filled once the bytes queued for us stop growing (FIONREAD,
	# 0x541B on Linux), 5 s at most.
	my ($last, $same, $fend) = (-1, 0, time + 5);
	while ($same < 3 && time < $fend) {
		my $q = pack('i', 0);
		ioctl($s, 0x541B, $q);
		$q = unpack('i', $q);
		$same = $q == $last ? $same + 1 : 0;
		$last = $q;
		sleep(0.05);
	}
	my ($t0, $c1) = (time, cpu());
	sleep(1);
	my $used = cpu() - $c1;
	my $wall = time - $t0;
	ok($used < 0.3 * $wall, sprintf('a half-closed client that does not read '
	    . 'costs no CPU (%.2f s in %.2f s)', $used, $wall));
	is(raw("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n") =~
	    m{^HTTP/1\.1 200 } ? 1 : 0, 1, '... and others are served meanwhile');
	# No bytes taken for -t 3 s: closed, and the cut reply is still
	# in the access log (one line per request).
	my $line = wait_log($sl, qr{"GET /big\.bin HTTP/1\.1" 200 }, 10);
	ok($line, 'the reply cut by -t is logged');
	like($line // '', qr{ 200 \d+ "-" "-"$}, '... with the body bytes sent');
	my ($sent) = ($line // '') =~ / 200 (\d+) /;
	ok(defined $sent && $sent < 24 * 1024 * 1024, '... fewer than the file has');
	close($s);
}

# A redirect whose Location would not fit the header buffer must not
# lose the lines after it: Content-Length went missing, and the error
# page ran into the next response on a kept connection.
{
	my $q = 'q' x 2000;
	my $out = raw("GET /sub?$q HTTP/1.1\r\nHost: a\r\n\r\n" .
	    "GET /sub/ HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
	my @r = responses($out);
	ok(@r >= 1 && defined $r[0][1]{'content-length'},
	    'a directory with a 2000-byte query: the answer has its Content-Length');
	ok(@r >= 1 && ($r[0][0] == 414 ||
	    ($r[0][0] == 301 && ($r[0][1]{location} // '') eq "/sub/?$q")),
	    '... and is 414, or 301 with the whole Location');
	ok((@r == 2 && $r[1][0] == 200 && $r[1][2] eq "<p>sub</p>\n"),
	    '... the response after it on the connection is framed');
}

# absolute-form (RFC 9112 3.2.2) with an empty path is the path "/":
# it redirected to "//" (a network-path reference) and lost the query.
{
	my $out = raw("GET http://a HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
	like($out, qr{^HTTP/1\.1 200 .*\r\n\r\n<p>root</p>\n\z}s,
	    'GET http://a: the root index, not a redirect to "//"');
	$out = raw("GET http://a?x=1 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
	like($out, qr{^HTTP/1\.1 200 .*<p>root</p>}s, 'GET http://a?x=1: the root index');
}

# The access log line is the combined log format: a '"' a client sends
# in the request line or User-Agent must not end the quoted field and
# let it write fields of its own.
{
	raw("GET /forged\"x HTTP/1.1\r\nHost: a\r\nUser-Agent: ua\" 200 1 \"-\" \"evil\r\n" .
	    "Connection: close\r\n\r\n");
	my $line = wait_log($sl, qr{/forged}) // '';
	like($line, qr{"GET /forged\\"x HTTP/1\.1" 404 \d+ "-" "ua\\" 200 1 \\"-\\" \\"evil"$},
	    'a \'"\' in the request line and User-Agent is escaped in the log');
}

# obs-text (RFC 9110 5.5): bytes 0x80-0xff in a field value are opaque
# data, not control bytes (a signed char made them negative: 400).
{
	my $out = raw("GET /sub/ HTTP/1.1\r\nHost: a\r\nUser-Agent: caf\xc3\xa9\r\n" .
	    "Connection: close\r\n\r\n");
	like($out, qr{^HTTP/1\.1 200 .*<p>sub</p>}s, 'a UTF-8 User-Agent: 200');
	ok(wait_log($sl, qr{"GET /sub/ HTTP/1\.1" 200 \d+ "-" "caf\\303\\251"$}),
	    '... logged escaped');
	$out = raw("GET /sub/ HTTP/1.1\r\nHost: a\r\nX: a\x7fb\r\n\r\n");
	like($out, qr{^HTTP/1\.1 400 }, 'DEL in a field value is still 400');
}

# A request line without a version that is not a GET is no HTTP/0.9
# request: answer 400 with a status line, not a bare body or nothing.
like(raw("HEAD /\r\n"), qr{^HTTP/1\.1 400 }, '"HEAD /" without a version: 400');

# RFC 9112 3.2: a Host field with an invalid value is 400 (it would
# reach CGI scripts as SERVER_NAME).
for my $h ('a/b', 'a b', 'user@a', 'a?b', "a\\b", '<a>') {
	like(raw("GET / HTTP/1.1\r\nHost: $h\r\nConnection: close\r\n\r\n"),
	    qr{^HTTP/1\.1 400 }, "Host: $h is 400");
}
for my $h ('www.example.com:8080', '[::1]:80', '127.0.0.1', 'xn--caf-dma.example') {
	like(raw("GET / HTTP/1.1\r\nHost: $h\r\nConnection: close\r\n\r\n"),
	    qr{^HTTP/1\.1 200 }, "Host: $h is 200");
}

# A path longer than any served (HTTPD_PATH_MAX, 4096 bytes decoded),
# within the request line's 8192: 414 (URI Too Long), not 400.
like(raw("GET /" . ('a' x 5000) . " HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"),
    qr{^HTTP/1\.1 414 }, 'a 5000-byte path: 414');
like(raw("GET /" . ('%61' x 1500) . " HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"),
    qr{^HTTP/1\.1 404 }, '... 4500 bytes that decode to 1500: looked up (404)');

ok(!grep({ /sandbox|SIGSYS/ } Forkd::log_lines($sl)), 'no sandbox complaint');
ok(kill(0, $pid) && waitpid($pid, WNOHANG) == 0, 'the worker is still running');

kill('TERM', $pid);
waitpid($pid, 0);
kill('TERM', $sl->{pid});
waitpid($sl->{pid}, 0);
done_testing();
