#!/usr/bin/perl
# echod over UDP, the promises of echod(8) the other files leave alone: an
# idle handler exits -x seconds after the last datagram (within 20 %), and
# datagrams from sources that could start a loop or a flood are never
# answered: a privileged port, NFS's 2049, a multicast, broadcast or
# "this network" (0/8) address (the last ones forged with a raw socket,
# as root).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(build tmpdir slurp dgram_exec udp_bound udp_client recv_dgram
    wait_exit);
use IO::Select;
use IO::Socket::IP;
use Socket qw(AF_INET SOCK_RAW IPPROTO_RAW inet_aton pack_sockaddr_in);
use Test::More;
use Time::HiRes qw(time sleep);

my $echod = build('echod');
plan skip_all => 'build/echod not built (make build/echod)' unless -x $echod;

my $dir = tmpdir();

# The idle exit: -x 3 means 3 s after the last datagram, not sooner, and
# not much later (20 %).
{
	my $u = udp_bound() or die "udp: $!";
	my $pid = dgram_exec(sock => $u, stderr => "$dir/idle.err",
	    cmd => [$echod, '-d', '-x', '3']);
	my $c = udp_client($u->sockport);
	$c->send("last\n");
	is(recv_dgram($c, 5), "last\n", 'idle: the datagram is answered');
	my $t0 = time;
	my $st = wait_exit($pid, 10);
	my $took = time - $t0;
	is($st, 0, 'idle: echod exits 0');
	cmp_ok($took, '>=', 3 * 0.9, 'idle: not before -x 3 s of silence')
	    or diag("exited after $took s");
	cmp_ok($took, '<=', 3 * 1.2, 'idle: within 20 % of -x 3')
	    or diag("exited after $took s");
}

# Raw IPv4 + UDP datagram from $src:$sport to 127.0.0.1:$dport.
sub forge {
	my ($raw, $src, $sport, $dport, $data) = @_;
	my $udp = pack('nnnn', $sport, $dport, 8 + length($data), 0) . $data;
	my $ip = pack('CCnnnCCna4a4', 0x45, 0, 20 + length($udp), 0x1234, 0,
	    64, 17, 0, inet_aton($src), inet_aton('127.0.0.1'));
	return send($raw, $ip . $udp, 0,
	    pack_sockaddr_in($dport, inet_aton('127.0.0.1')));
}

# Sources that are never answered.
{
	my $u = udp_bound() or die "udp: $!";
	my $port = $u->sockport;
	my $pid = dgram_exec(sock => $u, stderr => "$dir/bad.err",
	    cmd => [$echod, '-d', '-x', '2']);
	my $good = udp_client($port);
	$good->send("ok\n");
	is(recv_dgram($good, 5), "ok\n", 'sources: an ephemeral port is answered');
	my $refused = 0;
	SKIP: {
		skip('needs root to send from ports below 1024', 2) if $> != 0;
		for my $sport (2049, 1023) {
			my $s = IO::Socket::IP->new(LocalAddr => '127.0.0.1',
			    LocalPort => $sport, PeerHost => '127.0.0.1',
			    PeerPort => $port, Proto => 'udp', ReuseAddr => 1);
			skip("port $sport is taken here", 1) unless $s;
			$s->send("loop\n");
			my $got = recv_dgram($s, 1);
			$refused++;
			ok(!defined $got, "sources: port $sport is not answered");
		}
	}
	SKIP: {
		my $raw;
		skip('needs root for a raw socket', 4)
		    unless $> == 0 && socket($raw, AF_INET, SOCK_RAW, IPPROTO_RAW);
		# Forged from 127.0.0.1 first: the raw path does deliver.
		my $back = udp_bound() or die "udp: $!";
		forge($raw, '127.0.0.1', $back->sockport, $port, "forged\n");
		is(recv_dgram($back, 3), "forged\n",
		    'sources: a forged datagram from 127.0.0.1 is answered');
		for my $src ('224.0.0.1', '255.255.255.255', '0.1.2.3') {
			ok(forge($raw, $src, 40000, $port, "flood\n"),
			    "sources: sent from $src");
			$refused++;
		}
	}
	my $st = wait_exit($pid, 10);
	is($st, 0, 'sources: echod exits when idle');
	my $log = slurp("$dir/bad.err") // '';
	my ($n) = $log =~ /exiting after \d+ datagrams, \d+ bytes, (\d+) not answered/;
	is($n, $refused, "sources: $refused datagrams not answered, as logged")
	    or diag($log);
	unlike($log, qr/sendto/, 'sources: no answer was even tried');
}

done_testing();
