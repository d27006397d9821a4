#!/usr/bin/perl
# send-email without a mail server: usage, refusals of what cannot be
# sent (checked before connecting: exit 100, not the 111 a refused
# connection would give), connection failures, and the man page.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(build tmpdir free_port slurp run_cmd);
use Test::More;
use Time::HiRes qw(time);

my $se = build('send-email');
plan skip_all => 'build/send-email is not built' unless -x $se;
my $dir = tmpdir();

# A port where nothing listens: reaching the network would give 111.
my $port = free_port();
my @p = ('-p', $port, '-t', 2);

my ($rc, $out, $err) = run_cmd(undef, $se, '-h');
is($rc, 0, '-h: exit 0');
like($out, qr/^usage: send-email \[-46hkSTv\] .*server\s+recipient/s, '-h: usage on stdout');

($rc, $out, $err) = run_cmd(undef, $se);
is($rc, 100, 'no operands: exit 100');
like($err, qr/^usage: send-email/m, 'no operands: usage on stderr');
is($out, '', 'no operands: nothing on stdout');

($rc, undef, $err) = run_cmd(undef, $se, '127.0.0.1');
is($rc, 100, 'server only: exit 100');

($rc, undef, $err) = run_cmd(undef, $se, '-x', '127.0.0.1', 'a@b', 'w');
is($rc, 100, 'unknown option: exit 100');

($rc, undef, $err) = run_cmd(undef, $se, '-t', '0', '127.0.0.1', 'a@b', 'w');
is($rc, 100, '-t 0: exit 100');
like($err, qr/^send-email: -t 0: too small \(1 to 3600\)$/m, '-t 0: says why');

for my $bad ('a b@example.org', '<a@example.org>', "a\r\nRSET", '') {
	($rc, undef, $err) = run_cmd(undef, $se, @p, '127.0.0.1', $bad, 'w');
	(my $shown = $bad) =~ s/\r\n/\\r\\n/;
	is($rc, 100, "recipient \"$shown\": exit 100");
	like($err, qr/^send-email: recipient/m, "recipient \"$shown\": says why");
}
($rc, undef, $err) = run_cmd(undef, $se, @p, '-f', "me\@x\nDATA", '127.0.0.1', 'a@b', 'w');
is($rc, 100, 'a sender with a newline: exit 100');
like($err, qr/^send-email: from /m, 'a sender with a newline: says why');

($rc, undef, $err) = run_cmd(undef, $se, @p, '-s', "hi\r\nBcc: x\@y", '127.0.0.1', 'a@b', 'w');
is($rc, 100, 'a subject with CRLF (header injection): exit 100');
like($err, qr/^send-email: subject: control character$/m, 'subject: says why');

# RFC 5322 2.1.1: 998 octets a line at most, and we refuse, not wrap.
($rc, undef, $err) = run_cmd("ok\n" . ('x' x 999) . "\n", $se, @p, '127.0.0.1', 'a@b');
is($rc, 100, 'a 999-octet body line: exit 100');
is($err, "send-email: stdin line 2: longer than 998 octets (RFC 5322 2.1.1)\n",
    'a 999-octet body line: says which line');
($rc, undef, $err) = run_cmd("a\0b\n", $se, @p, '127.0.0.1', 'a@b');
is($rc, 100, 'a NUL byte in the body: exit 100');
like($err, qr/^send-email: stdin line 1: NUL byte/m, 'a NUL byte: says so');

# Connection failures are temporary: 111, with the address tried.
($rc, undef, $err) = run_cmd(undef, $se, @p, '127.0.0.1', 'a@b', 'w');
is($rc, 111, 'connection refused: exit 111');
is($err, "send-email: connect [127.0.0.1]:$port: Connection refused\n",
    'connection refused: says where');
SKIP: {
	skip 'no IPv6 loopback', 2 unless -e '/proc/net/if_inet6'
	    && (slurp('/proc/net/if_inet6') // '') =~ /^0{31}1 /m;
	($rc, undef, $err) = run_cmd(undef, $se, @p, '::1', 'a@b', 'w');
	is($rc, 111, '::1 refused: exit 111');
	is($err, "send-email: connect [::1]:$port: Connection refused\n",
	    '::1 refused: says where');
}
($rc, undef, $err) = run_cmd(undef, $se, @p, '-6', '127.0.0.1', 'a@b', 'w');
is($rc, 100, '-6 with an IPv4 address: exit 100');

SKIP: {
	my $mandoc = grep { -x "$_/mandoc" } split(/:/, $ENV{PATH});
	skip 'mandoc not installed', 1 unless $mandoc;
	my $page = "$FindBin::Bin/../../man/send-email.1";
	my $lint = `mandoc -Tlint -Wwarning '$page' 2>&1`;
	is($lint, '', 'man page: mandoc -Tlint -Wwarning is clean');
}

done_testing();
