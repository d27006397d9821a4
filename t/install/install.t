#!/usr/bin/perl
# make install into a DESTDIR: the installed tree compared with the list
# of what belongs there (programs, man pages, sample configs, the sample
# site, the spool, the rc script in /etc/init.d, the systemd and xinetd
# files with their paths), forkd.conf never overwritten, make uninstall
# removing exactly what was installed but an edited config and a spool
# with mail; then the installed LSB rc script drives the installed forkd
# through start, status, reload and stop on a config of our own (echod on
# free loopback ports), syslog captured.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(tmpdir slurp spit free_port wait_port connect_tcp
    syslog_start syslog_wrap wait_log need_root);
use File::Find;
use IO::Select;
use Test::More;
use Time::HiRes qw(time sleep);

need_root();	# the rc script runs under a private /dev/log
plan skip_all => 'needs make' if system('command -v make >/dev/null') != 0;
$SIG{PIPE} = 'IGNORE';

my $top = "$FindBin::Bin/../..";
my $dir = tmpdir();
my $dest = "$dir/dest";
my $prefix = '/usr/local';
my $root = "$dest$prefix";

sub make_in {
	my ($target, @vars) = @_;
	return system("make -C '$top' $target DESTDIR='$dest' PREFIX=$prefix @vars " .
	    ">'$dir/make.log' 2>&1");
}
sub install { return make_in('install') }
sub uninstall { return make_in('uninstall') }

# Every path under DESTDIR, files and directories, relative to it.
sub tree {
	my @all;
	return () unless -d $dest;
	find({ no_chdir => 1, wanted => sub {
		push @all, substr($File::Find::name, length($dest) + 1)
		    if $File::Find::name ne $dest;
	} }, $dest);
	return sort @all;
}

# The names of the files directly in a source directory.
sub files_in {
	my ($d) = @_;
	opendir(my $dh, "$top/$d") or return ();
	return sort grep { -f "$top/$d/$_" } readdir($dh);
}

my $rc = install();
is($rc, 0, 'make install DESTDIR=... PREFIX=/usr/local succeeds')
    or BAIL_OUT("make install failed:\n" . `tail -n 20 '$dir/make.log'`);

# What must be there, and nothing else. The fixed part is listed; the
# programs, pages, sample site and supervisor files follow the tree.
my @daemons = map { m{daemons/([^/]+)/$} ? $1 : () } glob("$top/daemons/*/");
@daemons = grep { my @c = glob("$top/daemons/$_/*.c"); @c } @daemons;
my %clients;
$clients{$_} = 1 for map { m{clients/([^/]+)\.c$} ? $1 : () } glob("$top/clients/*.c");
for my $d (glob("$top/clients/*/")) {
	my @c = glob("$d*.c");
	$clients{$1} = 1 if @c && $d =~ m{clients/([^/]+)/$};
}
ok(scalar(grep { $_ eq 'echod' } @daemons), 'echod is among the handlers');
my @want = qw(
    etc etc/init.d etc/init.d/forkd
    usr usr/local usr/local/bin usr/local/sbin usr/local/sbin/forkd
    usr/local/etc usr/local/etc/forkd.conf usr/local/etc/forkd-inetd.conf.sample
    usr/local/libexec usr/local/libexec/forkd
    usr/local/lib usr/local/lib/systemd usr/local/lib/systemd/system
    usr/local/lib/systemd/system/forkd.service
    usr/local/share usr/local/share/forkd usr/local/share/forkd/install.manifest
    usr/local/share/forkd/www usr/local/share/forkd/www/index.html
    usr/local/share/forkd/www/form.html usr/local/share/forkd/www/forkd.png
    usr/local/share/forkd/www/cgi-bin usr/local/share/forkd/www/cgi-bin/form.pl
    usr/local/share/man
    var var/spool var/spool/forkd
);
push @want, "usr/local/libexec/forkd/$_" for @daemons;
push @want, "usr/local/bin/$_" for sort keys %clients;
for my $m (glob("$top/man/*.[1-8]")) {
	my ($name, $sec) = $m =~ m{man/(([^/]+)\.(\d))$} ? ($1, $3) : next;
	push @want, "usr/local/share/man/man$sec", "usr/local/share/man/man$sec/$name";
}
push @want, "usr/local/share/forkd/www/$_" for files_in('etc/www');
push @want, "usr/local/share/forkd/www/cgi-bin/$_" for files_in('etc/www/cgi-bin');
push @want, "usr/local/lib/systemd/system/$_" for files_in('etc/systemd');
my @xinetd = files_in('etc/xinetd.d');
push @want, 'usr/local/share/forkd/xinetd.d', map { "usr/local/share/forkd/xinetd.d/$_" } @xinetd
    if @xinetd;
my %seen;
@want = sort grep { !$seen{$_}++ } @want;
my @got = tree();
is_deeply(\@got, \@want, 'the installed tree is exactly the list')
    or diag(explain({ missing => [grep { my $w = $_; !grep { $_ eq $w } @got } @want],
	extra => [grep { my $g = $_; !grep { $_ eq $g } @want } @got] }));

ok(-x "$root/sbin/forkd", 'sbin/forkd is executable');
ok(-x "$root/libexec/forkd/$_", "libexec/forkd/$_ is executable") for @daemons;
ok(-x "$root/share/forkd/www/cgi-bin/form.pl", 'the sample CGI is executable');
is(slurp("$root/share/forkd/www/index.html"), slurp("$top/etc/www/index.html"),
    'the sample site is the tree\'s');
is((stat("$dest/var/spool/forkd"))[2] & 07777, 0700, 'the spool is mode 0700');

my $conf = "$root/etc/forkd.conf";
my $sample = slurp($conf) // '';
like($sample, qr{\Q$prefix\E/libexec/forkd/echod}, 'etc/forkd.conf names the installed echod');
like($sample, qr{-r \Q$prefix\E/share/forkd/www\b}, 'etc/forkd.conf serves the installed sample site');
unlike($sample, qr/@[A-Z_]+@/, 'etc/forkd.conf: every @PLACEHOLDER@ substituted');
my ($smtp) = grep { m{/smtpd\s} } split(/\n/, $sample);
is((split(/\s+/, $smtp // ''))[4], 'forkd', 'the sample runs smtpd as the system user forkd, not root');
like($smtp // '', qr{-m /var/spool/forkd\b}, 'on the spool /var/spool/forkd');

my $rcs = "$dest/etc/init.d/forkd";
ok(-x $rcs, '/etc/init.d/forkd is executable (where service and update-rc.d look)');
my $script = slurp($rcs) // '';
like($script, qr/^### BEGIN INIT INFO$/m, 'rc script: LSB header');
like($script, qr{\Q$prefix\E/sbin/forkd}, 'rc script: @SBINDIR@ substituted');
like($script, qr{\Q$prefix\E/etc/forkd\.conf}, 'rc script: @SYSCONFDIR@ substituted');
unlike($script, qr/@[A-Z_]+@/, 'rc script: no placeholder left');
is(system('sh', '-n', $rcs), 0, 'rc script: sh -n parses it');

# Every supervisor file installed has the installed paths.
for my $f (map({ "lib/systemd/system/$_" } files_in('etc/systemd')),
    map({ "share/forkd/xinetd.d/$_" } @xinetd), 'etc/forkd-inetd.conf.sample') {
	my $t = slurp("$root/$f") // '';
	unlike($t, qr/@[A-Z_]+@/, "$f: every \@PLACEHOLDER\@ substituted");
}
my $unit = slurp("$root/lib/systemd/system/forkd.service") // '';
like($unit, qr{^ExecStart=\Q$prefix\E/sbin/forkd -f \Q$prefix\E/etc/forkd\.conf }m,
    'the installed forkd.service starts the installed forkd on the installed config');

# The installed systemd unit, pointed at this DESTDIR, passes systemd-analyze.
SKIP: {
	skip 'no systemd-analyze', 1
	    if system('command -v systemd-analyze >/dev/null') != 0;
	(my $u = $unit) =~ s{\Q$prefix\E/}{$root/}g;
	$u =~ s{^Documentation=.*\n}{}m;	# man pages are not in MANPATH
	spit("$dir/forkd.service", $u);
	my $v = `systemd-analyze verify '$dir/forkd.service' 2>&1`;
	is($v, '', 'installed forkd.service: systemd-analyze verify is clean')
	    or diag($v);
}

# A second install keeps an edited forkd.conf.
spit($conf, $sample . "# edited by the administrator\n");
is(install(), 0, 'second make install succeeds');
is(slurp($conf), $sample . "# edited by the administrator\n", 'second install kept the edited forkd.conf');
like(slurp("$dir/make.log") // '', qr/keeping the existing/, 'and said so');
is_deeply([tree()], \@want, 'the same tree after the second install');

# Uninstall removes what install put, but the edited config and the spool
# with mail in it (and the directories that hold them).
spit("$dest/var/spool/forkd/mailbox", "Received: from test\n");
is(uninstall(), 0, 'make uninstall succeeds');
my $ulog = slurp("$dir/make.log") // '';
is_deeply([tree()], [qw(usr usr/local usr/local/etc usr/local/etc/forkd.conf
    var var/spool var/spool/forkd var/spool/forkd/mailbox)],
    'uninstall left only the edited forkd.conf and the spool with mail')
    or diag($ulog);
like($ulog, qr/keeping \S+forkd\.conf: changed/, 'and said it kept the changed config');
like($ulog, qr{keeping \S+/var/spool/forkd: not empty}, 'and the spool');
is(slurp($conf), $sample . "# edited by the administrator\n", 'the edited config is intact');

# An unchanged install goes away whole; an uninstall with nothing
# installed says so and fails.
system('rm', '-rf', $dest);
is(install(), 0, 'install again');
is(uninstall(), 0, 'and uninstall at once');
is_deeply([tree()], [], 'nothing is left under DESTDIR') or diag(slurp("$dir/make.log"));
isnt(uninstall(), 0, 'uninstall with nothing installed fails');
like(slurp("$dir/make.log") // '', qr/nothing installed/, 'saying nothing is installed');

is(install(), 0, 'install for the rc script');
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
like(slurp($pidfile) // '', qr/^$pid\n\z/, 'the pidfile is one line, ended by a newline');
# README's other way to find it: setproctitle renames the process, so
# "pgrep -f 'forkd -d'" finds nothing, but its name stays forkd.
my @named = split(' ', `pgrep -x forkd` // '');
ok(scalar(grep { $_ == $pid } @named), 'pgrep -x forkd finds it');
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
