#!/usr/bin/perl
# smtpd under hostile or unusual conditions, from a review: a slowloris
# trickling DATA is cut off like one trickling a command; a file size
# limit (RLIMIT_FSIZE) on the spool gives 452, not a dead handler; a
# backup that a dying delivery missed is made by the next one; replies
# never echo control bytes.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(build tmpdir slurp spit listen_exec read_lines crlf);
use IO::Select;
use IO::Socket::IP;
use POSIX ();
use Test::More;
use Time::HiRes qw(time sleep);

my $smtpd = build('smtpd');
plan skip_all => "build/smtpd not built" unless -x $smtpd;

my %started;
$SIG{PIPE} = 'IGNORE';
END { kill('KILL', $_) for keys %started }


my $spool = tmpdir();
my ($port, @pids) = listen_exec(workers => 2,
    cmd => [$smtpd, '-n', 'mx.test', '-m', $spool, '-t', 1]);
$started{$_} = 1 for @pids;

my $T = "421 4.4.2 mx.test Error: timeout exceeded\r\n";

# Read exactly the bytes of $n reply lines (5 s at most).
sub replies {
	my ($s, $n) = @_;
	return read_lines($s, $n, 5);
}

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

# A file size limit on smtpd (ulimit -f): the write fails with EFBIG
# instead of SIGXFSZ killing smtpd mid-delivery; the client gets 452 and
# the mailbox stays as it was.
SKIP: {
	skip 'needs prlimit(1) from util-linux', 5
	    if system('prlimit --version >/dev/null 2>&1') != 0;
	my $dir = tmpdir();
	my $sp = "$dir/spool";
	mkdir $sp or die;
	for my $i (1 .. 3) {
		spit("$dir/in$i", crlf('HELO h', 'MAIL FROM:<a@b>',
		    'RCPT TO:<c@d>', 'DATA', $i == 2 ? (('y' x 70) x 400)
		    : "m$i", '.', 'QUIT'));
	}
	my $run = sub {
		my ($i) = @_;
		return scalar `prlimit --fsize=8192 $smtpd -n mx.test -m $sp \\
		    < $dir/in$i 2>/dev/null`;
	};
	like($run->(1), qr/delivered message 1\r\n221 /, 'message 1 fits');
	my $before = slurp("$sp/mailbox");
	my $out = $run->(2);
	like($out, qr/^452 4\.3\.1 Error: insufficient system storage\r\n221 /m,
	    'over the file size limit: 452, and the session goes on');
	is($?, 0, 'smtpd exited 0, not killed by SIGXFSZ');
	is(slurp("$sp/mailbox"), $before, 'the mailbox is byte-identical');
	like($run->(3), qr/delivered message 2\r\n/, 'the next message is 2');
}

# The delivery that ends a group of -b messages commits, then renames the
# mailbox. One that died in between left the group in mailbox: the next
# delivery makes the backup first, so the group is not lost in the next
# group's backup under a wrong name. (-b 0, then -b 2, leaves the same.)
{
	my $dir = tmpdir();
	my $sp = "$dir/spool";
	mkdir $sp or die;
	for my $i (1 .. 3) {
		spit("$dir/in$i", crlf('HELO h', 'MAIL FROM:<a@b>',
		    'RCPT TO:<c@d>', 'DATA', "m$i", '.', 'QUIT'));
	}
	my $run = sub {
		my ($i, $b) = @_;
		return scalar `$smtpd -n mx.test -m $sp -b $b < $dir/in$i \\
		    2>/dev/null`;
	};
	like($run->(1, 0), qr/delivered message 1\r\n/, 'message 1');
	like($run->(2, 0), qr/delivered message 2\r\n/, 'message 2, no backup');
	my $group = slurp("$sp/mailbox");
	like($run->(3, 2), qr/delivered message 3\r\n/, 'message 3');
	is(slurp("$sp/mailbox.1-2"), $group,
	    'the missed backup mailbox.1-2 holds messages 1 and 2');
	my $head = 'Received: from h by mx.test (CS4410MP3)';
	like(slurp("$sp/mailbox") // '',
	    qr/\A\Q$head\E\nNumber: 3\n.*\nm3\n\n\z/s,
	    'mailbox holds message 3 alone');
}

# A reply is a text line (RFC 5321 4.2: SP, HT and printable ASCII): the
# bad address the seed's 555 echoes must not carry a bare CR, an escape
# sequence or 8-bit bytes back to the client; they become '?'. Spaces
# stay, as in the seed's "555 <student @CS4410>".
{
	my $dir = tmpdir();
	spit("$dir/in", "HELO h\r\nMAIL FROM:<a\rb>\r\n"
	    . "MAIL FROM:a\e[31m b\r\nMAIL FROM:<a\@b>\r\nRCPT TO:<c\x80\td>\r\n"
	    . "QUIT\r\n");
	my $out = `$smtpd -n mx.test -m $dir < $dir/in 2>/dev/null`;
	is($out, "220 mx.test SMTP CS4410MP3\r\n250 mx.test\r\n"
	    . "555 <a?b>: Sender address rejected\r\n"
	    . "555 <a?[31m b>: Sender address rejected\r\n250 OK\r\n"
	    . "555 <c?\td>: Recipient address invalid\r\n"
	    . "221 2.0.0 mx.test closing connection\r\n",
	    'control and 8-bit bytes of a bad address echoed as ?');
}

done_testing();
