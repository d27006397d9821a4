#!/usr/bin/perl
# sendline (seed 001's dumb_net) against a Perl server that records every
# byte it receives: the one line arrives with CRLF, -n adds the blank line,
# exactly one line is taken from stdin, a reply sent in many blocks with
# pauses arrives whole, timeouts; and against nc -l (netcat-openbsd).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(build tmpdir free_port slurp spit);
use IO::Socket::IP;
use POSIX qw(:sys_wait_h);
use Socket qw(SHUT_WR);
use Test::More;
use Time::HiRes qw(sleep time);

my $sendline = build('sendline');
plan skip_all => "build/sendline not built (make build/sendline)"
    unless -x $sendline;
$SIG{PIPE} = 'IGNORE';
my $dir = tmpdir();
my $n = 0;

# Serve one connection: wait for a first CRLF (or the close), send each of
# @parts (a number: a pause in seconds; 'HOLD': stay silent until the
# client goes), half-close, then keep reading until the client closes, so
# the record file holds every byte the client ever sent.
sub serve_one {
	my (@parts) = @_;
	my $l = IO::Socket::IP->new(LocalAddr => '127.0.0.1', LocalPort => 0,
	    Proto => 'tcp', Listen => 8, ReuseAddr => 1) or die "listen: $!";
	my $rec = "$dir/rec." . ++$n;
	spit($rec, '');
	my $pid = fork() // die "fork: $!";
	if ($pid == 0) {
		alarm(20);
		my $c = $l->accept or POSIX::_exit(1);
		my $buf = '';
		while ($buf !~ /\r\n/) {
			my $r = sysread($c, $buf, 4096, length($buf));
			last unless $r;
		}
		for my $p (@parts) {
			if ($p eq 'HOLD') {
				1 while sysread($c, $buf, 4096, length($buf));
			} elsif ($p =~ /^\d+(\.\d+)?$/) {
				sleep($p);
			} else {
				syswrite($c, $p) // last;
			}
		}
		shutdown($c, SHUT_WR);
		1 while sysread($c, $buf, 4096, length($buf));
		spit($rec, $buf);
		POSIX::_exit(0);
	}
	my $port = $l->sockport;
	close($l);
	return ($pid, $port, $rec);
}

# Run @cmd (PORT in it replaced) with $stdin; returns { rc, out, err, rec }.
sub talk {
	my ($stdin, $cmd, @parts) = @_;
	my ($spid, $port, $rec) = serve_one(@parts);
	my ($in, $out, $err) = map { "$dir/run$n.$_" } qw(in out err);
	spit($in, $stdin);
	my $pid = fork() // die "fork: $!";
	if ($pid == 0) {
		open(STDIN, '<', $in);
		open(STDOUT, '>', $out);
		open(STDERR, '>', $err);
		exec(map { $_ eq 'PORT' ? $port : $_ } @$cmd)
		    or POSIX::_exit(127);
	}
	waitpid($pid, 0);
	my $st = $?;
	waitpid($spid, 0);
	return { rc => $st >> 8, sig => $st & 127, out => slurp($out),
	    err => slurp($err), rec => slurp($rec) };
}

my @sl = ($sendline, '-t', '5', '127.0.0.1', 'PORT');
my $r;

# The line goes out with CRLF; the reply comes back in blocks of every
# size, with pauses between them, and arrives whole.
my @blocks = ("first block\n", 0.2, "x", 0.05, "y", 0.05, ("z" x 70000),
    0.2, join('', map { chr } 0 .. 255), 0.1, "last\n");
my $reply = join('', grep { !/^\d+(\.\d+)?$/ } @blocks);
$r = talk("hello world\n", \@sl, @blocks);
is($r->{rc}, 0, 'exit 0 when the server closes');
is($r->{rec}, "hello world\r\n", 'the line arrives with CRLF, nothing else');
ok($r->{out} eq $reply, 'the reply of several blocks arrives whole') or
    diag('got ' . length($r->{out}) . ' of ' . length($reply) . ' bytes');
is($r->{err}, '', 'nothing on stderr');

# -n: the blank line that ends an HTTP request head.
$r = talk("GET / HTTP/1.0\n", [ $sendline, '-n', '-t', '5', '127.0.0.1',
    'PORT' ], "HTTP/1.0 200 OK\r\n\r\nbody");
is($r->{rec}, "GET / HTTP/1.0\r\n\r\n", '-n: the line, then an empty line');
is($r->{out}, "HTTP/1.0 200 OK\r\n\r\nbody", '-n: the response');

# A line that already ends in CRLF is not doubled; a last line with no
# newline still goes out with CRLF.
$r = talk("crlf line\r\n", \@sl, "ok\n");
is($r->{rec}, "crlf line\r\n", 'CRLF input: one CR');
$r = talk("no newline", \@sl, "ok\n");
is($r->{rec}, "no newline\r\n", 'no newline at the end: CRLF added');
is($r->{out}, "ok\n", '... and the reply');

# Exactly one line is read: the rest of stdin stays for the next program.
$r = talk("first\nsecond\nthird\n",
    [ 'sh', '-c', "\"\$0\" -t 5 127.0.0.1 \"\$1\" && cat", $sendline, 'PORT' ],
    "reply\n");
is($r->{rec}, "first\r\n", 'only the first line is sent');
is($r->{out}, "reply\nsecond\nthird\n", 'the rest of stdin is left unread');

# An empty stdin has no line to send; nor has an endless one.
$r = talk('', \@sl, "unasked\n");
is($r->{rc}, 100, 'empty stdin: exit 100');
like($r->{err}, qr/no line to send/, 'empty stdin: says so');
is($r->{rec}, '', 'empty stdin: nothing sent');
$r = talk(('a' x 10000) . "\n", \@sl, "unasked\n");
is($r->{rc}, 100, 'a line over 8192 bytes: exit 100');
like($r->{err}, qr/line longer than 8192 bytes/, '... says so');

# A server that never closes: -t bounds each wait, exit 111, what came
# before is on stdout.
my $t0 = time;
$r = talk("hi\n", [ $sendline, '-t', '1', '127.0.0.1', 'PORT' ],
    "partial", 'HOLD');
is($r->{rc}, 111, 'silent server: exit 111');
is($r->{out}, 'partial', 'silent server: what came is written');
like($r->{err}, qr/read 127\.0\.0\.1 port \d+: timed out after 1 s/,
    'silent server: says so');
cmp_ok(time - $t0, '<', 4, 'silent server: about -t seconds');

# Against nc -l (netcat-openbsd): nc prints what it got and sends a file,
# then half-closes (-N).
SKIP: {
	chomp(my $nc = `command -v nc 2>/dev/null` // '');
	skip 'nc not installed (netcat-openbsd)', 3 unless $nc;
	skip 'nc is not netcat-openbsd (no -N)', 3
	    unless `$nc -h 2>&1` =~ /-N\s/;
	my $port = free_port();
	spit("$dir/nc.reply", "from nc\n" x 1000);
	my $pid = fork() // die;
	if ($pid == 0) {
		open(STDIN, '<', "$dir/nc.reply");
		open(STDOUT, '>', "$dir/nc.got");
		open(STDERR, '>', "$dir/nc.err");
		exec($nc, '-N', '-l', '127.0.0.1', $port) or POSIX::_exit(127);
	}
	# Wait for nc's listening socket without connecting to it (nc -l
	# serves one connection): /proc/net/tcp, state 0A is LISTEN.
	my $listen = qr/^\s*\d+: [0-9A-F]+:${\ sprintf('%04X', $port)} \S+ 0A /m;
	my $end = time + 5;
	sleep(0.05) until (slurp('/proc/net/tcp') // '') =~ $listen ||
	    time > $end;
	spit("$dir/nc.in", "to nc\n");
	my $cpid = fork() // die;
	if ($cpid == 0) {
		open(STDIN, '<', "$dir/nc.in");
		open(STDOUT, '>', "$dir/nc.out");
		exec($sendline, '-t', '5', '127.0.0.1', $port) or POSIX::_exit(127);
	}
	waitpid($cpid, 0);
	is($? >> 8, 0, 'nc: exit 0');
	waitpid($pid, 0);
	is(slurp("$dir/nc.got"), "to nc\r\n", 'nc received the line with CRLF');
	is(slurp("$dir/nc.out"), "from nc\n" x 1000, 'nc\'s reply arrived whole');
}

done_testing();
