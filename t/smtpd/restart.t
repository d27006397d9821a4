#!/usr/bin/perl
# smtpd after a restart of the machine: the appended state in smtpd.lock
# is good only within the boot it names (boot_id), so a spool from
# another boot is cut to its committed length (nothing past it was ever
# answered with 250), and numbering continues from the committed state.
# An appended line that is not whole is taken the same way.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(build tmpdir slurp spit);
use Test::More;

my $smtpd = build('smtpd');
plan skip_all => "build/smtpd not built" unless -x $smtpd;
plan skip_all => 'no /proc/sys/kernel/random/boot_id'
    unless -r '/proc/sys/kernel/random/boot_id';

sub deliver {
	my ($spool, $text) = @_;
	my $dir = tmpdir();
	spit("$dir/in", "HELO h\r\nMAIL FROM:<a\@b>\r\nRCPT TO:<c\@d>\r\n"
	    . "DATA\r\n$text\r\n.\r\nQUIT\r\n");
	my $out = `$smtpd -n mx.test -m $spool < $dir/in 2>/dev/null`;
	return ($out =~ /^250 OK:  delivered message (\d+)\r$/m)[0] // 'none';
}

my $spool = tmpdir();
is(deliver($spool, 'one'), 1, 'message 1');
my $good = slurp("$spool/mailbox");
my $state = slurp("$spool/smtpd.lock");
my $want = '\Acommitted 0{19}1 0*\d+ 0{10} 0 0 *\n'
    . 'appended 0{19}1 0*\d+ 0{10} [0-9a-f-]{36} *\n\z';
like($state, qr/$want/,
    'smtpd.lock: the committed and the appended line');

# Another boot, which had appended (never committed) records 2 and 3.
my $other = '00000000-0000-4000-8000-000000000000';
$state =~ s/^(appended )0{19}1 0*\d+( 0{10} )[0-9a-f-]{36}/
    sprintf('%s%020d %020d%s%s', $1, 3, length($good) + 200, $2, $other)/me;
spit("$spool/smtpd.lock", $state);
spit("$spool/mailbox", $good . "Received: from h by mx.test (CS4410MP3)\n"
    . "Number: 2\nFrom: a\@b\nTo: c\@d\n\nnever answered\n\nReceived: fr");
is(deliver($spool, 'two'), 2, 'after a restart: the next message is 2');
is(slurp("$spool/mailbox"), $good . "Received: from h by mx.test "
    . "(CS4410MP3)\nNumber: 2\nFrom: a\@b\nTo: c\@d\n\ntwo\n\n",
    'what the other boot appended past the committed length is cut');

# An appended line that is not whole.
truncate("$spool/smtpd.lock", 150) or die;
is(deliver($spool, 'three'), 3, 'an appended line not whole: message 3');

done_testing();
