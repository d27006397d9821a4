#!/usr/bin/perl
# forkd scaled out (forkd.8 SCALING OUT): a private HAProxy, run in the
# foreground on its own config in plain TCP mode, in front of two forkd
# instances serving echod, httpd and smtpd. Under a steady load through
# HAProxy (wrk for HTTP, a python3 smtplib loop for SMTP, an echo loop),
# forkd A is upgraded in place (SIGUSR2), and forkd B is taken out as an
# operator does (HAProxy's runtime API sets it to drain, then SIGTERM
# drains forkd B) and started again: no request fails, and every message
# that got its 250 is in one of the two mailboxes exactly once.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(build forkd_start forkd_stop wait_log wait_port need_root
    free_port slurp spit wait_exit tmpdir);
use IO::Socket::UNIX;
use POSIX qw(:sys_wait_h);
use Socket qw(SOCK_STREAM);
use Test::More;
use Time::HiRes qw(sleep time);

need_root();
for my $p (qw(echod smtpd httpd)) {
	plan skip_all => "build/$p is not built" unless -x build($p);
}
chomp(my $haproxy = `command -v haproxy 2>/dev/null` ||
    (-x '/usr/sbin/haproxy' ? '/usr/sbin/haproxy' : ''));
plan skip_all => 'needs haproxy (Debian haproxy, mk/packages/scaleout.txt)'
    unless $haproxy;
chomp(my $wrk = `command -v wrk 2>/dev/null`);
plan skip_all => 'needs wrk (Debian wrk)' unless $wrk;
chomp(my $python = `command -v python3 2>/dev/null`);
plan skip_all => 'needs python3' unless $python;
plan tests => 16;

my $LOAD_S = 10;	# seconds of load
my $dir = tmpdir();
chmod(0755, $dir);
my $root = "$dir/www";
mkdir($root) or die;
spit("$root/index.html", "balanced page\n");
my ($echod, $smtpd, $httpd) = map { build($_) } qw(echod smtpd httpd);

# One forkd: its ports and its own spool (the mailbox is per host).
my %host;
for my $h (qw(a b)) {
	my $d = "$dir/$h";
	mkdir($d) or die;
	chmod(0755, $d);
	mkdir("$d/spool") or die;
	chown(scalar(getpwnam('nobody')), -1, "$d/spool");
	$host{$h} = { dir => $d, echo => free_port(), http => free_port(),
	    smtp => free_port() };
	$host{$h}{conf} = <<"CONF";
127.0.0.1:$host{$h}{echo} stream tcp prefork.2 nobody $echod echod -t
127.0.0.1:$host{$h}{http} stream tcp prefork.2 nobody $httpd httpd -r $root
127.0.0.1:$host{$h}{smtp} stream tcp prefork.4 nobody $smtpd smtpd -m $d/spool
CONF
}

sub start_host {
	my ($h) = @_;
	my $x = $host{$h};
	$x->{f} = forkd_start(dir => $x->{dir}, conf => $x->{conf},
	    sl => $x->{f} ? $x->{f}{sl} : undef,
	    args => ['-p', "$x->{dir}/forkd.pid", '-t', '20'],
	    wait_ports => [$x->{echo}, $x->{http}, $x->{smtp}]);
}
start_host($_) for qw(a b);

# HAProxy: one TCP frontend and backend per service, the two hosts in
# round robin; a refused connection is retried on the other host.
my %front = (echo => free_port(), http => free_port(), smtp => free_port());
my $cfg = <<"CFG";
global
	maxconn 2000
	stats socket $dir/haproxy.sock level admin
defaults
	mode tcp
	timeout connect 2s
	timeout client 30s
	timeout server 30s
	retries 3
	option redispatch 1
	default-server inter 200ms fall 1 rise 2
CFG
for my $svc (qw(echo http smtp)) {
	$cfg .= <<"CFG";
frontend f_$svc
	bind 127.0.0.1:$front{$svc}
	default_backend b_$svc
backend b_$svc
	balance roundrobin
	server a 127.0.0.1:$host{a}{$svc} check
	server b 127.0.0.1:$host{b}{$svc} check
CFG
}
spit("$dir/haproxy.cfg", $cfg);
my $hap = fork() // die;
if ($hap == 0) {
	open(STDIN, '<', '/dev/null');
	open(STDOUT, '>', "$dir/haproxy.log");
	open(STDERR, '>', "$dir/haproxy.log");
	exec($haproxy, '-db', '-f', "$dir/haproxy.cfg") or POSIX::_exit(127);
}
push @Forkd::STARTED, $hap;
ok(wait_port($front{http}, 5) && wait_port($front{smtp}, 5) &&
    wait_port($front{echo}, 5), 'haproxy listens');

# The SMTP and echo loops: python3, threads, bounded in time and count.
spit("$dir/load.py", <<'PY');
import smtplib, socket, sys, threading, time
smtp_port, echo_port, secs, out = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
end = time.time() + secs
lock = threading.Lock()
sent, fails, echoes = [], [], [0]
def smtp(t):
    n = 0
    while time.time() < end and n < 3000:
        tok = "token-%d-%d" % (t, n)
        n += 1
        try:
            s = smtplib.SMTP("127.0.0.1", smtp_port, timeout=20)
            s.ehlo("load")
            s.sendmail("load@test", ["box@test"], "Subject: %s\r\n\r\n%s\r\n" % (tok, tok))
            with lock: sent.append(tok)
            s.quit()
        except Exception as e:
            with lock: fails.append("smtp %s: %r" % (tok, e))
def echo(t):
    n = 0
    while time.time() < end and n < 20000:
        n += 1
        line = b"echo %d %d\n" % (t, n)
        try:
            c = socket.create_connection(("127.0.0.1", echo_port), timeout=20)
            c.sendall(line + b".\n")
            got = b""
            while True:
                b = c.recv(4096)
                if not b: break
                got += b
            c.close()
            if got != line + b".\n":
                raise Exception("got %r" % got)
            with lock: echoes[0] += 1
        except Exception as e:
            with lock: fails.append("echo: %r" % (e,))
ts = [threading.Thread(target=smtp, args=(i,)) for i in range(3)]
ts += [threading.Thread(target=echo, args=(i,)) for i in range(2)]
for t in ts: t.start()
for t in ts: t.join()
with open(out, "w") as f:
    f.write("%d %d %d\n" % (len(sent), echoes[0], len(fails)))
    f.write("".join(s + "\n" for s in sent))
    f.write("".join("FAIL " + s + "\n" for s in fails[:10]))
PY
my $py = fork() // die;
if ($py == 0) {
	open(STDIN, '<', '/dev/null');
	open(STDOUT, '>', "$dir/load.err");
	open(STDERR, '>', "$dir/load.err");
	exec($python, "$dir/load.py", $front{smtp}, $front{echo}, $LOAD_S,
	    "$dir/load.out") or POSIX::_exit(127);
}
push @Forkd::STARTED, $py;
my $wk = fork() // die;
if ($wk == 0) {
	open(STDIN, '<', '/dev/null');
	open(STDOUT, '>', "$dir/wrk.out");
	open(STDERR, '>', "$dir/wrk.out");
	exec($wrk, '-t1', '-c4', "-d${LOAD_S}s", '--timeout', '10s',
	    "http://127.0.0.1:$front{http}/index.html") or POSIX::_exit(127);
}
push @Forkd::STARTED, $wk;

# A: upgraded in place.
sleep(2.5);
my $olda = $host{a}{f}{pid};
kill('USR2', $olda);
my ($newa, $end) = (undef, time + 10);
while (time < $end) {
	my $p = slurp("$host{a}{dir}/forkd.pid") // '';
	if ($p =~ /^(\d+)$/ && $1 != $olda) { $newa = $1; last }
	sleep(0.05);
}
ok($newa, 'A: SIGUSR2 started a new forkd');
push @Forkd::STARTED, $newa if $newa;
is(wait_exit($olda, 20), 0, 'A: the old forkd drained and exited 0');
$host{a}{f}{pid} = 0;

# HAProxy's runtime API: one command, its answer.
sub hap_cmd {
	my ($cmd) = @_;
	my $s = IO::Socket::UNIX->new(Type => SOCK_STREAM,
	    Peer => "$dir/haproxy.sock") or return "connect: $!";
	print $s "$cmd\n";
	local $/;
	my $r = <$s> // '';
	return $r;
}

# B: out of the balancer's rotation, drained, then started again. (A
# SIGTERM alone would do but for the connections the kernel queued in the
# instant between the handlers' last accept and the close: those are reset,
# forkd.8 CAVEATS.)
sleep(1);
my $drained = join('', map { hap_cmd("set server b_$_/b state drain") }
    qw(echo http smtp));
like($drained, qr/\A\s*\z/, 'B: set to drain in haproxy');
sleep(0.5);
my $oldb = $host{b}{f}{pid};
kill('TERM', $oldb);
is(wait_exit($oldb, 25), 0, 'B: drained on SIGTERM, exited 0');
$host{b}{f}{pid} = 0;
start_host('b');
ok(wait_log($host{b}{f}{sl}, qr/forkd\[$host{b}{f}{pid}\]: started: 3 services/),
    'B: started again');
hap_cmd("set server b_$_/b state ready") for qw(echo http smtp);

# The load ends on its own.
for my $p ($py, $wk) {
	is(wait_exit($p, $LOAD_S + 60), 0, "load generator pid $p ended");
}

my ($head, @lines) = split(/\n/, slurp("$dir/load.out") // "0 0 1\nFAIL no output");
my ($nsent, $nechoes, $nfails) = split(/ /, $head);
my @sent = grep { !/^FAIL / } @lines;
my @why = grep { /^FAIL / } @lines;
is($nfails, 0, 'SMTP and echo through haproxy: no failure')
    or diag(join("\n", @why));
cmp_ok($nsent, '>', 0, 'messages were sent');
cmp_ok($nechoes, '>', 0, 'echoes were made');

my $w = slurp("$dir/wrk.out") // '';
my ($requests) = $w =~ /(\d+) requests in/;
my ($serr) = $w =~ /Socket errors: (.*)/;
my ($non2xx) = $w =~ /Non-2xx or 3xx responses: (\d+)/;
cmp_ok($requests // 0, '>', 0, 'wrk made requests');
ok(!defined $serr, 'wrk: no socket error') or diag("wrk: Socket errors: $serr");
ok(!defined $non2xx, 'wrk: every response 2xx') or diag("wrk: $non2xx non-2xx");

# Every 250 in a mailbox once: the two spools, mailboxes and backups.
my %seen;
for my $h (qw(a b)) {
	opendir(my $dh, "$host{$h}{dir}/spool") or die;
	for my $fn (grep { /^mailbox/ } readdir($dh)) {
		my $m = slurp("$host{$h}{dir}/spool/$fn") // '';
		$seen{$1}++ while $m =~ /^(token-\d+-\d+)\r?$/mg;
	}
}
my @missing = grep { !$seen{$_} } @sent;
my @twice = grep { $seen{$_} > 1 } keys %seen;
is(scalar(@missing), 0, 'every message answered 250 is in a mailbox')
    or diag("missing: @missing[0 .. ($#missing < 9 ? $#missing : 9)]");
is(scalar(@twice), 0, '... once');
my %per;
for my $h (qw(a b)) {
	my $n = 0;
	opendir(my $dh, "$host{$h}{dir}/spool") or die;
	for my $fn (grep { /^mailbox/ } readdir($dh)) {
		$n += () = (slurp("$host{$h}{dir}/spool/$fn") // '') =~ /^Number: /mg;
	}
	$per{$h} = $n;
}
diag(sprintf("through haproxy, A upgraded and B restarted under load: "
    . "%d HTTP requests (wrk), %d SMTP messages (%d in A's mailbox, %d in "
    . "B's), %d echoes, %d failures", $requests // 0, $nsent, $per{a},
    $per{b}, $nechoes, $nfails + ($serr ? 1 : 0) + ($non2xx // 0)));

kill('TERM', $hap);
wait_exit($hap, 5);
kill('TERM', $newa) if $newa;
$end = time + 25;
sleep(0.05) while $newa && kill(0, $newa) && time < $end;
forkd_stop($host{b}{f}, timeout => 25);
