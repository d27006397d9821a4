#!/usr/bin/perl
# smtpd: seed 003's timeouts (dormant in the command and in the data
# phase, a command too slow to complete, a flood of invalid commands) give
# the 421 line; RFC 5321's line limits and the size limit; bare-LF and
# bare-CR smuggling (CVE-2023-51764) never splits a message.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(build tmpdir slurp listen_exec read_lines);
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

# Read exactly the bytes of $n reply lines.
sub replies {
	my ($s, $n) = @_;
	return read_lines($s, $n, 5);
}

sub session {
	my $s = IO::Socket::IP->new(PeerHost => '127.0.0.1', PeerPort => $port)
	    or die "connect: $!";
	replies($s, 1);
	return $s;
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

done_testing();
