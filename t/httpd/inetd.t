#!/usr/bin/perl
# httpd with a connected socket on fd 0: under Debian's openbsd-inetd
# (nowait, in the foreground with our own config on a high loopback
# port) and under ucspi-tcp's tcpserver. Static pages, keep-alive on the
# one connection, CGI, and the access log.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(build tmpdir free_port syslog_start syslog_wrap wait_log
    need_root wait_port connect_tcp slurp spit);
use HTTP::Tiny;
use Test::More;
use Time::HiRes qw(time sleep);

need_root();
plan skip_all => 'build/httpd is not built' unless -x build('httpd');

my $dir = tmpdir();
my $root = "$dir/www";
system('cp', '-R', "$FindBin::Bin/../../etc/www", $root) == 0 or die "cp";
my $index = slurp("$root/index.html");
my $sl = syslog_start($dir);
my $httpd = build('httpd');

sub start {
	my (@cmd) = @_;
	my $pid = fork() // die;
	if ($pid == 0) {
		open(STDIN, '<', '/dev/null');
		open(STDOUT, '>', "$dir/peer.out");
		open(STDERR, '>>', "$dir/peer.err");
		exec(syslog_wrap($sl), @cmd) or POSIX::_exit(127);
	}
	return $pid;
}

sub check {
	my ($name, $port) = @_;
	my $base = "http://127.0.0.1:$port";
	my $ht = HTTP::Tiny->new(timeout => 5, keep_alive => 1);
	my $r = $ht->get("$base/");
	is($r->{status}, 200, "$name: GET / is 200");
	is($r->{content}, $index, "$name: ... index.html");
	$r = $ht->get("$base/forkd.png");
	is($r->{content}, slurp("$root/forkd.png"), "$name: the image, on the same connection");
	is($ht->get("$base/missing")->{status}, 404, "$name: 404");
	# Two requests on one connection: the handler keeps it (nowait).
	my $s = connect_tcp($port) or die;
	print $s "GET /forkd.png HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
	my $all = '';
	while (sysread($s, my $b, 65536)) { $all .= $b }
	is(() = ($all =~ m{HTTP/1\.1 200 OK\r\n}g), 2, "$name: two answers on one connection");
	$r = $ht->post_form("$base/cgi-bin/form.pl", { yourname => 'inetd', comment => $name });
	is($r->{content}, "<p>Your name:  inetd <br>\n<p>You comment:  $name\n",
	    "$name: the seed's form through CGI");
	# Seed 002's telnet: "GET /" and the bare page.
	$s = connect_tcp($port) or die;
	print $s "GET /\r\n";
	$all = '';
	while (sysread($s, my $b, 65536)) { $all .= $b }
	is($all, $index, "$name: HTTP/0.9 GET / gets the bare body");
}

SKIP: {
	skip 'openbsd-inetd is not installed', 8 unless -x '/usr/sbin/inetd';
	my $port = free_port();
	spit("$dir/inetd.conf", "127.0.0.1:$port stream tcp nowait root $httpd httpd -r $root -t 5\n");
	my $pid = start('/usr/sbin/inetd', '-d', "$dir/inetd.conf");
	ok(wait_port($port, 5), 'openbsd-inetd listens') or skip 'inetd did not start', 7;
	check('inetd', $port);
	kill('TERM', $pid);
	waitpid($pid, 0);
}

SKIP: {
	skip 'tcpserver (ucspi-tcp) is not installed', 9 if system('command -v tcpserver >/dev/null') != 0;
	my $port = free_port();
	my $pid = start('tcpserver', '-R', '-H', '127.0.0.1', $port,
	    $httpd, '-r', $root, '-t', '5');
	ok(wait_port($port, 5), 'tcpserver listens') or diag(slurp("$dir/peer.err") // '') or skip 'tcpserver did not start', 8;
	check('tcpserver', $port);
	ok(wait_log($sl, qr{httpd\[\d+\]: 127\.0\.0\.1 - - \[[^]]+\] "GET /forkd\.png HTTP/1\.1" 200 327 }),
	    'the access log names the peer from TCPREMOTEIP');
	kill('TERM', $pid);
	waitpid($pid, 0);
}

kill('TERM', $sl->{pid});
waitpid($sl->{pid}, 0);
done_testing();
