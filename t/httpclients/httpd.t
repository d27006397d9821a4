#!/usr/bin/perl
# httpget and sendline against forkd's own httpd (build/httpd, issue 5):
# with a listening socket on fd 0 (the prefork contract), under ucspi-tcp's
# tcpserver (one connection per handler), and under forkd (nowait and
# prefork) when build/forkd is there. Exact bytes, -i, -I, -o, 404, HTTP/1.0
# and HTTP/0.9 through sendline.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(build tmpdir free_port wait_port slurp spit forkd_start
    forkd_stop run_cmd);
use IO::Socket::IP;
use POSIX qw(:sys_wait_h);
use Test::More;

my $httpget = build('httpget');
my $sendline = build('sendline');
my $httpd = build('httpd');
plan skip_all => "build/httpget or build/sendline not built"
    unless -x $httpget && -x $sendline;
plan skip_all => "build/httpd not built yet (daemons/httpd, make build/httpd)"
    unless -x $httpd;

my $dir = tmpdir();
chmod(0755, $dir);	# handlers under forkd run as nobody
my $www = "$dir/www";
mkdir $www or die;
my $page = "<html><body><h1>forkd</h1><img src=\"logo.bin\"></body></html>\n";
spit("$www/index.html", $page);
my $bin = join('', map { chr(($_ * 13 + ($_ >> 9)) & 255) } 0 .. (1 << 20) - 1);
spit("$www/logo.bin", $bin);
chmod(0644, "$www/index.html", "$www/logo.bin");
my @pids;

# run_cmd runs the clients in $dir, where -o writes.
my $indir = { dir => $dir };

# The same checks against whatever serves $port; $how names it.
sub check_server {
	my ($how, $port) = @_;
	my $r = run_cmd($indir, $httpget, '-t', '2', '127.0.0.1', $port, '/index.html');
	is($r->{rc}, 0, "$how: GET: exit 0");
	is($r->{out}, $page, "$how: GET: the page");

	$r = run_cmd($indir, $httpget, '-t', '2', '127.0.0.1', $port, '/logo.bin');
	ok($r->{rc} == 0 && $r->{out} eq $bin, "$how: 1 MiB binary byte for byte")
	    or diag("exit $r->{rc}, " . length($r->{out} // '') . " bytes, $r->{err}");

	$r = run_cmd($indir, $httpget, '-t', '2', '-o', 'copy.bin', '127.0.0.1',
	    $port, '/logo.bin');
	ok($r->{rc} == 0 && slurp("$dir/copy.bin") eq $bin, "$how: -o: exact file");
	unlink("$dir/copy.bin");

	$r = run_cmd($indir, $httpget, '-i', '-t', '2', '127.0.0.1', $port, '/index.html');
	my ($head, $body) = split(/\r\n\r\n/, $r->{out} // '', 2);
	like($head, qr{\AHTTP/1\.1 200 OK\r\n}, "$how: -i: status line");
	like($head, qr{^Content-Length: ${\ length($page)}\r?$}mi,
	    "$how: -i: Content-Length");
	is($body, $page, "$how: -i: blank line, then the body");

	$r = run_cmd($indir, $httpget, '-I', '-t', '2', '127.0.0.1', $port, '/logo.bin');
	is($r->{rc}, 0, "$how: -I: exit 0");
	like($r->{out}, qr{\AHTTP/1\.1 200 OK\r\n.*\r\n\r\n\z}s,
	    "$how: -I: the head only");
	like($r->{out}, qr{^Content-Length: 1048576\r$}mi,
	    "$how: -I: the file's length");

	$r = run_cmd($indir, $httpget, '-t', '2', '127.0.0.1', $port, '/missing.html');
	is($r->{rc}, 1, "$how: 404: exit 1");
	like($r->{err}, qr{\Ahttpget: HTTP/1\.1 404 \S}, "$how: 404: status line on stderr");

	$r = run_cmd({ %$indir, in => "GET /index.html HTTP/1.0\n" }, $sendline, '-n', '-t', '2',
	    '127.0.0.1', $port);
	is($r->{rc}, 0, "$how: sendline -n: exit 0");
	like($r->{out}, qr{\AHTTP/1\.[01] 200 OK\r\n.*\r\n\r\n\Q$page\E\z}s,
	    "$how: sendline -n: the full HTTP/1.0 response");

	# seed 002's telnet example: no version, the bare body back.
	$r = run_cmd({ %$indir, in => "GET /index.html\n" }, $sendline, '-t', '2', '127.0.0.1', $port);
	is($r->{out}, $page, "$how: sendline HTTP/0.9: the bare body");
}

# 1. A listening socket on fd 0 and 1: the prefork contract.
{
	my $l = IO::Socket::IP->new(LocalAddr => '127.0.0.1', LocalPort => 0,
	    Proto => 'tcp', Listen => 128, ReuseAddr => 1) or die "listen: $!";
	my $pid = fork() // die "fork: $!";
	if ($pid == 0) {
		POSIX::dup2(fileno($l), 0) or POSIX::_exit(126);
		POSIX::dup2(fileno($l), 1) or POSIX::_exit(126);
		open(STDERR, '>', "$dir/httpd.listen.err");
		exec($httpd, '-r', $www) or POSIX::_exit(127);
	}
	push @pids, $pid;
	my $port = $l->sockport;
	close($l);
	check_server('listening socket', $port);
}

# 2. Under tcpserver: a connected socket on fd 0 and 1, one per handler.
SKIP: {
	chomp(my $tcpserver = `command -v tcpserver 2>/dev/null` // '');
	skip 'tcpserver not installed (ucspi-tcp)', 16 unless $tcpserver;
	my $port = free_port();
	my $pid = fork() // die "fork: $!";
	if ($pid == 0) {
		open(STDIN, '<', '/dev/null');
		open(STDOUT, '>', '/dev/null');
		open(STDERR, '>', "$dir/tcpserver.err");
		exec($tcpserver, '-q', '-R', '-H', '127.0.0.1', $port, $httpd,
		    '-r', $www) or POSIX::_exit(127);
	}
	push @pids, $pid;
	ok(wait_port($port, 5), 'tcpserver listening') or skip 'no tcpserver', 15;
	check_server('tcpserver', $port);
}

# 3. Under forkd, nowait and prefork.2.
SKIP: {
	skip 'build/forkd not built', 33 unless -x build('forkd');
	skip 'forkd tests need root and unshare(1) for the syslog capture', 33
	    unless $> == 0 && system('unshare -m true 2>/dev/null') == 0;
	my ($pn, $pp) = (free_port(), free_port());
	my $f = forkd_start(conf => <<"CONF", wait_ports => [$pn, $pp]);
127.0.0.1:$pn stream tcp nowait nobody $httpd httpd -r $www
127.0.0.1:$pp stream tcp prefork.2 nobody $httpd httpd -r $www
CONF
	ok(wait_port($pn, 1) && wait_port($pp, 1), 'forkd listening')
	    or skip 'forkd did not start', 32;
	check_server('forkd nowait', $pn);
	check_server('forkd prefork.2', $pp);
	forkd_stop($f);
}

kill('TERM', $_) for @pids;
waitpid($_, 0) for @pids;
done_testing();
