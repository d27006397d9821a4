#!/usr/bin/perl
# bench/supervisor.pl: connections per second through forkd, against the
# supervisors it stands beside, in the same run, all serving the same
# build/echod -t on loopback:
#   forkd nowait, forkd prefork.2, openbsd-inetd nowait, ucspi-tcp tcpserver.
# Each client connection sends "hello\n.\n" and reads until the close.
# 4 clients at once, each doing at most N connections (default 1000) or
# for at most 20 seconds. Run after `make`: perl bench/supervisor.pl [N]
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../t/lib";
use Forkd qw(build tmpdir free_port wait_port spit);
use IO::Socket::IP;
use POSIX ();
use Time::HiRes qw(time sleep);

my $n = shift // 1000;
my $clients = 4;
my $echod = build('echod');
-x $echod && -x build('forkd') or die "bench: make first\n";
my $dir = tmpdir();

sub run_client {
	my ($port, $count, $deadline) = @_;
	my $done = 0;
	while ($done < $count && time < $deadline) {
		my $s = IO::Socket::IP->new(PeerHost => '127.0.0.1',
		    PeerPort => $port, Proto => 'tcp') or next;
		syswrite($s, "hello\n.\n");
		my $buf;
		1 while sysread($s, $buf, 4096);
		close($s);
		$done++;
	}
	return $done;
}

sub measure {
	my ($name, $port) = @_;
	unless (wait_port($port, 5)) {
		printf "%-24s did not listen\n", $name;
		return;
	}
	my $t0 = time;
	my $deadline = $t0 + 20;
	my @pids;
	for my $c (1 .. $clients) {
		pipe(my $r, my $w) or die;
		my $pid = fork() // die;
		if ($pid == 0) {
			close($r);
			print $w run_client($port, $n, $deadline), "\n";
			close($w);
			POSIX::_exit(0);
		}
		close($w);
		push @pids, [$pid, $r];
	}
	my $total = 0;
	for my $p (@pids) {
		my $fh = $p->[1];
		my $l = <$fh> // 0;
		$total += $l;
		waitpid($p->[0], 0);
	}
	my $dt = time - $t0;
	printf "%-24s %6d connections in %6.2f s: %8.0f/s\n", $name, $total,
	    $dt, $total / $dt;
}

sub start {
	my (@cmd) = @_;
	my $pid = fork() // die;
	if ($pid == 0) {
		open(STDOUT, '>', '/dev/null');
		open(STDERR, '>', '/dev/null');
		exec(@cmd) or POSIX::_exit(127);
	}
	return $pid;
}

sub stop {
	my ($pid) = @_;
	kill('TERM', $pid);
	waitpid($pid, 0);
}

print "echo connections/s, $clients clients, up to $n connections each\n";

my ($pn, $pp) = (free_port(), free_port());
spit("$dir/forkd.conf",
    "127.0.0.1:$pn stream tcp nowait.0 nobody $echod echod -t\n" .
    "127.0.0.1:$pp stream tcp prefork.2 nobody $echod echod -t\n");
my $f = start(build('forkd'), '-d', '-f', "$dir/forkd.conf");
measure('forkd nowait', $pn);
measure('forkd prefork.2', $pp);
stop($f);

if (-x '/usr/sbin/inetd') {
	my $pi = free_port();
	spit("$dir/inetd.conf",
	    "127.0.0.1:$pi stream tcp nowait.100000 nobody $echod echod -t\n");
	my $i = start('/usr/sbin/inetd', '-d', "$dir/inetd.conf");
	measure('openbsd-inetd nowait', $pi);
	stop($i);
} else {
	print "openbsd-inetd: not installed (apt-get install openbsd-inetd)\n";
}

if (-x '/usr/bin/tcpserver') {
	my $pt = free_port();
	my $t = start('/usr/bin/tcpserver', '-c', '100', '-H', '-R', '-l', '0',
	    '127.0.0.1', $pt, 'setpriv', '--reuid=nobody', '--regid=nogroup',
	    '--clear-groups', $echod, '-t');
	measure('tcpserver', $pt);
	stop($t);
} else {
	print "tcpserver: not installed (apt-get install ucspi-tcp)\n";
}
