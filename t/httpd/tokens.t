#!/usr/bin/perl
# httpd and the tokens of a request: the Connection header is a list of
# tokens (RFC 9110 7.6.1), each matched whole and without regard to case
# ("close" ends the connection after the response, "closed" does not); a
# field name is a token of any tchar, digits 0-9 included (RFC 9110 5.6.2);
# a Range of "bytes=N-", "bytes=-N" and "bytes=-" (RFC 9110 14.1.2).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(build tmpdir spit listen_exec connect_tcp read_n);
use Test::More;

my $httpd = build('httpd');
plan skip_all => 'build/httpd is not built' unless -x $httpd;
$SIG{PIPE} = 'IGNORE';

my $root = tmpdir();
spit("$root/index.html", "hi\n");
my ($port) = listen_exec(cmd => [$httpd, '-r', $root, '-t', '5', '-k', '5']);

# The responses to two requests sent at once, the first with $conn; what
# came within 5 s, the connection closed or not.
sub two {
	my ($conn) = @_;
	my $s = connect_tcp($port) or die "connect: $!";
	syswrite($s, "GET / HTTP/1.1\r\nHost: a\r\nConnection: $conn\r\n\r\n"
	    . "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
	my $got = read_n($s, 1 << 16, 5);
	return scalar(() = $got =~ m{^HTTP/1\.1 200 }mg);
}

is(two('close'), 1, '"close": one response, then the connection ends');
is(two('keep-alive, CLOSE'), 1, '"CLOSE" in a list: the same');
is(two('closed'), 2, '"closed" is another token: both answered');
is(two('clos'), 2, '"clos" is another token: both answered');
is(two('upgrade, closer'), 2, '"closer" in a list: both answered');
# One response to a request with the extra header lines $extra.
sub one {
	my ($path, $extra) = @_;
	my $s = connect_tcp($port) or die "connect: $!";
	syswrite($s, "GET $path HTTP/1.1\r\nHost: a\r\n$extra"
	    . "Connection: close\r\n\r\n");
	return read_n($s, 1 << 16, 5);
}

like(one('/', "X9: y\r\nA0-9: z\r\n"), qr{^HTTP/1\.1 200 },
    'field names with digits 0-9: 200');
like(one('/', "Authorization: x\r\nAZaz: y\r\n"), qr{^HTTP/1\.1 200 },
    'field names with the letters a, z, A and Z: 200');
like(one('/', "X\@: y\r\n"), qr{^HTTP/1\.1 400 }, 'a field name with "@": 400');

spit("$root/f.txt", '0123456789');
my $r = one('/f.txt', "Range: bytes=3-\r\n");
like($r, qr{^HTTP/1\.1 206 .*\r\nContent-Range: bytes 3-9/10\r\n.*\r\n\r\n3456789\z}s,
    'Range bytes=3-: 206, bytes 3-9/10');
$r = one('/f.txt', "Range: bytes=-4\r\n");
like($r, qr{^HTTP/1\.1 206 .*\r\nContent-Range: bytes 6-9/10\r\n.*\r\n\r\n6789\z}s,
    'Range bytes=-4: 206, the last 4 bytes');
$r = one('/f.txt', "Range: bytes=3-5 \r\n");
like($r, qr{^HTTP/1\.1 206 .*\r\nContent-Range: bytes 3-5/10\r\n.*\r\n\r\n345\z}s,
    'Range bytes=3-5 with a blank after it: 206');
$r = one('/f.txt', "Range: bytes=3-5x\r\n");
like($r, qr{^HTTP/1\.1 200 .*\r\n\r\n0123456789\z}s,
    'Range bytes=3-5x (junk after the range): ignored, 200');
$r = one('/f.txt', "Range: bytes=-\r\n");
like($r, qr{^HTTP/1\.1 200 .*\r\n\r\n0123456789\z}s,
    'Range bytes=- (no number): ignored, 200 and the whole file');
done_testing();
