#!/usr/bin/perl
# httpget and sendline against Debian's busybox httpd, a server nobody
# here wrote: a page and a binary file byte for byte, -i, -I, -o, a path
# that needs percent-encoding, 404, IPv6, connection refused, usage.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(build tmpdir free_port wait_port slurp spit run_cmd);
use IO::Socket::IP;
use POSIX qw(:sys_wait_h);
use Test::More;

my $httpget = build('httpget');
my $sendline = build('sendline');
plan skip_all => "build/httpget or build/sendline not built"
    unless -x $httpget && -x $sendline;
chomp(my $busybox = `command -v busybox 2>/dev/null` // '');
plan skip_all => 'busybox not installed (mk/packages/httpclients.txt)'
    unless $busybox && system("$busybox httpd --help >/dev/null 2>&1") >> 8 != 127;

my $dir = tmpdir();
my $www = "$dir/www";
mkdir $www or die;
my $page = "<html><body><h1>forkd</h1><img src=\"logo.bin\"></body></html>\n";
spit("$www/index.html", $page);
my $bin = join('', map { chr(($_ * 7 + ($_ >> 8)) & 255) } 0 .. (1 << 20) - 1);
spit("$www/logo.bin", $bin);
spit("$www/a b.txt", "space in the name\n");
my @pids;

sub start_busybox {
	my ($addr) = @_;
	my $pid = fork() // die "fork: $!";
	if ($pid == 0) {
		open(STDIN, '<', '/dev/null');
		open(STDOUT, '>', "$dir/busybox.out");
		open(STDERR, '>', "$dir/busybox.err");
		exec($busybox, 'httpd', '-f', '-p', $addr, '-h', $www)
		    or POSIX::_exit(127);
	}
	push @pids, $pid;
	return $pid;
}

# run_cmd runs the clients in $dir, where -o writes.
my $indir = { dir => $dir };

my $port = free_port();
start_busybox("127.0.0.1:$port");
ok(wait_port($port, 5), 'busybox httpd listening') or BAIL_OUT('no busybox httpd');

my $r = run_cmd($indir, $httpget, '-t', '5', '127.0.0.1', $port, '/index.html');
is($r->{rc}, 0, 'GET /index.html: exit 0');
is($r->{out}, $page, 'GET /index.html: the page');
is($r->{err}, '', 'nothing on stderr');

$r = run_cmd($indir, $httpget, '-t', '5', '127.0.0.1', $port, '/logo.bin');
is($r->{rc}, 0, 'binary: exit 0');
ok($r->{out} eq $bin, 'binary: 1 MiB byte for byte') or
    diag('got ' . length($r->{out}) . ' bytes');

$r = run_cmd($indir, $httpget, '-t', '5', '-o', 'logo.copy', '127.0.0.1', $port,
    '/logo.bin');
is($r->{rc}, 0, '-o: exit 0');
is($r->{out}, '', '-o: nothing on stdout');
ok(slurp("$dir/logo.copy") eq $bin, '-o: the file holds the exact bytes');

$r = run_cmd($indir, $httpget, '-i', '-t', '5', '127.0.0.1', $port, 'index.html');
is($r->{rc}, 0, '-i: exit 0 (path without the leading slash)');
my ($head, $body) = split(/\r\n\r\n/, $r->{out}, 2);
like($head, qr{\AHTTP/1\.[01] 200 OK\r\n}, '-i: the status line first');
my $plen = length($page);
like($head, qr{^Content-Length: $plen\r?$}mi, '-i: the Content-Length field');
unlike($head, qr{\r\n[^\r\n:]*\r\n}, '-i: every field line is name: value');
is($body, $page, '-i: a blank line, then the body');

$r = run_cmd($indir, $httpget, '-I', '-t', '5', '127.0.0.1', $port, '/logo.bin');
is($r->{rc}, 0, '-I: exit 0');
like($r->{out}, qr{\AHTTP/1\.[01] 200 OK\r\n.*\r\n\r\n\z}s, '-I: the head only');
like($r->{out}, qr{^Content-Length: 1048576\r$}mi, '-I: the length of the file');

$r = run_cmd($indir, $httpget, '-t', '5', '127.0.0.1', $port, '/a b.txt');
is($r->{out}, "space in the name\n", 'a space in the path is sent as %20');

$r = run_cmd($indir, $httpget, '-t', '5', '127.0.0.1', $port, '/missing.html');
is($r->{rc}, 1, '404: exit 1');
is($r->{err}, "httpget: HTTP/1.1 404 Not Found\n", '404: the status line on stderr');

# sendline: one request line, then -n's blank line ends the head.
$r = run_cmd({ %$indir, in => "GET /index.html HTTP/1.0\n" }, $sendline, '-n', '-t', '5',
    '127.0.0.1', $port);
is($r->{rc}, 0, 'sendline -n: exit 0');
like($r->{out}, qr{\AHTTP/1\.[01] 200 OK\r\n.*\r\n\r\n\Q$page\E\z}s,
    'sendline -n: the whole response, head and page');
$r = run_cmd({ %$indir, in => "GET /logo.bin HTTP/1.0\n" }, $sendline, '-n', '-t', '5',
    '127.0.0.1', $port);
my (undef, $lbody) = split(/\r\n\r\n/, $r->{out}, 2);
ok(defined $lbody && $lbody eq $bin, 'sendline: 1 MiB body byte for byte');
# Without -n the head never ends: busybox waits, and so does sendline, -t long.
$r = run_cmd({ %$indir, in => "GET /index.html HTTP/1.0\n" }, $sendline, '-t', '1', '127.0.0.1', $port);
is($r->{rc}, 111, 'sendline without -n: busybox waits for the blank line, timeout 111');

# IPv6 loopback, when this machine has it.
SKIP: {
	skip 'no IPv6 loopback (::1)', 5
	    unless IO::Socket::IP->new(LocalAddr => '::1', LocalPort => 0,
	    Proto => 'tcp', Listen => 1);
	my $p6 = free_port();
	start_busybox("[::1]:$p6");
	ok(wait_port($p6, 5, '::1'), 'busybox httpd on [::1]');
	$r = run_cmd($indir, $httpget, '-t', '5', '::1', $p6, '/index.html');
	is($r->{rc}, 0, 'IPv6: exit 0');
	is($r->{out}, $page, 'IPv6: the page');
	$r = run_cmd($indir, $httpget, '-t', '5', '[::1]', $p6, '/index.html');
	is($r->{out}, $page, 'IPv6 in brackets, as in a URL');
	$r = run_cmd({ %$indir, in => "GET /index.html HTTP/1.0\n" }, $sendline, '-n', '-t', '5',
	    '::1', $p6);
	like($r->{out}, qr{\r\n\r\n\Q$page\E\z}, 'sendline over IPv6');
}

# A name from /etc/hosts (no DNS): every address is tried in turn.
SKIP: {
	my $hosts = slurp('/etc/hosts') // '';
	skip 'localhost is not in /etc/hosts', 1
	    unless $hosts =~ /^\s*127\.0\.0\.1\s.*\blocalhost\b/m;
	$r = run_cmd($indir, $httpget, '-t', '5', 'localhost', $port, '/index.html');
	is($r->{out}, $page, 'a name: localhost');
}

# Connection refused: a port nobody listens on.
my $dead = free_port();
$r = run_cmd($indir, $httpget, '-t', '2', '127.0.0.1', $dead, '/');
is($r->{rc}, 111, 'refused: exit 111');
is($r->{err}, "httpget: connect 127.0.0.1 port $dead: Connection refused\n",
    'refused: says where and why');
$r = run_cmd({ %$indir, in => "x\n" }, $sendline, '-t', '2', '127.0.0.1', $dead);
is($r->{rc}, 111, 'sendline refused: exit 111');

# Usage.
$r = run_cmd($indir, $httpget);
is($r->{rc}, 100, 'httpget without arguments: exit 100');
like($r->{err}, qr/^usage: httpget /, '... with the usage');
$r = run_cmd($indir, $httpget, '-h');
is($r->{rc}, 0, 'httpget -h: exit 0');
like($r->{out}, qr/^usage: httpget /, '... usage on stdout');
$r = run_cmd($indir, $httpget, '-t', '0', '127.0.0.1', $port, '/');
is($r->{rc}, 100, 'httpget -t 0: exit 100');
$r = run_cmd($indir, $httpget, '127.0.0.1', 'no-such-service', '/');
is($r->{rc}, 100, 'httpget with an unknown port name: exit 100');
$r = run_cmd($indir, $sendline, '-x', '127.0.0.1', $port);
is($r->{rc}, 100, 'sendline -x: exit 100');
$r = run_cmd($indir, $sendline, '-h');
is($r->{rc}, 0, 'sendline -h: exit 0');
like($r->{out}, qr/^usage: sendline /, '... usage on stdout');

kill('TERM', $_) for @pids;
waitpid($_, 0) for @pids;
done_testing();
