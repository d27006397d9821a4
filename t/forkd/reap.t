#!/usr/bin/perl
# What forkd does when a handler ends, seen from outside: the SIGUSR1
# status counts each exit status and each killing signal; the per-source
# slot a killed nowait handler held is given back (logged under -v) and
# the client's next connection is served; a prefork worker that dies by a
# signal within a second of its start is a failing one (the pool backs
# off), and one that served for longer and exited is replaced without a
# back-off.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(forkd_start forkd_stop wait_log connect_tcp need_root
    free_port log_lines spit tmpdir read_line alive);
use Test::More;
use Time::HiRes qw(sleep time);

need_root();
$SIG{PIPE} = 'IGNORE';

# Wait up to 5 s for $n log lines matching $re; whether they came.
sub wait_count {
	my ($f, $re, $n) = @_;
	my $end = time + 5;
	while (time < $end) {
		return 1 if grep({ $_ =~ $re } log_lines($f->{sl})) >= $n;
		sleep(0.05);
	}
	return 0;
}

# nowait/0/0/1: one connection at a time from an address. The handler
# reads a number, says "ok N" and exits N; "hold" keeps it waiting.
{
	my $dir = tmpdir();
	chmod 0755, $dir;
	spit("$dir/code.sh", "#!/bin/sh\nread code\necho \"ok \$code\"\n"
	    . "[ \"\$code\" = hold ] && read more\nexit \$code\n");
	chmod 0755, "$dir/code.sh";
	my $p = free_port();
	my $svc = "127.0.0.1:$p/tcp";
	my $f = forkd_start(dir => $dir, args => ['-v'], wait_ports => [$p],
	    conf => "127.0.0.1:$p stream tcp nowait/0/0/1 nobody "
	    . "$dir/code.sh code\n");
	for my $n (1, 2) {
		my $c = connect_tcp($p) or die "connect: $!";
		print $c "3\n";
		is(read_line($c, 5), "ok 3\n", "exit 3: handler $n answered");
		close($c);
		# The slot is free again once the handler is reaped.
		ok(wait_count($f, qr/\Q$svc\E: pid \d+ exited 3 /, $n),
		    "exit 3: handler $n reaped");
	}

	# A handler killed while it serves: the slot it held is given back.
	my $c = connect_tcp($p) or die "connect: $!";
	print $c "hold\n";
	is(read_line($c, 5), "ok hold\n", 'kill: the handler serves');
	my $port = $c->sockport;
	my $line = wait_log($f->{sl},
	    qr/\Q$svc\E: pid \d+ from 127\.0\.0\.1 port $port$/);
	my ($pid) = ($line // '') =~ /pid (\d+) from/;
	ok($pid && alive($pid), 'kill: the handler\'s pid is logged');
	kill('KILL', $pid) if $pid;
	ok(wait_log($f->{sl}, qr/\Q$svc\E: pid $pid killed by signal 9 /),
	    'kill: the death is logged');
	ok(wait_log($f->{sl},
	    qr/\Q$svc\E: pid $pid held 1 per-source slots: freed$/),
	    'kill: -v logs the slot given back');
	my $c2 = connect_tcp($p) or die "connect: $!";
	print $c2 "0\n";
	is(read_line($c2, 5), "ok 0\n",
	    'kill: the address is served again while its first client is '
	    . 'still connected');
	close($c2);
	close($c);
	ok(wait_log($f->{sl}, qr/\Q$svc\E: pid \d+ exited 0 /),
	    'kill: the last handler reaped');

	kill('USR1', $f->{pid});
	$line = wait_log($f->{sl}, qr/status: \Q$svc\E: nowait/);
	like($line // '', qr/, spawned 4, exits 0:1 3:2, killed KILL:1/,
	    'SIGUSR1: exits counted by status, deaths by signal');
	forkd_stop($f);
}

# prefork: a worker killed by a signal at once is failing (back-off); a
# worker that served for over a second and exited is replaced at once.
{
	my $dir = tmpdir();
	chmod 0755, $dir;
	spit("$dir/die.sh", "#!/bin/sh\nkill -KILL \$\$\n");
	spit("$dir/once.pl", "open(my \$l, '+<&=', 0) or die;\n"
	    . "accept(my \$c, \$l) or die; syswrite(\$c, \"served \$\$\\n\");\n");
	chmod 0755, "$dir/die.sh";
	chmod 0644, "$dir/once.pl";
	my ($pd, $po) = (free_port(), free_port());
	my $f = forkd_start(dir => $dir, wait_ports => [$pd, $po],
	    args => ['-v'],
	    conf => "127.0.0.1:$pd stream tcp prefork.1 nobody $dir/die.sh "
	    . "die\n127.0.0.1:$po stream tcp prefork.1 nobody $^X perl "
	    . "$dir/once.pl\n");
	ok(wait_log($f->{sl}, qr/\Q127.0.0.1:$pd\E\/tcp: handler died \d+ ms after start: next in 250 ms$/),
	    'prefork: a worker killed by SIGKILL at start backs the pool off');

	# The first worker serves after more than a second of life: forkd
	# logs its start (-v) once it has forked it.
	ok(wait_log($f->{sl}, qr/\Q127.0.0.1:$po\E\/tcp: pid \d+ started$/),
	    'prefork: the worker started');
	sleep(1.2);
	my $c = connect_tcp($po) or die "connect: $!";
	my $first = read_line($c, 5);
	like($first // '', qr/^served \d+$/, 'prefork: the worker served');
	close($c);
	my ($w1) = ($first // '') =~ /(\d+)/;
	ok(wait_log($f->{sl}, qr/\Q127.0.0.1:$po\E\/tcp: pid $w1 exited 0 /),
	    'prefork: the worker exited');
	# Its replacement's start is logged after the exit was judged.
	my $count = sub { scalar(grep { $_ =~ $_[0] } log_lines($f->{sl})) };
	my $end = time + 5;
	sleep(0.05) while time < $end &&
	    $count->(qr/\Q127.0.0.1:$po\E\/tcp: pid \d+ started$/) < 2;
	is($count->(qr/\Q127.0.0.1:$po\E\/tcp: pid \d+ started$/), 2,
	    'prefork: a replacement started');
	is($count->(qr/\Q127.0.0.1:$po\E\/tcp: handler died/), 0,
	    'prefork: a worker that lived over a second is no failure');
	$c = connect_tcp($po) or die "connect: $!";
	my $second = read_line($c, 5);
	like($second // '', qr/^served \d+$/,
	    'prefork: its replacement serves');
	isnt($second, $first, 'prefork: by another worker');
	close($c);
	forkd_stop($f);
}

done_testing();
