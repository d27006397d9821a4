#!/usr/bin/perl
# pingd under build/forkd as a "wait" dgram service, as etc/forkd.conf runs
# it: one pingd holds the socket while it runs (forkd does not poll it, so
# a burst of pings is served by a single handler), exits after -x idle,
# and forkd takes the socket back and starts a new one for the next ping.
# The handler runs as the configured user, in its seccomp sandbox. Then
# the heartbeat receiver the same way.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(build forkd_start forkd_stop wait_log log_lines need_root
    free_udp_port slurp);
use IO::Select;
use IO::Socket::IP;
use Test::More;
use Time::HiRes qw(time sleep);

my $pingd = build('pingd');
plan skip_all => 'build/pingd not built (make build/pingd)' unless -x $pingd;
plan skip_all => 'build/forkd not built (make build/forkd)' unless -x build('forkd');
need_root();

my ($pu, $ph) = (free_udp_port(), free_udp_port());
my $f = forkd_start(conf => <<"EOF");
# the UDP pinger of seed 004, and its heartbeat receiver
127.0.0.1:$pu dgram udp wait nobody $pingd pingd -l 0 -x 1
127.0.0.1:$ph dgram udp wait nobody $pingd pingd -H -T 1 -x 1
EOF
ok(wait_log($f->{sl}, qr/started: 2 services/), 'forkd started with both pingd services')
    or BAIL_OUT('forkd did not start: ' . (slurp($f->{stderr}) // ''));

my $svc = qr/\Q127.0.0.1:$pu\E\/udp/;
my %pids;
for my $round (1, 2) {
	my $c = IO::Socket::IP->new(PeerHost => '127.0.0.1', PeerPort => $pu,
	    Proto => 'udp') or die "udp: $!";
	my ($got, $exact) = (0, 1);
	for my $seq (1 .. 20) {
		my $m = sprintf('Ping %d %.6f', $seq, time);
		$c->send($m);
		my $buf;
		if (IO::Select->new($c)->can_read(3)) {
			$c->recv($buf, 2048);
			$got++;
			$exact = 0 unless $buf eq uc($m);
		}
	}
	is($got, 20, "round $round: 20 of 20 pings answered through forkd");
	ok($exact, "round $round: replies are the requests in upper case");
	# The syslog capture writes asynchronously: wait for the line.
	my @starts;
	my $until = time + 5;
	while (1) {
		@starts = grep { /pingd\[\d+\]: pinger on udp \Q127.0.0.1:$pu\E/ }
		    log_lines($f->{sl});
		last if @starts >= $round || time > $until;
		sleep(0.05);
	}
	is(scalar(@starts), $round, "round $round: one pingd served the whole burst");
	my ($pid) = ($starts[-1] // '') =~ /pingd\[(\d+)\]/;
	$pids{$round} = $pid;
	if ($round == 1 && $pid) {
		my $st = slurp("/proc/$pid/status") // '';
		like($st, qr/^Uid:\s+65534\s/m, 'pingd runs as the configured user nobody');
		like($st, qr/^Seccomp:\s+2$/m, 'pingd runs under a seccomp filter');
	}
	ok(wait_log($f->{sl}, qr/$svc: pid $pid exited 0/, 6),
	    "round $round: pingd exits 0 after -x 1 idle and forkd reaps it");
}
isnt($pids{1}, $pids{2}, 'forkd took the socket back: round 2 had a new pingd');
my $p2 = $pids{2} // 0;
ok(wait_log($f->{sl}, qr/pingd\[$p2\]: idle for 1 s: exiting after 20 requests, 20 answered, 0 dropped/),
    'pingd counts its requests in the exit line');

# The heartbeat receiver as a service.
my $h = IO::Socket::IP->new(PeerHost => '127.0.0.1', PeerPort => $ph,
    Proto => 'udp') or die "udp: $!";
my $hp = $h->sockport;
$h->send(sprintf('Heartbeat %d %.6f', $_, time)) for 1, 2, 5;
ok(wait_log($f->{sl}, qr/pingd\[\d+\]: heartbeat: 127\.0\.0\.1:$hp: lost 2 \(seq 3-4\)/),
    'heartbeat service: the gap 3-4 is logged');
ok(wait_log($f->{sl}, qr/pingd\[\d+\]: heartbeat: 127\.0\.0\.1:$hp: down: no heartbeat for 1 s \(last seq 5; 3 received, 2 lost/, 5),
    'heartbeat service: "down" after -T 1');
ok(wait_log($f->{sl}, qr/\Q127.0.0.1:$ph\E\/udp: pid \d+ exited 0/, 5),
    'heartbeat service: pingd -H exits 0 when idle');
is(scalar(grep { /SIGSYS|sandbox violation/ } log_lines($f->{sl})), 0,
    'no sandbox violation logged');

is(forkd_stop($f), 0, 'forkd exits 0 on SIGTERM');
diag(slurp($f->{sl}{log}) // '') if !Test::More->builder->is_passing;
done_testing();
