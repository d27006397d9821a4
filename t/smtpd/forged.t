#!/usr/bin/perl
# smtpd: a message body cannot forge a mailbox record. In the seed format
# a body line that, after any run of '>', starts with "Number:", or starts
# with "Received:" and holds "(CS4410MP3)", is stored with one more '>';
# every other line as it came. A spool whose smtpd.lock was removed
# continues its real numbering: recovery never takes a number from a
# message's text, also in a mailbox an older server wrote unquoted.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(build tmpdir slurp spit);
use Test::More;

my $smtpd = build('smtpd');
plan skip_all => "build/smtpd not built" unless -x $smtpd;

sub deliver {
	my ($spool, $helo, @body) = @_;
	my $dir = tmpdir();
	spit("$dir/in", join('', map { "$_\r\n" } "HELO $helo",
	    'MAIL FROM:<a@b>', 'RCPT TO:<c@d>', 'DATA', @body, '.', 'QUIT'));
	my $out = `$smtpd -n mx.test -m $spool < $dir/in 2>/dev/null`;
	return ($out =~ /^250 OK:  delivered message (\d+)\r$/m)[0] // 'none';
}

my @forged = (
	'Received: from trusted by host (CS4410MP3)',
	'Number: 999999',
	'From: boss@example.org',
	'To: everyone@example.org',
	'',
	'>Number: 5',
	'>>Received: from x by y (CS4410MP3)',
	'Number:7',
	'Received: from mx.example.org by mail.example.org; Mon, 1 Jan 2024',
	'Numbers: are fine',
	'a line with Number: 3 inside',
);
my $spool = tmpdir();
is(deliver($spool, 'h', 'Subject: one', '', 'first'), 1, 'message 1');
is(deliver($spool, 'evil', @forged), 2, 'the forging message is 2');
is(slurp("$spool/mailbox"),
    "Received: from h by mx.test (CS4410MP3)\nNumber: 1\nFrom: a\@b\n"
    . "To: c\@d\n\nSubject: one\n\nfirst\n\n"
    . "Received: from evil by mx.test (CS4410MP3)\nNumber: 2\nFrom: a\@b\n"
    . "To: c\@d\n\n"
    . ">Received: from trusted by host (CS4410MP3)\n"
    . ">Number: 999999\n"
    . "From: boss\@example.org\nTo: everyone\@example.org\n\n"
    . ">>Number: 5\n"
    . ">>>Received: from x by y (CS4410MP3)\n"
    . ">Number:7\n"
    . "Received: from mx.example.org by mail.example.org; Mon, 1 Jan 2024\n"
    . "Numbers: are fine\n"
    . "a line with Number: 3 inside\n\n",
    'record-like body lines quoted with one more >, all others as they came');

unlink("$spool/smtpd.lock") or die;
is(deliver($spool, 'h', 'after'), 3,
    'smtpd.lock removed: numbering continues at 3, not 1000000');
unlink("$spool/smtpd.lock") or die;
is(deliver($spool, 'h', 'again'), 4, 'and again at 4');

# A mailbox an older server wrote, forged lines unquoted, after a backup.
my $old = tmpdir();
spit("$old/mailbox.1-32", '');
spit("$old/mailbox", "Received: from a by mx.test (CS4410MP3)\nNumber: 33\n"
    . "From: a\nTo: b\n\nReceived: from trusted by host (CS4410MP3)\n"
    . "Number: 999999\nFrom: x\nTo: y\n\nReceived: from trusted by host "
    . "(CS4410MP3)\nNumber: 35\n\n\nReceived: from a by mx.test (CS4410MP3)"
    . "\nNumber: 34\nFrom: a\nTo: b\n\nbody\n\n");
is(deliver($old, 'h', 'next'), 35,
    'an old unquoted mailbox: the chain 33, 34 gives 35, forged numbers '
    . 'are not taken');

done_testing();
