package Forkd;
# Shared helpers for forkd's integration tests (t/PROGRAM/TOPIC.t).
#
# The syslog capture: glibc's syslog(3) writes to /dev/log, fixed. A test
# listens on a datagram socket of its own (tmp/dev/log) and runs the
# program under test in a private mount namespace (unshare -m) whose /dev
# is tmp/dev, holding the usual device nodes bind-mounted from the real
# /dev. So the real syslog lines of the real program are read, and the
# machine's /dev is never touched.
use strict;
use warnings;
use Exporter 'import';
use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Temp qw(tempdir);
use IO::Select;
use IO::Socket::IP;
use IO::Socket::UNIX;
use POSIX qw(:sys_wait_h);
use Socket qw(SOCK_DGRAM SOCK_STREAM);
use Time::HiRes qw(sleep time);

our @EXPORT_OK = qw(build tmpdir free_port free_udp_port syslog_start
    syslog_wrap log_lines wait_log forkd_start forkd_stop wait_port
    need_root connect_tcp slurp spit listen_exec dgram_exec udp_bound
    udp_client recv_dgram wait_exit run_cmd read_lines read_n cmocka_run
    tcp_listening alive read_line crlf wait_file wait_line count_log
    children forkd_reload);

# Processes a test started through this module: stopped at its end, however
# it ends, so no forkd or listener outlives a failed test.
our @STARTED;
END {
	my $st = $?;
	for my $p (@STARTED) {
		kill('TERM', $p) if $p && kill(0, $p);
	}
	for my $p (@STARTED) {
		waitpid($p, 0) if $p;
	}
	$? = $st;
}

# A watchdog: a test file that hangs (a read that never returns after a
# regression) dies after FORKD_TEST_TIMEOUT seconds (default 900; 0: none)
# and fails, instead of hanging prove. Its END stops what it started.
my $WATCHDOG = $ENV{FORKD_TEST_TIMEOUT} // 900;
if ($WATCHDOG > 0) {
	$SIG{ALRM} = sub { die "test timed out after $WATCHDOG s (FORKD_TEST_TIMEOUT)\n" };
	alarm($WATCHDOG);
}

# The top of the tree: this file is t/lib/Forkd.pm, whichever folder of
# t/ the test that loads it is in.
our $TOP = abs_path(dirname(__FILE__) . '/../..');
# A built program's path, in build/ or FORKD_BUILD (make check-asan:
# build-asan). When the handlers' user cannot reach the checkout, the
# build copies the programs to a stage directory it can reach, linked as
# BUILD/stage (mk/configure.sh): the copy is used then.
sub build {
	my $name = $_[0] // '';
	my $b = $ENV{FORKD_BUILD} // 'build';
	$b = "$TOP/$b" unless $b =~ m{^/};
	my $stage = readlink("$b/stage");
	return "$stage/$name" if defined $stage && $name ne '' && -e "$stage/$name";
	return "$b/$name";
}

sub tmpdir { return tempdir('forkd-test-XXXXXX', TMPDIR => 1, CLEANUP => 1) }

sub slurp {
	my ($f) = @_;
	open(my $fh, '<:raw', $f) or return undef;
	local $/;
	my $s = <$fh>;
	return $s;
}

sub spit {
	my ($f, $s) = @_;
	open(my $fh, '>:raw', $f) or die "$f: $!";
	print $fh $s;
	close($fh);
}

# A loopback port nobody listens on now (TCP; free_udp_port for UDP), and
# never one this process was given before: the kernel may hand out again a
# port just closed, and two services of one forkd.conf on one port are a
# configuration error.
my %GIVEN;

sub free_port { return given_port('tcp') }

sub free_udp_port { return given_port('udp') }

sub given_port {
	my ($proto) = @_;
	for (1 .. 100) {
		my $s = IO::Socket::IP->new(LocalAddr => '127.0.0.1',
		    LocalPort => 0, Proto => $proto,
		    $proto eq 'tcp' ? (Listen => 1, ReuseAddr => 1) : ())
		    or die "free_${proto}_port: $!";
		my $p = $s->sockport;
		close($s);
		return $p unless $GIVEN{"$proto/$p"}++;
	}
	die "free_${proto}_port: no new port in 100 tries";
}

# Skip the whole test unless root with unshare(1): both are needed to give
# a program its own /dev/log.
sub need_root {
	require Test::More;
	Test::More::plan(skip_all => 'needs root (mount namespace for /dev/log)')
	    if $> != 0;
	Test::More::plan(skip_all => 'needs unshare(1) from util-linux')
	    if system('unshare -m true 2>/dev/null') != 0;
}

# Start the syslog listener for directory $dir. Returns a hash:
# { dir, log (the file the lines go to), pid (the listener) }.
sub syslog_start {
	my ($dir) = @_;
	# The /dev the wrapped programs get, made once: stubs for the device
	# nodes syslog_wrap binds over, fd, pts, shm. Each wrapped program
	# only mounts, so any number may start at once.
	mkdir "$dir/dev";
	for my $n (qw(null zero full random urandom tty)) {
		open(my $stub, '>', "$dir/dev/$n") or die "$dir/dev/$n: $!";
		close($stub);
	}
	symlink('/proc/self/fd', "$dir/dev/fd") or die "$dir/dev/fd: $!";
	mkdir "$dir/dev/pts";
	mkdir "$dir/dev/shm";
	my $path = "$dir/dev/log";
	my $out = "$dir/syslog.txt";
	open(my $touch, '>', $out) or die "$out: $!";
	close($touch);
	my $sock = IO::Socket::UNIX->new(Type => SOCK_DGRAM, Local => $path)
	    or die "syslog listener $path: $!";
	chmod 0666, $path;
	my $parent = $$;
	my $pid = fork() // die "fork: $!";
	if ($pid == 0) {
		# Never hold the test's output open (prove waits for it),
		# and end with the test, however it ends.
		open(STDIN, '<', '/dev/null');
		open(STDOUT, '>', '/dev/null');
		open(STDERR, '>', '/dev/null');
		open(my $fh, '>>:raw', $out) or POSIX::_exit(1);
		$fh->autoflush(1);
		my $sel = IO::Select->new($sock);
		my $buf;
		while (getppid() == $parent) {
			next unless $sel->can_read(0.5);
			last unless defined $sock->recv($buf, 65536);
			$buf =~ s/\n+\z//;
			print $fh "$buf\n";
		}
		POSIX::_exit(0);
	}
	close($sock);
	push @STARTED, $pid;
	return { dir => $dir, log => $out, pid => $pid };
}

# The command prefix that runs a program with $sl's /dev/log as its own.
sub syslog_wrap {
	my ($sl) = @_;
	my $d = "$sl->{dir}/dev";
	my $script = join('; ',
	    'set -e',
	    'for n in null zero full random urandom tty; do ' .
	    "mount --bind /dev/\$n \"\$D/\$n\"; done",
	    'mount --rbind "$D" /dev',
	    'exec "$@"');
	return ('env', "D=$d", 'unshare', '-m', 'sh', '-c', $script, 'sh');
}

# All lines logged so far (after the <PRI> they carry), as a list.
sub log_lines {
	my ($sl) = @_;
	my $s = slurp($sl->{log}) // '';
	return split(/\n/, $s);
}

# Wait up to $timeout seconds (default 5) for a log line matching $re.
# Returns the line, or undef.
sub wait_log {
	my ($sl, $re, $timeout) = @_;
	my $end = time + ($timeout // 5);
	while (time < $end) {
		for my $l (log_lines($sl)) {
			return $l if $l =~ $re;
		}
		sleep(0.05);
	}
	return undef;
}

# Wait up to $timeout seconds (default 5) for the contents of file $f to
# match $re. Returns 1/0.
sub wait_file {
	my ($f, $re, $timeout) = @_;
	my $end = time + ($timeout // 5);
	while (time < $end) {
		return 1 if (slurp($f) // '') =~ $re;
		sleep(0.02);
	}
	return 0;
}

# Wait up to $timeout seconds (default 5) for a line of file $f matching
# $re. Returns the line, or undef (wait_log does the same for a syslog
# capture).
sub wait_line {
	my ($f, $re, $timeout) = @_;
	my $end = time + ($timeout // 5);
	while (time < $end) {
		for my $l (split(/\n/, slurp($f) // '')) {
			return $l if $l =~ $re;
		}
		sleep(0.05);
	}
	return undef;
}

# The number of log lines of capture $sl matching $re.
sub count_log {
	my ($sl, $re) = @_;
	return scalar(grep { $_ =~ $re } log_lines($sl));
}

# Wait until something accepts on 127.0.0.1:$port (or $host). Returns 1/0.
sub wait_port {
	my ($port, $timeout, $host) = @_;
	my $end = time + ($timeout // 5);
	while (time < $end) {
		my $s = IO::Socket::IP->new(PeerHost => $host // '127.0.0.1',
		    PeerPort => $port, Proto => 'tcp');
		if ($s) { close($s); return 1 }
		sleep(0.05);
	}
	return 0;
}

# Run a handler as forkd's prefork does: a listening socket on 127.0.0.1
# (or host) on its fd 0, workers processes (default 1) sharing it. Options:
# cmd (the program and its arguments), workers, host, env, stdout (a
# handle for fd 1; default /dev/null), stderr (a file every worker appends
# to; default /dev/null), sl (a syslog capture to run it under, see
# syslog_wrap), nonblock (O_NONBLOCK on the listener, as a multiplexing
# holder leaves it; forkd's are blocking). Returns the port and the pids,
# which are stopped at the test's end however it ends.
sub listen_exec {
	my (%o) = @_;
	my $l = IO::Socket::IP->new(LocalAddr => $o{host} // '127.0.0.1',
	    LocalPort => 0, Listen => 128, ReuseAddr => 1, Proto => 'tcp')
	    or die "listen_exec: $!";
	$l->blocking(0) if $o{nonblock};
	my @pids;
	for (1 .. ($o{workers} // 1)) {
		my $pid = fork() // die "fork: $!";
		if ($pid == 0) {
			open(STDIN, '<&', $l) or POSIX::_exit(127);
			$o{stdout} ? open(STDOUT, '>&', $o{stdout}) :
			    open(STDOUT, '>', '/dev/null');
			open(STDERR, '>>', $o{stderr} // '/dev/null');
			%ENV = (%ENV, %{ $o{env} // {} });
			exec($o{sl} ? syslog_wrap($o{sl}) : (), @{ $o{cmd} })
			    or POSIX::_exit(127);
		}
		push @pids, $pid;
		push @STARTED, $pid;
	}
	my $port = $l->sockport;
	close($l);
	return ($port, @pids);
}

# Run a handler as forkd's "wait" dgram service does: the bound UDP socket
# sock on its fds 0 and 1 (no sock: stdin /dev/null, for a handler that
# binds its own). Options: cmd, sock, stderr (a file, appended to; default
# /dev/null), sl (a syslog capture to run it under, see syslog_wrap).
# Returns the pid, which is stopped at the test's end unless wait_exit
# reaped it.
sub dgram_exec {
	my (%o) = @_;
	my $pid = fork() // die "fork: $!";
	if ($pid == 0) {
		if ($o{sock}) {
			POSIX::dup2(fileno($o{sock}), 0) or POSIX::_exit(126);
			POSIX::dup2(fileno($o{sock}), 1) or POSIX::_exit(126);
		} else {
			open(STDIN, '<', '/dev/null');
		}
		open(STDERR, '>>', $o{stderr} // '/dev/null')
		    or POSIX::_exit(126);
		exec($o{sl} ? syslog_wrap($o{sl}) : (), @{ $o{cmd} })
		    or POSIX::_exit(127);
	}
	push @STARTED, $pid;
	return $pid;
}

# A UDP socket bound to a free port of 127.0.0.1 (or host); undef when
# that address cannot be bound (no IPv6, say).
sub udp_bound {
	my ($host) = @_;
	return IO::Socket::IP->new(LocalAddr => $host // '127.0.0.1',
	    LocalPort => 0, Proto => 'udp');
}

# A UDP socket connected to port of 127.0.0.1 (or host).
sub udp_client {
	my ($port, $host) = @_;
	my $s = IO::Socket::IP->new(PeerHost => $host // '127.0.0.1',
	    PeerPort => $port, Proto => 'udp') or die "udp_client: $!";
	return $s;
}

# One datagram on s within timeout seconds (default 3), or undef.
sub recv_dgram {
	my ($s, $timeout) = @_;
	return undef unless IO::Select->new($s)->can_read($timeout // 3);
	my $buf;
	defined($s->recv($buf, 70000)) or return undef;
	return $buf;
}

# Wait up to timeout seconds for child pid to exit. Returns its wait
# status, or undef if it still runs.
sub wait_exit {
	my ($pid, $timeout) = @_;
	my $end = time + $timeout;
	while (time < $end) {
		if (waitpid($pid, WNOHANG) == $pid) {
			my $st = $?;
			@STARTED = grep { $_ != $pid } @STARTED;
			return $st;
		}
		sleep(0.02);
	}
	return undef;
}

# Whether process $pid runs: it exists and is not a zombie. kill(0, pid)
# succeeds on an unreaped zombie, so a handler that died unnoticed would
# pass for a living one.
sub alive {
	my ($pid) = @_;
	my $st = slurp("/proc/$pid/stat") // return 0;
	return $st =~ /^\d+ \(.*\) ([A-Za-z]) / && $1 ne 'Z' && $1 ne 'X' ? 1 : 0;
}

# The pids of the children of process $pid, from /proc (zombies too).
sub children {
	my ($pid) = @_;
	my @k;
	for my $d (glob('/proc/[0-9]*')) {
		my $st = slurp("$d/stat") // next;
		push @k, $1 if $st =~ /^(\d+) \(.*\) \S+ (\d+) /s && $2 == $pid;
	}
	return @k;
}

# Run @cmd to its end with $stdin (bytes; undef: empty) on its standard
# input. $stdin may instead be a hash of options: in (those bytes), env
# (variables added to the environment), dir (the directory it runs in),
# timeout (seconds before it is killed with SIGKILL; default: never).
# Returns (exit status, stdout, stderr, the signal that ended it or 0);
# in scalar context the same as a hash { rc, out, err, sig }.
sub run_cmd {
	my ($stdin, @cmd) = @_;
	my %o = ref($stdin) eq 'HASH' ? %$stdin : (in => $stdin);
	my $dir = tmpdir();
	spit("$dir/in", $o{in} // '');
	my $pid = fork() // die "fork: $!";
	if ($pid == 0) {
		chdir($o{dir}) or POSIX::_exit(127) if defined $o{dir};
		open(STDIN, '<', "$dir/in");
		open(STDOUT, '>', "$dir/out");
		open(STDERR, '>', "$dir/err");
		%ENV = (%ENV, %{ $o{env} // {} });
		exec(@cmd) or POSIX::_exit(127);
	}
	if ($o{timeout}) {
		# The watchdog's alarm is put back with the time it had left.
		my $left;
		{
			local $SIG{ALRM} = sub { kill('KILL', $pid) };
			$left = alarm($o{timeout});
			waitpid($pid, 0);
			alarm(0);
		}
		alarm($left) if $left;
	} else {
		waitpid($pid, 0);
	}
	my @r = ($? >> 8, slurp("$dir/out"), slurp("$dir/err"), $? & 127);
	return @r if wantarray;
	return { rc => $r[0], out => $r[1], err => $r[2], sig => $r[3] };
}

# The lines of @_, each ended with CRLF, as one string (SMTP commands).
sub crlf { return join('', map { "$_\r\n" } @_) }

# The bytes of the next $n CRLF-ended lines (SMTP replies, say) on socket
# $s, or what came before $timeout seconds (default 5) passed without a
# byte, or the peer closed.
sub read_lines {
	my ($s, $n, $timeout) = @_;
	my $sel = IO::Select->new($s);
	my $got = '';
	while ((() = $got =~ /\r\n/g) < $n && $sel->can_read($timeout // 5)) {
		my $r = sysread($s, my $buf, 65536);
		last unless $r;
		$got .= $buf;
	}
	return $got;
}

# One LF-ended line from $s (byte by byte, so nothing after it is taken),
# or undef when $timeout seconds (default 5) pass without one or the peer
# closes first.
sub read_line {
	my ($s, $timeout) = @_;
	my ($line, $sel, $end) = ('', IO::Select->new($s), time + ($timeout // 5));
	while ($line !~ /\n\z/ && (my $left = $end - time) > 0) {
		last unless $sel->can_read($left);
		last unless sysread($s, $line, 1, length($line));
	}
	return $line =~ /\n\z/ ? $line : undef;
}

# Read from $s until $n bytes, EOF or $timeout seconds (default 5) in
# all. Returns what came.
sub read_n {
	my ($s, $n, $timeout) = @_;
	my ($buf, $sel, $end) = ('', IO::Select->new($s), time + ($timeout // 5));
	while (length($buf) < $n && (my $left = $end - time) > 0) {
		last unless $sel->can_read($left);
		my $r = sysread($s, $buf, 65536, length($buf));
		last unless $r;
	}
	return $buf;
}

sub connect_tcp {
	my ($port, $host) = @_;
	return IO::Socket::IP->new(PeerHost => $host // '127.0.0.1',
	    PeerPort => $port, Proto => 'tcp');
}

# Start build/forkd -d on config text $conf (written to dir/forkd.conf) in
# a temporary directory with its syslog captured. Options: dir, args
# (extra forkd arguments), wait_ports (TCP ports to wait for: dies when one
# never listens), env, prefix (a command forkd runs under, as setpriv).
# Returns { pid, dir, conf, sl (the syslog capture), stderr (file) }.
sub forkd_start {
	my (%o) = @_;
	my $dir = $o{dir} // tmpdir();
	my $sl = $o{sl} // syslog_start($dir);
	my $conf = "$dir/forkd.conf";
	spit($conf, $o{conf}) if defined $o{conf};
	my $stderr = "$dir/forkd.stderr";
	my $pid = fork() // die "fork: $!";
	if ($pid == 0) {
		open(STDIN, '<', '/dev/null');
		open(STDOUT, '>', "$dir/forkd.stdout");
		open(STDERR, '>', $stderr);
		%ENV = (%ENV, %{ $o{env} // {} });
		exec(@{ $o{prefix} // [] }, syslog_wrap($sl), build('forkd'),
		    '-d', '-f', $conf,
		    @{ $o{args} // [] }) or POSIX::_exit(127);
	}
	push @STARTED, $pid;
	my $f = { pid => $pid, dir => $dir, conf => $conf, sl => $sl,
	    stderr => $stderr };
	# A forkd that exits (a configuration error) ends the wait at once.
	for my $p (@{ $o{wait_ports} // [] }) {
		next if tcp_listening($p, 20, $pid);
		my $how = waitpid($pid, WNOHANG) == $pid
		    ? "forkd exited: status $?" : 'forkd runs';
		die "forkd_start: port $p never listened ($how): "
		    . (slurp($stderr) // '') . (slurp($sl->{log}) // '');
	}
	return $f;
}

# Wait up to $timeout seconds for a TCP socket listening on $port (any
# address, IPv4 or IPv6), read from /proc/net: no connection is made, so
# no nowait handler is spawned for a probe. With $pid, gives up as soon as
# that process has ended (alive()). Returns 1/0.
sub tcp_listening {
	my ($port, $timeout, $pid) = @_;
	my $hex = sprintf('%04X', $port);
	my $end = time + $timeout;
	my $ss = -x '/usr/bin/ss' || -x '/bin/ss';
	while (1) {
		# ss(8) asks the kernel over netlink for this port's listeners
		# alone: /proc/net/tcp, thousands of TIME_WAIT lines after a
		# load test, is the fallback.
		if ($ss) {
			my $out = `ss -Htln 'sport = :$port' 2>/dev/null`;
			return 1 if $? == 0 && $out =~ /\S/;
		}
		for my $t ('/proc/net/tcp', '/proc/net/tcp6') {
			my $s = slurp($t) // next;
			# sl local_address rem_address st: 0A is LISTEN.
			return 1 if $s =~ /^\s*\d+: [0-9A-F]+:$hex [0-9A-F]+:[0-9A-F]{4} 0A /m;
		}
		return 0 if time >= $end || $pid && !alive($pid);
		sleep(0.05);
	}
}

# Reload forkd $f (from forkd_start) on config text $conf: the file
# rewritten, SIGHUP, then up to 5 s for its next "reload: " log line.
# Returns 1/0.
sub forkd_reload {
	my ($f, $conf) = @_;
	my $n = count_log($f->{sl}, qr/reload: /);
	spit($f->{conf}, $conf);
	kill('HUP', $f->{pid});
	my $end = time + 5;
	while (time < $end) {
		return 1 if count_log($f->{sl}, qr/reload: /) > $n;
		sleep(0.05);
	}
	return 0;
}

# SIGTERM forkd and wait for it (up to $timeout s, then SIGKILL). Returns
# its wait status. Also stops the syslog listener unless keep_log.
sub forkd_stop {
	my ($f, %o) = @_;
	my $status;
	if ($f->{pid}) {
		kill('TERM', $f->{pid});
		my $end = time + ($o{timeout} // 10);
		while (time < $end) {
			my $r = waitpid($f->{pid}, WNOHANG);
			if ($r == $f->{pid}) { $status = $?; last }
			sleep(0.05);
		}
		if (!defined $status) {
			kill('KILL', $f->{pid});
			waitpid($f->{pid}, 0);
			$status = -1;
		}
		$f->{pid} = 0;
	}
	if (!$o{keep_log} && $f->{sl} && $f->{sl}{pid}) {
		kill('TERM', $f->{sl}{pid});
		waitpid($f->{sl}{pid}, 0);
		$f->{sl}{pid} = 0;
	}
	return $status;
}

# Run the cmocka unit tests build/t/NAME of @names (make all builds
# them) as one TAP stream: their plans become one, their tests numbered
# in turn; a program that exits non-zero adds a failing test. Skips the
# whole file when one is not built. Does not return.
sub cmocka_run {
	my @bins = map { "$TOP/build/t/$_" } @_;
	for my $bin (@bins) {
		next if -x $bin;
		print "1..0 # SKIP $bin is not built (make all)\n";
		exit 0;
	}
	my (@lines, $n);
	for my $bin (@bins) {
		open(my $fh, '-|', $bin) or die "$bin: $!";
		while (my $l = <$fh>) {
			next if $l =~ /^1\.\.\d+/;
			$l =~ s/^(not )?ok \d+/($1 \/\/ '') . 'ok ' . ++$n/e;
			push @lines, $l;
		}
		close($fh);
		push @lines, 'not ok ' . ++$n . " - $bin exited $?\n" if $?;
	}
	print "1..$n\n", @lines;
	exit 0;
}

1;
