#!/usr/bin/perl
# pingd -H, the UDP heartbeat receiver of seed 004: "Heartbeat SEQ
# SECONDS.MICROSECONDS" datagrams; it logs the first one with its one-way
# delay, a gap in SEQ as one-way loss, a late one, a malformed one
# (escaped), and "down" after -T seconds of silence; it sends nothing back.
# Then the same with pinger -H as the client, when build/pinger exists.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(build tmpdir need_root syslog_start wait_log log_lines slurp
    dgram_exec wait_exit);
use IO::Select;
use IO::Socket::IP;
use POSIX qw(:sys_wait_h);
use Test::More;
use Time::HiRes qw(time sleep);

my $pingd = build('pingd');
plan skip_all => 'build/pingd not built (make build/pingd)' unless -x $pingd;
need_root();

my $dir = tmpdir();
my $sl = syslog_start($dir);
sub start_pingd {
	my ($u, @args) = @_;
	return dgram_exec(sock => $u, sl => $sl, stderr => "$dir/pingd.err",
	    cmd => [$pingd, @args]);
}

sub hb { sprintf('Heartbeat %d %.6f', $_[0], time) }

my $u = IO::Socket::IP->new(LocalAddr => '127.0.0.1', LocalPort => 0,
    Proto => 'udp') or die "udp: $!";
my $port = $u->sockport;
# -x 2 > -T 1: the receiver is still there to see the client come back.
my $pid = start_pingd($u, '-H', '-T', '1', '-x', '2');
close($u);
my $c = IO::Socket::IP->new(PeerHost => '127.0.0.1', PeerPort => $port,
    Proto => 'udp') or die "client: $!";
my $cport = $c->sockport;
my $peer = qr/127\.0\.0\.1:$cport/;

ok(wait_log($sl, qr/pingd\[$pid\]: heartbeat receiver on udp 127\.0\.0\.1:$port, down after 1 s, idle exit 2 s/),
    'start line: heartbeat receiver, -T and -x');

$c->send(hb(1));
my $l = wait_log($sl, qr/heartbeat: $peer: up, seq 1, one-way delay/);
ok($l, 'first heartbeat: "up" with its sequence number');
my ($d) = ($l // '') =~ /one-way delay (-?\d+\.\d{3}) ms/;
ok(defined $d && $d >= 0 && $d < 1000, 'one-way delay logged in ms, plausible on one host: ' . ($d // 'none'));

$c->send(hb($_)) for 2, 3;
# 4, 5 and 6 never sent: one-way loss of 3.
$c->send(hb(7));
ok(wait_log($sl, qr/heartbeat: $peer: lost 3 \(seq 4-6\), one-way delay \d+\.\d{3} ms/),
    'skipped 4..6: "lost 3 (seq 4-6)" with the delay');
$c->send(hb(9));
ok(wait_log($sl, qr/heartbeat: $peer: lost 1 \(seq 8\)/), 'skipped 8: "lost 1 (seq 8)"');
$c->send(hb(5));
ok(wait_log($sl, qr/heartbeat: $peer: late or duplicate seq 5 \(after 9\)/),
    'seq 5 after 9: reported late, not counted lost');
$c->send("Heartbeat x\r\n\x1b[2J");
ok(wait_log($sl, qr/heartbeat: $peer: not a heartbeat \(17 bytes\): Heartbeat x\\r\\n\\033\[2J$/),
    'malformed datagram logged with CR, LF and ESC escaped');
my $sent_last = time;
ok(!IO::Select->new($c)->can_read(0.2), 'nothing is sent back to a heartbeat client');

my $down = wait_log($sl, qr/heartbeat: $peer: down: no heartbeat for 1 s/, 5);
my $after = time - $sent_last;
ok($down, '-T 1: "down" after a second of silence');
ok($after >= 0.9, sprintf('"down" not before -T (%.2f s after the last datagram)', $after));
like($down // '', qr/\(last seq 9; 6 received, 3 lost, 33\.3% loss; one-way delay min\/avg\/max = \d+\.\d{3}\/\d+\.\d{3}\/\d+\.\d{3} ms\)/,
    'down line: last seq, received, lost, loss %, delay min/avg/max');

# Back again after "down".
$c->send(hb(10));
ok(wait_log($sl, qr/heartbeat: $peer: up again, seq 10/), 'a heartbeat after "down": "up again"');
ok(wait_log($sl, qr/heartbeat: $peer: down: no heartbeat for 1 s \(last seq 10; 1 received, 0 lost/, 5),
    'down again after more silence, counts restarted');
is(wait_exit($pid, 5), 0, 'then the idle exit (-x 2), status 0');
is(scalar(grep { /\r|\x1b/ } log_lines($sl)), 0, 'no raw CR or ESC reached syslog');

SKIP: {
	my $pinger = build('pinger');
	skip('build/pinger not built', 4) unless -x $pinger;
	$u = IO::Socket::IP->new(LocalAddr => '127.0.0.1', LocalPort => 0,
	    Proto => 'udp') or die "udp: $!";
	$port = $u->sockport;
	$pid = start_pingd($u, '-H', '-T', '1', '-x', '1');
	close($u);
	my $out = `$pinger -H $port -c 5 -i 0.1 127.0.0.1 2>&1`;
	is($? >> 8, 0, 'pinger -H: 5 heartbeats sent, exit 0') or diag($out);
	like($out, qr/^Heartbeat 5 \d+\.\d{6}$/m, 'pinger -H sends "Heartbeat SEQ SECONDS.MICROSECONDS"');
	ok(wait_log($sl, qr/pingd\[$pid\]: heartbeat: 127\.0\.0\.1:\d+: down: no heartbeat for 1 s \(last seq 5; 5 received, 0 lost, 0\.0% loss/, 5),
	    'pingd -H: pinger -H seen up, 5 received, none lost, then down');
	is(wait_exit($pid, 5), 0, 'pingd -H exits when idle');
}

kill('TERM', $sl->{pid});
waitpid($sl->{pid}, 0);
if (!Test::More->builder->is_passing) {
	diag(slurp("$dir/pingd.err") // '');
	diag(slurp($sl->{log}) // '');
}
done_testing();
