#!/usr/bin/perl
# smtpd: the dialogue beyond the seed (RFC 5321): EHLO, RSET, NOOP, QUIT,
# VRFY, angle brackets, the null reverse path, several recipients, command
# order, case, LF-only command lines, dot-unstuffing, pipelining; a bad
# address echoed in a reply with its control and 8-bit bytes as '?'.
# Driven through stdin/stdout; asserts every reply byte and the mailbox
# bytes.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(build tmpdir slurp crlf run_cmd spit);
use Test::More;

my $smtpd = build('smtpd');
plan skip_all => "build/smtpd not built" unless -x $smtpd;

# smtpd on stdin/stdout with $input, spool $spool; returns its output.
sub session {
	my ($spool, $input, @args) = @_;
	my (undef, $out) = run_cmd({ in => $input, timeout => 30 }, $smtpd,
	    '-n', 'mx.test', '-m', $spool, '-t', 2, @args);
	return $out;
}


my $spool = tmpdir();
my $G = '220 mx.test SMTP CS4410MP3';

is(session($spool, crlf('EHLO client.example', 'NOOP', 'VRFY joe', 'QUIT')),
    crlf($G, '250-mx.test', '250-PIPELINING', '250-SIZE 10485760',
    '250-8BITMIME', '250 ENHANCEDSTATUSCODES', '250 OK',
    '252 2.1.5 Cannot VRFY user, but will accept message and attempt '
    . 'delivery', '221 2.0.0 mx.test closing connection'),
    'EHLO lists PIPELINING, SIZE, 8BITMIME, ENHANCEDSTATUSCODES; NOOP, '
    . 'VRFY 252, QUIT 221');

is(session($spool, crlf('MAIL FROM:<a@b>', 'RCPT TO:<c@d>', 'DATA', 'HELO x',
    'DATA', 'RCPT TO:<c@d>', 'MAIL FROM:<a@b>', 'DATA', 'EHLO y', 'HELO z',
    'RSET', 'RCPT TO:<c@d>', 'QUIT')),
    crlf($G, '503 Error: need HELO command', '503 Error: need HELO command',
    '503 Error: need HELO command', '250 mx.test',
    '503 Error: need MAIL command', '503 Error: need MAIL command',
    '250 OK', '503 Error: need RCPT command',
    '503 Error: duplicate HELO', '503 Error: duplicate HELO', '250 OK',
    '503 Error: need MAIL command', '221 2.0.0 mx.test closing connection'),
    'command order: need HELO/MAIL/RCPT, duplicate HELO and EHLO, RSET '
    . 'clears MAIL');

is(session($spool, crlf('HELO', 'EHLO', 'HELO a b', 'HELO ok', 'MAIL', 'MAIL TO:x',
    'MAIL FROM:', 'MAIL FROM:<x', 'RCPT', 'RCPT FROM:y', 'DATA x', 'RSET x',
    'VRFY', 'QUIT x', 'QUIT'), '-e', 50),
    crlf($G, '501 Syntax:  HELO yourhostname',
    '501 Syntax:  EHLO yourhostname', '501 Syntax:  HELO yourhostname',
    '250 mx.test', '501 Syntax:  MAIL FROM:<address>',
    '501 Syntax:  MAIL FROM:<address>', '501 Syntax:  MAIL FROM:<address>',
    '501 Syntax:  MAIL FROM:<address>', '501 Syntax:  RCPT TO:<address>',
    '501 Syntax:  RCPT TO:<address>', '501 Syntax:  DATA',
    '501 Syntax:  RSET', '501 Syntax:  VRFY <address>', '501 Syntax:  QUIT',
    '221 2.0.0 mx.test closing connection'),
    'the 501 replies');

is(session($spool, crlf('HELO h', 'MAIL FROM:<a b>', 'MAIL FROM:<>',
    'RCPT TO:<>', 'RCPT TO:<x y>', 'RCPT TO: <tab@x>  ', 'QUIT')),
    crlf($G, '250 mx.test', '555 <a b>: Sender address rejected', '250 OK',
    '555 <>: Recipient address invalid',
    '555 <x y>: Recipient address invalid', '250 OK',
    '221 2.0.0 mx.test closing connection'),
    '555 inside angle brackets; the null reverse path is accepted');

is(session($spool, crlf('HELO h', 'MAIL FROM:<a@b> SIZE=100', 'RSET',
    'MAIL FROM:<a@b> FOO=1', 'QUIT')),
    crlf($G, '250 mx.test', '555 5.5.4 Error: parameter not recognized',
    '250 OK', '555 5.5.4 Error: parameter not recognized',
    '221 2.0.0 mx.test closing connection'),
    'ESMTP parameters only after EHLO');

is(session($spool, crlf('EHLO h', 'MAIL FROM:<a@b> SIZE=99999999999',
    'MAIL FROM:<a@b> SIZE=100 BODY=8BITMIME', 'QUIT')),
    crlf($G, '250-mx.test', '250-PIPELINING', '250-SIZE 10485760',
    '250-8BITMIME', '250 ENHANCEDSTATUSCODES',
    '552 5.3.4 Error: message size exceeds fixed limit', '250 OK',
    '221 2.0.0 mx.test closing connection'),
    'SIZE over the limit refused at MAIL (RFC 1870)');

# A message: lower case, LF-only command lines, brackets, several RCPT,
# null sender, dot-stuffing, then a second message on the same connection.
my $in = "helo Client.Example\nmail from:<>\nrcpt to:<one\@x>\r\n"
    . "RcPt To: two\@x\nRCPT TO:<three\@x>\ndata\n"
    . "Subject: hi\r\n\r\n..leading dot\r\n..\r\n...\r\nlast\r\n.\r\n"
    . "MAIL FROM:<s\@x>\r\nRCPT TO:<r\@x>\r\nDATA\r\n.\r\nQUIT\r\n";
is(session($spool, $in),
    crlf($G, '250 mx.test', '250 OK', '250 OK', '250 OK', '250 OK',
    '354 End data with <CR><LF>.<CR><LF>', '250 OK:  delivered message 1',
    '250 OK', '250 OK', '354 End data with <CR><LF>.<CR><LF>',
    '250 OK:  delivered message 2', '221 2.0.0 mx.test closing connection'),
    'pipelined: two messages, case-insensitive, LF command lines');
is(slurp("$spool/mailbox"), <<'EOF', 'mailbox: one To: per recipient, dots unstuffed, empty body');
Received: from Client.Example by mx.test (CS4410MP3)
Number: 1
From: <>
To: one@x
To: two@x
To: three@x

Subject: hi

.leading dot
.
..
last

Received: from Client.Example by mx.test (CS4410MP3)
Number: 2
From: s@x
To: r@x


EOF

# 100 recipients are fine, the 101st gets 452 (RFC 5321 4.5.3.1.8).
my @r = map { "RCPT TO:<r$_\@x>" } 1 .. 101;
my $out = session($spool, crlf('HELO h', 'MAIL FROM:<a@b>', @r, 'QUIT'), '-e', 50);
my @lines = split(/\r\n/, $out);
is(scalar(grep { $_ eq '250 OK' } @lines), 101, '100 recipients accepted');
is($lines[-2], '452 4.5.3 Error: too many recipients', '101st: 452');

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
