#!/usr/bin/perl
# pingd -H under a flood: the receive loop takes at most 64 datagrams per
# wake-up of poll, then looks at its timers, so a client that goes silent
# is reported "down" on time while another floods the socket without a
# pause. The flood runs until the test stops it (at most 20 s), so the
# "down" line is seen while it is still running.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(build tmpdir need_root syslog_start syslog_wrap wait_log
    slurp);
use IO::Socket::IP;
use POSIX qw(:sys_wait_h);
use Test::More;
use Time::HiRes qw(time sleep);

my $pingd = build('pingd');
plan skip_all => 'build/pingd not built (make build/pingd)' unless -x $pingd;
need_root();

my $dir = tmpdir();
my $sl = syslog_start($dir);
my @kids;
END {
	kill('TERM', $_) for @kids;
	waitpid($_, 0) for @kids;
}

sub hb { sprintf('Heartbeat %d %.6f', $_[0], time) }

my $u = IO::Socket::IP->new(LocalAddr => '127.0.0.1', LocalPort => 0,
    Proto => 'udp') or die "udp: $!";
my $port = $u->sockport;
my $pid = fork() // die "fork: $!";
if ($pid == 0) {
	POSIX::dup2(fileno($u), 0) or POSIX::_exit(126);
	POSIX::dup2(fileno($u), 1) or POSIX::_exit(126);
	open(STDERR, '>>', "$dir/pingd.err") or POSIX::_exit(126);
	exec(syslog_wrap($sl), $pingd, '-H', '-T', '1', '-x', '1')
	    or POSIX::_exit(127);
}
push(@kids, $pid);
close($u);
ok(wait_log($sl, qr/pingd\[$pid\]: heartbeat receiver on udp/),
    'heartbeat receiver started');

my $a = IO::Socket::IP->new(PeerHost => '127.0.0.1', PeerPort => $port,
    Proto => 'udp') or die "client: $!";
my $aport = $a->sockport;
$a->send(hb(1));
ok(wait_log($sl, qr/heartbeat: 127\.0\.0\.1:$aport: up, seq 1/),
    'client A up');

# The flood: valid heartbeats in sequence from clients B (four sockets,
# so it outpaces pingd whatever the machine), as fast as Perl sends them;
# they are logged at debug level only, so syslog is not flooded.
my $FLOODERS = 4;
my (@fpids, @bports);
for (1 .. $FLOODERS) {
	my $b = IO::Socket::IP->new(PeerHost => '127.0.0.1', PeerPort => $port,
	    Proto => 'udp') or die "flooder: $!";
	push(@bports, $b->sockport);
	my $fpid = fork() // die "fork: $!";
	if ($fpid == 0) {
		my ($seq, $end) = (1, time + 20);
		while (time < $end) {
			$b->send(sprintf('Heartbeat %d 0.0', $seq++)) for 1 .. 100;
		}
		POSIX::_exit(0);
	}
	push(@kids, $fpid);
	push(@fpids, $fpid);
	close($b);
}
my $bport = $bports[0];
my $t0 = time;
# (Not "seq 1": under load the first of B's datagrams may be dropped by
# a full socket buffer, which is what a flood does.)
ok(wait_log($sl, qr/heartbeat: 127\.0\.0\.1:$bport: up, seq \d+,/, 15),
    'the flood from client B arrives');

my $down = wait_log($sl,
    qr/heartbeat: 127\.0\.0\.1:$aport: down: no heartbeat for 1 s/, 10);
my $dt = time - $t0;
ok($down, sprintf('client A reported down during the flood (%.2f s)', $dt));
is(scalar(grep { waitpid($_, WNOHANG) == 0 } @fpids), $FLOODERS,
    'and the flood was still running then');
my $bre = join('|', @bports);
ok(!grep({ /127\.0\.0\.1:(?:$bre): down/ } Forkd::log_lines($sl)),
    'no flooding client is reported down');

kill('TERM', @fpids);
waitpid($_, 0) for @fpids;
my %f = map { $_ => 1 } @fpids;
@kids = grep { !$f{$_} } @kids;
my $bdown = wait_log($sl,
    qr/heartbeat: 127\.0\.0\.1:$bport: down: no heartbeat for 1 s/, 10);
my ($n) = ($bdown // '') =~ /; (\d+) received/;
ok(defined $n && $n > 64, 'B down after the flood, ' . ($n // 'no')
    . ' heartbeats received');
my $end = time + 10;
my $st;
while (time < $end) {
	if (waitpid($pid, WNOHANG) == $pid) { $st = $?; last }
	sleep(0.05);
}
is($st, 0, 'then the idle exit (-x 1), status 0');
@kids = grep { $_ != $pid } @kids if defined $st;

if (!Test::More->builder->is_passing) {
	diag(slurp("$dir/pingd.err") // '');
	diag(slurp($sl->{log}) // '');
}
kill('TERM', $sl->{pid});
waitpid($sl->{pid}, 0);
done_testing();
