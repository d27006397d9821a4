#!/usr/bin/perl
# httpd serving a file, request by request on stdin and stdout (as under
# inetd): a directory asked for without its slash is redirected whole or
# refused 414, never with a cut Location line; a byte range whose
# positions are written with leading zeros, up to 18 digits, is served as
# 206 (RFC 9110 14.1.2: 1*DIGIT); a file that cannot be opened for want of
# a descriptor (EMFILE) is 503 Service Unavailable, a condition that
# passes, never another 5xx.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(build tmpdir spit run_cmd);
use Test::More;

my $httpd = build('httpd');
plan skip_all => 'build httpd first (make)' unless -x $httpd;

my $dir = tmpdir();
my $root = "$dir/www";
mkdir $root;
spit("$root/a.txt", "0123456789\n");
chmod 0755, $dir, $root;
chmod 0644, "$root/a.txt";

# One request (its head lines) to httpd -r root: the response's bytes.
sub get {
	my ($head, @prefix) = @_;
	my ($rc, $out) = run_cmd("$head\r\n\r\n", @prefix, 'timeout', '20',
	    $httpd, '-r', $root);
	return $out // '';
}

sub status { return $_[0] =~ m{\AHTTP/1\.1 (\d{3}) } ? $1 : 'none' }

# Leading zeros: 18 digits in all is still a position.
{
	my $z = '0' x 17;
	my $r = get("GET /a.txt HTTP/1.0\r\nRange: bytes=${z}2-${z}4");
	is(status($r), 206, 'range: 18-digit positions are a range');
	like($r, qr/^Content-Range: bytes 2-4\/11\r$/m,
	    'range: Content-Range 2-4 of 11');
	like($r, qr/\r\n\r\n234\z/, 'range: the three bytes');
	# Not a range (no '-'): ignored, the whole file.
	$r = get("GET /a.txt HTTP/1.0\r\nRange: bytes=5");
	is(status($r), 200, 'range: "bytes=5" is ignored: 200');
	$r = get("GET /a.txt HTTP/1.0\r\nRange: bytes=-${z}3");
	is(status($r), 206, 'range: an 18-digit suffix length');
	like($r, qr/\r\n\r\n89\n\z/, 'range: the last three bytes');
}

# A directory asked for without its slash is 301 to the slash form with
# the query kept, or 414 when that Location would not fit: never a cut
# header line. Query lengths around where it stops fitting are tried.
{
	mkdir "$root/d";
	chmod 0755, "$root/d";
	my (%seen, @bad);
	for my $len (990 .. 1030) {
		my $q = 'q' x $len;
		my $r = get("GET /d?$q HTTP/1.0");
		my $st = status($r);
		$seen{$st}++;
		push @bad, "$len: $st" unless ($st eq '301' &&
		    $r =~ m{\r\nLocation: /d/\?$q\r\n}) || $st eq '414';
	}
	is("@bad", '', 'slash: every answer is a whole 301 or a 414');
	ok($seen{301} && $seen{414}, 'slash: both, either side of the limit');
}

# Too few descriptors to open the file: 503, at whatever limit httpd
# starts with but cannot open one more (limits 3 to 10 tried).
SKIP: {
	skip('prlimit(1) not installed', 2)
	    if system('prlimit --version >/dev/null 2>&1') != 0;
	my %seen;
	for my $k (3 .. 10) {
		my $st = status(get('GET /a.txt HTTP/1.0', 'prlimit',
		    "--nofile=$k:$k"));
		$seen{$st}++;
	}
	ok($seen{503}, 'EMFILE: some limit gives 503')
	    or diag(join(' ', sort keys %seen));
	is(join(' ', grep { $_ ne '200' && $_ ne '503' && $_ ne 'none' }
	    sort keys %seen), '', 'EMFILE: no other status than 200 or 503');
}

done_testing();
