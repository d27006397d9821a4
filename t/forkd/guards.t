#!/usr/bin/perl
# forkd's guards: -n on good and broken files, a bind failure before
# detaching, usage, the .max looping guard (and the reload that ends its
# pause), the prefork back-off for a handler that dies at start, forkd
# started with its standard descriptors closed, and the sandbox: a handler
# killed by its seccomp filter, one that aborts (SIGABRT, not a violation),
# a profile's RLIMIT_NOFILE above the hard limit taken as a ceiling.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(build forkd_start forkd_stop wait_log wait_port connect_tcp
    need_root free_port log_lines slurp spit tmpdir forkd_reload read_line
    count_log syslog_start syslog_wrap);
use IO::Socket::IP;
use POSIX ();
use Test::More;
use Time::HiRes qw(sleep time);

need_root();
plan tests => 45;

my $forkd = build('forkd');
my $dir = tmpdir();

# forkd -n: a good file is printed, exit 0.
my $p = free_port();
spit("$dir/good.conf", "# good\n127.0.0.1:$p stream tcp nowait nobody /bin/cat cat -u\n");
my $out = `$forkd -n -f $dir/good.conf 2>&1`;
is($? >> 8, 0, '-n on a good file exits 0');
like($out, qr/^\Q$dir\E\/good.conf:2: 127\.0\.0\.1:$p\/tcp stream nowait\.256 user nobody\(65534\)/,
    '-n prints the parsed service with its file:line');

# forkd -n: every broken line is reported with file:line and field.
spit("$dir/bad.conf", join('',
    "127.0.0.1:$p stream tcp nowait nobody /bin/cat cat\n",
    "127.0.0.1:$p stream tcp wait nobody /bin/cat cat\n",
    "# comment\n",
    "4199 stream udp nowait nobody /bin/cat cat\n",
    "4199 stream tcp nowait nosuchuser /bin/cat cat\n",
    "[::1]:4199 stream tcp nowait nobody /bin/cat cat\n",
    "4199 stream tcp nowait nobody cat cat\n",
    "4199 stream tcp prefork.0 nobody /bin/cat cat\n",
    "4199 stream tcp\n"));
$out = `$forkd -n -f $dir/bad.conf 2>&1`;
is($? >> 8, 1, '-n on a broken file exits 1');
my @want = (
    qr/bad\.conf:2: service: 127\.0\.0\.1:$p\/tcp is already on line 1/,
    qr/bad\.conf:4: proto: "udp" does not go with socktype stream/,
    qr/bad\.conf:5: user: no such user "nosuchuser"/,
    qr/bad\.conf:6: address: "::1" is not an IPv4 address/,
    qr/bad\.conf:7: program: "cat" is not an absolute path/,
    qr/bad\.conf:8: wait\/nowait: "prefork\.0": the number after the dot is too small/,
    qr/bad\.conf:9: program: 3 fields: expected at least 7/,
);
like($out, $_, "-n reports $_") for @want;
$out = `$forkd -n -f $dir/nonexistent.conf 2>&1`;
ok($? >> 8 == 1 && $out =~ /nonexistent\.conf: No such file or directory/,
    'a missing config is an error naming the file');

# Usage.
$out = `$forkd -x 2>&1`;
is($? >> 8, 100, 'a bad option exits 100');
like($out, qr/usage: forkd \[-dnv\] \[-f config\] \[-p pidfile\]/, '... with usage');
$out = `$forkd -h 2>&1`;
ok($? >> 8 == 0 && $out =~ /^usage: forkd/, '-h prints usage, exits 0');

# A bind failure is an error before detaching: exit 1, nothing left.
my $holder = IO::Socket::IP->new(LocalAddr => '127.0.0.1', LocalPort => 0,
    Listen => 1, Proto => 'tcp') or die;
my $busy = $holder->sockport;
spit("$dir/busy.conf", "127.0.0.1:$busy stream tcp nowait nobody /bin/cat cat\n");
$out = `$forkd -f $dir/busy.conf -p $dir/busy.pid 2>&1`;
is($? >> 8, 1, 'a port in use: forkd exits 1 without detaching');
like($out, qr/127\.0\.0\.1:$busy\/tcp: bind: Address already in use/, '... and says which and why');
ok(!-e "$dir/busy.pid", '... and leaves no pidfile');
close($holder);

# The .max guard, a broken prefork program, and a sandbox violation.
my ($pmax, $pbad, $psys) = (free_port(), free_port(), free_port());
my $violator = build('t/sandbox_violator');
my $f = forkd_start(conf => <<"CONF");
127.0.0.1:$pmax stream tcp nowait.5 nobody /bin/echo echo hello
127.0.0.1:$pbad stream tcp prefork.4 nobody /bin/false false
127.0.0.1:$psys stream tcp nowait nobody $violator violator
CONF
# (Not wait_port: its probe connection would count as a spawn.)
ok(wait_log($f->{sl}, qr/started: 3 services/), 'forkd started');

my $served = 0;
for my $i (1 .. 6) {
	my $s = connect_tcp($pmax) or last;
	my $l = Forkd::read_line($s);
	$served++ if defined $l && $l eq "hello\n";
	close($s);
}
is($served, 5, 'nowait.5: five connections served');
ok(wait_log($f->{sl}, qr/\Q127.0.0.1:$pmax\E\/tcp: more than 5 spawns in 60 s \(looping\?\): service disabled for 10 minutes/),
    'the sixth trips the .max guard, logged');
ok(!connect_tcp($pmax), 'the disabled service refuses connections');

# /bin/false dies at once: the pool backs off instead of forking in a loop.
# Four waves (back-offs of 250, 500, 1000 and 2000 ms) have begun once the
# 2000 ms one is logged: four times the pool of 4 at most died by then.
ok(wait_log($f->{sl}, qr/\Q127.0.0.1:$pbad\E\/tcp: handler died \d+ ms after start: next in 250 ms/),
    'a handler dying at start is logged with its back-off');
ok(wait_log($f->{sl}, qr/\Q127.0.0.1:$pbad\E\/tcp: handler died \d+ ms after start: next in 1000 ms/),
    '... which doubles');
ok(wait_log($f->{sl}, qr/\Q127.0.0.1:$pbad\E\/tcp: handler died \d+ ms after start: next in 2000 ms/, 10),
    '... and doubles again');
my $deaths = grep { /\Q127.0.0.1:$pbad\E\/tcp: pid \d+ exited 1/ } log_lines($f->{sl});
cmp_ok($deaths, '<=', 4 * 4, "four waves of the broken pool of 4: $deaths started");

# The violator answers, then makes a forbidden syscall: SIGSYS, logged,
# and forkd goes on serving.
my $s = connect_tcp($psys);
my $l = $s ? Forkd::read_line($s) : undef;
is($l, "entered\n", 'the sandboxed handler runs until its violation');
ok(wait_log($f->{sl}, qr/\Q127.0.0.1:$psys\E\/tcp: pid \d+ killed by SIGSYS: sandbox violation/),
    'the SIGSYS death is logged as a sandbox violation');
$s = connect_tcp($psys);
$l = $s ? Forkd::read_line($s) : undef;
is($l, "entered\n", 'forkd keeps serving after it');
is(forkd_stop($f), 0, 'forkd stops cleanly');

# A reload ends the looping guard's pause, as forkd.8 says: the spawn count
# that tripped the guard starts again, or the next connection trips it anew.
{
	my $p = free_port();
	my $conf = "127.0.0.1:$p stream tcp nowait.2 nobody /bin/echo echo hi\n";
	my $f = forkd_start(conf => $conf);
	ok(wait_log($f->{sl}, qr/started: 1 services/), 'guard: forkd started');
	for (1 .. 3) {
		my $s = connect_tcp($p) or last;
		read_line($s);
	}
	ok(wait_log($f->{sl}, qr/more than 2 spawns in 60 s/),
	    'guard: the third connection trips nowait.2');
	ok(forkd_reload($f, $conf), 'guard: reloaded');
	my $s = connect_tcp($p);
	is($s ? read_line($s) : undef, "hi\n",
	    'guard: after the reload the service serves again');
	is(count_log($f->{sl}, qr/more than 2 spawns in 60 s/), 1,
	    'guard: ... without tripping the guard again');
	forkd_stop($f);
}

# forkd started with descriptors 0, 1 and 2 closed (as some launchers do):
# daemon(3) puts /dev/null on them, which must not clobber the pidfile or a
# listener that took one of those numbers.
{
	my $p = free_port();
	my $dir = tmpdir();
	my $sl = syslog_start($dir);
	spit("$dir/forkd.conf",
	    "127.0.0.1:$p stream tcp nowait nobody /bin/echo echo closed\n");
	my $pid = fork() // die "fork: $!";
	if ($pid == 0) {
		exec(syslog_wrap($sl), 'sh', '-c',
		    'exec "$@" <&- >&- 2>&-', 'sh', build('forkd'), '-f',
		    "$dir/forkd.conf", '-p', "$dir/forkd.pid") or POSIX::_exit(127);
	}
	waitpid($pid, 0);
	is($? >> 8, 0, 'closed fds: forkd detaches, exit 0');
	ok(wait_log($sl, qr/started: 1 services/), 'closed fds: forkd started');
	my $end = time + 5;
	sleep(0.05) while !(slurp("$dir/forkd.pid") // '') && time < $end;
	my ($daemon) = (slurp("$dir/forkd.pid") // '') =~ /^(\d+)/;
	ok($daemon && kill(0, $daemon), 'closed fds: the pidfile holds its pid');
	my $s = connect_tcp($p);
	is($s ? read_line($s) : undef, "closed\n", 'closed fds: the service answers');
	# Stop it (by the pid it wrote, or as the test's own last resort).
	($daemon) = grep { (slurp("/proc/$_/cmdline") // '') =~ /\Q$dir\E/ }
	    map { m{/proc/(\d+)} } glob('/proc/[0-9]*/cmdline') unless $daemon;
	if ($daemon) {
		kill('TERM', $daemon);
		$end = time + 10;
		sleep(0.05) while kill(0, $daemon) && time < $end;
	}
	ok(!-e "$dir/forkd.pid", 'closed fds: SIGTERM removes the pidfile');
	kill('TERM', $sl->{pid});
	waitpid($sl->{pid}, 0);
}

# lib/sandbox.c: a profile's RLIMIT_NOFILE above the hard limit in force
# (ulimit -Hn) is a ceiling, not a reason to refuse to start. echod -c 100
# wants more than 64 descriptors; as nobody it cannot raise the hard limit.
SKIP: {
	skip 'needs build/echod, prlimit and setpriv', 2
	    unless -x build('echod') &&
	    system('prlimit -V >/dev/null 2>&1 && setpriv -V >/dev/null 2>&1') == 0;
	my $dir = tmpdir();
	spit("$dir/in", "low limit\n");
	my $out = `prlimit --nofile=64:64 setpriv --reuid=65534 --regid=65534 --clear-groups @{[build('echod')]} -c 100 < $dir/in 2>&1`;
	is($? >> 8, 0, 'rlimit: echod starts under a hard limit below its profile\'s');
	is($out, "low limit\n", 'rlimit: ... and echoes');
}

# lib/sandbox.c: abort(3), which glibc calls when _FORTIFY_SOURCE, the
# stack protector or malloc finds memory corrupted, ends a sandboxed
# handler with SIGABRT; it is not logged as a sandbox violation.
{
	my $p = free_port();
	my $violator = build('t/sandbox_violator');
	my $f = forkd_start(conf =>
	    "127.0.0.1:$p stream tcp nowait nobody $violator violator abort\n");
	ok(wait_log($f->{sl}, qr/started: 1 services/), 'abort: forkd started');
	my $s = connect_tcp($p);
	is($s ? read_line($s) : undef, "entered\n", 'abort: the handler entered its sandbox');
	ok(wait_log($f->{sl}, qr/\Q127.0.0.1:$p\E\/tcp: pid \d+ (killed by|exited)/),
	    'abort: its end is logged');
	ok(wait_log($f->{sl}, qr/\Q127.0.0.1:$p\E\/tcp: pid \d+ killed by signal 6 \(Aborted\)/, 0.1),
	    'abort: ... as SIGABRT, not a sandbox violation');
	forkd_stop($f);
}
