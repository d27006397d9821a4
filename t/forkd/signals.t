#!/usr/bin/perl
# forkd's lifecycle: SIGHUP reloads (services added, removed and kept while
# a connection stays up; a broken config refused whole), a killed prefork
# handler is replaced, no zombie survives, the pidfile refuses a second
# forkd, and SIGTERM leaves no process behind.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(build forkd_start forkd_stop wait_log wait_port connect_tcp
    need_root free_port log_lines slurp spit);
use IO::Select;
use Test::More;
use Time::HiRes qw(sleep time);

need_root();
plan skip_all => 'build/echod is not built' unless -x build('echod');
plan tests => 21;

my $echod = build('echod');
my ($pa, $pb, $pc) = (free_port(), free_port(), free_port());

sub line_echo {
	my ($s, $text) = @_;
	syswrite($s, "$text\n");
	my ($line, $c) = ('');
	my $sel = IO::Select->new($s);
	while ($line !~ /\n/ && $sel->can_read(5)) {
		last unless sysread($s, $c, 1);
		$line .= $c;
	}
	return $line;
}

# Children of $pid: [pid, state] from /proc.
sub children {
	my ($pid) = @_;
	my @k;
	for my $d (glob('/proc/[0-9]*')) {
		my $st = slurp("$d/stat") // next;
		push @k, [$1, $2] if $st =~ /^(\d+) \(.*?\) (\S) (\d+)/ && $3 == $pid;
	}
	return @k;
}

my $dir = Forkd::tmpdir();
my $pidfile = "$dir/forkd.pid";
my $f = forkd_start(dir => $dir, args => ['-p', $pidfile], conf => <<"CONF",
127.0.0.1:$pa stream tcp prefork.3 nobody $echod echod
127.0.0.1:$pb stream tcp nowait nobody $echod echod
CONF
    wait_ports => [$pa, $pb]);

# Pidfile: written, and a second forkd on it refuses, naming the pid.
my $end = time + 5;
sleep(0.05) while !-s $pidfile && time < $end;
like(slurp($pidfile), qr/^$f->{pid}\n?\z/, 'the pidfile holds forkd\'s pid');
my $second = `@{[build('forkd')]} -f $f->{conf} -p $pidfile 2>&1`;
is($? >> 8, 1, 'a second forkd on the same pidfile exits 1');
like($second, qr/already running as pid $f->{pid}/, '... and says which pid runs');

# Prefork: SIGKILL a handler, the pool is whole again.
my @pool;
$end = time + 5;
while (time < $end) {
	@pool = map { $_->[0] } children($f->{pid});
	last if @pool == 3;
	sleep(0.05);
}
is(scalar(@pool), 3, 'prefork.3: three handlers');
kill('KILL', $pool[0]);
ok(wait_log($f->{sl}, qr/pid $pool[0] killed by signal 9/), 'the killed handler is logged');
$end = time + 5;
my @now;
while (time < $end) {
	@now = map { $_->[0] } children($f->{pid});
	last if @now == 3 && !grep { $_ == $pool[0] } @now;
	sleep(0.05);
}
ok(@now == 3 && !grep({ $_ == $pool[0] } @now), 'a new handler replaces it');

# A connection that stays up across the reloads.
my $held = connect_tcp($pa);
is(line_echo($held, 'before'), "before\n", 'a connection to the prefork service');


# SIGHUP: add c, remove b, keep a.
my $conf = slurp($f->{conf});
spit($f->{conf}, "127.0.0.1:$pa stream tcp prefork.3 nobody $echod echod\n" .
    "127.0.0.1:$pc stream tcp nowait nobody $echod echod\n");
kill('HUP', $f->{pid});
ok(wait_log($f->{sl}, qr/reload: /), 'SIGHUP reloads');
ok(wait_port($pc, 5), 'the added service answers');
my $c = connect_tcp($pc);
is($c && line_echo($c, 'new'), "new\n", '... and echoes');
close($c) if $c;
ok(!connect_tcp($pb), 'the removed service refuses connections');
is(line_echo($held, 'after'), "after\n", 'the held connection to a kept service still echoes');

# A config with errors is refused whole: the running one stays.
spit($f->{conf}, "127.0.0.1:$pa stream tcp prefork.3 nobody $echod echod\n" .
    "127.0.0.1:$pb stream tcp nowait nobody /nonexistent echod\n");
kill('HUP', $f->{pid});
ok(wait_log($f->{sl}, qr/forkd.conf:2: program: \/nonexistent: No such file/),
    'a broken config is logged with file:line and field');
ok(wait_log($f->{sl}, qr/has errors: the running configuration stays/),
    '... and refused');
ok(!connect_tcp($pb) && connect_tcp($pc), 'the running services stay as they were');
close($held);

# 200 connections to the nowait service; no zombie after a second.
for my $i (1 .. 200) {
	my $s = connect_tcp($pc) or next;
	syswrite($s, "x\n");
	close($s);
}
# Reaped as they end: wait (10 s at most) for none to be left a zombie.
my @z = (1);
my $zend = time + 10;
while (time < $zend) {
	@z = grep { $_->[1] eq 'Z' } children($f->{pid});
	last unless @z;
	sleep(0.05);
}
is(scalar(@z), 0, 'no zombie left after 200 connections');

# SIGTERM: children ended, pidfile removed, exit 0, nothing left behind.
my @before = map { $_->[0] } children($f->{pid});
ok(@before >= 3, 'handlers running before SIGTERM');
is(forkd_stop($f, keep_log => 1), 0, 'SIGTERM: forkd exits 0');
ok(!-e $pidfile, 'the pidfile is removed');
my @left = grep { -e "/proc/$_" && (slurp("/proc/$_/stat") // '') !~ /\) Z / } @before;
is(scalar(@left), 0, 'no handler survives forkd');
ok(wait_log($f->{sl}, qr/stopped/), 'the stop is logged');
forkd_stop($f);
