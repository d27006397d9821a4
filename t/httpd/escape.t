#!/usr/bin/perl
# httpd: no request reaches a file outside the document root: "..",
# encoded dots, double encoding, encoded slashes and NULs, symlinks out.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(build tmpdir connect_tcp slurp spit listen_exec);
use IO::Socket::IP;
use Test::More;
use Time::HiRes qw(time sleep);

plan skip_all => 'build/httpd is not built' unless -x build('httpd');
plan skip_all => 'no /etc/passwd to look for' unless -r '/etc/passwd';

my $dir = tmpdir();
my $root = "$dir/www";
mkdir $root;
mkdir "$root/sub";
spit("$root/index.html", "<p>root</p>\n");
spit("$dir/secret.txt", "SECRET-OUTSIDE\n");
symlink('/etc', "$root/etc-link") or die;
symlink('/etc/passwd', "$root/passwd-link") or die;
symlink('../secret.txt', "$root/secret-link") or die;
symlink('index.html', "$root/inside-link") or die;
my $passwd = slurp('/etc/passwd');

my ($port, $pid) = listen_exec(cmd => [build('httpd'), '-r', $root, '-t', '2']);

sub raw {
	my ($target) = @_;
	my $s = connect_tcp($port) or die "connect: $!";
	print $s "GET $target HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";
	my ($all, $buf) = ('');
	while (sysread($s, $buf, 65536)) { $all .= $buf }
	return $all;
}

my @vectors = (
	[ '/../../../../etc/passwd',		404 ],
	[ '/sub/../../../etc/passwd',		404 ],
	[ '/%2e%2e/%2e%2e/%2e%2e/etc/passwd',	404 ],
	[ '/%2E%2E/%2E%2E/etc/passwd',		404 ],
	[ '/.%2e/.%2e/.%2e/etc/passwd',		404 ],
	[ '/%2e./%2e./etc/passwd',		404 ],
	[ '/%252e%252e/%252e%252e/etc/passwd',	404 ],
	[ '/..%2f..%2f..%2fetc/passwd',		400 ],
	[ '/..%2F..%2Fetc%2Fpasswd',		400 ],
	[ '/index.html%00.txt',			400 ],
	[ '/%00',				400 ],
	[ '/%zz',				400 ],
	[ '/..\\..\\..\\etc\\passwd',		404 ],
	[ '/etc-link/passwd',			403 ],
	[ '/passwd-link',			403 ],
	[ '/secret-link',			403 ],
	[ '/etc-link/',				403 ],
	[ 'http://a/../../etc/passwd',		404 ],
	[ '../etc/passwd',			400 ],
	[ '/cgi-bin/../../etc/passwd',		404 ],
	[ '//etc/passwd',			404 ],
);
for my $v (@vectors) {
	my ($target, $want) = @$v;
	my $out = raw($target);
	my ($st) = $out =~ m{^HTTP/1\.1 (\d+)};
	is($st, $want, "$target: $want");
	ok(index($out, 'root:x:0:0') < 0 && index($out, 'SECRET-OUTSIDE') < 0 &&
	    ($passwd eq '' || index($out, $passwd) < 0), "... no outside bytes");
}
# The same through curl, which sends the path as is with --path-as-is.
SKIP: {
	skip('curl not installed', 3)
	    unless system('curl --version >/dev/null 2>&1') == 0;
	for my $t ('/../../etc/passwd', '/%2e%2e/%2e%2e/etc/passwd', '/etc-link/passwd') {
		my $out = `curl -s -m 10 --path-as-is http://127.0.0.1:$port$t`;
		ok(index($out, 'root:x:0:0') < 0, "curl --path-as-is $t: nothing from /etc");
	}
}
# What stays inside is served.
like(raw('/sub/../index.html'), qr{\r\n\r\n<p>root</p>\n\z}, '/sub/../index.html: the root index');
like(raw('/inside-link'), qr{^HTTP/1\.1 200 .*<p>root</p>}s, 'a symlink that stays inside: 200');
like(raw('/./sub/./../index.html'), qr{^HTTP/1\.1 200 }, 'dot segments removed');

kill('TERM', $pid);
waitpid($pid, 0);
done_testing();
