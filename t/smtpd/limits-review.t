#!/usr/bin/perl
# smtpd: the session limits of the review. -j (Postfix's
# smtpd_junk_command_limit): NOOP, RSET and VRFY past the limit since the
# last delivery get the 421 line and the connection closes; -j 0 sets no
# limit. -r (Postfix's smtpd_min_data_rate): a client completing short
# lines in DATA, each well within -t, is still cut with the 421 line once
# it falls behind the rate; a normal 1 MB message under the default rate is
# delivered.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(build tmpdir slurp listen_exec read_lines crlf);
use IO::Select;
use IO::Socket::IP;
use Test::More;
use Time::HiRes qw(time sleep);

my $smtpd = build('smtpd');
plan skip_all => "build/smtpd not built" unless -x $smtpd;
$SIG{PIPE} = 'IGNORE';

my $T = "421 4.4.2 mx.test Error: timeout exceeded\r\n";
my $OK = "250 OK\r\n";
my $V = "252 2.1.5 Cannot VRFY user, but will accept message and attempt "
    . "delivery\r\n";
my $D = "354 End data with <CR><LF>.<CR><LF>\r\n";


# smtpd on a listening socket with these extra options; returns
# (port, stderr log file, spool). -d copies the log lines to stderr.
sub server {
	my (@opt) = @_;
	my $spool = tmpdir();
	my $log = "$spool/stderr";
	my ($port) = listen_exec(workers => 2, stderr => $log,
	    cmd => [$smtpd, '-d', '-n', 'mx.test', '-m', $spool, @opt]);
	return ($port, $log, $spool);
}

sub session {
	my ($port) = @_;
	my $s = IO::Socket::IP->new(PeerHost => '127.0.0.1', PeerPort => $port)
	    or die "connect: $!";
	replies($s, 1);
	return $s;
}

# Read exactly the bytes of $n reply lines (or what comes in 10 s).
sub replies {
	my ($s, $n) = @_;
	return read_lines($s, $n, 10);
}

# Read until EOF (or $secs): all that came, and whether EOF came.
sub drain {
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

# Wait up to 5 s for a line matching $re in the log file.
sub logged {
	my ($log, $re) = @_;
	my $end = time + 5;
	while (time < $end) {
		return 1 if (slurp($log) // '') =~ $re;
		sleep(0.05);
	}
	return 0;
}

# The default -j is 100: 100 NOOPs are answered, the 101st gets the 421.
{
	my ($port, $log) = server('-t', 5);
	my $s = session($port);
	syswrite($s, crlf(('NOOP') x 100));
	is(replies($s, 100), $OK x 100, 'default -j: 100 NOOPs answered');
	syswrite($s, crlf('NOOP'));
	my ($got, $eof) = drain($s, 5);
	is($got, $T, 'the 101st NOOP gets the 421 line');
	ok($eof, 'and the connection closes');
	ok(logged($log, qr/: 100 junk commands, disconnected/),
	    'the disconnect is logged');
}

# -j 5: RSET and VRFY count as NOOP does; a delivery starts the count
# again; other commands do not count.
{
	my ($port) = server('-t', 5, '-j', 5);
	my $s = session($port);
	syswrite($s, crlf('HELO h', 'NOOP', 'RSET', 'VRFY a', 'NOOP',
	    'MAIL FROM:<a@b>', 'RCPT TO:<c@d>', 'DATA', 'hi', '.'));
	is(replies($s, 9), "250 mx.test\r\n$OK$OK$V$OK$OK$OK$D"
	    . "250 OK:  delivered message 1\r\n",
	    '-j 5: four junk commands, then a delivery');
	syswrite($s, crlf('RSET', 'NOOP', 'VRFY x', 'NOOP', 'RSET'));
	is(replies($s, 5), "$OK$OK$V$OK$OK",
	    'after a delivery five more are answered');
	syswrite($s, crlf('VRFY y', 'NOOP'));
	my ($got, $eof) = drain($s, 5);
	is($got, $T, 'the sixth gets the 421 line, nothing after it');
	ok($eof, 'and the connection closes');
}

# -j 0: no limit.
{
	my ($port) = server('-t', 5, '-j', 0);
	my $s = session($port);
	syswrite($s, crlf(('NOOP') x 200, 'QUIT'));
	is(replies($s, 201), ($OK x 200)
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
	is(replies($s, 4), "250 mx.test\r\n$OK$OK$D", 'in DATA');
	my $t0 = time;
	my $sel = IO::Select->new($s);
	my ($got, $eof) = ('', 0);
	while (time - $t0 < 15) {
		last unless syswrite($s, "x\r\n");
		if ($sel->can_read(0.1)) {
			($got, $eof) = drain($s, 5);
			last;
		}
	}
	my $dt = time - $t0;
	is($got, $T, '-r: a trickle of whole lines gets the 421 line');
	ok($eof, 'and the connection closes');
	ok($dt > 1.5 && $dt < 10, sprintf('after %.2f s (-t 2)', $dt));
	ok(logged($log, qr/: DATA slower than 1000000 bytes\/s/),
	    'cut by the rate, not by the per-line timeout');
}

# -r 0: the same trickle, past -t, is delivered.
{
	my ($port, $log, $spool) = server('-t', 2, '-r', 0);
	my $s = session($port);
	syswrite($s, crlf('HELO h', 'MAIL FROM:<a@b>', 'RCPT TO:<c@d>',
	    'DATA'));
	is(replies($s, 4), "250 mx.test\r\n$OK$OK$D", 'in DATA');
	my $t0 = time;
	my $n = 0;
	while (time - $t0 < 3) {
		syswrite($s, "x\r\n");
		$n++;
		sleep(0.1);
	}
	syswrite($s, ".\r\n");
	is(replies($s, 1), "250 OK:  delivered message 1\r\n",
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
	is(replies($s, 5), "250 mx.test\r\n$OK$OK$D"
	    . "250 OK:  delivered message 1\r\n",
	    'default -r: a 1 MB message is delivered');
	(my $lf = $body) =~ s/\r\n/\n/g;
	ok(slurp("$spool/mailbox") eq "Received: from h by mx.test (CS4410MP3)\n"
	    . "Number: 1\nFrom: a\@b\nTo: c\@d\n\n$lf\n",
	    'all of it is in the mailbox');
}

done_testing();
