#!/usr/bin/perl
# forkd out of processes: run as nobody with RLIMIT_NPROC 1, every fork(2)
# fails (EAGAIN). forkd says so, keeps serving its own signals (a SIGUSR1
# status, a clean SIGTERM) instead of spinning on a pool it cannot fill,
# and a nowait client is closed rather than left waiting.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(build need_root tmpdir spit slurp free_port syslog_start
    syslog_wrap wait_log forkd_stop connect_tcp read_n tcp_listening);
use POSIX ();
use Test::More;

need_root();
plan skip_all => 'setpriv(1) or prlimit(1) not installed'
    if system('setpriv --version >/dev/null 2>&1') != 0 ||
    system('prlimit --version >/dev/null 2>&1') != 0;
$SIG{PIPE} = 'IGNORE';

my $dir = tmpdir();
chmod 0755, $dir;
my ($pp, $pn) = (free_port(), free_port());
my $conf = "$dir/forkd.conf";
spit($conf, "127.0.0.1:$pp stream tcp prefork.1 nobody /bin/cat cat\n"
    . "127.0.0.1:$pn stream tcp nowait nobody /bin/echo echo ran\n");
chmod 0644, $conf;
my $sl = syslog_start($dir);
my $pid = fork() // die "fork: $!";
if ($pid == 0) {
	open(STDIN, '<', '/dev/null');
	open(STDOUT, '>', '/dev/null');
	open(STDERR, '>', "$dir/forkd.stderr");
	exec(syslog_wrap($sl), 'setpriv', '--reuid=65534', '--regid=65534',
	    '--clear-groups', 'prlimit', '--nproc=1', build('forkd'), '-d',
	    '-f', $conf) or POSIX::_exit(127);
}
push @Forkd::STARTED, $pid;
my $f = { pid => $pid, sl => $sl };

ok(tcp_listening($pp, 20) && tcp_listening($pn, 20), 'forkd listens')
    or diag(slurp("$dir/forkd.stderr") // '');
ok(wait_log($sl, qr/\Q127.0.0.1:$pp\E\/tcp: fork: /),
    'prefork: the failed fork is logged');

my $c = connect_tcp($pn) or die "connect: $!";
is(read_n($c, 64, 10), '', 'nowait: the client is closed, nothing ran');
ok(wait_log($sl, qr/\Q127.0.0.1:$pn\E\/tcp: fork: /),
    'nowait: the failed fork is logged');

kill('USR1', $pid);
ok(wait_log($sl, qr/status: \Q127.0.0.1:$pp\E\/tcp: prefork\.1, /),
    'SIGUSR1: forkd still answers its signals');
is(forkd_stop($f), 0, 'SIGTERM: forkd exits 0');

done_testing();
