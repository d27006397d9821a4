#!/usr/bin/perl
# httpd keeps open files between requests and sends its access log in
# batches: neither may show. On one keep-alive connection to one worker,
# a file rewritten in place, replaced by rename, removed, or swapped for
# a symlink out of the document root, or reached through a directory
# symlink swapped or a directory replaced, is answered as it is now,
# never as it was, from its descriptor or from memory; HEAD after GET has
# the same head; and every request of a burst of pipelined ones has its
# own access log line, in order.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(build tmpdir syslog_start wait_log need_root wait_port
    listen_exec spit);
use IO::Socket::IP;
use IO::Select;
use Test::More;
use Time::HiRes qw(sleep);

need_root();
plan skip_all => 'build/httpd is not built' unless -x build('httpd');

my $dir = tmpdir();
mkdir "$dir/www";
spit("$dir/secret", "outside the root\n");
spit("$dir/www/a.txt", "first\n");
my $sl = syslog_start($dir);
my ($port) = listen_exec(sl => $sl, cmd => [ build('httpd'), '-r',
    "$dir/www", '-k', '30' ]);
ok(wait_port($port, 5), 'httpd listens');

my $s = IO::Socket::IP->new(PeerHost => '127.0.0.1', PeerPort => $port)
    or die "connect: $!";
my $sel = IO::Select->new($s);

# Send requests, read as many whole responses (head, Content-Length body).
sub ask {
	my ($req, $n) = @_;
	syswrite($s, $req);
	my ($buf, @r) = ('');
	while (@r < ($n // 1)) {
		if ($buf =~ /\A(.*?\r\n\r\n)/s) {
			my $head = $1;
			my ($len) = $head =~ /^Content-Length: (\d+)/mi;
			$len = 0 if $head =~ /^HEAD/ || !defined $len || $req =~ /^HEAD/;
			if (length($buf) >= length($head) + $len) {
				push @r, [ $head, substr($buf, length($head), $len) ];
				$buf = substr($buf, length($head) + $len);
				next;
			}
		}
		$sel->can_read(10) or last;
		sysread($s, my $x, 65536) or last;
		$buf .= $x;
	}
	return wantarray ? @r : $r[0];
}
my $get = "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n";

my $r = ask($get);
is($r->[1], "first\n", 'the file');
$r = ask($get);
is($r->[1], "first\n", 'the file again (from the cache)');
my ($h) = ask("HEAD /a.txt HTTP/1.1\r\nHost: x\r\n\r\n");
(my $gh = $r->[0]) =~ s/^Date: .*\r\n//m;
(my $hh = $h->[0]) =~ s/^Date: .*\r\n//m;
is($hh, $gh, 'HEAD has the head GET had');

# Rewritten in place, same size: the ctime tells.
open(my $fh, '+<', "$dir/www/a.txt") or die;
print $fh "FIRST\n";
close($fh);
is(ask($get)->[1], "FIRST\n", 'a file rewritten in place is sent as it is now');

spit("$dir/www/a.new", "second, longer\n");
rename("$dir/www/a.new", "$dir/www/a.txt") or die;
$r = ask($get);
is($r->[1], "second, longer\n", 'a file replaced by rename is the new one');
like($r->[0], qr/^Content-Length: 15\r$/m, 'with its own length');

unlink("$dir/www/a.txt");
like(ask($get)->[0], qr{^HTTP/1\.1 404 }, 'a removed file is 404 at once');

spit("$dir/www/b.txt", "bee\n");
is(ask("GET /b.txt HTTP/1.1\r\nHost: x\r\n\r\n")->[1], "bee\n", 'b.txt');
unlink("$dir/www/b.txt");
symlink("$dir/secret", "$dir/www/b.txt") or die;
$r = ask("GET /b.txt HTTP/1.1\r\nHost: x\r\n\r\n");
like($r->[0], qr{^HTTP/1\.1 403 }, 'a symlink out of the root swapped in: 403');
unlike($r->[1], qr/outside/, 'and not the file it points to');

# A small file unchanged for two seconds is kept in memory and sent with
# its head; a rewrite in place, same size, is still seen at once.
spit("$dir/www/d.txt", "dee\n");
sleep(2.2);
is(ask("GET /d.txt HTTP/1.1\r\nHost: x\r\n\r\n")->[1], "dee\n", 'd.txt');
is(ask("GET /d.txt HTTP/1.1\r\nHost: x\r\n\r\n")->[1], "dee\n",
    'd.txt from memory');
open($fh, '+<', "$dir/www/d.txt") or die;
print $fh "DEE\n";
close($fh);
is(ask("GET /d.txt HTTP/1.1\r\nHost: x\r\n\r\n")->[1], "DEE\n",
    'a kept file rewritten in place is sent as it is now');

# A directory above the file changes: a symlink to it swapped for one to
# another (as a release is switched), then the directory renamed away and
# a new one put in its place.
mkdir("$dir/www/$_") for qw(v1 v2);
spit("$dir/www/v1/e.txt", "one\n");
spit("$dir/www/v2/e.txt", "two\n");
symlink('v1', "$dir/www/cur") or die;
my $gete = "GET /cur/e.txt HTTP/1.1\r\nHost: x\r\n\r\n";
is(ask($gete)->[1], "one\n", 'through a symlinked directory');
is(ask($gete)->[1], "one\n", 'again, from the cache');
symlink('v2', "$dir/www/cur.new") or die;
rename("$dir/www/cur.new", "$dir/www/cur") or die;
is(ask($gete)->[1], "two\n", 'the symlink swapped: the other directory\'s');
rename("$dir/www/v2", "$dir/www/v2.old") or die;
mkdir("$dir/www/v2");
spit("$dir/www/v2/e.txt", "three\n");
is(ask($gete)->[1], "three\n", 'the directory replaced: the new one\'s');

# A burst of pipelined requests: one log line each, in order.
spit("$dir/www/c.txt", "sea\n");
my $burst = join('', map { "GET /c.txt?n=$_ HTTP/1.1\r\nHost: x\r\n\r\n" }
    1 .. 40);
my @rs = ask($burst, 40);
is(scalar(grep { $_->[1] eq "sea\n" } @rs), 40, '40 pipelined answers');
ok(wait_log($sl, qr{"GET /c\.txt\?n=40 HTTP/1\.1" 200 4 }, 10),
    'the last one is logged');
my @n = map { /"GET \/c\.txt\?n=(\d+) / ? $1 : () } Forkd::log_lines($sl);
is("@n", join(' ', 1 .. 40), 'each of them once, in order');
close($s);
done_testing();
