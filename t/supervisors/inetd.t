#!/usr/bin/perl
# etc/inetd.conf, as a user adds it to a system inetd: every line run by
# Debian's openbsd-inetd (in the foreground on its own config, the
# tokens and ports made this build's), each handler asked by a real
# client: echod over TCP (nc) and UDP, smtpd (python's smtplib, and the
# mailbox on disk), httpd (curl), pingd.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(build slurp spit wait_port);
use Lines qw(lines_env lines_spool lines_subst lines_start lines_stop check_echo_tcp
    check_echo_udp check_smtp check_http check_ping);
use Test::More;

my $inetd = '/usr/sbin/inetd';
plan skip_all => "openbsd-inetd not installed ($inetd)" unless -x $inetd;
plan skip_all => 'needs nc (netcat-openbsd), curl and python3'
    if system('command -v nc && command -v curl && command -v python3 >/dev/null') != 0;
for (qw(echod smtpd httpd pingd)) {
	plan skip_all => "build/$_ not built" unless -x build($_);
}
$SIG{PIPE} = 'IGNORE';

my $sample = slurp("$FindBin::Bin/../../etc/inetd.conf") // '';
my @lines = grep { /^[^#\s]/ } split(/\n/, $sample);
my %have = map { m{^\S+\s+\S+\s+(\S+)\s.*/(\w+)\s} ? ("$2/$1" => 1) : () } @lines;
is_deeply([sort keys %have],
    [qw(echod/tcp echod/udp httpd/tcp pingd/udp smtpd/tcp)],
    'etc/inetd.conf: lines for echod (tcp, udp), smtpd, httpd and pingd');
unlike($sample, qr{/usr/local}, 'etc/inetd.conf: installed paths as @TOKENS@, none fixed');

my $env = lines_env();
my $spool = lines_spool($env, 'inetd');
my $conf = lines_subst($env, $sample, $spool);
unlike($conf, qr/@[A-Z]+@/, 'every token substituted');
spit("$env->{dir}/inetd.conf", $conf);
note("handlers run as $env->{user}");

my $pid = lines_start($env, 'inetd', $inetd, '-d', "$env->{dir}/inetd.conf");
ok(wait_port($env->{port}{echo}, 5) && wait_port($env->{port}{smtp}, 5) &&
    wait_port($env->{port}{http}, 5), 'openbsd-inetd listens on every TCP line')
    or diag(slurp("$env->{dir}/inetd.err"));
check_echo_tcp($env, 'inetd');
check_echo_udp($env, 'inetd');
check_smtp($env, 'inetd', $spool);
check_http($env, 'inetd');
check_ping($env, 'inetd');
lines_stop($pid);

done_testing();
