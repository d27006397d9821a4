#!/usr/bin/perl
# httpd: the Connection header is a list of tokens (RFC 9110 7.6.1), each
# matched whole and without regard to case: "close" ends the connection
# after the response, "closed" or "clos" does not.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
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
done_testing();
