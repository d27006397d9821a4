#!/usr/bin/perl
# make install into a DESTDIR: the layout (sbin, libexec/forkd, bin, man,
# etc), forkd.conf never overwritten, then the installed LSB rc script
# drives the installed forkd through start, status, reload and stop on a
# config of our own (echod on free loopback ports), syslog captured.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Forkd qw(tmpdir slurp spit free_port wait_port connect_tcp
    syslog_start syslog_wrap wait_log need_root);
use IO::Select;
use Test::More;
use Time::HiRes qw(time sleep);

need_root();	# the rc script runs under a private /dev/log
plan skip_all => 'needs make' if system('command -v make >/dev/null') != 0;
$SIG{PIPE} = 'IGNORE';

my $top = "$FindBin::Bin/..";
my $dir = tmpdir();
my $dest = "$dir/dest";
my $prefix = '/usr/local';
my $root = "$dest$prefix";

sub install {
	my $rc = system("make -C '$top' install DESTDIR='$dest' PREFIX=$prefix " .
	    ">'$dir/make.log' 2>&1");
	return $rc;
}

my $rc = install();
is($rc, 0, 'make install DESTDIR=... PREFIX=/usr/local succeeds')
    or BAIL_OUT("make install failed:\n" . `tail -n 20 '$dir/make.log'`);

# The layout, from what the tree holds.
ok(-x "$root/sbin/forkd", 'sbin/forkd');
# (glob in list context: in scalar context it iterates across calls)
my @daemons = map { m{daemons/([^/]+)/$} ? $1 : () } glob("$top/daemons/*/");
@daemons = grep { my @c = glob("$top/daemons/$_/*.c"); @c } @daemons;
ok(scalar(grep { $_ eq 'echod' } @daemons), 'echod is among the handlers');
ok(-x "$root/libexec/forkd/$_", "libexec/forkd/$_") for @daemons;
my %clients;
$clients{$_} = 1 for map { m{clients/([^/]+)\.c$} ? $1 : () } glob("$top/clients/*.c");
for my $d (glob("$top/clients/*/")) {
	my @c = glob("$d*.c");
	$clients{$1} = 1 if @c && $d =~ m{clients/([^/]+)/$};
}
ok(-x "$root/bin/$_", "bin/$_") for sort keys %clients;
for my $m (glob("$top/man/*.[1-8]")) {
	my ($name, $sec) = $m =~ m{man/(([^/]+)\.(\d))$} ? ($1, $3) : next;
	ok(-f "$root/share/man/man$sec/$name", "share/man/man$sec/$name");
}
ok(-f "$root/share/man/man8/forkd.8", 'share/man/man8/forkd.8');
ok(-f "$root/share/man/man8/echod.8", 'share/man/man8/echod.8');

my $conf = "$root/etc/forkd.conf";
my $sample = slurp($conf) // '';
like($sample, qr{\Q$prefix\E/libexec/forkd/echod}, 'etc/forkd.conf names the installed echod');
unlike($sample, qr/@[A-Z]+@/, 'etc/forkd.conf: every @PLACEHOLDER@ substituted');
my $rcs = "$root/etc/init.d/forkd";
ok(-x $rcs, 'etc/init.d/forkd is executable');
my $script = slurp($rcs) // '';
like($script, qr/^### BEGIN INIT INFO$/m, 'rc script: LSB header');
like($script, qr{\Q$prefix\E/sbin/forkd}, 'rc script: @SBINDIR@ substituted');
like($script, qr{\Q$prefix\E/etc/forkd\.conf}, 'rc script: @SYSCONFDIR@ substituted');
unlike($script, qr/@[A-Z]+@/, 'rc script: no placeholder left');
is(system('sh', '-n', $rcs), 0, 'rc script: sh -n parses it');
ok(-f "$root/etc/forkd-inetd.conf.sample", 'etc/forkd-inetd.conf.sample');

# The systemd unit, pointed at this install, passes systemd-analyze.
SKIP: {
	skip 'no systemd-analyze', 1
	    if system('command -v systemd-analyze >/dev/null') != 0;
	my $unit = slurp("$top/etc/systemd/forkd.service") // '';
	$unit =~ s{\Q$prefix\E/}{$root/}g;
	$unit =~ s{^Documentation=.*\n}{}m;	# man pages are not in MANPATH
	spit("$dir/forkd.service", $unit);
	my $v = `systemd-analyze verify '$dir/forkd.service' 2>&1`;
	is($v, '', 'etc/systemd/forkd.service: systemd-analyze verify is clean')
	    or diag($v);
}

# A second install keeps an edited forkd.conf.
spit($conf, $sample . "# edited by the administrator\n");
is(install(), 0, 'second make install succeeds');
is(slurp($conf), $sample . "# edited by the administrator\n", 'second install kept the edited forkd.conf');
like(slurp("$dir/make.log") // '', qr/keeping the existing/, 'and said so');

# The rc script on the installed forkd, with our own config: the sample
# may name handlers this tree has not built yet, and ports in use.
my ($p1, $p2) = (free_port(), free_port());
my $echod = "$root/libexec/forkd/echod";
spit($conf, "127.0.0.1:$p1\tstream\ttcp\tprefork.2\troot\t$echod\techod -t\n");
my $pidfile = "$dir/forkd.pid";
my $sl = syslog_start($dir);
my %env = (FORKD => "$root/sbin/forkd", FORKD_CONF => $conf,
    FORKD_PIDFILE => $pidfile, FORKD_TIMEOUT => 5);

# Run "rc ACTION" with its /dev/log captured; returns (status, output).
sub rc {
	my ($action) = @_;
	my $pid = open(my $fh, '-|') // die "fork: $!";
	if ($pid == 0) {
		open(STDERR, '>&', \*STDOUT);
		open(STDIN, '<', '/dev/null');
		@ENV{keys %env} = values %env;
		exec(syslog_wrap($sl), $rcs, $action) or POSIX::_exit(127);
	}
	local $/;
	my $out = <$fh> // '';
	close($fh);
	return ($? >> 8, $out);
}

sub echo_ok {
	my ($port) = @_;
	my $s = connect_tcp($port) or return 0;
	syswrite($s, "hello\n.\n");
	my ($buf, $sel, $end) = ('', IO::Select->new($s), time + 5);
	while ((my $left = $end - time) > 0) {
		last unless $sel->can_read($left);
		my $r = sysread($s, $buf, 1024, length($buf));
		last unless $r;
	}
	return $buf eq "hello\n.\n";
}

# Alive: exists and not a zombie (an exited forkd waiting for its parent,
# init here, to reap it has closed everything already).
sub pid_alive {
	my ($p) = @_;
	return 0 unless $p && kill(0, $p);
	my $stat = slurp("/proc/$p/stat") // '';
	return $stat !~ /\) Z /;
}

my ($st, $out) = rc('status');
is($st, 3, 'status before start: 3 (not running)') or diag($out);

($st, $out) = rc('start');
is($st, 0, 'start: 0') or diag($out);
my $pid = (slurp($pidfile) // '') =~ /^(\d+)/ ? $1 : 0;
ok(pid_alive($pid), "pidfile names a live forkd (pid $pid)");
like($out, qr/started \(pid $pid\)/, 'start says which pid');
ok(echo_ok($p1), 'the installed echod answers "hello\n.\n" through the installed forkd');
ok(wait_log($sl, qr/forkd\[$pid\]: .*started/), 'forkd logged its start to syslog');

($st, $out) = rc('start');
is($st, 0, 'start while running: 0');
like($out, qr/already running \(pid $pid\)/, 'and says it is already running');

($st, $out) = rc('status');
is($st, 0, 'status: 0 (running)');
like($out, qr/forkd is running \(pid $pid\)/, 'status names the pid');

# reload: a second service appears, the first keeps serving, same pid.
spit($conf, "127.0.0.1:$p1\tstream\ttcp\tprefork.2\troot\t$echod\techod -t\n" .
    "127.0.0.1:$p2\tstream\ttcp\tnowait\troot\t$echod\techod -t\n");
($st, $out) = rc('reload');
is($st, 0, 'reload: 0') or diag($out);
ok(wait_log($sl, qr/forkd\[$pid\]: reload/), 'forkd logged the reload (SIGHUP)');
ok(wait_port($p2, 5), 'after reload the new service listens');
ok(echo_ok($p2), 'and echoes');
ok(echo_ok($p1), 'the old service still echoes');
is((slurp($pidfile) // '') =~ /^(\d+)/ ? $1 : 0, $pid, 'same forkd pid after reload');

# reload refuses a broken config, and forkd keeps the old one.
spit($conf, "127.0.0.1:$p1\tstream\ttcp\tsometimes\troot\t$echod\techod\n");
($st, $out) = rc('reload');
is($st, 6, 'reload with a broken config: 6 (not configured)');
like($out, qr/forkd\.conf:1/, 'the message names file:line');
ok(pid_alive($pid) && echo_ok($p1) && echo_ok($p2), 'forkd still runs the old config');

# forkd's message reaches the administrator whole: dash's echo would
# take the "\c" of the offending field as "stop printing here".
spit($conf, "127.0.0.1:$p1\tstream\ttcp\tsome\\ctimes\troot\t$echod\techod\n");
($st, $out) = rc('reload');
is($st, 6, 'reload with a "\\c" in a broken field: 6');
like($out, qr/"some\\ctimes": expected wait/, 'the message is printed whole') or diag($out);
spit($conf, "127.0.0.1:$p1\tstream\ttcp\tsometimes\troot\t$echod\techod\n");

# restart refuses the broken config too, without stopping forkd.
($st, $out) = rc('restart');
is($st, 6, 'restart with a broken config: 6, nothing stopped');
ok(pid_alive($pid), 'forkd still running');

spit($conf, "127.0.0.1:$p1\tstream\ttcp\tprefork.2\troot\t$echod\techod -t\n");
my @kids = split(' ', `pgrep -P $pid` // '');
ok(scalar(@kids) >= 1, 'forkd has handler children: ' . scalar(@kids));
($st, $out) = rc('stop');
is($st, 0, 'stop: 0') or diag($out);
ok(!pid_alive($pid), 'forkd is gone');
ok(!grep({ pid_alive($_) } @kids), 'its handlers are gone');
ok(!-e $pidfile || (slurp($pidfile) // '') eq '', 'pidfile removed');
ok(!connect_tcp($p1), 'the port is closed');

($st, $out) = rc('status');
is($st, 3, 'status after stop: 3');
($st, $out) = rc('stop');
is($st, 0, 'stop when stopped: 0');

# A pidfile left behind by a forkd that died.
my $dead = fork() // die;
if ($dead == 0) { POSIX::_exit(0) }
waitpid($dead, 0);
spit($pidfile, "$dead\n");
($st, $out) = rc('status');
is($st, 1, 'status with a stale pidfile: 1 (dead, pidfile exists)');
($st, $out) = rc('start');
is($st, 0, 'start over a stale pidfile: 0') or diag($out);
$pid = (slurp($pidfile) // '') =~ /^(\d+)/ ? $1 : 0;
ok(pid_alive($pid) && echo_ok($p1), 'and serves');
($st, $out) = rc('restart');
is($st, 0, 'restart: 0') or diag($out);
my $pid2 = (slurp($pidfile) // '') =~ /^(\d+)/ ? $1 : 0;
ok($pid2 && $pid2 != $pid && pid_alive($pid2) && echo_ok($p1), 'restart: a new forkd serves');
($st, $out) = rc('stop');
is($st, 0, 'stop: 0');
ok(!pid_alive($pid2), 'forkd is gone');

# Under a parent that reaps late (a subreaper: a container's init, a
# supervisor), the forkd that exited is a zombie a while, and kill -0 still
# finds it: stop must see it gone, not wait out FORKD_TIMEOUT and fail.
SKIP: {
	skip 'prctl(PR_SET_CHILD_SUBREAPER) by number on x86_64 only', 4
	    unless (POSIX::uname())[4] eq 'x86_64';
	syscall(157, 36, 1, 0, 0, 0) == 0 or skip "PR_SET_CHILD_SUBREAPER: $!", 4;
	($st, $out) = rc('start');
	$pid = (slurp($pidfile) // '') =~ /^(\d+)/ ? $1 : 0;
	ok($pid && echo_ok($p1), 'start under a subreaper: forkd serves') or diag($out);
	my $t0 = time;
	($st, $out) = rc('stop');
	is($st, 0, 'stop while forkd is an unreaped zombie: 0') or diag($out);
	cmp_ok(time - $t0, '<', 4, 'without waiting out FORKD_TIMEOUT');
	($st, $out) = rc('status');
	is($st, 3, 'status: 3, a zombie is not running');
	waitpid($pid, 0) if $pid;
	syscall(157, 36, 0, 0, 0, 0);
}

($st, $out) = rc('frobnicate');
is($st, 2, 'an unknown action: 2 (usage)');

END {
	local $?;
	if ($sl && $sl->{pid}) { kill('TERM', $sl->{pid}); waitpid($sl->{pid}, 0) }
}

done_testing();
