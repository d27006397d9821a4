#!/usr/bin/perl
# forkd with more handlers at once than its table first holds (64): 70
# nowait handlers run together, each one's stderr line is logged under its
# own pid, each serves its own client, and each is reaped and counted
# once; afterwards SIGUSR1 reports no handler left.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(forkd_start forkd_stop wait_log connect_tcp need_root
    free_port log_lines spit tmpdir read_line);
use Test::More;
use Time::HiRes qw(sleep time);

need_root();
$SIG{PIPE} = 'IGNORE';

my $n = 70;
my $dir = tmpdir();
chmod 0755, $dir;
spit("$dir/h.sh", "#!/bin/sh\necho \"handler \$\$ up\" >&2\necho up\n"
    . "read x\necho \"hi \$x\"\n");
chmod 0755, "$dir/h.sh";
my $p = free_port();
my $svc = "127.0.0.1:$p/tcp";
my $f = forkd_start(dir => $dir, wait_ports => [$p],
    conf => "127.0.0.1:$p stream tcp nowait.0 nobody $dir/h.sh h\n");

# Lines of the log matching $re, waited for until there are $want (5 s
# more each time one comes).
sub count {
	my ($re, $want) = @_;
	my ($got, $end) = (0, time + 5);
	while (time < $end) {
		my $now = grep { $_ =~ $re } log_lines($f->{sl});
		$end = time + 5 if $now > $got;
		$got = $now;
		last if $got >= $want;
		sleep(0.05);
	}
	return $got;
}

my @c;
for my $i (1 .. $n) {
	my $c = connect_tcp($p) or last;
	last unless (read_line($c, 10) // '') eq "up\n";
	push @c, $c;
}
is(scalar(@c), $n, "$n handlers run at once");
is(count(qr/\Q$svc\E: pid (\d+): handler \1 up$/, $n), $n,
    'each handler\'s stderr is logged under its own pid');
my $ok = 0;
for my $i (0 .. $#c) {
	my $c = $c[$i];
	print $c "$i\n";
	$ok++ if (read_line($c, 10) // '') eq "hi $i\n";
	close($c);
}
is($ok, $n, 'each serves its own client');
is(count(qr/\Q$svc\E: pid \d+ exited 0 /, $n), $n, 'each is reaped');
kill('USR1', $f->{pid});
like(wait_log($f->{sl}, qr/status: \Q$svc\E: /) // '',
    qr/, handlers 0, spawned $n, exits 0:$n$/,
    'SIGUSR1: no handler left, each counted once');
forkd_stop($f);

done_testing();
