#!/usr/bin/perl
# forkd serving echod in each of its modes: nowait (a handler per
# connection), prefork.N (a pool accepting on the listener), wait (one
# handler holding the socket, stream and datagram). Each mode echoes 1 MiB
# of random bytes exactly and answers 50 concurrent clients.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(build forkd_start forkd_stop wait_log connect_tcp need_root
    free_port free_udp_port);
use IO::Select;
use IO::Socket::IP;
use POSIX ();
use Test::More;

need_root();
plan skip_all => 'build/echod is not built' unless -x build('echod');
plan tests => 16;

my ($pn, $pp, $pw, $pu) = (free_port(), free_port(), free_port(),
    free_udp_port());
my $echod = build('echod');
my $f = forkd_start(conf => <<"CONF", wait_ports => [$pn, $pp, $pw]);
# one line per mode
127.0.0.1:$pn stream tcp nowait root $echod echod
127.0.0.1:$pp stream tcp prefork.4 nobody $echod echod
127.0.0.1:$pw stream tcp wait nobody $echod echod -x 2
127.0.0.1:$pu dgram udp wait nobody $echod echod -x 1
CONF
ok(wait_log($f->{sl}, qr/started: 4 services/), 'forkd logs its start to syslog');

# Send $data on a connection, half-close, read everything back.
sub echo_bytes {
	my ($port, $data) = @_;
	my $s = connect_tcp($port) or return undef;
	my $pid = fork() // die "fork: $!";
	if ($pid == 0) {
		print $s $data;
		shutdown($s, 1);
		POSIX::_exit(0);
	}
	my ($back, $buf) = ('');
	my $sel = IO::Select->new($s);
	while ($sel->can_read(10)) {
		my $n = sysread($s, $buf, 65536);
		last unless $n;
		$back .= $buf;
	}
	waitpid($pid, 0);
	return $back;
}

open(my $ur, '<:raw', '/dev/urandom') or die;
read($ur, my $mib, 1 << 20) == 1 << 20 or die;
close($ur);

for my $m (['nowait', $pn], ['prefork.4', $pp], ['wait', $pw]) {
	my $back = echo_bytes($m->[1], $mib);
	ok(defined $back && length($back) == length($mib) && $back eq $mib,
	    "$m->[0]: 1 MiB of random bytes echoed exactly");
}

# 50 clients connected at once, each with its own line.
sub concurrent {
	my ($port, $n) = @_;
	my @s;
	for my $i (1 .. $n) {
		my $s = connect_tcp($port) or return "connect $i: $!";
		push @s, $s;
	}
	for my $i (0 .. $#s) {
		syswrite($s[$i], "client $i says hello\n");
	}
	my $good = 0;
	for my $i (0 .. $#s) {
		my ($line, $c) = ('');
		my $sel = IO::Select->new($s[$i]);
		while ($line !~ /\n/ && $sel->can_read(10)) {
			last unless sysread($s[$i], $c, 1);
			$line .= $c;
		}
		$good++ if $line eq "client $i says hello\n";
		close($s[$i]);
	}
	return $good;
}

for my $m (['nowait', $pn], ['prefork.4', $pp], ['wait', $pw]) {
	is(concurrent($m->[1], 50), 50, "$m->[0]: 50 concurrent clients all answered");
}

# The prefork pool: 4 handlers of this forkd, running as nobody.
my @kids = grep {
	my $st = Forkd::slurp("/proc/$_/stat") // '';
	$st =~ /^\d+ \(.*?\) \S (\d+)/ && $1 == $f->{pid};
} map { m{/(\d+)$} } glob('/proc/[0-9]*');
my @nobody = grep { (Forkd::slurp("/proc/$_/status") // '') =~ /^Uid:\s+65534\s/m } @kids;
cmp_ok(scalar(@nobody), '>=', 4, 'the prefork handlers run as the configured user nobody');

# UDP wait: datagrams echoed; the handler exits when idle and forkd takes
# the socket back, so a second round works with a new handler.
for my $round (1, 2) {
	my $u = IO::Socket::IP->new(PeerHost => '127.0.0.1', PeerPort => $pu,
	    Proto => 'udp') or die "udp: $!";
	my $got = 0;
	for my $i (1 .. 5) {
		$u->send("datagram $round.$i");
		my $buf;
		if (IO::Select->new($u)->can_read(3)) {
			$u->recv($buf, 2048);
			$got++ if $buf eq "datagram $round.$i";
		}
	}
	is($got, 5, "udp wait, round $round: 5 datagrams echoed");
	if ($round == 1) {
		ok(wait_log($f->{sl}, qr/\Q127.0.0.1:$pu\E\/udp: pid \d+ exited 0/, 8),
		    'the idle udp handler exits and forkd logs it');
	}
}

# The nowait handler gets the UCSPI-TCP environment; stderr is forwarded.
my $ps = free_port();
Forkd::spit("$f->{dir}/env.sh", "#!/bin/sh\necho \"\$PROTO \$TCPREMOTEIP \$TCPLOCALIP:\$TCPLOCALPORT\"\necho 'to stderr' >&2\n");
chmod 0755, "$f->{dir}/env.sh";
Forkd::spit($f->{conf}, Forkd::slurp($f->{conf}) .
    "127.0.0.1:$ps stream tcp nowait root $f->{dir}/env.sh env.sh\n");
kill('HUP', $f->{pid});
ok(wait_log($f->{sl}, qr/\Q127.0.0.1:$ps\E\/tcp: listening/), 'SIGHUP adds a service');
my $s = connect_tcp($ps);
my $line = $s ? Forkd::read_line($s) : undef;
is($line, "TCP 127.0.0.1 127.0.0.1:$ps\n", 'nowait handler sees PROTO, TCPREMOTEIP, TCPLOCALIP, TCPLOCALPORT');
ok(wait_log($f->{sl}, qr/\Q127.0.0.1:$ps\E\/tcp: pid \d+: to stderr/),
    "the handler's stderr reaches syslog tagged with service and pid");

is(forkd_stop($f), 0, 'forkd exits 0 on SIGTERM');
like(Forkd::slurp($f->{stderr}), qr/started: 4 services/, '-d copies log lines to stderr');
