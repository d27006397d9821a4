#!/usr/bin/perl
# What forkd hands a handler, seen by the handler itself: the UCSPI-TCP
# variables of tcp-environ(5) are forkd's own for a nowait connection even
# when forkd's environment already holds stale ones, and absent for a
# prefork worker, which serves many clients; no signal is ignored or
# blocked that forkd ignores or blocks; a service run as root runs as
# root; a handler that could regain root after setuid(2) (forkd started
# with SECBIT_NO_SETUID_FIXUP, so the capabilities survive) never runs the
# program, says why and exits 111; forkd -v logs each worker's start.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(forkd_start forkd_stop wait_log connect_tcp need_root
    free_port slurp spit tmpdir read_n);
use Test::More;

need_root();
$SIG{PIPE} = 'IGNORE';

my $perl = $^X;
# Prints the variables, one NAME=value line each ("-": unset).
my $show = 'print "$_=", ($ENV{$_} // "-"), "\n" for qw(PROTO TCPREMOTEIP '
    . 'TCPREMOTEPORT TCPLOCALIP TCPLOCALPORT); print "uid $<\n";';
# Stale values in forkd's own environment, as a launcher could leave them.
my %stale = (PROTO => 'UDP', TCPREMOTEIP => '192.0.2.1',
    TCPREMOTEPORT => '1', TCPLOCALIP => '192.0.2.2', TCPLOCALPORT => '2');

sub var {
	my ($out, $name) = @_;
	return ($out =~ /^\Q$name\E=(.*)$/m)[0];
}

# nowait: each variable is the connection's, whatever forkd inherited.
# prefork: none of them (a worker learns its clients from accept(2)).
# root: a service whose user is root runs with uid 0.
{
	my $dir = tmpdir();
	chmod 0755, $dir;
	spit("$dir/nowait.pl", "$show\n");
	spit("$dir/pool.pl", "open(my \$l, '+<&=', 0) or die;\n"
	    . "while (accept(my \$c, \$l)) { select(\$c); \$| = 1; $show "
	    . "close(\$c); select(STDOUT) }\n");
	chmod 0644, "$dir/nowait.pl", "$dir/pool.pl";
	my ($pn, $pp, $pr, $ps) = map { free_port() } 1 .. 4;
	my $conf = "127.0.0.1:$pn stream tcp nowait nobody $perl perl "
	    . "$dir/nowait.pl\n"
	    . "127.0.0.1:$pp stream tcp prefork.1 nobody $perl perl "
	    . "$dir/pool.pl\n"
	    . "127.0.0.1:$pr stream tcp nowait root $perl perl "
	    . "$dir/nowait.pl\n"
	    . "127.0.0.1:$ps stream tcp nowait nobody /bin/grep grep ^Sig "
	    . "/proc/self/status\n";
	# forkd started with SIGHUP ignored, as nohup(1) does, and the C
	# library's own signals 32 and 33, which its sigaction(3) cannot
	# name (a C wrapper ignores them with rt_sigaction(2) when cc is
	# here; perl otherwise); forkd ignores SIGPIPE itself.
	my @prefix = ($perl, '-e',
	    '$SIG{HUP} = "IGNORE"; exec @ARGV or die "exec: $!"');
	spit("$dir/ign.c", <<'EOC');
#include <signal.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>
struct ksa { void (*h)(int); unsigned long f; void (*r)(void); uint64_t m; };
int
main(int argc, char **argv)
{
	struct ksa ign = { SIG_IGN, 0, 0, 0 };
	int sig[] = { SIGHUP, 32, 33 };
	for (unsigned i = 0; i < 3; i++)
		syscall(SYS_rt_sigaction, sig[i], &ign, NULL, 8);
	(void)argc;
	execvp(argv[1], argv + 1);
	return 127;
}
EOC
	@prefix = ("$dir/ign") if system("cc -o $dir/ign $dir/ign.c "
	    . ">/dev/null 2>&1") == 0;
	my $f = forkd_start(dir => $dir, conf => $conf, env => \%stale,
	    args => ['-v'], wait_ports => [$pn, $pp, $pr, $ps],
	    prefix => \@prefix);

	my $c = connect_tcp($pn) or die "connect: $!";
	my $out = read_n($c, 4096, 5);
	is(var($out, 'PROTO'), 'TCP', 'nowait: PROTO=TCP over a stale value')
	    or diag($out);
	is(var($out, 'TCPREMOTEIP'), '127.0.0.1', 'nowait: TCPREMOTEIP');
	is(var($out, 'TCPREMOTEPORT'), $c->sockport,
	    'nowait: TCPREMOTEPORT is the client\'s port');
	is(var($out, 'TCPLOCALIP'), '127.0.0.1', 'nowait: TCPLOCALIP');
	is(var($out, 'TCPLOCALPORT'), $pn, 'nowait: TCPLOCALPORT');
	like($out, qr/^uid \d+$/m, 'nowait: the handler ran');
	close($c);

	# grep, which leaves its signals as it finds them (perl ignores
	# SIGFPE itself), shows its own.
	$c = connect_tcp($ps) or die "connect: $!";
	$out = read_n($c, 4096, 5);
	like($out, qr/^SigIgn:\s*0+$/m,
	    'nowait: no signal ignored (not forkd\'s SIGPIPE, SIGHUP, 32, 33)')
	    or diag($out);
	like($out, qr/^SigBlk:\s*0+$/m, 'nowait: no signal blocked');
	close($c);

	$c = connect_tcp($pp) or die "connect: $!";
	$out = read_n($c, 4096, 5);
	like($out, qr/^uid \d+$/m, 'prefork: the worker answered') or
	    diag($out);
	is(join(' ', map { var($out, $_) // 'missing' } sort keys %stale),
	    '- - - - -', 'prefork: no UCSPI variable reaches a worker');
	close($c);

	$c = connect_tcp($pr) or die "connect: $!";
	$out = read_n($c, 4096, 5);
	like($out, qr/^uid 0$/m, 'root: a service run as root runs as root')
	    or diag($out, slurp($f->{stderr}) // '');
	close($c);

	# -v: the worker's start is logged with its pid, which /proc shows
	# as forkd's child.
	my $line = wait_log($f->{sl}, qr/\Q127.0.0.1:$pp\E\/tcp: pid \d+ started$/);
	ok($line, '-v: the prefork worker\'s start is logged');
	my ($w) = ($line // '') =~ /pid (\d+) started/;
	my $st = $w ? slurp("/proc/$w/stat") // '' : '';
	like($st, qr/^\d+ \(.*\) \S $f->{pid} /,
	    '-v: the pid logged is the worker\'s');
	forkd_stop($f);
}

# forkd with SECBIT_NO_SETUID_FIXUP: setuid(2) keeps the capabilities, so
# the handler could become root again. It must not run the program.
SKIP: {
	skip('setpriv(1) not installed', 3)
	    if system('setpriv --version >/dev/null 2>&1') != 0;
	skip('setpriv cannot set securebits here', 3)
	    if system('setpriv --securebits +no_setuid_fixup true '
	    . '>/dev/null 2>&1') != 0;
	my $dir = tmpdir();
	my $p = free_port();
	my $f = forkd_start(dir => $dir,
	    conf => "127.0.0.1:$p stream tcp nowait nobody /bin/echo echo ran\n",
	    prefix => ['setpriv', '--securebits', '+no_setuid_fixup'],
	    wait_ports => [$p]);
	my $c = connect_tcp($p);
	is($c ? read_n($c, 64, 5) : 'no connection', '',
	    'regain: the program never runs');
	ok(wait_log($f->{sl}, qr/pid \d+: setuid \d+ did not take$/),
	    'regain: the reason is logged');
	ok(wait_log($f->{sl}, qr/pid \d+ exited 111 /),
	    'regain: the handler exits 111');
	forkd_stop($f);
}

done_testing();
