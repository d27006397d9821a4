#!/usr/bin/perl
# pingd -H: a client that starts again from seq 1 (or 0) is logged as
# "restarted", not as late or lost, and its numbering starts anew: a gap
# after the restart counts from the new sequence, not the old one.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(build tmpdir need_root syslog_start wait_log log_lines
    dgram_exec wait_exit);
use IO::Socket::IP;
use Test::More;
use Time::HiRes qw(time sleep);

my $pingd = build('pingd');
plan skip_all => 'build/pingd not built (make build/pingd)' unless -x $pingd;
need_root();

my $dir = tmpdir();
my $sl = syslog_start($dir);
sub hb { sprintf('Heartbeat %d %.6f', $_[0], time) }

my $u = IO::Socket::IP->new(LocalAddr => '127.0.0.1', LocalPort => 0,
    Proto => 'udp') or die "udp: $!";
my $port = $u->sockport;
my $pid = dgram_exec(sock => $u, sl => $sl, stderr => "$dir/pingd.err",
    cmd => [$pingd, '-H', '-T', '30', '-x', '30']);
close($u);
my $c = IO::Socket::IP->new(PeerHost => '127.0.0.1', PeerPort => $port,
    Proto => 'udp') or die "client: $!";
my $peer = qr/127\.0\.0\.1:${\ $c->sockport}/;

# Lines from $pid about this client, in order.
sub lines { grep { /pingd\[$pid\]: heartbeat: $peer: / } log_lines($sl) }

$c->send(hb($_)), sleep(0.02) for 1 .. 5;
ok(wait_log($sl, qr/heartbeat: $peer: up, seq 1,/), 'seq 1: up');
$c->send(hb(1));
ok(wait_log($sl, qr/heartbeat: $peer: restarted, seq 1, one-way delay \d+\.\d{3} ms/),
    'seq 1 again after 5: "restarted, seq 1" with the delay');
$c->send(hb(2));
$c->send(hb(4));
ok(wait_log($sl, qr/heartbeat: $peer: lost 1 \(seq 3\)/),
    'after the restart a gap counts from the new numbering: lost 1 (seq 3)');
$c->send(hb(0));
ok(wait_log($sl, qr/heartbeat: $peer: restarted, seq 0,/),
    'seq 0 after 4: restarted too');
my @bad = grep { /late or duplicate|lost \d+ \(seq [4-9]|up again/ } lines();
is("@bad", '', 'no restart was taken for a late datagram or a loss');
kill('TERM', $pid);
ok(defined wait_exit($pid, 5), 'pingd stopped');
done_testing();
