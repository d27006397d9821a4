#!/usr/bin/perl
# forkd's drain (SIGTERM, forkd.8 SIGNALS): the listeners close at once, so
# new clients are refused; the connections that prefork handlers (echod,
# smtpd, httpd), a wait handler and a nowait handler hold finish their
# exchange, each ended by the client or the protocol, none reset; forkd
# exits 0. A connection that outlives the bound (-t) is ended by it; a
# handler that ignores SIGTERM gets SIGKILL after 5 s.
# SIGUSR1 logs one line per service and per handler, with spawns, exits by
# status and per-source refusals.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(build forkd_start forkd_stop wait_log wait_port connect_tcp
    need_root free_port log_lines slurp read_lines read_n wait_exit
    read_line children tmpdir spit);
use Errno qw(ECONNRESET);
use IO::Select;
use POSIX ();
use Test::More;
use Time::HiRes qw(sleep time);

need_root();
for my $p (qw(echod smtpd httpd)) {
	plan skip_all => "build/$p is not built" unless -x build($p);
}
plan tests => 44;

my ($pe, $ps, $ph, $pn) = (free_port(), free_port(), free_port(),
    free_port());
my $dir = Forkd::tmpdir();
chmod(0755, $dir);
my $spool = "$dir/spool";
mkdir($spool) or die "$spool: $!";
chown(scalar(getpwnam('nobody')), -1, $spool);
my $root = "$dir/www";
mkdir($root) or die "$root: $!";
Forkd::spit("$root/index.html", "drained page\n");
my ($echod, $smtpd, $httpd) = map { build($_) } qw(echod smtpd httpd);

my $f = forkd_start(dir => $dir, args => ['-t', '20'], conf => <<"CONF",
127.0.0.1:$pe stream tcp prefork.2 nobody $echod echod -t
127.0.0.1:$ps stream tcp prefork.2 nobody $smtpd smtpd -m $spool
127.0.0.1:$ph stream tcp prefork.2 nobody $httpd httpd -r $root -k 30
127.0.0.1:$pn stream tcp nowait nobody /bin/cat cat
CONF
    wait_ports => [$pe, $ps, $ph, $pn]);
ok(wait_log($f->{sl}, qr/started: 4 services/), 'forkd started');

# Reads until EOF (or 5 s); returns (bytes, 1 if it ended by a reset).
sub to_eof {
	my ($s) = @_;
	my ($got, $reset, $sel) = ('', 0, IO::Select->new($s));
	while ($sel->can_read(5)) {
		my $r = sysread($s, my $buf, 65536);
		if (!defined $r) { $reset = $! == ECONNRESET; last }
		last if $r == 0;
		$got .= $buf;
	}
	return ($got, $reset);
}

# Connections in hand, each halfway through its exchange.
my $e = connect_tcp($pe);
syswrite($e, "one\n");
is(read_n($e, 4), "one\n", 'echo: the first line is echoed');

my $m = connect_tcp($ps);
like(read_lines($m, 1), qr/^220 /, 'smtp: greeting');
syswrite($m, "HELO drain\r\nMAIL FROM:<a\@drain>\r\nRCPT TO:<b\@drain>\r\n");
like(read_lines($m, 3), qr/^250 .*\r\n250 .*\r\n250 .*\r\n\z/,
    'smtp: HELO, MAIL, RCPT accepted');

my $h = connect_tcp($ph);
syswrite($h, "GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n");
my $first = read_n($h, 1);
my $sel = IO::Select->new($h);
while ($first !~ /drained page\n/ && $sel->can_read(5)) {
	sysread($h, my $buf, 65536) or last;
	$first .= $buf;
}
like($first, qr/^HTTP\/1.1 200 .*drained page\n\z/s,
    'http: the first response, kept alive');
unlike($first, qr/Connection: close/i, '... with no Connection: close');

my $n = connect_tcp($pn);
syswrite($n, "nowait\n");
is(read_n($n, 7), "nowait\n", 'nowait: cat echoes');

# SIGUSR1 first: the state of every service and handler (wait_ports
# probes without connecting: the nowait service spawned for $n only).
kill('USR1', $f->{pid});
ok(wait_log($f->{sl}, qr/status: forkd pid $f->{pid} up \d+ s, 4 services, 7 handlers/),
    'SIGUSR1: a line for forkd');
ok(wait_log($f->{sl}, qr/status: \Q127.0.0.1:$pe\E\/tcp: prefork\.2, listening, handlers 2, spawned 2, exits none/),
    'SIGUSR1: a line per service: mode, state, handlers, spawns, exits');
ok(wait_log($f->{sl}, qr/status: \Q127.0.0.1:$pn\E\/tcp: nowait\.\d+, listening, handlers 1, spawned 1, exits none$/),
    'SIGUSR1: ... the nowait service, its one handler');
my @hl = grep { /status: \Q127.0.0.1:$ps\E\/tcp: pid \d+ age \d+\.\d{3} s/ }
    log_lines($f->{sl});
is(scalar(@hl), 2, 'SIGUSR1: a line per handler, with its pid and age');

# The drain.
kill('TERM', $f->{pid});
ok(wait_log($f->{sl}, qr/stopping: 7 children to end within 20000 ms/),
    'SIGTERM: forkd drains');
my $refused = 0;
for my $p ($pe, $ps, $ph, $pn) {
	my $end = time + 5;
	my $c;
	while (($c = connect_tcp($p)) && time < $end) {
		close($c);
		sleep(0.05);
	}
	$refused++ unless $c;
}
is($refused, 4, 'SIGTERM: new connections are refused on every port');

syswrite($e, "two\n");
is(read_n($e, 4), "two\n", 'echo: the held connection still echoes');
syswrite($e, ".\n");
my ($rest, $reset) = to_eof($e);
is($rest, ".\n", 'echo: the terminator ends it');
ok(!$reset, 'echo: closed, not reset');

syswrite($m, "DATA\r\n");
like(read_lines($m, 1), qr/^354 /, 'smtp: DATA after the drain began')
    or diag(join("\n", log_lines($f->{sl})));
syswrite($m, "Subject: drain\r\n\r\nheld through SIGTERM\r\n.\r\nQUIT\r\n");
($rest, $reset) = to_eof($m);
like($rest, qr/^250 .*\r\n221 .*\r\n\z/, 'smtp: 250 for the message, 221 for QUIT');
ok(!$reset, 'smtp: closed, not reset');
like(slurp("$spool/mailbox") // '', qr/held through SIGTERM/,
    'smtp: the message is in the mailbox');

syswrite($h, "GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n");
($rest, $reset) = to_eof($h);
like($rest, qr/^HTTP\/1.1 200 .*Connection: close\r\n.*drained page\n\z/s,
    'http: the next request is served, with Connection: close');
ok(!$reset, 'http: closed, not reset');

syswrite($n, "still\n");
is(read_n($n, 6), "still\n", 'nowait: the held connection still works');
shutdown($n, 1);
($rest, $reset) = to_eof($n);
ok($rest eq '' && !$reset, 'nowait: ends with its client');

my $st = wait_exit($f->{pid}, 10);
is($st, 0, 'forkd exits 0 once every connection has ended');
$f->{pid} = 0;

# The bound: a client that never ends its echo is ended at -t.
{
	my $p = free_port();
	my $g = forkd_start(args => ['-t', '1'],
	    conf => "127.0.0.1:$p stream tcp prefork.1 nobody $echod echod -t\n",
	    wait_ports => [$p]);
	my $c = connect_tcp($p);
	syswrite($c, "x\n");
	read_n($c, 2);
	kill('TERM', $g->{pid});
	is(wait_exit($g->{pid}, 10), 0, 'bound: forkd exits 0');
	$g->{pid} = 0;
	ok(wait_log($g->{sl}, qr/1 children still run at the bound of 1000 ms: SIGTERM/),
	    'bound: the handler still holding a connection is ended');
	ok(wait_log($g->{sl}, qr/pid \d+ ended by SIGTERM/),
	    'bound: by the second SIGTERM, which a draining handler does not catch');
	ok(!grep({ /killing them/ } log_lines($g->{sl})), 'bound: no SIGKILL needed');
	forkd_stop($g);
}
forkd_stop($f);

# A wait handler on a stream socket (it accepts, as a pool does) drains too.
{
	my $p = free_port();
	my $g = forkd_start(args => ['-t', '20'],
	    conf => "127.0.0.1:$p stream tcp wait nobody $echod echod -t\n");
	ok(wait_log($g->{sl}, qr/started: 1 services/), 'wait: forkd started');
	my $c = connect_tcp($p);
	syswrite($c, "w1\n");
	is(read_n($c, 3), "w1\n", 'wait: the handler echoes');
	kill('TERM', $g->{pid});
	ok(wait_log($g->{sl}, qr/stopping: 1 children/), 'wait: SIGTERM');
	syswrite($c, "w2\n.\n");
	my ($rest, $reset) = to_eof($c);
	is($rest . ($reset ? ' reset' : ''), "w2\n.\n",
	    'wait: the held connection finishes, no reset');
	is(wait_exit($g->{pid}, 20), 0, 'wait: forkd exits 0');
	$g->{pid} = 0;
	forkd_stop($g);
}

# SIGUSR1 counts a service's per-source refusals.
{
	my $p = free_port();
	my $g = forkd_start(conf => "127.0.0.1:$p stream tcp nowait/0/0/1 nobody /bin/cat cat\n");
	ok(wait_log($g->{sl}, qr/started: 1 services/), 'per source: forkd started');
	my $one = connect_tcp($p);
	syswrite($one, "held\n");
	read_n($one, 5);
	my $two = connect_tcp($p);
	ok(wait_log($g->{sl}, qr/refused: max-child-per-ip 1/),
	    'per source: a second connection from the address is refused');
	kill('USR1', $g->{pid});
	ok(wait_log($g->{sl}, qr/status: \Q127.0.0.1:$p\E\/tcp: nowait\.\d+\/0\/0\/1, listening, handlers \d, spawned 2, .*, refused 1 per source$/),
	    'SIGUSR1: the service line says the mode as written and the refusal');
	close($one);
	close($two) if $two;
	forkd_stop($g);
}

# Shutdown is bounded: a handler that ignores SIGTERM gets SIGKILL after
# 5 s, and forkd still removes its pidfile and exits 0.
{
	my $p = free_port();
	my $dir = tmpdir();
	chmod(0755, $dir);
	spit("$dir/stubborn", q{$SIG{TERM} = 'IGNORE'; $| = 1; print "up\n";}
	    . q{ sleep 600;});
	my $f = forkd_start(dir => $dir, args => ['-p', "$dir/forkd.pid"],
	    conf => "127.0.0.1:$p stream tcp nowait nobody /usr/bin/perl perl $dir/stubborn\n");
	ok(wait_log($f->{sl}, qr/started: 1 services/), 'stop: forkd started');
	my $s = connect_tcp($p);
	is($s ? read_line($s) : undef, "up\n", 'stop: the stubborn handler runs');
	my @kids = children($f->{pid});
	my $t0 = time;
	is(forkd_stop($f, keep_log => 1, timeout => 15), 0, 'stop: forkd exits 0');
	cmp_ok(time - $t0, '<', 10, 'stop: ... within its bound');
	ok(wait_log($f->{sl}, qr/stopping: 1 children did not end in 5000 ms: killing them/),
	    'stop: the SIGKILL is logged');
	ok(!-e "$dir/forkd.pid", 'stop: the pidfile is removed');
	ok(@kids == 1 && !kill(0, $kids[0]), 'stop: the handler is gone');
	kill('TERM', $f->{sl}{pid});
	waitpid($f->{sl}{pid}, 0);
}
