#!/usr/bin/perl
# httpget against a few hundred mangled responses (a fixed seed, so every
# run is the same): valid responses with bytes flipped, inserted, deleted,
# duplicated, cut short, and numbers swapped for huge ones. Whatever the
# server sends, httpget ends by itself with 0 or 1, never a signal, never
# a hang; and the unmangled responses give their exact bodies.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(build tmpdir slurp spit);
use IO::Socket::IP;
use POSIX qw(:sys_wait_h);
use Test::More;

my $httpget = build('httpget');
plan skip_all => "build/httpget not built (make build/httpget)"
    unless -x $httpget;
$SIG{PIPE} = 'IGNORE';
my $dir = tmpdir();

my $ok = "HTTP/1.1 200 OK\r\n";
my @seeds = (
    [ "${ok}Content-Length: 11\r\nContent-Type: text/plain\r\n\r\nhello world",
      'hello world' ],
    [ "${ok}Transfer-Encoding: chunked\r\n\r\n5;a=b\r\nhello\r\n" .
      "6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n", 'hello world' ],
    [ "HTTP/1.0 200 OK\r\nServer: x\r\n\r\nhello world", 'hello world' ],
    [ "HTTP/1.1 100 Continue\r\n\r\n${ok}Content-Length: 11\r\n\r\nhello world",
      'hello world' ],
    [ "${ok}Transfer-Encoding: chunked\r\n\r\n" .
      join('', map { sprintf("%x\r\n%s\r\n", $_, 'x' x $_) } 1 .. 40) .
      "0\r\n\r\n", 'x' x 820 ],
);

srand(20261121);
sub mangle {
	my ($s) = @_;
	my $n = 1 + int(rand(3));
	for (1 .. $n) {
		my $len = length($s);
		my $at = $len ? int(rand($len)) : 0;
		my $k = int(rand(7));
		if ($k == 0 && $len) {			# flip a byte
			substr($s, $at, 1) = chr(int(rand(256)));
		} elsif ($k == 1) {			# insert bytes
			substr($s, $at, 0) = join('', map { chr(int(rand(256))) }
			    1 .. 1 + int(rand(8)));
		} elsif ($k == 2 && $len) {		# delete a range
			substr($s, $at, 1 + int(rand(10))) = '';
		} elsif ($k == 3 && $len) {		# duplicate a range
			my $piece = substr($s, $at, 1 + int(rand(40)));
			substr($s, $at, 0) = $piece x (1 + int(rand(50)));
		} elsif ($k == 4) {			# cut short
			$s = substr($s, 0, $at);
		} elsif ($k == 5) {			# a number made huge
			my @n;
			push @n, $-[0] while $s =~ /[0-9a-fA-F]+/g;
			if (@n) {
				my $p = $n[int(rand(@n))];
				substr($s, $p, 0) = ('F', '9', '7FFFFFFF',
				    'FFFFFFFFFFFFFFFF', '1' x 40)[int(rand(5))];
			}
		} else {				# CRLF removed or doubled
			my @c;
			push @c, $-[0] while $s =~ /\r\n/g;
			if (@c) {
				my $p = $c[int(rand(@c))];
				substr($s, $p, 2) = int(rand(2)) ? '' : "\r\n\r\n";
			}
		}
	}
	return $s;
}

my @cases = map { [ $_->[0], $_->[1] ] } @seeds;
push @cases, [ mangle($seeds[int(rand(@seeds))][0]), undef ] for 1 .. 300;

# One server for every case, in order: read a request head, send case i
# whole, close.
my $l = IO::Socket::IP->new(LocalAddr => '127.0.0.1', LocalPort => 0,
    Proto => 'tcp', Listen => 16, ReuseAddr => 1) or die "listen: $!";
my $port = $l->sockport;
my $spid = fork() // die "fork: $!";
if ($spid == 0) {
	alarm(120);
	for my $c (@cases) {
		my $s = $l->accept or POSIX::_exit(1);
		my $buf = '';
		while ($buf !~ /\r\n\r\n/) {
			last unless sysread($s, $buf, 4096, length($buf));
		}
		syswrite($s, $c->[0]);
		close($s);
	}
	POSIX::_exit(0);
}
close($l);

my ($signals, $hangs, $bad) = (0, 0, 0);
my %rc;
for my $i (0 .. $#cases) {
	my $pid = fork() // die "fork: $!";
	if ($pid == 0) {
		open(STDIN, '<', '/dev/null');
		open(STDOUT, '>', "$dir/out");
		open(STDERR, '>', "$dir/err");
		exec($httpget, '-t', '3', '127.0.0.1', $port, '/') or
		    POSIX::_exit(127);
	}
	waitpid($pid, 0);
	my ($rc, $sig) = ($? >> 8, $? & 127);
	$rc{$rc}++;
	if ($sig) {
		$signals++;
		diag("case $i: signal $sig on " . unpack('H*', $cases[$i][0]));
	} elsif ($rc == 111) {
		$hangs++;
		diag("case $i: exit 111: " . (slurp("$dir/err") // ''));
	}
	if (defined $cases[$i][1]) {
		is(slurp("$dir/out"), $cases[$i][1], "unmangled case $i: the body");
		is($rc, 0, "unmangled case $i: exit 0");
	} elsif ($rc != 0 && $rc != 1) {
		$bad++;
	}
}
waitpid($spid, 0);
is($signals, 0, 'no mangled response kills httpget with a signal');
is($hangs, 0, 'none makes it wait for the timeout');
is($bad, 0, 'every run ends with 0 or 1');
note('exit statuses: ' . join(', ', map { "$_: $rc{$_}" } sort keys %rc));
done_testing();
