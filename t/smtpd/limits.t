#!/usr/bin/perl
# smtpd: seed 003's timeouts (dormant in the command and in the data
# phase, a command too slow to complete, a text line of DATA trickled
# byte by byte, a flood of invalid commands) give the 421 line; RFC 5321's
# line limits and the size limit; bare-LF and bare-CR smuggling
# (CVE-2023-51764) never splits a message. The session limits: -j
# (Postfix's smtpd_junk_command_limit: NOOP, RSET and VRFY past the limit
# since the last delivery get the 421 line and the connection closes; -j 0
# sets none) and -r (Postfix's smtpd_min_data_rate: short lines in DATA,
# each within -t, are still cut once they fall behind the rate; a normal
# 1 MB message under the default rate is delivered).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(build tmpdir slurp listen_exec read_lines crlf wait_file);
use IO::Select;
use IO::Socket::IP;
use POSIX ();
use Test::More;
use Time::HiRes qw(time sleep);

my $smtpd = build('smtpd');
plan skip_all => "build/smtpd not built" unless -x $smtpd;

my %started;
$SIG{PIPE} = "IGNORE";
END { kill('KILL', $_) for keys %started }

my $spool = tmpdir();
# Two workers, so a test never waits for the previous connection's linger.
my ($port, @pids) = listen_exec(workers => 2,
    cmd => [$smtpd, '-n', 'mx.test', '-m', $spool, '-t', 1, '-s', 2000]);
$started{$_} = 1 for @pids;

my $T = "421 4.4.2 mx.test Error: timeout exceeded\r\n";
my $G = "220 mx.test SMTP CS4410MP3\r\n";
my $OK = "250 OK\r\n";
my $V = "252 2.1.5 Cannot VRFY user, but will accept message and attempt "
    . "delivery\r\n";
my $D = "354 End data with <CR><LF>.<CR><LF>\r\n";

# Read until EOF or $secs; returns (bytes, seconds taken).
sub drain {
	my ($s, $secs) = @_;
	my $sel = IO::Select->new($s);
	my ($got, $t0) = ('', time);
	while ($sel->can_read($secs - (time - $t0))) {
		my $n = sysread($s, my $buf, 65536);
		last unless $n;
		$got .= $buf;
	}
	return ($got, time - $t0);
}

# Read exactly the bytes of $n reply lines (or what came in $timeout s,
# default 5).
sub replies {
	my ($s, $n, $timeout) = @_;
	return read_lines($s, $n, $timeout // 5);
}

# A connection to $p (default: the main server) past its greeting.
sub session {
	my ($p) = @_;
	my $s = IO::Socket::IP->new(PeerHost => '127.0.0.1',
	    PeerPort => $p // $port) or die "connect: $!";
	replies($s, 1);
	return $s;
}

# smtpd on a listening socket of its own with these extra options;
# returns (port, stderr log file, spool). -d copies the log lines to
# stderr.
sub server {
	my (@opt) = @_;
	my $spool = tmpdir();
	my $log = "$spool/stderr";
	my ($port) = listen_exec(workers => 2, stderr => $log,
	    cmd => [$smtpd, '-d', '-n', 'mx.test', '-m', $spool, @opt]);
	return ($port, $log, $spool);
}

# Read until EOF (or $secs): all that came, and whether EOF came.
sub drain_eof {
	my ($s, $secs) = @_;
	my $sel = IO::Select->new($s);
	my ($got, $t0) = ('', time);
	while ($sel->can_read($secs - (time - $t0))) {
		my $n = sysread($s, my $buf, 65536);
		return ($got, 1) unless $n;
		$got .= $buf;
	}
	return ($got, 0);
}


# Dormant in the command phase.
{
	my $s = session();
	my ($got, $dt) = drain($s, 4);
	is($got, $T, 'dormant client: 421 line, then EOF');
	# Not early; late only by an order of magnitude (the default -t is 10).
	ok($dt > 0.8 && $dt < 5, sprintf('after %.2f s (-t 1)', $dt));
}

# A command that does not complete in time, though bytes keep coming.
{
	my $s = session();
	my $t0 = time;
	for my $c (split //, 'HELO slo') {
		syswrite($s, $c);
		sleep(0.2);
	}
	my ($got) = drain($s, 3);
	my $dt = time - $t0;
	is($got, $T, 'slow command: 421');
	# The deadline that runs from the reply is t/smtpd/promises.t's to check exactly.
	ok($dt < 5, sprintf('within %.2f s', $dt));
}

# Dormant in the data phase.
{
	my $s = session();
	syswrite($s, "HELO h\r\nMAIL FROM:<a\@b>\r\nRCPT TO:<c\@d>\r\nDATA\r\n"
	    . "part of a message\r\n");
	my ($got, $dt) = drain($s, 4);
	is($got, "250 mx.test\r\n250 OK\r\n250 OK\r\n"
	    . "354 End data with <CR><LF>.<CR><LF>\r\n$T",
	    'dormant in DATA: 421');
}

# A flood of invalid commands: the 10th error is followed by the 421.
{
	my $s = session();
	syswrite($s, "bogus\r\n" x 25);
	my ($got) = drain($s, 3);
	is($got, ("500 Error: command not recognized\r\n" x 10) . $T,
	    'error flood: 10 error replies, then 421 and EOF');
}

# Line limits: RFC 5321 4.5.3.1.4 (512 with CRLF) and 4.5.3.1.6 (1000).
{
	my $s = session();
	my $ok = 'NOOP ' . ('x' x (512 - 7));		# 512 octets with CRLF
	syswrite($s, "$ok\r\n" . $ok . "y\r\nNOOP\r\n");
	is(replies($s, 3), "250 OK\r\n500 5.5.2 Error: command line too long\r\n"
	    . "250 OK\r\n", 'a 512-octet command is fine, 513 gets 500');
	syswrite($s, 'NOOP ' . ('z' x 5000) . "\r\nNOOP\r\n");
	is(replies($s, 2), "500 5.5.2 Error: command line too long\r\n"
	    . "250 OK\r\n", 'a 5000-octet line: one 500, then in step again');

	my $text = 'a' x 998;				# 1000 with CRLF
	syswrite($s, "HELO h\r\nMAIL FROM:<a\@b>\r\nRCPT TO:<c\@d>\r\nDATA\r\n"
	    . "$text\r\n.\r\n");
	is(replies($s, 5), "250 mx.test\r\n250 OK\r\n250 OK\r\n"
	    . "354 End data with <CR><LF>.<CR><LF>\r\n"
	    . "250 OK:  delivered message 1\r\n", 'a 1000-octet text line is fine');
	syswrite($s, "MAIL FROM:<a\@b>\r\nRCPT TO:<c\@d>\r\nDATA\r\n"
	    . "${text}b\r\n.\r\nNOOP\r\n");
	is(replies($s, 5), "250 OK\r\n250 OK\r\n"
	    . "354 End data with <CR><LF>.<CR><LF>\r\n"
	    . "500 5.5.2 Error: text line too long\r\n250 OK\r\n",
	    'a 1001-octet text line: 500 after the end of data');

	# A text line longer than smtpd's input buffer (8 KiB) comes in
	# pieces; each is counted against -s, and the line still ends in
	# one 500 at the end of data, in step after it.
	my $huge = 'h' x 20000;
	syswrite($s, "MAIL FROM:<a\@b>\r\nRCPT TO:<c\@d>\r\nDATA\r\n"
	    . "$huge\r\n.\r\nNOOP\r\n");
	is(replies($s, 5), "250 OK\r\n250 OK\r\n"
	    . "354 End data with <CR><LF>.<CR><LF>\r\n"
	    . "500 5.5.2 Error: text line too long\r\n250 OK\r\n",
	    'a 20000-octet text line: one reply after the end of data');

	# -s 2000: the size limit, after the data was read and discarded.
	my $big = ("0123456789" x 10 . "\r\n") x 25;	# 2550 octets
	syswrite($s, "MAIL FROM:<a\@b>\r\nRCPT TO:<c\@d>\r\nDATA\r\n$big.\r\n"
	    . "RSET\r\n");
	is(replies($s, 5), "250 OK\r\n250 OK\r\n"
	    . "354 End data with <CR><LF>.<CR><LF>\r\n"
	    . "552 5.3.4 Error: message size exceeds fixed limit\r\n250 OK\r\n",
	    'a message over -s: 552, connection goes on');
	close($s);
}

# Smuggling: only <CR><LF>.<CR><LF> ends DATA; a message holding a bare
# LF or CR is refused and what follows the fake end is not a command.
my @smuggle = (
	["\n.\n", 'bare LF dot bare LF'],
	["\r\n.\n", 'CRLF dot bare LF'],
	["\n.\r\n", 'bare LF dot CRLF'],
	["\r.\r", 'bare CR dot bare CR'],
	["\r\n.\r", 'CRLF dot bare CR'],
);
for my $case (@smuggle) {
	my ($end, $name) = @$case;
	my $s = session();
	syswrite($s, "HELO h\r\nMAIL FROM:<a\@b>\r\nRCPT TO:<c\@d>\r\nDATA\r\n"
	    . "Subject: real$end"
	    . "MAIL FROM:<evil\@x>\r\nRCPT TO:<victim\@x>\r\nDATA\r\n"
	    . "Subject: smuggled\r\n.\r\nNOOP\r\n");
	is(replies($s, 6), "250 mx.test\r\n250 OK\r\n250 OK\r\n"
	    . "354 End data with <CR><LF>.<CR><LF>\r\n"
	    . "554 5.5.2 Error: bare <CR> or <LF> in message data\r\n250 OK\r\n",
	    "smuggling ($name): one refusal, no split");
	close($s);
}
my $mb = slurp("$spool/mailbox") // '';
unlike($mb, qr/smuggled|evil|victim/, 'nothing smuggled reached the mailbox');
my @n = $mb =~ /^Number: (\d+)$/mg;
is("@n", '1', 'the mailbox holds only the one good message');

# Seed 003: "a client that does not successfully complete a command
# within 10 seconds" is cut off. In DATA a text line is the unit: one
# byte every 0.2 s (never silent for -t 1) must not hold the session.
{
	my $s = IO::Socket::IP->new(PeerHost => '127.0.0.1', PeerPort => $port)
	    or die "connect: $!";
	syswrite($s, crlf('HELO h', 'MAIL FROM:<a@b>', 'RCPT TO:<c@d>', 'DATA'));
	is(replies($s, 5), "220 mx.test SMTP CS4410MP3\r\n250 mx.test\r\n"
	    . "250 OK\r\n250 OK\r\n354 End data with <CR><LF>.<CR><LF>\r\n",
	    'in DATA');
	my $sel = IO::Select->new($s);
	my $t0 = time;
	# Trickle for up to 6 s, stopping as soon as smtpd says something.
	while (time - $t0 < 6 && !$sel->can_read(0.2)) {
		syswrite($s, 'x');
	}
	my $dt = time - $t0;
	is(replies($s, 1), $T, 'a text line trickled byte by byte: 421');
	ok($dt < 5.5, sprintf('cut off while still trickling, after %.2f s', $dt));
	close($s);
}

# The default -j is 100: 100 NOOPs are answered, the 101st gets the 421.
{
	my ($port, $log) = server('-t', 5);
	my $s = session($port);
	syswrite($s, crlf(('NOOP') x 100));
	is(replies($s, 100, 10), $OK x 100, 'default -j: 100 NOOPs answered');
	syswrite($s, crlf('NOOP'));
	my ($got, $eof) = drain_eof($s, 5);
	is($got, $T, 'the 101st NOOP gets the 421 line');
	ok($eof, 'and the connection closes');
	ok(wait_file($log, qr/: 100 junk commands, disconnected/),
	    'the disconnect is logged');
}

# -j 5: RSET and VRFY count as NOOP does; a delivery starts the count
# again; other commands do not count.
{
	my ($port) = server('-t', 5, '-j', 5);
	my $s = session($port);
	syswrite($s, crlf('HELO h', 'NOOP', 'RSET', 'VRFY a', 'NOOP',
	    'MAIL FROM:<a@b>', 'RCPT TO:<c@d>', 'DATA', 'hi', '.'));
	is(replies($s, 9, 10), "250 mx.test\r\n$OK$OK$V$OK$OK$OK$D"
	    . "250 OK:  delivered message 1\r\n",
	    '-j 5: four junk commands, then a delivery');
	syswrite($s, crlf('RSET', 'NOOP', 'VRFY x', 'NOOP', 'RSET'));
	is(replies($s, 5, 10), "$OK$OK$V$OK$OK",
	    'after a delivery five more are answered');
	syswrite($s, crlf('VRFY y', 'NOOP'));
	my ($got, $eof) = drain_eof($s, 5);
	is($got, $T, 'the sixth gets the 421 line, nothing after it');
	ok($eof, 'and the connection closes');
}

# -j 0: no limit.
{
	my ($port) = server('-t', 5, '-j', 0);
	my $s = session($port);
	syswrite($s, crlf(('NOOP') x 200, 'QUIT'));
	is(replies($s, 201, 10), ($OK x 200)
	    . "221 2.0.0 mx.test closing connection\r\n",
	    '-j 0: 200 NOOPs answered, then QUIT');
}

# -r: short lines, each complete well within -t, still fall behind a
# rate of 1 MB/s; the whole data phase is cut about -t after the 354.
# -t 2 and a line every 0.1 s: only a stall of 2 s would make the per-line
# timeout fire instead, and the log says which fired.
{
	my ($port, $log) = server('-t', 2, '-r', 1000000);
	my $s = session($port);
	syswrite($s, crlf('HELO h', 'MAIL FROM:<a@b>', 'RCPT TO:<c@d>',
	    'DATA'));
	is(replies($s, 4, 10), "250 mx.test\r\n$OK$OK$D", 'in DATA');
	my $t0 = time;
	my $sel = IO::Select->new($s);
	my ($got, $eof) = ('', 0);
	while (time - $t0 < 15) {
		last unless syswrite($s, "x\r\n");
		if ($sel->can_read(0.1)) {
			($got, $eof) = drain_eof($s, 5);
			last;
		}
	}
	my $dt = time - $t0;
	is($got, $T, '-r: a trickle of whole lines gets the 421 line');
	ok($eof, 'and the connection closes');
	ok($dt > 1.5 && $dt < 10, sprintf('after %.2f s (-t 2)', $dt));
	ok(wait_file($log, qr/: DATA slower than 1000000 bytes\/s/),
	    'cut by the rate, not by the per-line timeout');
}

# -r 0: the same trickle, past -t, is delivered.
{
	my ($port, $log, $spool) = server('-t', 2, '-r', 0);
	my $s = session($port);
	syswrite($s, crlf('HELO h', 'MAIL FROM:<a@b>', 'RCPT TO:<c@d>',
	    'DATA'));
	is(replies($s, 4, 10), "250 mx.test\r\n$OK$OK$D", 'in DATA');
	my $t0 = time;
	my $n = 0;
	while (time - $t0 < 3) {
		syswrite($s, "x\r\n");
		$n++;
		sleep(0.1);
	}
	syswrite($s, ".\r\n");
	is(replies($s, 1, 10), "250 OK:  delivered message 1\r\n",
	    '-r 0: a trickle past -t is delivered');
	like(slurp("$spool/mailbox"), qr/\n\n(?:x\n){$n}\n\z/,
	    'every line of it is in the mailbox');
}

# The default rate: a normal 1 MB message, written as fast as the socket
# takes it, is delivered.
{
	my ($port, $log, $spool) = server('-t', 1);
	my $s = session($port);
	my $body = ('y' x 98 . "\r\n") x 10486;		# 1,048,600 octets
	my $msg = crlf('HELO h', 'MAIL FROM:<a@b>', 'RCPT TO:<c@d>', 'DATA')
	    . $body . ".\r\n";
	my $off = 0;
	while ($off < length($msg)) {
		my $w = syswrite($s, $msg, 65536, $off);
		last unless defined $w;
		$off += $w;
	}
	is($off, length($msg), '1 MB written');
	is(replies($s, 5, 10), "250 mx.test\r\n$OK$OK$D"
	    . "250 OK:  delivered message 1\r\n",
	    'default -r: a 1 MB message is delivered');
	(my $lf = $body) =~ s/\r\n/\n/g;
	ok(slurp("$spool/mailbox") eq "Received: from h by mx.test (CS4410MP3)\n"
	    . "Number: 1\nFrom: a\@b\nTo: c\@d\n\n$lf\n",
	    'all of it is in the mailbox');
}

done_testing();
