#!/usr/bin/perl
# pinger(1) ICMP echo against 127.0.0.1 and ::1, side by side with iputils
# ping: the same number of replies and every line in the same shape.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(build run_cmd);
use Test::More;

my $pinger = build('pinger');
plan skip_all => "build/pinger not built" unless -x $pinger;
my ($ping) = grep { -x } qw(/usr/bin/ping /bin/ping);

# The bound on one run of a program (run_cmd), in seconds.
my $limit = { timeout => 20 };

# The shape of each line of ping's output, per family.
my %re = (
	head4 => qr/^PING (\S+) \((\S+)\) 56\(84\) bytes of data\.$/,
	head6 => qr/^PING (\S+) ?\((\S+)\) 56 data bytes$/,
	reply => qr/^64 bytes from (\S+): icmp_seq=(\d+) ttl=(\d+) time=\d+(?:\.\d+)? ms$/,
	stats => qr/^--- (\S+) ping statistics ---$/,
	count => qr/^(\d+) packets transmitted, (\d+) received, (\d+)% packet loss, time (\d+)ms$/,
	rtt   => qr{^rtt min/avg/max/mdev = (\d+\.\d{3})/(\d+\.\d{3})/(\d+\.\d{3})/(\d+\.\d{3}) ms$},
);

# Parse one run into its parts; undef for a line of no known shape.
sub parse {
	my ($out, $v6) = @_;
	my @l = split(/\n/, $out);
	my %r = (replies => [], bad => []);
	my $h = shift(@l) // '';
	$r{head} = $h =~ ($v6 ? $re{head6} : $re{head4}) ? [$1, $2] : undef;
	for my $l (@l) {
		if ($l =~ $re{reply}) { push @{ $r{replies} }, [$1, $2, $3] }
		elsif ($l eq '') { }
		elsif ($l =~ $re{stats}) { $r{stats} = $1 }
		elsif ($l =~ $re{count}) { $r{count} = [$1, $2, $3] }
		elsif ($l =~ $re{rtt}) { $r{rtt} = [$1, $2, $3, $4] }
		else { push @{ $r{bad} }, $l }
	}
	return \%r;
}

for my $t (['127.0.0.1', 0], ['::1', 1]) {
	my ($host, $v6) = @$t;
	my @args = ('-c', 3, '-i', '0.2', $host);
	my ($rc, $out, $err) = run_cmd($limit, $pinger, @args);
	my $r = parse($out, $v6);
	is($rc, 0, "$host: exit 0 with replies") or diag($out, $err);
	ok($r->{head}, "$host: first line in ping's shape")
	    or diag($out);
	is($r->{head}[1], $host, "$host: the address in the first line");
	is(scalar @{ $r->{replies} }, 3, "$host: three replies");
	is_deeply([map { $_->[1] } @{ $r->{replies} }], [1, 2, 3],
	    "$host: icmp_seq 1, 2, 3 in order");
	ok(!grep({ $_->[0] ne $host } @{ $r->{replies} }),
	    "$host: replies from $host");
	is($r->{stats}, $host, "$host: statistics line names the host");
	is_deeply([@{ $r->{count} // [] }[0 .. 2]], [3, 3, 0],
	    "$host: 3 transmitted, 3 received, 0% loss");
	ok($r->{rtt} && $r->{rtt}[0] <= $r->{rtt}[1] &&
	    $r->{rtt}[1] <= $r->{rtt}[2], "$host: rtt min <= avg <= max");
	is_deeply($r->{bad}, [], "$host: no line of unknown shape");

	SKIP: {
		skip("iputils ping not installed (mk/packages/pinger.txt)", 4)
		    unless $ping;
		my ($prc, $pout) = run_cmd($limit, $ping, @args);
		my $p = parse($pout, $v6);
		skip("iputils ping cannot ping $host here: $pout", 4)
		    if $prc != 0;
		is(scalar @{ $r->{replies} }, scalar @{ $p->{replies} },
		    "$host: as many replies as iputils ping");
		is_deeply([@{ $r->{count} }[0 .. 2]], [@{ $p->{count} }[0 .. 2]],
		    "$host: the same summary counts as iputils ping");
		ok(defined $p->{rtt} == defined $r->{rtt},
		    "$host: an rtt line where ping has one");
		is_deeply($p->{bad}, [], "$host: ping's lines parse with the same "
		    . "patterns, so ours and its share a shape");
	}
}

# -q: the first line and the summary only; -s: the sizes follow.
{
	my ($rc, $out) = run_cmd($limit, $pinger, qw(-q -c 2 -i 0.2 127.0.0.1));
	is($rc, 0, '-q: exit 0');
	unlike($out, qr/bytes from/, '-q: no per-reply line');
	like($out, qr/^2 packets transmitted, 2 received, 0% packet loss/m,
	    '-q: the summary');
	($rc, $out) = run_cmd($limit, $pinger, qw(-c 1 -s 100 127.0.0.1));
	like($out, qr/^PING 127\.0\.0\.1 \(127\.0\.0\.1\) 100\(128\) bytes of data\.$/m,
	    '-s 100: 100(128) bytes');
	like($out, qr/^108 bytes from 127\.0\.0\.1: icmp_seq=1 ttl=\d+ time=/m,
	    '-s 100: 108 bytes back');
	($rc, $out) = run_cmd($limit, $pinger, qw(-c 1 -s 8 127.0.0.1));
	like($out, qr/^16 bytes from 127\.0\.0\.1: icmp_seq=1 ttl=\d+$/m,
	    '-s 8: too small for a timestamp: no time, as ping');
	is($rc, 0, '-s 8: still a reply');
	($rc, $out) = run_cmd($limit, $pinger, qw(-c 1 -t 7 -s 1400 ::1));
	like($out, qr/^1408 bytes from ::1: icmp_seq=1 ttl=\d+ time=/m,
	    '-s 1400 -t 7 over ICMPv6');
}

# Usage and errors: exit 2, message on stderr.
{
	my ($rc, $out, $err) = run_cmd($limit, $pinger, '-h');
	is($rc, 0, '-h: exit 0');
	like($out, qr/^usage: pinger /, '-h: usage on stdout');
	($rc, $out, $err) = run_cmd($limit, $pinger);
	is($rc, 2, 'no host: exit 2');
	like($err, qr/usage: pinger/, 'no host: usage on stderr');
	($rc, $out, $err) = run_cmd($limit, $pinger, qw(-c 0 127.0.0.1));
	is($rc, 2, '-c 0: exit 2');
	like($err, qr/^pinger: -c 0: too small \(at least 1\)$/, '-c 0: says why');
	($rc, $out, $err) = run_cmd($limit, $pinger, qw(-i abc 127.0.0.1));
	is($rc, 2, '-i abc: exit 2');
	($rc, $out, $err) = run_cmd($limit, $pinger, qw(-c 1 -4 ::1));
	is($rc, 2, '-4 with an IPv6 address: exit 2');
	like($err, qr/^pinger: ::1: /, '-4 ::1: says which host');
}

done_testing();
