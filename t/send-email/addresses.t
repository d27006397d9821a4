#!/usr/bin/perl
# send-email tries each address of the server's name in turn. The name
# mx.forkd.test has two addresses, ::1 and 127.0.0.1, in an /etc/hosts
# of the test's own (bind-mounted in a private mount namespace: no DNS,
# the machine's file untouched); the server listens on only the address
# that getaddrinfo(3) gives second.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(build tmpdir free_port wait_port slurp spit run_cmd);
use POSIX qw(:sys_wait_h);
use Test::More;

my $se = build('send-email');
plan skip_all => 'build/send-email is not built' unless -x $se;
plan skip_all => 'needs root and unshare(1) for a private /etc/hosts'
    unless $> == 0 && system('unshare -m true 2>/dev/null') == 0;
plan skip_all => 'no IPv6 loopback here'
    unless (slurp('/proc/net/if_inet6') // '') =~ /^0{31}1 /m;
my ($sink) = grep { -x } qw(/usr/sbin/smtp-sink /usr/lib/postfix/sbin/smtp-sink);
plan skip_all => 'smtp-sink not installed (package postfix)' unless $sink;

my $dir = tmpdir();
spit("$dir/hosts", "::1 mx.forkd.test\n127.0.0.1 mx.forkd.test\n");

# send-email under the private /etc/hosts; returns (status, stderr).
sub send_hosts {
	my (@args) = @_;
	my ($rc, undef, $err) = run_cmd(undef, 'unshare', '-m', 'sh', '-c',
	    'mount --bind "$0" /etc/hosts && exec "$@"', "$dir/hosts",
	    $se, @args);
	return ($rc, $err // '');
}

my $port = free_port();
# Which address comes first: nothing listens yet, so both are tried.
my ($rc, $err) = send_hosts('-v', '-t', 2, '-p', $port, 'mx.forkd.test', 'a@example.org', 'w');
my @order = $err =~ /^\* trying \[([^\]]+)\]/mg;
is($rc, 111, 'nothing listening: exit 111');
is(scalar(@order), 2, 'both addresses tried') or diag($err);
my @refused = $err =~ /^send-email: connect \[([^\]]+)\]:\d+: Connection refused$/mg;
is_deeply(\@refused, \@order, 'each refusal reported, in order');
($rc, $err) = send_hosts('-t', 2, '-p', $port, 'mx.forkd.test', 'a@example.org', 'w');
is(scalar(() = $err =~ /Connection refused/g), 2,
    'without -v, every failure is still reported when all fail');

my $second = $order[1] // '127.0.0.1';
my $listen = $second =~ /:/ ? "[$second]" : $second;
my $pid = fork() // die;
if ($pid == 0) {
	open(STDIN, '<', '/dev/null'); open(STDOUT, '>', '/dev/null');
	exec($sink, ($> == 0 ? ('-u', 'nobody') : ()), "$listen:$port", 10)
	    or POSIX::_exit(127);
}
wait_port($port, 5, $second) or BAIL_OUT("smtp-sink on $listen:$port");

($rc, $err) = send_hosts('-v', '-t', 2, '-p', $port, 'mx.forkd.test', 'a@example.org', 'w');
is($rc, 0, 'the second address accepts: exit 0') or diag($err);
like($err, qr/^\* trying \[\Q$order[0]\E\]:$port\nsend-email: connect \[\Q$order[0]\E\]:$port: Connection refused\n\* trying \[\Q$second\E\]:$port\n\* connected to \[\Q$second\E\]:$port\nS: 220 /m,
    '-v: first address refused, second connected');
($rc, $err) = send_hosts('-t', 2, '-p', $port, 'mx.forkd.test', 'a@example.org', 'w');
is($rc, 0, 'without -v: exit 0');
is($err, '', 'without -v: a refused first address is not worth a word');

# -4 / -6 keep to one family.
my $fam = $second =~ /:/ ? '-6' : '-4';
my $other = $second =~ /:/ ? '-4' : '-6';
($rc, $err) = send_hosts($fam, '-v', '-t', 2, '-p', $port, 'mx.forkd.test', 'a@example.org', 'w');
is($rc, 0, "$fam: exit 0");
is(scalar(() = $err =~ /^\* trying/mg), 1, "$fam: one address tried");
($rc, $err) = send_hosts($other, '-t', 2, '-p', $port, 'mx.forkd.test', 'a@example.org', 'w');
is($rc, 111, "$other: only the refusing address: exit 111");

kill('TERM', $pid);
waitpid($pid, 0);
done_testing();
