#!/usr/bin/perl
# The sandbox every handler enters (lib/sandbox.c), seen from outside:
# a profile's descriptor limit is the handler's soft and hard
# RLIMIT_NOFILE and core dumps are off; under a lower hard limit a handler
# run as nobody takes that one and still serves; a profile without a
# descriptor limit leaves RLIMIT_NOFILE as it was; FORKD_SANDBOX=trap
# names a forbidden call and exits 111; a refused call fails with EACCES
# and the handler serves on; a handler reconnects to /dev/log
# after the log daemon restarts and goes on serving.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(build need_root tmpdir slurp spit listen_exec syslog_start
    connect_tcp read_lines read_line wait_exit alive);
use IO::Select;
use IO::Socket::IP;
use IO::Socket::UNIX;
use POSIX ();
use Socket qw(SOCK_DGRAM);
use Test::More;
use Time::HiRes qw(sleep time);

need_root();
my ($smtpd, $echod, $sendline) = map { build($_) } qw(smtpd echod sendline);
plan skip_all => 'build the programs first (make)'
    unless -x $smtpd && -x $echod && -x $sendline;
$SIG{PIPE} = 'IGNORE';

# "soft hard" of a limit in /proc/PID/limits ("Max open files", say).
sub limit {
	my ($pid, $name) = @_;
	my $s = slurp("/proc/$pid/limits") // return 'gone';
	return $s =~ /^\Q$name\E\s+(\S+)\s+(\S+)/m ? "$1 $2" : 'missing';
}

# Wait up to 5 s for $pid's seccomp filter (Seccomp: 2): it has entered
# its sandbox.
sub filtered {
	my ($pid) = @_;
	my $end = time + 5;
	while (time < $end) {
		my $s = slurp("/proc/$pid/status") // return 0;
		return 1 if $s =~ /^Seccomp:\s*2$/m;
		sleep(0.05);
	}
	return 0;
}

my $dir = tmpdir();
chmod 0755, $dir;
my $spool = "$dir/spool";
mkdir $spool;
chmod 0777, $spool;

# smtpd's profile allows 16 descriptors: soft and hard, and no core.
{
	my ($port, $pid) = listen_exec(cmd => [$smtpd, '-n', 'mx.test', '-m',
	    $spool]);
	my $c = connect_tcp($port) or die "connect: $!";
	like(read_lines($c, 1, 5), qr/^220 mx\.test /, 'smtpd: greets');
	is(limit($pid, 'Max open files'), '16 16',
	    'smtpd: RLIMIT_NOFILE is the profile\'s 16, soft and hard');
	is(limit($pid, 'Max core file size'), '0 0', 'smtpd: no core dump');
	close($c);
}

# As nobody under a hard limit of 12: the limit taken is 12, not an EPERM
# trying to raise it to 16, and smtpd serves.
SKIP: {
	skip('setpriv(1) or prlimit(1) not installed', 2)
	    if system('setpriv --version >/dev/null 2>&1') != 0 ||
	    system('prlimit --version >/dev/null 2>&1') != 0;
	# A spool of its own: root's smtpd above made files nobody cannot
	# open.
	mkdir "$dir/spool2";
	chmod 0777, "$dir/spool2";
	my ($port, $pid) = listen_exec(cmd => ['setpriv', '--reuid=65534',
	    '--regid=65534', '--clear-groups', 'prlimit', '--nofile=12:12',
	    $smtpd, '-n', 'mx.test', '-m', "$dir/spool2"]);
	my $c = connect_tcp($port) or die "connect: $!";
	like(read_lines($c, 1, 5), qr/^220 mx\.test /,
	    'lower hard limit: smtpd as nobody greets');
	is(limit($pid, 'Max open files'), '12 12',
	    'lower hard limit: RLIMIT_NOFILE is the hard limit in force');
	close($c);
}

# sendline's profile has no descriptor limit: the one it was given stays.
SKIP: {
	skip('prlimit(1) not installed', 2)
	    if system('prlimit --version >/dev/null 2>&1') != 0;
	my $l = IO::Socket::IP->new(LocalAddr => '127.0.0.1', LocalPort => 0,
	    Listen => 4, ReuseAddr => 1) or die "listen: $!";
	pipe(my $r, my $w) or die "pipe: $!";
	my $pid = fork() // die "fork: $!";
	if ($pid == 0) {
		close($w);
		open(STDIN, '<&', $r) or POSIX::_exit(127);
		open(STDOUT, '>', '/dev/null');
		open(STDERR, '>', '/dev/null');
		exec('prlimit', '--nofile=100:200', $sendline, '127.0.0.1',
		    $l->sockport) or POSIX::_exit(127);
	}
	close($r);
	ok(filtered($pid), 'no limit: sendline entered its sandbox');
	is(limit($pid, 'Max open files'), '100 200',
	    'no limit: RLIMIT_NOFILE as sendline was started with');
	close($w);
	wait_exit($pid, 5) // kill('KILL', $pid);
	waitpid($pid, 0);
}

# FORKD_SANDBOX=trap: echod serves, and a forbidden call (uname, made by a
# preloaded library on SIGURG) is named on the log and ends it with 111.
SKIP: {
	my $so = "$dir/violate.so";
	spit("$dir/violate.c", <<'EOC');
#include <signal.h>
#include <unistd.h>
#include <sys/syscall.h>
static void violate(int sig) { (void)sig; syscall(SYS_uname, 0); }
__attribute__((constructor)) static void
violate_init(void) { signal(SIGURG, violate); }
EOC
	skip('no C compiler for the preloaded library', 4)
	    if system("cc -shared -fPIC -o $so $dir/violate.c 2>/dev/null") != 0;
	pipe(my $ir, my $iw) or die "pipe: $!";
	pipe(my $or, my $ow) or die "pipe: $!";
	my $pid = fork() // die "fork: $!";
	if ($pid == 0) {
		close($iw);
		close($or);
		open(STDIN, '<&', $ir) or POSIX::_exit(127);
		open(STDOUT, '>&', $ow) or POSIX::_exit(127);
		open(STDERR, '>', "$dir/echod.err");
		$ENV{FORKD_SANDBOX} = 'trap';
		$ENV{LD_PRELOAD} = $so;
		$ENV{ASAN_OPTIONS} = 'verify_asan_link_order=0';
		exec($echod, '-d') or POSIX::_exit(127);
	}
	close($ir);
	close($ow);
	$iw->autoflush(1);
	print $iw "hello\n";
	is(read_line($or, 5), "hello\n", 'trap: echod echoes in trap mode');
	kill('URG', $pid);
	my $st = wait_exit($pid, 5);
	is(defined $st ? $st >> 8 : 'running', 111,
	    'trap: a forbidden call ends it with 111');
	like(slurp("$dir/echod.err") // '',
	    qr/sandbox: syscall uname \(\d+\) not allowed/,
	    'trap: the call is named');
	is(read_line($or, 1), undef, 'trap: nothing served after it');
	kill('KILL', $pid) unless defined $st;
}

# A refused call (httpd's profile refuses openat, open and ioctl, which
# glibc or libbsd may try) fails with EACCES, each of them, and the
# handler goes on serving.
SKIP: {
	my $httpd = build('httpd');
	skip('build httpd first (make)', 4) unless -x $httpd;
	my $so = "$dir/refused.so";
	spit("$dir/refused.c", <<'EOC');
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
/* On SIGWINCH: each call httpd's profile refuses, and what it gave. */
static void
refused(int sig)
{
	char buf[128];
	long r[3];
	int e[3], n;

	(void)sig;
	errno = 0;
	r[0] = syscall(SYS_openat, AT_FDCWD, "/", O_RDONLY);
	e[0] = errno;
	errno = 0;
	r[1] = syscall(SYS_open, "/", O_RDONLY);
	e[1] = errno;
	errno = 0;
	r[2] = syscall(SYS_ioctl, 0, FIONREAD, &n);
	e[2] = errno;
	n = snprintf(buf, sizeof(buf), "refused: %s %s %s\n",
	    r[0] == -1 && e[0] == EACCES ? "openat" : "-",
	    r[1] == -1 && e[1] == EACCES ? "open" : "-",
	    r[2] == -1 && e[2] == EACCES ? "ioctl" : "-");
	write(2, buf, n);
}
__attribute__((constructor)) static void
refused_init(void) { signal(SIGWINCH, refused); }
EOC
	skip('no C compiler for the preloaded library', 4)
	    if system("cc -shared -fPIC -o $so $dir/refused.c 2>/dev/null") != 0;
	mkdir "$dir/www";
	spit("$dir/www/index.html", "hello\n");
	chmod 0755, "$dir/www";
	chmod 0644, "$dir/www/index.html", $so;
	my ($port, $pid) = listen_exec(cmd => [$httpd, '-r', "$dir/www"],
	    stderr => "$dir/httpd.err", env => { LD_PRELOAD => $so,
	    ASAN_OPTIONS => 'verify_asan_link_order=0' });
	my $get = sub {
		my $c = connect_tcp($port) or return '';
		print $c "GET / HTTP/1.0\r\n\r\n";
		my $r = '';
		$r .= $_ while defined($_ = read_line($c, 5));
		return $r;
	};
	like($get->(), qr/\r\n\r\nhello\n\z/, 'refused: httpd serves');
	ok(filtered($pid), 'refused: httpd is filtered');
	kill('WINCH', $pid);
	my $end = time + 5;
	sleep(0.05) until time > $end ||
	    (slurp("$dir/httpd.err") // '') =~ /^refused: /m;
	like(slurp("$dir/httpd.err") // '', qr/^refused: openat open ioctl$/m,
	    'refused: openat, open and ioctl each fail with EACCES');
	like($get->(), qr/\r\n\r\nhello\n\z/, 'refused: httpd still serves');
}

# The log daemon restarts: the handler's next log line reconnects to
# /dev/log (socket and connect in its profile) and reaches the new one,
# and the handler goes on serving.
{
	my $sl = syslog_start($dir);
	my ($port, $pid) = listen_exec(sl => $sl, cmd => [$smtpd, '-n',
	    'mx.test', '-m', $spool]);
	my $mail = "HELO a\r\nMAIL FROM:<a\@b>\r\nRCPT TO:<c\@d>\r\nDATA\r\n"
	    . "hello\r\n.\r\nQUIT\r\n";
	my $c = connect_tcp($port) or die "connect: $!";
	print $c $mail;
	like(read_lines($c, 7, 5), qr/^221 /m, 'reconnect: first message');
	close($c);
	my $end = time + 5;
	sleep(0.05) until time > $end ||
	    (slurp($sl->{log}) // '') =~ /delivered message/;
	like(slurp($sl->{log}) // '', qr/delivered message/,
	    'reconnect: logged to the first log daemon');
	# The old one stops; a new one binds the same /dev/log.
	kill('TERM', $sl->{pid});
	waitpid($sl->{pid}, 0);
	unlink("$dir/dev/log");
	my $log = IO::Socket::UNIX->new(Type => SOCK_DGRAM,
	    Local => "$dir/dev/log") or die "listen $dir/dev/log: $!";
	$c = connect_tcp($port) or die "connect: $!";
	print $c $mail;
	like(read_lines($c, 7, 5), qr/^250 .*\r\n221 /m,
	    'reconnect: the next message is delivered');
	close($c);
	my ($got, $sel) = ('', IO::Select->new($log));
	$end = time + 5;
	while ($got !~ /delivered message/ && $sel->can_read($end - time)) {
		$log->recv(my $b, 65536);
		$got .= "$b\n";
	}
	like($got, qr/smtpd\[$pid\]: delivered message/,
	    'reconnect: its line reaches the new log daemon');
	ok(alive($pid), 'reconnect: smtpd still runs');
}

done_testing();
