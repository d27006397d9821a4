#!/usr/bin/perl
# forkd's binary upgrade (SIGUSR2, forkd.8): under a steady load of echo
# and HTTP clients against prefork echod and httpd, forkd executes its
# binary anew keeping the listeners: no connection fails, the pidfile
# names the new forkd, which serves, and the old one drains and exits 0,
# its handlers finishing the connections they held (an echo goes on, a
# kept-alive HTTP connection gets one last response).
# An upgrade that cannot start (a config with errors, a program that is
# gone) leaves the running forkd serving, and says why.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(build forkd_start forkd_stop wait_log wait_port connect_tcp
    need_root free_port log_lines slurp spit read_n wait_exit syslog_start
    syslog_wrap run_cmd);
use IO::Select;
use POSIX qw(:sys_wait_h);
use Test::More;
use Time::HiRes qw(sleep time);

need_root();
for my $p (qw(echod httpd)) {
	plan skip_all => "build/$p is not built" unless -x build($p);
}
plan tests => 31;

my ($pe, $ph) = (free_port(), free_port());
my $dir = Forkd::tmpdir();
chmod(0755, $dir);
my $root = "$dir/www";
mkdir($root) or die "$root: $!";
spit("$root/index.html", "upgraded page\n");
my $pidfile = "$dir/forkd.pid";
my ($echod, $httpd) = (build('echod'), build('httpd'));
my $conf = <<"CONF";
127.0.0.1:$pe stream tcp prefork.2 nobody $echod echod -t
127.0.0.1:$ph stream tcp prefork.2 nobody $httpd httpd -r $root
CONF

my $f = forkd_start(dir => $dir, args => ['-p', $pidfile], conf => $conf,
    wait_ports => [$pe, $ph]);
my $old = $f->{pid};
ok(wait_log($f->{sl}, qr/started: 2 services/), 'forkd started');

# The pid in the pidfile once it is not $not (up to 10 s), or undef.
sub pid_other_than {
	my ($not) = @_;
	my $end = time + 10;
	while (time < $end) {
		my $p = slurp($pidfile) // '';
		return $1 if $p =~ /^(\d+)\n?\z/ && $1 != $not;
		sleep(0.05);
	}
	return undef;
}

# Read to EOF within 5 s.
sub to_eof {
	my ($s) = @_;
	my ($got, $sel) = ('', IO::Select->new($s));
	while ($sel->can_read(5)) {
		my $r = sysread($s, my $buf, 65536);
		last unless $r;
		$got .= $buf;
	}
	return $got;
}

# One echo exchange and one HTTP request; '' when both went right, else
# what went wrong.
sub exchange {
	my ($i) = @_;
	my $e = connect_tcp($pe) or return "echo connect: $!";
	syswrite($e, "ping $i\n");
	my $got = read_n($e, length("ping $i\n"));
	return "echo: got '$got'" unless $got eq "ping $i\n";
	syswrite($e, ".\n");
	$got = to_eof($e);
	return "echo end: got '$got'" unless $got eq ".\n";
	my $h = connect_tcp($ph) or return "http connect: $!";
	syswrite($h, "GET /index.html HTTP/1.1\r\nHost: x\r\n"
	    . "Connection: close\r\n\r\n");
	$got = to_eof($h);
	return "http: got '$got'"
	    unless $got =~ /^HTTP\/1.1 200 .*\r\n\r\nupgraded page\n\z/s;
	return '';
}

# The load: exchanges in a loop for 6 s at most (5000 at most), counted
# in a file.
my $counts = "$dir/load.txt";
my $loader = fork() // die "fork: $!";
if ($loader == 0) {
	my ($ok, $fail, @why) = (0, 0);
	my $end = time + 6;
	for (my $i = 0; $i < 5000 && time < $end; $i++) {
		my $r = exchange($i);
		if ($r eq '') { $ok++ } else { $fail++; push @why, $r }
	}
	spit($counts, "$ok $fail\n" . join("\n", @why[0 .. ($#why < 4 ? $#why : 4)]));
	POSIX::_exit(0);
}
push @Forkd::STARTED, $loader;

# Connections held by the old handlers across the upgrade.
my $ke = connect_tcp($pe);
syswrite($ke, "held 1\n");
my $held1 = read_n($ke, 7);
my $kh = connect_tcp($ph);
syswrite($kh, "GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n");
my $first = '';
my $ksel = IO::Select->new($kh);
while ($first !~ /upgraded page\n/ && $ksel->can_read(5)) {
	sysread($kh, my $buf, 65536) or last;
	$first .= $buf;
}

sleep(1.5);
kill('USR2', $old);
my $new = pid_other_than($old);
ok($new, 'SIGUSR2: the pidfile names a new forkd');
push @Forkd::STARTED, $new if $new;
ok(wait_log($f->{sl}, qr/forkd\[$old\]: upgrade: pid \d+ serves now/),
    'SIGUSR2: the old forkd hands over');
# The old handlers finish what they hold: the echo goes on, the kept-alive
# HTTP connection gets its next response, its last.
syswrite($ke, "held 2\n.\n");
is($held1 . to_eof($ke), "held 1\nheld 2\n.\n",
    'the echo connection held across the upgrade finishes');
syswrite($kh, "GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n");
my $second = to_eof($kh);
like($first, qr/^HTTP\/1.1 200 /, 'the kept-alive HTTP connection: a first response');
like($second, qr/^HTTP\/1.1 200 .*Connection: close\r\n.*upgraded page\n\z/s,
    '... and after the hand-over its last, with Connection: close');
is(wait_exit($old, 15), 0, 'SIGUSR2: the old forkd drains and exits 0');
$f->{pid} = 0;
ok($new && kill(0, $new), 'SIGUSR2: the new forkd runs');
ok(wait_log($f->{sl}, qr/forkd\[$old\]: upgrade: pid $new serves now; draining 4 handlers/),
    'the old forkd logs the hand-over');
ok(wait_log($f->{sl}, qr/forkd\[$old\]: stopped: pid $new serves/),
    '... and its end');
ok(wait_log($f->{sl}, qr/forkd\[$new\]: started: 2 services from .*, upgraded in place/),
    'the new forkd logs its start');

waitpid($loader, 0);
@Forkd::STARTED = grep { $_ != $loader } @Forkd::STARTED;
my ($head, @why) = split(/\n/, slurp($counts) // "0 1\nno counts");
my ($ok, $fail) = split(/ /, $head);
is($fail, 0, 'under load: no connection failed') or diag(join("\n", @why,
    grep { !/ (connect|close|GET) / } log_lines($f->{sl})));
cmp_ok($ok, '>', 10, 'under load: exchanges were made');
diag("upgrade under load: $ok echo+HTTP exchanges, $fail failed");

# The new forkd serves with its own handlers.
is(exchange('after'), '', 'the new forkd serves echo and HTTP');
kill('USR1', $new);
ok(wait_log($f->{sl}, qr/forkd\[$new\]: status: \Q127.0.0.1:$pe\E\/tcp: prefork\.2, listening, handlers 2/),
    'SIGUSR1 to the new forkd: its pool of echod');
my @mine = grep { /forkd\[$new\]: status: \Q127.0.0.1:$ph\E\/tcp: pid \d+ age/ }
    log_lines($f->{sl});
is(scalar(@mine), 2, '... and of httpd');

# An upgrade whose config has errors: the running forkd serves on.
spit($f->{conf}, "this is not a service line\n");
kill('USR2', $new);
ok(wait_log($f->{sl}, qr/forkd\[$new\]: upgrade: pid \d+: .*forkd\.conf:1: /),
    'a broken config: the new forkd\'s complaint is logged')
    or diag(join("\n", grep { /upgrade/ } log_lines($f->{sl})));
ok(wait_log($f->{sl}, qr/forkd\[$new\]: upgrade: pid \d+ exited 1: pid $new serves on/),
    '... and its exit');
like(slurp($pidfile), qr/^$new\n?\z/, '... the pidfile still names the running forkd');
is(exchange('broken'), '', '... which serves');
spit($f->{conf}, $conf);

# An upgrade whose program is gone (started through a link since removed).
{
	my $bin = "$dir/bin";
	mkdir($bin) or die;
	symlink(build('forkd'), "$bin/forkd") or die;
	my ($p, $q) = (free_port(), free_port());
	my $sl = syslog_start(Forkd::tmpdir());
	spit("$dir/gone.conf", "127.0.0.1:$p stream tcp prefork.1 nobody $echod echod -t\n");
	my $pid = fork() // die;
	if ($pid == 0) {
		open(STDIN, '<', '/dev/null');
		open(STDOUT, '>', '/dev/null');
		open(STDERR, '>', '/dev/null');
		exec(syslog_wrap($sl), "$bin/forkd", '-d', '-f', "$dir/gone.conf")
		    or POSIX::_exit(127);
	}
	push @Forkd::STARTED, $pid;
	ok(wait_port($p, 5), 'gone: forkd started through a link');
	unlink("$bin/forkd");
	kill('USR2', $pid);
	ok(wait_log($sl, qr/upgrade: pid \d+: forkd: execve \Q$bin\E\/forkd: No such file or directory/),
	    'gone: the failed execve is logged');
	ok(wait_log($sl, qr/upgrade: pid \d+ exited 111: pid $pid serves on/),
	    'gone: ... and the running forkd serves on');
	my $c = connect_tcp($p);
	syswrite($c, "still\n") if $c;
	is($c ? read_n($c, 6) : undef, "still\n", 'gone: ... and it does');
	close($c) if $c;
	kill('TERM', $pid);
	wait_exit($pid, 10);
	kill('TERM', $sl->{pid});
}

# The rc script's upgrade.
{
	my $d = Forkd::tmpdir();
	chmod(0755, $d);
	my $sl = syslog_start($d);
	my $p = free_port();
	spit("$d/forkd.conf", "127.0.0.1:$p stream tcp prefork.1 nobody $echod echod -t\n");
	local %ENV = (%ENV, FORKD => build('forkd'),
	    FORKD_CONF => "$d/forkd.conf", FORKD_PIDFILE => "$d/forkd.pid");
	my $rc = "$FindBin::Bin/../../etc/rc.d/forkd";
	my ($st, $out) = run_cmd(undef, syslog_wrap($sl), 'sh', $rc, 'start');
	like($out, qr/^forkd: started \(pid (\d+)\)$/m, 'rc: started');
	my ($a) = $out =~ /pid (\d+)/;
	($st, $out) = run_cmd(undef, 'sh', $rc, 'upgrade');
	is($st, 0, 'rc: upgrade exits 0');
	like($out, qr/^forkd: upgraded \(pid $a, now pid (\d+)\)$/m,
	    'rc: upgrade names the old pid and the new one');
	my ($b) = $out =~ /now pid (\d+)/;
	($st, $out) = run_cmd(undef, 'sh', $rc, 'status');
	like($out, qr/^forkd is running \(pid $b\)$/m, 'rc: status names the new forkd');
	my $c = connect_tcp($p);
	syswrite($c, "rc\n") if $c;
	is($c ? read_n($c, 3) : undef, "rc\n", 'rc: the upgraded forkd serves');
	close($c) if $c;
	($st, $out) = run_cmd(undef, 'sh', $rc, 'stop');
	like($out, qr/^forkd: stopped \(pid $b\)$/m, 'rc: stop stops the new forkd');
	kill('TERM', $sl->{pid});
}

kill('TERM', $new);
my $end = time + 10;
sleep(0.05) while kill(0, $new) && time < $end;
ok(!kill(0, $new), 'the new forkd stops on SIGTERM');
forkd_stop($f);
