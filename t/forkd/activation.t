#!/usr/bin/perl
# forkd under systemd's socket activation (sd_listen_fds(3), run here by
# systemd-socket-activate): it takes the sockets it is given by address
# instead of binding its own, closes one that matches no service, and its
# handlers never see LISTEN_PID or LISTEN_FDS. On SIGUSR2 the sockets pass
# to the new forkd like any others.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(build wait_log wait_port connect_tcp need_root free_port
    log_lines slurp read_n wait_exit syslog_start syslog_wrap tmpdir);
use IO::Select;
use Test::More;
use Time::HiRes qw(sleep time);

need_root();
plan skip_all => 'build/echod is not built' unless -x build('echod');
chomp(my $activate = `command -v systemd-socket-activate 2>/dev/null`);
plan skip_all => 'needs systemd-socket-activate (Debian systemd)'
    unless $activate;
plan tests => 12;

my ($pa, $pb, $pc) = (free_port(), free_port(), free_port());
my $dir = tmpdir();
chmod(0755, $dir);
my $sl = syslog_start($dir);
my $echod = build('echod');
Forkd::spit("$dir/forkd.conf", <<"CONF");
127.0.0.1:$pa stream tcp nowait nobody /usr/bin/env env
127.0.0.1:$pb stream tcp prefork.1 nobody $echod echod -t
CONF

# systemd-socket-activate binds and listens, then executes forkd with the
# sockets on fds 3, 4 and 5 at the first connection.
my $pid = fork() // die "fork: $!";
if ($pid == 0) {
	open(STDIN, '<', '/dev/null');
	open(STDOUT, '>', "$dir/activate.out");
	open(STDERR, '>', "$dir/activate.out");
	exec(syslog_wrap($sl), $activate, '-l', "127.0.0.1:$pa", '-l',
	    "127.0.0.1:$pb", '-l', "127.0.0.1:$pc", build('forkd'), '-d',
	    '-f', "$dir/forkd.conf", '-p', "$dir/forkd.pid")
	    or POSIX::_exit(127);
}
push @Forkd::STARTED, $pid;
ok(wait_port($pa, 5), 'the sockets are bound before forkd runs');

# The first connection starts forkd, which serves it: env prints the
# handler's environment.
my $s = connect_tcp($pa);
my $env = '';
my $sel = IO::Select->new($s);
while ($sel->can_read(5)) {
	sysread($s, my $buf, 65536) or last;
	$env .= $buf;
}
like($env, qr/^TCPLOCALPORT=$pa$/m, 'forkd serves the first connection on the socket it was given');
unlike($env, qr/^LISTEN_/m, 'the handler sees no LISTEN_PID, LISTEN_FDS or LISTEN_FDNAMES');
ok(wait_log($sl, qr/\Q127.0.0.1:$pa\E\/tcp: listening, nowait.*, socket from systemd/),
    'forkd says the socket came from systemd');
ok(wait_log($sl, qr/\Q127.0.0.1:$pb\E\/tcp: listening, prefork\.1.*, socket from systemd/),
    '... for the prefork service too');
ok(wait_log($sl, qr/systemd: socket 127\.0\.0\.1 port $pc \(stream\) matches no service: closed/),
    'a socket no service wants is closed, and said so');
my $c = connect_tcp($pc);
ok(!$c, '... so it refuses connections');

$c = connect_tcp($pb);
syswrite($c, "activated\n") if $c;
is($c ? read_n($c, 10) : undef, "activated\n", 'echod serves on the activated socket');
close($c) if $c;

# An upgrade carries the activated sockets over.
kill('USR2', $pid);
my ($new, $end) = (undef, time + 10);
while (time < $end) {
	my $p = slurp("$dir/forkd.pid") // '';
	if ($p =~ /^(\d+)$/ && $1 != $pid) { $new = $1; last }
	sleep(0.05);
}
ok($new, 'SIGUSR2: a new forkd took over');
push @Forkd::STARTED, $new if $new;
is(wait_exit($pid, 10), 0, 'SIGUSR2: the activated forkd exits 0');
$c = connect_tcp($pb);
syswrite($c, "upgraded\n") if $c;
is($c ? read_n($c, 9) : undef, "upgraded\n", 'the new forkd serves the activated socket');
close($c) if $c;
ok(wait_log($sl, qr/forkd\[$new\]: \Q127.0.0.1:$pb\E\/tcp: listening, prefork\.1.*, socket from upgrade/),
    'the new forkd took it from the old one');
kill('TERM', $new) if $new;
$end = time + 10;
sleep(0.05) while $new && kill(0, $new) && time < $end;
