#!/usr/bin/perl
# forkd's promises checked on the processes themselves, not on the log
# lines that announce them: every handler runs with a loaded seccomp filter
# that kills on a forbidden call; a nowait handler holds exactly fds 0-2,
# its own session and the UCSPI-TCP variables; a reload replaces a pool
# whose program changed and stops a removed one; tcp6/udp6 services are
# IPv6-only; SIGINT stops forkd as SIGTERM does; -d without -p writes no
# pidfile; nowait.0 has no looping cap; user:group and the user's
# supplementary groups at run time; a handler that cannot drop privileges
# says why and exits 111.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(build forkd_start forkd_stop wait_log connect_tcp need_root
    free_port free_udp_port slurp spit tmpdir read_lines read_n wait_port
    alive count_log forkd_reload);
use IO::Select;
use IO::Socket::IP;
use POSIX ();
use Test::More;
use Time::HiRes qw(sleep time);

need_root();

my ($echod, $smtpd, $httpd, $pingd) = map { build($_) }
    qw(echod smtpd httpd pingd);
plan skip_all => 'build the handlers first (make)'
    unless -x $echod && -x $smtpd && -x $httpd;

$SIG{PIPE} = 'IGNORE';

# Children of $pid from /proc: pid => comm.
sub child_comms {
	my ($pid) = @_;
	my %k;
	for my $d (glob('/proc/[0-9]*')) {
		my $st = slurp("$d/stat") // next;
		$k{$1} = $2 if $st =~ /^(\d+) \((.*?)\) \S (\d+)/ && $3 == $pid;
	}
	return %k;
}

# Wait up to $timeout s (default 5) for a child of $pid named $comm; its pid.
sub wait_child {
	my ($pid, $comm, $timeout) = @_;
	my $end = time + ($timeout // 5);
	while (time < $end) {
		my %k = child_comms($pid);
		my ($c) = grep { $k{$_} eq $comm } sort keys %k;
		return $c if $c;
		sleep(0.05);
	}
	return undef;
}

# Wait up to $timeout s for $cond->() to be true.
sub wait_for {
	my ($cond, $timeout) = @_;
	my $end = time + ($timeout // 5);
	while (time < $end) {
		return 1 if $cond->();
		sleep(0.05);
	}
	return 0;
}

sub status_field {
	my ($pid, $field) = @_;
	my $s = slurp("/proc/$pid/status") // return undef;
	return $s =~ /^\Q$field\E:\s*(.*)$/m ? $1 : undef;
}

# Every handler under forkd runs filtered: Seccomp 2 (filter mode) and
# NoNewPrivs 1 in /proc/PID/status, whatever its mode; and a forbidden call
# kills it (a preloaded library makes one on SIGURG, after the filter is in).
{
	my $dir = tmpdir();
	my $spool = "$dir/spool";
	mkdir $spool;
	mkdir "$dir/www";
	spit("$dir/www/index.html", "hello\n");
	# httpd runs as nobody: the document root must be readable.
	chmod 0755, $dir, "$dir/www";
	chmod 0644, "$dir/www/index.html";
	my ($pe, $ps, $ph, $pu, $pp) = (free_port(), free_port(), free_port(),
	    free_udp_port(), free_udp_port());
	my $conf = "127.0.0.1:$pe stream tcp nowait root $echod echod\n"
	    . "127.0.0.1:$ps stream tcp nowait root $smtpd smtpd -n mx.test "
	    . "-m $spool\n"
	    . "127.0.0.1:$ph stream tcp prefork.1 nobody $httpd httpd "
	    . "-r $dir/www\n"
	    . "127.0.0.1:$pu dgram udp wait root $echod echod -x 30\n"
	    . "127.0.0.1:$pp dgram udp wait root $pingd pingd -x 30\n";
	mkdir "$dir/www/cgi-bin";
	chmod 0755, "$dir/www/cgi-bin";
	my %env;
	my $so = "$dir/violate.so";
	spit("$dir/violate.c", <<'EOC');
#include <signal.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <errno.h>
#include <fcntl.h>
/* On SIGURG: a system call no handler's profile allows. */
static void violate(int sig) { (void)sig; syscall(SYS_uname, 0); }
/* On SIGWINCH: one httpd's profile refuses (EACCES) without a kill. */
static void refused(int sig) {
	(void)sig;
	if (syscall(SYS_openat, AT_FDCWD, "/", O_RDONLY) == -1 &&
	    errno == EACCES)
		write(2, "openat refused: EACCES\n", 23);
}
__attribute__((constructor)) static void
violate_init(void) { signal(SIGURG, violate); signal(SIGWINCH, refused); }
EOC
	my $have_so = system("cc -shared -fPIC -o $so $dir/violate.c "
	    . "2>/dev/null") == 0;
	$env{LD_PRELOAD} = $so if $have_so;
	# In the sanitizer build the ASan runtime must come first in the
	# library list; the preloaded library intercepts nothing it needs.
	$env{ASAN_OPTIONS} = 'verify_asan_link_order=0' if $have_so;
	my $f = forkd_start(dir => $dir, conf => $conf, env => \%env,
	    wait_ports => [$ph]);
	my $fpid = $f->{pid};

	my $e = connect_tcp($pe) or die "echod: $!";
	syswrite($e, "x\n");
	is(read_n($e, 2, 5), "x\n", 'sandbox: echod (nowait) answers');
	my $s = connect_tcp($ps) or die "smtpd: $!";
	like(read_lines($s, 1, 5), qr/^220 /, 'sandbox: smtpd (nowait) greets');
	my $h = connect_tcp($ph) or die "httpd: $!";
	syswrite($h, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
	like(read_n($h, 12, 5), qr{^HTTP/1\.1 200},
	    'sandbox: httpd (prefork) answers');
	my $u = IO::Socket::IP->new(PeerHost => '127.0.0.1', PeerPort => $pu,
	    Proto => 'udp') or die "udp: $!";
	$u->send("d\n");
	my $got = IO::Select->new($u)->can_read(5) ? do { $u->recv(my $b, 99);
	    $b } : undef;
	is($got, "d\n", 'sandbox: echod (wait, udp) answers');
	my $up = IO::Socket::IP->new(PeerHost => '127.0.0.1', PeerPort => $pp,
	    Proto => 'udp') or die "udp: $!";
	$up->send("ping 1\n");
	$got = IO::Select->new($up)->can_read(5) ? do { $up->recv(my $b, 99);
	    $b } : undef;
	is($got, "PING 1\n", 'sandbox: pingd (wait, udp) answers');

	my %k = child_comms($fpid);
	my %by = ();
	push @{ $by{$k{$_}} }, $_ for keys %k;
	is(scalar(@{ $by{echod} // [] }), 2, 'sandbox: two echod handlers run');
	# httpd's CGI helper, its child, runs under its deny list.
	my %cgi = map { child_comms($_) } @{ $by{httpd} // [] };
	$by{'httpd cgi helper'} = [ keys %cgi ];
	for my $name (qw(echod smtpd httpd pingd), 'httpd cgi helper') {
		ok(@{ $by{$name} // [] }, "sandbox: $name found");
		for my $pid (@{ $by{$name} // [] }) {
			is(status_field($pid, 'Seccomp'), 2,
			    "sandbox: $name pid $pid: Seccomp 2 (filter loaded)");
			is(status_field($pid, 'NoNewPrivs'), 1,
			    "sandbox: $name pid $pid: NoNewPrivs 1");
		}
	}
	# Those that never fork may not: RLIMIT_NPROC 0 ("Max processes").
	for my $name (qw(echod smtpd pingd)) {
		for my $pid (@{ $by{$name} // [] }) {
			like(slurp("/proc/$pid/limits") // '',
			    qr/^Max processes\s+0\s+0\s/m,
			    "sandbox: $name pid $pid: RLIMIT_NPROC 0");
		}
	}
	# No core file from any handler (it may hold a message or a key).
	for my $name (qw(echod smtpd httpd pingd)) {
		for my $pid (@{ $by{$name} // [] }) {
			like(slurp("/proc/$pid/limits") // '',
			    qr/^Max core file size\s+0\s+0\s/m,
			    "sandbox: $name pid $pid: RLIMIT_CORE 0");
		}
	}
	# The descriptors their profiles allow: 16 for smtpd and pingd.
	for my $name (qw(smtpd pingd)) {
		for my $pid (@{ $by{$name} // [] }) {
			like(slurp("/proc/$pid/limits") // '',
			    qr/^Max open files\s+16\s+16\s/m,
			    "sandbox: $name pid $pid: RLIMIT_NOFILE 16");
		}
	}
	ok(@{ $by{smtpd} // [] } && @{ $by{httpd} // [] },
	    'sandbox: smtpd and httpd handlers found') or diag(explain(\%k));
	SKIP: {
		skip('no cc to build the violating library', 8) unless $have_so;
		my ($hp) = @{ $by{httpd} // [] };
		kill('WINCH', $hp) if $hp;
		ok(wait_log($f->{sl}, qr/: pid $hp: openat refused: EACCES/),
		    'sandbox: a call httpd\'s profile refuses fails with EACCES');
		ok(alive($hp), '... and httpd lives on');
		for my $name (qw(echod smtpd httpd)) {
			my ($pid) = @{ $by{$name} // [] } or next;
			kill('URG', $pid);
			ok(wait_for(sub { !alive($pid) }),
			    "sandbox: $name ends at a forbidden call");
		}
		for my $name (qw(echod smtpd httpd)) {
			ok(wait_log($f->{sl}, qr/: pid $by{$name}[0] killed by SIGSYS: /),
			    "sandbox: forkd logs the violation of $name (SIGSYS)");
		}
	}
	forkd_stop($f);
}

# A nowait handler holds fds 0, 1 and 2 and nothing else, leads its own
# session, and has PROTO and the four TCP variables of tcp-environ(5).
{
	my $p = free_port();
	my $perl = $^X;
	my $script = 'my @o; for (0 .. 1023) { my $d = POSIX::dup($_); '
	    . 'next unless defined $d; push @o, $_; POSIX::close($d) } '
	    . 'my ($sid) = (split " ", (do { local (@ARGV, $/) = '
	    . '"/proc/$$/stat"; <> } =~ s/^.*\) //sr))[3]; '
	    . 'print "fds @o\nsid ", ($sid == $$ ? "own" : "inherited"), "\n"; '
	    . 'print "$_=", ($ENV{$_} // "-"), "\n" for qw(PROTO TCPREMOTEIP '
	    . 'TCPREMOTEPORT TCPLOCALIP TCPLOCALPORT);';
	my $conf = "127.0.0.1:$p stream tcp nowait nobody $perl perl "
	    . "-MPOSIX -e $script\n";
	# The line's fields are split on blanks: the script goes in a file.
	my $dir = tmpdir();
	spit("$dir/h.pl", "use POSIX;\n$script\n");
	chmod 0755, $dir;
	chmod 0644, "$dir/h.pl";
	$conf = "127.0.0.1:$p stream tcp nowait nobody $perl perl $dir/h.pl\n";
	# forkd inherits descriptors its parent left open (3 and 250 here;
	# make's jobserver pipes under make check): no handler may see them.
	my $f = forkd_start(dir => $dir, conf => $conf, prefix => [$^X,
	    '-MPOSIX', '-e', 'my $fd = POSIX::open("/dev/null", O_RDONLY); '
	    . 'POSIX::dup2($fd, 250); exec @ARGV or die "exec: $!"']);
	ok(wait_log($f->{sl}, qr/started: 1 services/), 'nowait: forkd ready');
	my $c = connect_tcp($p) or die "connect: $!";
	my $out = read_n($c, 4096, 5);
	# perl opens its script on a descriptor it closes before running it.
	like($out, qr/^fds 0 1 2$/m, 'nowait: the handler holds fds 0-2 only')
	    or diag($out);
	like($out, qr/^sid own$/m, 'nowait: the handler leads its own session');
	is(($out =~ /^PROTO=(.*)$/m)[0], 'TCP', 'nowait: PROTO=TCP');
	is(($out =~ /^TCPREMOTEIP=(.*)$/m)[0], '127.0.0.1',
	    'nowait: TCPREMOTEIP');
	is(($out =~ /^TCPREMOTEPORT=(.*)$/m)[0], $c->sockport,
	    'nowait: TCPREMOTEPORT is the client\'s port');
	is(($out =~ /^TCPLOCALIP=(.*)$/m)[0], '127.0.0.1', 'nowait: TCPLOCALIP');
	is(($out =~ /^TCPLOCALPORT=(.*)$/m)[0], $p, 'nowait: TCPLOCALPORT');
	forkd_stop($f);
}

# What a handler writes to stderr in pieces is logged as one line.
{
	my $dir = tmpdir();
	chmod 0755, $dir;
	my $p = free_port();
	spit("$dir/pieces.sh", "#!/bin/sh\nprintf 'part one, ' >&2\nsleep 0.3\n"
	    . "printf 'part two\\n' >&2\necho done\n");
	chmod 0755, "$dir/pieces.sh";
	my $f = forkd_start(dir => $dir,
	    conf => "127.0.0.1:$p stream tcp nowait nobody $dir/pieces.sh x\n",
	    wait_ports => [$p]);
	my $c = connect_tcp($p);
	is($c ? read_n($c, 5, 5) : '', "done\n", 'stderr: the handler ran');
	ok(wait_log($f->{sl}, qr/: pid \d+: part one, part two$/),
	    'stderr: a line written in two pieces is logged whole');
	forkd_stop($f);
}

# A reload replaces a pool whose program changed and stops a removed pool:
# afterwards no old worker is alive (a zombie counts as dead only once
# /proc says Z), new connections reach the new program, and the removed
# service's port refuses.
{
	my $dir = tmpdir();
	my ($p1, $p2) = (free_port(), free_port());
	my $p3 = free_port();
	my $kept = "127.0.0.1:$p3 stream tcp prefork.1 nobody $echod echod -t\n";
	my $conf = "127.0.0.1:$p1 stream tcp prefork.2 nobody $echod echod\n"
	    . "127.0.0.1:$p2 stream tcp prefork.1 nobody $echod echod\n" . $kept;
	my $f = forkd_start(dir => $dir, conf => $conf,
	    wait_ports => [$p1, $p2, $p3]);
	ok(wait_for(sub { my %k = child_comms($f->{pid}); keys(%k) == 4 }),
	    'reload: four echod workers run');
	# The kept service's worker: the one whose command line has -t.
	my ($keep) = grep { (slurp("/proc/$_/cmdline") // '') =~ /\0-t\0/ }
	    keys %{ { child_comms($f->{pid}) } };
	my %old = child_comms($f->{pid});
	delete $old{$keep} if $keep;
	my $c = connect_tcp($p1);
	syswrite($c, "one\n");
	is(read_n($c, 4, 5), "one\n", 'reload: the old pool echoes');
	close($c);
	# The same listener, another program: httpd on a document root.
	mkdir "$dir/www";
	chmod 0755, $dir, "$dir/www";
	spit("$dir/www/index.html", "new pool\n");
	chmod 0644, "$dir/www/index.html";
	ok(forkd_reload($f, "127.0.0.1:$p1 stream tcp prefork.2 nobody $httpd httpd "
	    . "-r $dir/www\n" . $kept), 'reload: done');
	ok(wait_for(sub { !grep { alive($_) } keys %old }, 10),
	    'reload: every old worker has ended (none alive, none a zombie)')
	    or diag(join(' ', map { "$_=" . (slurp("/proc/$_/stat") // '-') }
	    keys %old));
	ok(wait_for(sub { my %k = child_comms($f->{pid});
	    (grep { $_ eq 'httpd' } values %k) == 2 }),
	    'reload: two httpd workers replace them');
	$c = connect_tcp($p1);
	syswrite($c, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	    if $c;
	like($c ? read_n($c, 65536, 5) : '', qr/\r\n\r\nnew pool\n\z/,
	    'reload: the port now serves the new program');
	ok(wait_for(sub { !connect_tcp($p2) }),
	    'reload: the removed service\'s port refuses connections');
	ok($keep && alive($keep), 'reload: the unchanged service keeps its worker');
	my %now = child_comms($f->{pid});
	is(scalar(grep { $_ eq 'echod' } values %now), 1,
	    'reload: ... and it has no other');
	forkd_stop($f);
}

# A prefork handler killed (SIGKILL) in its first second counts as dying at
# start: the pool backs off. Only forkd's own SIGTERM is no failure.
{
	my $p = free_port();
	my $f = forkd_start(
	    conf => "127.0.0.1:$p stream tcp prefork.1 nobody $echod echod\n",
	    wait_ports => [$p]);
	my $w = wait_child($f->{pid}, 'echod');
	kill('KILL', $w) if $w;
	ok(wait_log($f->{sl}, qr/\Q127.0.0.1:$p\E\/tcp: handler died \d+ ms after start: next in 250 ms/),
	    'back-off: a worker killed in its first second backs the pool off');
	# One that lived past its first second is replaced at once, no
	# back-off logged.
	my $w2;
	ok(wait_for(sub { ($w2) = grep { $_ != ($w // 0) }
	    grep { alive($_) } wait_child($f->{pid}, 'echod') // (); $w2 }),
	    'back-off: the worker replaced');
	wait_for(sub { 0 }, 1.3);	# it lives past its first second
	my $died = count_log($f->{sl}, qr/\Q127.0.0.1:$p\E\/tcp: handler died/);
	kill('KILL', $w2) if $w2;
	ok(wait_log($f->{sl}, qr/\Q127.0.0.1:$p\E\/tcp: pid $w2 killed by signal 9/),
	    'back-off: the worker that lived was killed');
	ok(wait_for(sub { my $n = wait_child($f->{pid}, 'echod', 0.1);
	    $n && $n != $w2 }), 'back-off: ... and replaced');
	is(count_log($f->{sl}, qr/\Q127.0.0.1:$p\E\/tcp: handler died/), $died,
	    'back-off: no back-off for a worker that lived');
	forkd_stop($f);
}

# A program whose execv fails: the reason, and exit 111.
{
	my $dir = tmpdir();
	chmod 0755, $dir;
	my $p = free_port();
	# Executable, but its interpreter is missing: execv fails (ENOENT).
	spit("$dir/noexec", "#!/nonexistent/sh\necho ran\n");
	chmod 0755, "$dir/noexec";
	my $f = forkd_start(dir => $dir,
	    conf => "127.0.0.1:$p stream tcp nowait nobody $dir/noexec noexec\n",
	    wait_ports => [$p]);
	my $c = connect_tcp($p);
	is($c ? read_n($c, 64, 5) : '', '', 'execv: nothing runs');
	ok(wait_log($f->{sl}, qr/: pid \d+: execv \Q$dir\E\/noexec: No such file or directory/),
	    'execv: the reason is logged');
	ok(wait_log($f->{sl}, qr/\Q127.0.0.1:$p\E\/tcp: pid \d+ exited 111 /),
	    'execv: the handler exits 111');
	forkd_stop($f);
}

# tcp6 and udp6 services are bound IPv6-only (forkd.conf(5)): reached on
# ::1, not on 127.0.0.1 through a v4-mapped address.
SKIP: {
	my $probe = IO::Socket::IP->new(LocalAddr => '::1', LocalPort => 0,
	    Proto => 'tcp', Listen => 1);
	skip('no IPv6 loopback', 5) unless $probe;
	close($probe);
	my ($pt, $pu) = (free_port(), free_udp_port());
	my $conf = "$pt stream tcp6 nowait nobody $echod echod\n"
	    . "$pu dgram udp6 wait nobody $echod echod -x 30\n";
	my $f = forkd_start(conf => $conf);
	ok(wait_port($pt, 5, '::1'), 'tcp6: reached on ::1');
	my $c4 = IO::Socket::IP->new(PeerHost => '127.0.0.1', PeerPort => $pt,
	    Proto => 'tcp');
	ok(!$c4, 'tcp6: 127.0.0.1 is refused (IPV6_V6ONLY)');
	my $u6 = IO::Socket::IP->new(PeerHost => '::1', PeerPort => $pu,
	    Proto => 'udp') or die "udp6: $!";
	$u6->send("six\n");
	my $got = IO::Select->new($u6)->can_read(5) ? do { $u6->recv(my $b, 99);
	    $b } : undef;
	is($got, "six\n", 'udp6: answered on ::1');
	# An IPv4 datagram to the port: no socket of forkd's takes it.
	my $u4 = IO::Socket::IP->new(PeerHost => '127.0.0.1', PeerPort => $pu,
	    Proto => 'udp') or die "udp4: $!";
	$u4->send("four\n");
	# An ICMP port unreachable makes the socket readable too: only data
	# counts as an answer.
	my $b4 = '';
	$u4->recv($b4, 99) if IO::Select->new($u4)->can_read(1);
	is($b4 // '', '', 'udp6: 127.0.0.1 not answered');
	my $bound = join('', map { slurp($_) // '' } '/proc/net/udp');
	my $hex = sprintf(':%04X ', $pu);
	ok($bound !~ /^\s*\d+: [0-9A-F]{8}\Q$hex\E/m,
	    'udp6: no IPv4 socket bound on the port');
	forkd_stop($f);
}

# SIGINT does what SIGTERM does: handlers stopped, pidfile removed, exit 0.
{
	my $dir = tmpdir();
	my $p = free_port();
	my $f = forkd_start(dir => $dir, args => ['-p', "$dir/forkd.pid"],
	    conf => "127.0.0.1:$p stream tcp prefork.2 nobody $echod echod\n",
	    wait_ports => [$p]);
	ok(wait_for(sub { -s "$dir/forkd.pid" }), 'SIGINT: pidfile written');
	ok(wait_for(sub { my %k = child_comms($f->{pid}); keys(%k) == 2 }),
	    'SIGINT: two workers');
	my %k = child_comms($f->{pid});
	kill('INT', $f->{pid});
	my $end = time + 10;
	my $st;
	while (time < $end) {
		if (waitpid($f->{pid}, POSIX::WNOHANG()) == $f->{pid}) {
			$st = $?;
			last;
		}
		sleep(0.05);
	}
	$f->{pid} = 0 if defined $st;
	is($st, 0, 'SIGINT: forkd exits 0');
	ok(!grep({ alive($_) } keys %k), 'SIGINT: its workers are gone');
	ok(!-e "$dir/forkd.pid", 'SIGINT: pidfile removed');
	ok(wait_log($f->{sl}, qr/stopping: \d+ children to end/),
	    'SIGINT: logged as a stop');
	forkd_stop($f);
}

# -d without -p writes no pidfile (forkd.8): not the default one.
SKIP: {
	my $default = '/var/run/forkd.pid';
	skip("$default exists already (a forkd runs here?)", 1) if -e $default;
	my $p = free_port();
	my $f = forkd_start(
	    conf => "127.0.0.1:$p stream tcp nowait nobody /bin/echo echo\n");
	ok(wait_log($f->{sl}, qr/started: 1 services/), '-d: forkd started');
	ok(!-e $default, "-d without -p: no $default");
	forkd_stop($f);
}

# nowait.0: no looping cap (forkd.conf(5)); nowait.3 closes after 3.
{
	my ($p0, $p3) = (free_port(), free_port());
	my $f = forkd_start(conf =>
	    "127.0.0.1:$p0 stream tcp nowait.0 nobody /bin/echo echo zero\n"
	    . "127.0.0.1:$p3 stream tcp nowait.3 nobody /bin/echo echo three\n");
	ok(wait_log($f->{sl}, qr/started: 2 services/), '.max: forkd started');
	my ($n0, $n3) = (0, 0);
	for (1 .. 12) {
		my $c = connect_tcp($p0) or last;
		$n0++ if read_n($c, 5, 5) eq "zero\n";
	}
	for (1 .. 5) {
		my $c = connect_tcp($p3) or last;
		$n3++ if read_n($c, 6, 5) eq "three\n";
	}
	is($n0, 12, 'nowait.0: 12 connections in a row all served');
	ok(!count_log($f->{sl}, qr/\Q127.0.0.1:$p0\E.*more than/),
	    'nowait.0: the looping guard never trips');
	is($n3, 3, 'nowait.3: the fourth connection in 60 s is refused');
	forkd_stop($f);
}

# user:group and the user's supplementary groups (initgroups) at run time.
# The test gets its own /etc/passwd and /etc/group in a private mount
# namespace, so the machine's files are never touched.
SKIP: {
	skip('mount namespace not available', 4)
	    if system('unshare -m true 2>/dev/null') != 0;
	my $dir = tmpdir();
	chmod 0755, $dir;
	my $pw = slurp('/etc/passwd');
	my $gr = slurp('/etc/group');
	spit("$dir/passwd", $pw . "forkdt:x:4711:4711::/nonexistent:"
	    . "/usr/sbin/nologin\n");
	spit("$dir/group", $gr . "forkdt:x:4711:\nforkdg1:x:4712:forkdt\n"
	    . "forkdg2:x:4713:forkdt\nforkdmain:x:4714:\n");
	my $p1 = free_port();
	my $p2 = free_port();
	my $id = '/usr/bin/id';
	my $conf = "127.0.0.1:$p1 stream tcp nowait forkdt $id id\n"
	    . "127.0.0.1:$p2 stream tcp nowait forkdt:forkdmain $id id\n";
	# forkd under a wrapper that binds the files over /etc's first.
	my $wrap = "$dir/wrap.sh";
	spit($wrap, "#!/bin/sh\nset -e\nmount --bind $dir/passwd /etc/passwd\n"
	    . "mount --bind $dir/group /etc/group\nexec \"\$@\"\n");
	chmod 0755, $wrap;
	my $f = forkd_start(dir => $dir, conf => $conf,
	    prefix => ['unshare', '-m', $wrap]);
	ok(wait_log($f->{sl}, qr/started: 2 services/), 'groups: forkd started')
	    or diag(slurp($f->{stderr}));
	my $c = connect_tcp($p1);
	my $out = $c ? read_n($c, 4096, 5) : '';
	like($out, qr/^uid=4711\(forkdt\) gid=4711\(forkdt\) groups=(\S+)$/m,
	    'groups: user forkdt, its primary group') or diag($out);
	my ($g) = $out =~ /groups=(\S+)/;
	is(join(',', sort map { /^(\d+)/ } split(/,/, $g // '')),
	    '4711,4712,4713', 'groups: supplementary groups forkdg1, forkdg2');
	$c = connect_tcp($p2);
	$out = $c ? read_n($c, 4096, 5) : '';
	like($out, qr/^uid=4711\(forkdt\) gid=4714\(forkdmain\) /m,
	    'groups: user:group sets the group') or diag($out);
	forkd_stop($f);
}

# A handler that cannot drop privileges says why and exits 111, and never
# runs the program: here forkd runs without CAP_SETGID and CAP_SETUID.
SKIP: {
	skip('setpriv(1) not installed', 3)
	    if system('setpriv --version >/dev/null 2>&1') != 0;
	my $dir = tmpdir();
	my $p = free_port();
	my $f = forkd_start(dir => $dir,
	    conf => "127.0.0.1:$p stream tcp nowait nobody /bin/echo echo ran\n",
	    prefix => ['setpriv', '--bounding-set', '-setgid,-setuid',
	    '--inh-caps', '-setgid,-setuid']);
	ok(wait_log($f->{sl}, qr/started: 1 services/), 'privileges: started')
	    or diag(slurp($f->{stderr}));
	my $c = connect_tcp($p);
	is($c ? read_n($c, 64, 5) : 'no connection', '',
	    'privileges: the program never runs');
	ok(wait_log($f->{sl}, qr/pid \d+: (initgroups|setgid|setuid) \S+: Operation not permitted/),
	    'privileges: the reason is logged');
	ok(wait_log($f->{sl}, qr/pid \d+ exited 111 /),
	    'privileges: the handler exits 111');
	forkd_stop($f);
}

done_testing();
