#!/usr/bin/perl
# smtpd: options and exit statuses. -h, usage errors (100), a spool that
# cannot be opened (111), -n, -s in the EHLO reply, -b backup groups, -e.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(build tmpdir slurp crlf run_cmd);
use Test::More;

my $smtpd = build('smtpd');
plan skip_all => "build/smtpd not built" unless -x $smtpd;


{
	my $dir = tmpdir();
	my $out = `$smtpd -h 2>/dev/null`;
	is($? >> 8, 0, '-h exits 0');
	like($out, qr/^usage: smtpd /, '-h prints the usage on stdout');
	for my $bad (['-x'], ['-t', '0'], ['-t', 'x'], ['-F', 'maildir'],
	    ['-s', '0'], ['-n', 'two words'], ['extra']) {
		system("$smtpd @{[map { \"'$_'\" } @$bad]} </dev/null >/dev/null 2>&1");
		is($? >> 8, 100, "usage error @$bad: exit 100");
	}
	system("$smtpd -m $dir/missing </dev/null >/dev/null 2>&1");
	is($? >> 8, 111, 'a spool that cannot be opened: exit 111');
	ok(!-e "$dir/missing", 'and nothing is created');
}

my $spool = tmpdir();
my (undef, $out) = run_cmd(crlf('EHLO x', 'QUIT'), $smtpd,
    '-n', 'other.name', '-m', $spool, '-s', '12345');
is($out, crlf('220 other.name SMTP CS4410MP3', '250-other.name',
    '250-PIPELINING', '250-SIZE 12345', '250-8BITMIME',
    '250 ENHANCEDSTATUSCODES', '221 2.0.0 other.name closing connection'),
    '-n names the server, -s is advertised in SIZE');

my $one = crlf('MAIL FROM:<a@b>', 'RCPT TO:<c@d>', 'DATA', 'x', '.');
(undef, $out) = run_cmd(crlf('HELO h') . ($one x 7) . crlf('QUIT'), $smtpd,
    '-n', 'n', '-m', $spool, '-b', 3);
is(scalar(() = $out =~ /delivered message/g), 7, '7 messages');
my @b = sort map { s{.*/}{}r } glob("$spool/mailbox.*");
is("@b", 'mailbox.1-3 mailbox.4-6', '-b 3: backups of three');
is(join(',', slurp("$spool/mailbox.4-6") =~ /^Number: (\d+)$/mg), '4,5,6',
    'mailbox.4-6 holds 4, 5, 6');
is(join(',', slurp("$spool/mailbox") =~ /^Number: (\d+)$/mg), '7',
    'mailbox holds 7');

(undef, $out) = run_cmd(crlf('a', 'b', 'c', 'd'), $smtpd,
    '-n', 'n', '-m', $spool, '-e', 3);
is($out, crlf('220 n SMTP CS4410MP3', ('500 Error: command not recognized')
    x 3, '421 4.4.2 n Error: timeout exceeded'), '-e 3: 421 after 3 errors');

done_testing();
