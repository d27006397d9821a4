#!/usr/bin/perl
# How forkd starts a handler, checked in the handler itself: its
# environment is forkd's own without the variables forkd sets per handler,
# then those variables made afresh (UCSPI-TCP names for a nowait client
# only, FORKD_LOG once, FORKD_REFUSED, FORKD_PROXY and FORKD_PERSOURCE_FD
# never inherited), whether the handler is cloned (nowait, wait) or forked
# (a nowait service with per-source limits); a forkd that is not root
# refuses to run a handler as another user, says why and the child exits
# 111, as does one that cannot setuid, naming that step; a reap counts
# the exit by status and frees a nowait handler's per-source slot; and
# nowait.0 is told apart from the default .max of 256: the first
# never trips the looping guard, the second trips at the 257th spawn.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(build forkd_start forkd_stop wait_log connect_tcp need_root
    free_port log_lines slurp spit tmpdir read_n syslog_start syslog_wrap
    tcp_listening);
use IO::Socket::IP;
use POSIX ();
use Test::More;
use Time::HiRes qw(sleep time);

need_root();
$SIG{PIPE} = 'IGNORE';

# The handler: fds, then each environment entry of interest as the kernel
# gave it (/proc/self/environ, so a variable set twice shows twice). On a
# listening socket (wait) it accepts one client first.
my $names = join('|', qw(PROTO TCPREMOTEIP TCPREMOTEPORT TCPLOCALIP
    TCPLOCALPORT FORKD_LOG FORKD_REFUSED FORKD_PROXY FORKD_PERSOURCE_FD
    FORKD_TEST_KEEP));
my $script = <<"EOF";
use POSIX ();
use Socket;
my \@fds;
for (0 .. 1023) {
	my \$d = POSIX::dup(\$_);
	next unless defined \$d;
	push \@fds, \$_;
	POSIX::close(\$d);
}
my \$out = \\*STDOUT;
if (getsockopt(STDIN, SOL_SOCKET, SO_ACCEPTCONN) &&
    unpack('i', getsockopt(STDIN, SOL_SOCKET, SO_ACCEPTCONN))) {
	accept(C, STDIN) or exit 1;
	\$out = \\*C;
}
open(my \$e, '<', '/proc/self/environ') or exit 1;
my \@env = split(/\\0/, do { local \$/; <\$e> });
print \$out "fds=\@fds\\n";
print \$out "\$_\\n" for sort grep { /^(?:$names)=/ } \@env;
print \$out "end\\n";
EOF

my $dir = tmpdir();
chmod 0755, $dir;
spit("$dir/env.pl", $script);
chmod 0644, "$dir/env.pl";

# What forkd was started with: each name it sets, with a wrong value.
my %dirty = (PROTO => 'UDP', TCPREMOTEIP => '192.0.2.1',
    TCPREMOTEPORT => '1', TCPLOCALIP => '192.0.2.2', TCPLOCALPORT => '2',
    FORKD_LOG => 'syslog', FORKD_REFUSED => '1', FORKD_PROXY => '1',
    FORKD_PERSOURCE_FD => '9', FORKD_TEST_KEEP => 'kept');

# The lines a handler on $port printed, as a hash of lists (name => values).
sub handler_env {
	my ($port, $c) = @_;
	$c //= connect_tcp($port) or return {};
	my %v;
	for (split(/\n/, read_n($c, 4096, 5))) {
		push @{ $v{$1} }, $2 if /^([^=]+)=(.*)$/;
	}
	return \%v;
}

{
	my ($pn, $pw, $pp, $pq, $px) = map { free_port() } 1 .. 5;
	my $h = "nobody $^X perl $dir/env.pl\n";
	my $conf = "127.0.0.1:$pn stream tcp nowait $h"
	    . "127.0.0.1:$pw stream tcp wait $h"
	    . "127.0.0.1:$pp stream tcp nowait/0/0/4 $h"
	    . "127.0.0.1:$pq stream tcp wait/0/0/4 $h"
	    . "127.0.0.1:$px stream tcp wait+proxy $h";
	my $f = forkd_start(dir => $dir, conf => $conf, env => \%dirty,
	    wait_ports => [$pn, $pw, $pp, $pq, $px]);
	ok(wait_log($f->{sl}, qr/started: 5 services/), 'env: forkd started');

	my $c = connect_tcp($pn);
	my $v = handler_env($pn, $c);
	is_deeply($v->{PROTO}, ['TCP'], 'nowait: PROTO=TCP, once');
	is_deeply($v->{TCPREMOTEIP}, ['127.0.0.1'], 'nowait: TCPREMOTEIP');
	is_deeply($v->{TCPREMOTEPORT}, [$c ? $c->sockport : -1],
	    'nowait: TCPREMOTEPORT is the client\'s, once');
	is_deeply($v->{TCPLOCALIP}, ['127.0.0.1'], 'nowait: TCPLOCALIP');
	is_deeply($v->{TCPLOCALPORT}, [$pn], 'nowait: TCPLOCALPORT, once');
	is_deeply($v->{FORKD_LOG}, ['stderr'],
	    'nowait: FORKD_LOG=stderr under -d, once');
	ok(!exists $v->{$_}, "nowait: no inherited $_") for
	    qw(FORKD_REFUSED FORKD_PROXY FORKD_PERSOURCE_FD);
	is_deeply($v->{FORKD_TEST_KEEP}, ['kept'],
	    'nowait: forkd\'s other variables are passed on');
	is_deeply($v->{fds}, ['0 1 2'], 'nowait: fds 0-2 only');

	$v = handler_env($pw);
	ok(!exists $v->{$_}, "wait: no $_ (the handler accepts)") for
	    qw(PROTO TCPREMOTEIP TCPREMOTEPORT TCPLOCALIP TCPLOCALPORT
	    FORKD_REFUSED FORKD_PROXY FORKD_PERSOURCE_FD);
	is_deeply($v->{FORKD_LOG}, ['stderr'], 'wait: FORKD_LOG, once');
	is_deeply($v->{FORKD_TEST_KEEP}, ['kept'], 'wait: FORKD_TEST_KEEP');
	is_deeply($v->{fds}, ['0 1 2'], 'wait: fds 0-2 only');

	# Per-source limits: the child counts its client before exec.
	$c = connect_tcp($pp);
	$v = handler_env($pp, $c);
	is_deeply($v->{TCPREMOTEPORT}, [$c ? $c->sockport : -1],
	    'per-source nowait: TCPREMOTEPORT, once');
	is_deeply($v->{PROTO}, ['TCP'], 'per-source nowait: PROTO, once');
	ok(!exists $v->{$_}, "per-source nowait: no $_") for
	    qw(FORKD_REFUSED FORKD_PROXY FORKD_PERSOURCE_FD);
	is_deeply($v->{FORKD_TEST_KEEP}, ['kept'],
	    'per-source nowait: FORKD_TEST_KEEP');
	is_deeply($v->{fds}, ['0 1 2'],
	    'per-source nowait: fds 0-2 (the table is closed at exec)');

	# A wait handler with per-source limits counts its clients itself.
	$v = handler_env($pq);
	is_deeply($v->{FORKD_PERSOURCE_FD}, ['3'],
	    'per-source wait: FORKD_PERSOURCE_FD=3, once');
	is_deeply($v->{fds}, ['0 1 2 3'], 'per-source wait: fds 0-3');
	ok(!exists $v->{$_}, "per-source wait: no $_") for
	    qw(PROTO TCPREMOTEIP FORKD_REFUSED FORKD_PROXY);

	# A wait handler of a +proxy service reads the header itself.
	$v = handler_env($px);
	is_deeply($v->{FORKD_PROXY}, ['1'], '+proxy wait: FORKD_PROXY=1, once');
	ok(!exists $v->{FORKD_PERSOURCE_FD}, '+proxy wait: no per-source fd');
	forkd_stop($f);
}

# A forkd that is not root cannot run a handler as another user: the
# child says why and exits 111, and the program never runs.
SKIP: {
	skip('setpriv(1) not installed', 3)
	    if system('setpriv --version >/dev/null 2>&1') != 0;
	my $d = tmpdir();
	chmod 0755, $d;
	my $p = free_port();
	spit("$d/forkd.conf",
	    "127.0.0.1:$p stream tcp nowait root /bin/echo echo ran\n");
	chmod 0644, "$d/forkd.conf";
	my $sl = syslog_start($d);
	my $pid = fork() // die "fork: $!";
	if ($pid == 0) {
		open(STDIN, '<', '/dev/null');
		open(STDOUT, '>', '/dev/null');
		open(STDERR, '>', "$d/forkd.stderr");
		exec(syslog_wrap($sl), 'setpriv', '--reuid=65534',
		    '--regid=65534', '--clear-groups', build('forkd'), '-d',
		    '-f', "$d/forkd.conf") or POSIX::_exit(127);
	}
	push @Forkd::STARTED, $pid;
	my $f = { pid => $pid, sl => $sl };
	tcp_listening($p, 20) or diag(slurp("$d/forkd.stderr"));
	my $c = connect_tcp($p);
	is($c ? read_n($c, 64, 5) : 'no connection', '',
	    'not root: the program never runs');
	ok(wait_log($sl, qr/: pid \d+: cannot run as root: forkd is not root/),
	    'not root: the reason is logged');
	ok(wait_log($sl, qr/: pid \d+ exited 111 /),
	    'not root: the handler exits 111');
	forkd_stop($f);
}

# Without CAP_SETUID the groups and the group change, the user does not:
# the step that failed is the one logged.
SKIP: {
	skip('setpriv(1) not installed', 3)
	    if system('setpriv --version >/dev/null 2>&1') != 0;
	my $p = free_port();
	my $f = forkd_start(
	    conf => "127.0.0.1:$p stream tcp nowait nobody /bin/echo echo ran\n",
	    prefix => ['setpriv', '--bounding-set', '-setuid', '--inh-caps',
	    '-setuid'], wait_ports => [$p]);
	my $c = connect_tcp($p);
	is($c ? read_n($c, 64, 5) : 'no connection', '',
	    'no CAP_SETUID: the program never runs');
	my $uid = (getpwnam('nobody'))[2];
	ok(wait_log($f->{sl},
	    qr/: pid \d+: setuid $uid: Operation not permitted/),
	    'no CAP_SETUID: setuid is the step logged');
	ok(wait_log($f->{sl}, qr/: pid \d+ exited 111 /),
	    'no CAP_SETUID: the handler exits 111');
	forkd_stop($f);
}

# What a reap gives back: each exit counted by status for SIGUSR1, and
# the per-source slot a nowait handler held, freed (a debug line, -v).
{
	my ($pf, $ps) = (free_port(), free_port());
	my $f = forkd_start(args => ['-v'], conf =>
	    "127.0.0.1:$pf stream tcp nowait nobody /bin/false false\n"
	    . "127.0.0.1:$ps stream tcp nowait/0/0/4 nobody /bin/true true\n",
	    wait_ports => [$pf, $ps]);
	for (1 .. 3) {
		my $c = connect_tcp($pf);
		read_n($c, 1, 5) if $c;
	}
	my $c = connect_tcp($ps);
	read_n($c, 1, 5) if $c;
	my $end = time + 10;
	sleep(0.05) while time < $end &&
	    grep({ /\Q127.0.0.1:$pf\E.* exited 1 / } log_lines($f->{sl})) < 3;
	ok(wait_log($f->{sl},
	    qr/\Q127.0.0.1:$ps\E.*: pid \d+ held 1 per-source slots: freed/),
	    'reap: the slot a nowait handler held is freed, logged');
	kill('USR1', $f->{pid});
	ok(wait_log($f->{sl},
	    qr/status: \Q127.0.0.1:$pf\E\/tcp: .*exits 1:3\b/),
	    'reap: three exits with status 1 counted for SIGUSR1');
	forkd_stop($f);
}

# nowait.0 has no looping cap; plain nowait has inetd's 256 a minute. A
# burst of 300 connections tells them apart: each is made and served in
# turn, so the burst is over well within the guard's minute.
{
	my ($p0, $pd) = (free_port(), free_port());
	my $f = forkd_start(conf =>
	    "127.0.0.1:$p0 stream tcp nowait.0 nobody /bin/echo echo zero\n"
	    . "127.0.0.1:$pd stream tcp nowait nobody /bin/echo echo dflt\n",
	    wait_ports => [$p0, $pd]);
	my ($n0, $nd) = (0, 0);
	for (1 .. 300) {
		my $c = connect_tcp($p0) or last;
		$n0++ if read_n($c, 5, 5) eq "zero\n";
	}
	for (1 .. 300) {
		my $c = connect_tcp($pd) or last;
		$nd++ if read_n($c, 5, 5) eq "dflt\n";
	}
	is($n0, 300, 'nowait.0: 300 connections in a row all served');
	ok(!grep({ /\Q127.0.0.1:$p0\E.*more than/ } log_lines($f->{sl})),
	    'nowait.0: the looping guard never trips');
	is($nd, 256, 'nowait (default .max 256): the 257th spawn in 60 s is '
	    . 'refused');
	ok(wait_log($f->{sl},
	    qr/\Q127.0.0.1:$pd\E.*more than 256 spawns in 60 s/),
	    'nowait (default): the looping guard is logged');
	forkd_stop($f);
}

done_testing();
