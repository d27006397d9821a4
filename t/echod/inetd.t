#!/usr/bin/perl
# The same build/echod, unchanged, under other supervisors: Debian's
# openbsd-inetd (TCP nowait and UDP wait, the lines of etc/inetd.conf) and
# ucspi-tcp's tcpserver. Each runs in the foreground on its own config and
# a free loopback port, with its syslog captured, and is killed by pid.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(build tmpdir slurp spit free_port wait_port connect_tcp
    syslog_start syslog_wrap wait_log);
use IO::Select;
use IO::Socket::IP;
use POSIX qw(:sys_wait_h);
use Test::More;
use Time::HiRes qw(time sleep);

my $echod = build('echod');
plan skip_all => "build/echod not built (make build/echod)" unless -x $echod;
$SIG{PIPE} = 'IGNORE';

my $inetd = '/usr/sbin/inetd';
my $tcpserver = '/usr/bin/tcpserver';
# nc as a user would run it: the first in PATH (netcat-openbsd's).
my ($nc) = grep { -x } map { "$_/nc" } split(/:/, $ENV{PATH} // '');
# The syslog capture needs a private mount namespace: root and unshare.
my $can_wrap = $> == 0 && system('unshare -m true 2>/dev/null') == 0;

# The sample runs echod as nobody: keep that when nobody may run this
# build (the usual case), else fall back to root.
my $nobody_ok = $> == 0 &&
    system('runuser', '-u', 'nobody', '--', 'test', '-x', $echod) == 0;

my $dir = tmpdir();
my @pids;

sub start_bg {
	my ($name, @cmd) = @_;
	my $pid = fork() // die "fork: $!";
	if ($pid == 0) {
		open(STDIN, '<', '/dev/null');
		open(STDOUT, '>', "$dir/$name.out");
		open(STDERR, '>', "$dir/$name.err");
		exec(@cmd) or POSIX::_exit(127);
	}
	push @pids, $pid;
	return $pid;
}

sub stop_bg {
	my ($pid) = @_;
	kill('TERM', $pid);
	waitpid($pid, 0);
	@pids = grep { $_ != $pid } @pids;
}

sub read_all {
	my ($s, $timeout) = @_;
	my ($buf, $sel, $end) = ('', IO::Select->new($s), time + ($timeout // 5));
	while ((my $left = $end - time) > 0) {
		last unless $sel->can_read($left);
		my $r = sysread($s, $buf, 65536, length($buf));
		last unless $r;
	}
	return $buf;
}

# What nc prints for $in sent to port: the client a user would run.
sub nc_echo {
	my ($port, $in) = @_;
	spit("$dir/nc.in", $in);
	my $out = `timeout 10 $nc 127.0.0.1 $port <'$dir/nc.in'`;
	return ($out, $? >> 8);
}

# 10 clients at once, each its own line back; returns how many were right.
sub concurrent {
	my ($port, $n) = @_;
	my @c = map { connect_tcp($port) or die "connect: $!" } 1 .. $n;
	syswrite($c[$_], "line $_\n.\n") for 0 .. $#c;
	my $ok = 0;
	for my $i (0 .. $#c) {
		$ok++ if read_all($c[$i], 5) eq "line $i\n.\n";
	}
	return $ok;
}

SKIP: {
	skip "openbsd-inetd not installed ($inetd)", 9 unless -x $inetd;
	my $port = free_port();
	# The lines of etc/inetd.conf with this port and this build.
	my $sample = slurp("$FindBin::Bin/../../etc/inetd.conf") // '';
	my @lines = grep { /^[^#\s]/ && m{/echod\s} } split(/\n/, $sample);
	is(scalar(@lines), 2, 'etc/inetd.conf holds two echod lines (tcp, udp)');
	my $conf = '';
	for (@lines) {
		s{^\S+}{127.0.0.1:$port};
		s{\@LIBEXECDIR\@/echod}{$echod}g;
		s{\bnobody\b}{root} unless $nobody_ok;
		s{ -x \d+}{ -x 1};
		s{ echod$}{ echod -x 1} if /\budp\b/ && !/-x/;
		$conf .= "$_\n";
	}
	spit("$dir/inetd.conf", $conf);
	mkdir "$dir/inetd";
	my $sl = $can_wrap ? syslog_start("$dir/inetd") : undef;
	my $pid = start_bg('inetd', ($sl ? syslog_wrap($sl) : ()),
	    $inetd, '-d', "$dir/inetd.conf");
	ok(wait_port($port, 5), "inetd listens on 127.0.0.1:$port");

	SKIP: {
		skip('no nc in PATH', 2) unless $nc;
		my ($out, $rc) = nc_echo($port, "hello\n.\n");
		is($out, "hello\n.\n", 'inetd nowait: nc gets "hello\n.\n" back and the connection ends');
		is($rc, 0, 'nc exits 0');
	}
	is(concurrent($port, 10), 10, 'inetd nowait: 10 concurrent clients');

	my $u = IO::Socket::IP->new(PeerHost => '127.0.0.1', PeerPort => $port,
	    Proto => 'udp') or die;
	$u->send("udp echo\n");
	my $got;
	$u->recv($got, 65536) if IO::Select->new($u)->can_read(5);
	is($got, "udp echo\n", 'inetd wait dgram: datagram echoed');

	SKIP: {
		skip 'syslog capture needs root and unshare', 3 unless $sl;
		ok(wait_log($sl, qr/echod\[\d+\]: connect 127\.0\.0\.1:\d+/),
		    'syslog: echod logs the peer of an inetd connection');
		ok(wait_log($sl, qr/echod\[\d+\]: close 127\.0\.0\.1:\d+ in 8 out 8 \(terminator\)/),
		    'syslog: the close line with byte counts');
		ok(wait_log($sl, qr/echod\[\d+\]: datagram: idle 1 s: exiting/, 5),
		    'syslog: the UDP wait echod leaves when idle, for inetd to take the socket back');
	}
	stop_bg($pid);
	if ($sl) { kill('TERM', $sl->{pid}); waitpid($sl->{pid}, 0) }
}

SKIP: {
	skip "ucspi-tcp not installed ($tcpserver)", 6 unless -x $tcpserver;
	my $port = free_port();
	my $pid = start_bg('tcpserver', $tcpserver, '-R', '-H', '-l', 'localhost',
	    '127.0.0.1', $port, $echod, '-d', '-t');
	ok(wait_port($port, 5), "tcpserver listens on 127.0.0.1:$port");
	SKIP: {
		skip('no nc in PATH', 1) unless $nc;
		my ($out, $rc) = nc_echo($port, "hello\n.\n");
		is($out, "hello\n.\n", 'tcpserver: nc gets "hello\n.\n" back and the connection ends');
	}
	is(concurrent($port, 10), 10, 'tcpserver: 10 concurrent clients');

	my $data = join('', map { chr(int(rand(256))) } 1 .. 200000);
	$data =~ s/(\A|\n)\.(?=\r?\n)/$1X/g;
	my $s = connect_tcp($port);
	# Small enough for the socket buffers: write it all, then read.
	my $pid2 = fork() // die;
	if ($pid2 == 0) { syswrite($s, $data . "\n.\n"); POSIX::_exit(0) }
	my $back = read_all($s, 10);
	waitpid($pid2, 0);
	ok($back eq $data . "\n.\n", '200000 random bytes byte-exact under tcpserver');
	close($s);	# echod closes on our EOF after its FIN

	my $end = time + 3;
	sleep(0.05) while time < $end && (slurp("$dir/tcpserver.err") // '') !~ /in 200003/;
	my $log = slurp("$dir/tcpserver.err") // '';
	# tcpserver sets TCPREMOTEIP and TCPREMOTEPORT; echod logs them.
	like($log, qr/echod\[\d+\]: connect 127\.0\.0\.1:\d+/, 'log: the peer from the UCSPI-TCP environment');
	like($log, qr/close 127\.0\.0\.1:\d+ in 200003 out 200003 \(terminator\)/, 'log: byte counts');
	stop_bg($pid);
}

END {
	local $?;
	for my $p (@pids) { kill('TERM', $p); waitpid($p, 0) }
}

done_testing();
