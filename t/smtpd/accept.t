#!/usr/bin/perl
# A pool of smtpd workers sharing one listener, as forkd's prefork.N runs
# them: an idle worker waits in accept(2) itself, where the kernel wakes
# one sleeper a connection, not in poll(2), which woke the whole pool.
# SIGTERM (a drain) and SIGHUP (the supervisor gone) still end a worker
# asleep there at once. A listener another holder made non-blocking
# (across an upgrade, the old forkd's workers) is waited on with poll(2)
# and served the same. After QUIT with nothing unread a worker closes at
# once and is free for the next client, not after a wait for the client's
# own close. Descriptor 1 closes with the listener only when it is the
# listener.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(build tmpdir slurp listen_exec wait_exit alive crlf
    connect_tcp read_lines read_n);
use IO::Select;
use POSIX ();
use Test::More;
use Time::HiRes qw(time sleep);

my $smtpd = build('smtpd');
plan skip_all => "build/smtpd not built" unless -x $smtpd;
$SIG{PIPE} = 'IGNORE';
my $dir = tmpdir();

# One whole session; returns every byte smtpd sent.
sub session {
	my ($port, $text) = @_;
	my $s = connect_tcp($port) or return "connect: $!";
	my $got = read_lines($s, 1);
	for my $l ('HELO pool.test', 'MAIL FROM:<a@b>', 'RCPT TO:<c@d>',
	    'DATA', "$text\r\n.", 'QUIT') {
		syswrite($s, "$l\r\n");
		$got .= read_lines($s, 1);
	}
	return $got;
}

# The system call a process sleeps in, by number (/proc/PID/syscall),
# waiting up to 5 s for it to sleep (in system call $want, if given):
# undef when it runs, or that cannot be read.
sub sleeping_in {
	my ($pid, $want) = @_;
	my $end = time + 5;
	my $nr;
	while (time < $end) {
		my $sc = slurp("/proc/$pid/syscall") // return undef;
		$nr = $sc =~ /^(\d+) / ? $1 : undef;
		return $nr if defined $nr && (!defined $want || $nr == $want);
		sleep(0.05);
	}
	return $nr;
}

my %nr = (accept4 => 288, ppoll => 271);	# x86_64
my $x86 = (POSIX::uname())[4] eq 'x86_64';

for my $case ([blocking => 0, 'accept4'], [nonblocking => 1, 'ppoll']) {
	my ($name, $nonblock, $wait) = @$case;
	my $spool = "$dir/$name";
	mkdir $spool or die;
	my ($port, @pids) = listen_exec(workers => 3, nonblock => $nonblock,
	    stderr => "$dir/$name.err",
	    cmd => [$smtpd, '-d', '-n', 'mx.test', '-m', $spool]);
	my $n = 0;
	my $all = 1;
	for my $i (1 .. 6) {
		my $got = session($port, "message $i");
		$n++;
		$all = 0 unless $got eq crlf('220 mx.test SMTP CS4410MP3',
		    '250 mx.test', '250 OK', '250 OK',
		    '354 End data with <CR><LF>.<CR><LF>',
		    "250 OK:  delivered message $n",
		    '221 2.0.0 mx.test closing connection');
	}
	ok($all, "$name listener: six sessions in turn, every reply exact");
	my @numbers = (slurp("$spool/mailbox") // '') =~ /^Number: (\d+)$/mg;
	is("@numbers", '1 2 3 4 5 6', "$name listener: six messages on disk");
	SKIP: {
		skip '/proc/PID/syscall numbers known for x86_64 only', 1
		    unless $x86;
		is(sleeping_in($pids[0], $nr{$wait}), $nr{$wait},
		    "$name listener: an idle worker waits in $wait");
	}
	# The drain and the supervisor's death end a worker asleep there.
	# The second may never have served: it may still be starting, and
	# die of the signal before smtpd catches it.
	$x86 ? sleeping_in($pids[1], $nr{$wait}) : sleep(1);
	my $t0 = time;
	kill('TERM', $pids[0]);
	kill('HUP', $pids[1]);
	my @st = map { wait_exit($_, 3) } @pids[0, 1];
	ok(defined $st[0] && $st[0] == 0 && defined $st[1] && $st[1] == 0,
	    "$name listener: SIGTERM and SIGHUP end idle workers, exit 0")
	    or diag('wait statuses: ', join(' ', map { $_ // 'running' } @st),
	    "; their stderr:\n", slurp("$dir/$name.err") // '');
	cmp_ok(time - $t0, '<', 2.5, "$name listener: at once");
	like(slurp("$dir/$name.err") // '',
	    qr/SIGTERM, draining: no more connections, exiting/,
	    "$name listener: the drain is logged");
	ok(alive($pids[2]), "$name listener: the third worker still runs");
	like(session($port, 'after'), qr/^250 OK:  delivered message 7\r$/m,
	    "$name listener: and serves");
	kill('TERM', $pids[2]);
	is(wait_exit($pids[2], 3), 0, "$name listener: then drains too");
}

# One worker; the first client reads its 221 and the end of the stream but
# keeps its socket open. Lingering for its close (up to 1 s) would hold
# the second client's greeting that long.
{
	my $spool = "$dir/quit";
	mkdir $spool or die;
	my ($port, $pid) = listen_exec(cmd => [$smtpd, '-n', 'mx.test', '-m',
	    $spool]);
	my $a = connect_tcp($port) or die "connect: $!";
	my $got = read_lines($a, 1);
	syswrite($a, "QUIT\r\n");
	$got .= read_n($a, 65536);	# to the end of the stream
	is($got, crlf('220 mx.test SMTP CS4410MP3',
	    '221 2.0.0 mx.test closing connection'), 'QUIT: 221, then EOF');
	my $t0 = time;
	my $b = connect_tcp($port) or die "connect: $!";
	my $greet = read_lines($b, 1);
	my $dt = time - $t0;
	is($greet, crlf('220 mx.test SMTP CS4410MP3'),
	    'the next client is greeted while the first still holds its socket');
	cmp_ok($dt, '<', 0.8, 'at once, not after a 1 s linger')
	    or diag(sprintf('greeting after %.3f s', $dt));
	close($a);
	close($b);
	kill('TERM', $pid);
	is(wait_exit($pid, 3), 0, 'the worker drains');
}

# Descriptor 1 here is a pipe the test holds, not the listener (forkd
# and inetd's wait give the socket on both): a drain closes fd 0 at once,
# but fd 1 stays open until the worker exits.
{
	my $spool = "$dir/fd1";
	mkdir $spool or die;
	pipe(my $r, my $w) or die "pipe: $!";
	my ($port, $pid) = listen_exec(stdout => $w,
	    cmd => [$smtpd, '-n', 'mx.test', '-m', $spool]);
	close($w);
	my $c = connect_tcp($port) or die "connect: $!";
	is(read_lines($c, 1), crlf('220 mx.test SMTP CS4410MP3'),
	    'fd 1 a pipe: greeted');
	kill('TERM', $pid);
	my $early = IO::Select->new($r)->can_read(1) ? 'EOF' : 'open';
	is($early, 'open', 'drain: fd 1, not the listener, stays open');
	syswrite($c, "QUIT\r\n");
	is(read_lines($c, 1), crlf('221 2.0.0 mx.test closing connection'),
	    'the session ends as usual');
	is(wait_exit($pid, 3), 0, 'the worker exits 0') or kill('KILL', $pid);
	my $end = IO::Select->new($r)->can_read(3) &&
	    !sysread($r, my $x, 1) ? 'EOF' : 'open';
	is($end, 'EOF', 'and only then fd 1 closes');
}

done_testing();
