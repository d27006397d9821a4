#!/usr/bin/perl
# smtpd's spool on disk, session by session (smtpd on stdin and stdout, as
# under inetd): a null sender after another one in the same session is
# stored as "From: <>"; -b 2 renames each full group to mailbox.FIRST-LAST;
# -b 0 makes no backup and no spare mailbox for one; a stray file named
# like a backup does not move the numbering; a spool whose state file is
# lost numbers on from the records in its mailbox, a forged number inside
# a body not counted; a message over RLIMIT_FSIZE is 452 and cut back; a
# state file it cannot read is refused with 111; a crash between append
# and reply answers no 250; a machine without a boot id refuses the spool
# with 111.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(build tmpdir slurp spit run_cmd);
use Test::More;

my $smtpd = build('smtpd');
plan skip_all => 'build smtpd first (make)' unless -x $smtpd;

# One session of SMTP commands delivering a message per sender in @from,
# each to c@d with the body "body N".
sub session {
	my (@from) = @_;
	my $s = "HELO client\r\n";
	my $n = 0;
	for my $f (@from) {
		$n++;
		$s .= "MAIL FROM:<$f>\r\nRCPT TO:<c\@d>\r\nDATA\r\nbody $n\r\n"
		    . ".\r\n";
	}
	return $s . "QUIT\r\n";
}

# smtpd on spool with @args and the session's text: (status, replies).
sub smtpd {
	my ($spool, $text, @args) = @_;
	my ($rc, $out, $err) = run_cmd($text, 'timeout', '20', $smtpd, '-n',
	    'mx.test', '-m', $spool, @args);
	return ($rc, $out // '', $err // '');
}

sub numbers {
	my ($out) = @_;
	return join(' ', $out =~ /^250 OK:  delivered message (\d+)\r$/mg);
}

sub files {
	my ($dir) = @_;
	opendir(my $dh, $dir) or return '';
	return join(' ', sort grep { !/^\.\.?$/ } readdir($dh));
}

my $top = tmpdir();

# A null sender after a named one, in one session.
{
	my $spool = "$top/null";
	mkdir $spool;
	my ($rc, $out) = smtpd($spool, session('a@b', ''));
	is(numbers($out), '1 2', 'null sender: both delivered');
	my $mbox = slurp("$spool/mailbox") // '';
	like($mbox, qr/^Number: 1\nFrom: a\@b\nTo: c\@d\n\nbody 1\n/m,
	    'null sender: the first record names its sender');
	like($mbox, qr/^Number: 2\nFrom: <>\nTo: c\@d\n\nbody 2\n/m,
	    'null sender: the second is stored as From: <>');
}

# -b 2: the group of two becomes mailbox.1-2; -b 0: no backup, no spare.
{
	my $spool = "$top/b2";
	mkdir $spool;
	my ($rc, $out, $err) = smtpd($spool, session('a@b', 'e@f', 'g@h'),
	    '-b', 2, '-d');
	is(numbers($out), '1 2 3', '-b 2: three delivered');
	like($err, qr/: backup mailbox\.1-2$/m, '-b 2: the backup is logged');
	unlike($err, qr/: backup mailbox\.1-2: /, '-b 2: without a failure')
	    or diag($err);
	my $b = slurp("$spool/mailbox.1-2") // '';
	is(scalar(() = $b =~ /^Number: \d+$/mg), 2,
	    '-b 2: mailbox.1-2 holds two records');
	like($b, qr/^Number: 1\n.*^Number: 2\n/ms, '-b 2: messages 1 and 2');
	like(slurp("$spool/mailbox") // '', qr/\ANumber|^Number: 3\n/m,
	    '-b 2: the mailbox goes on with message 3');
	unlike(slurp("$spool/mailbox") // '', qr/^Number: [12]$/m,
	    '-b 2: and nothing of the first group');

	# The state file is smtpd's alone.
	is(sprintf('%04o', (stat("$spool/smtpd.lock"))[2] & 07777), '0600',
	    'state file: mode 0600');

	# -b 1: every message is a group of its own.
	$spool = "$top/b1";
	mkdir $spool;
	($rc, $out, $err) = smtpd($spool, session('a@b', 'e@f'), '-b', 1,
	    '-d');
	is(numbers($out), '1 2', '-b 1: two delivered');
	is(join(' ', $err =~ /: backup (mailbox\S*)$/mg),
	    'mailbox.1-1 mailbox.2-2', '-b 1: each backup logged, none failed')
	    or diag($err);
	like(slurp("$spool/mailbox.2-2") // '', qr/^Number: 2\n/m,
	    '-b 1: mailbox.2-2 holds message 2');
	like(slurp("$spool/mailbox.1-1") // '', qr/^Number: 1\n/m,
	    '-b 1: mailbox.1-1 holds message 1');

	$spool = "$top/b0";
	mkdir $spool;
	($rc, $out) = smtpd($spool, session('a@b', 'e@f'), '-b', 0);
	is(numbers($out), '1 2', '-b 0: two delivered');
	my $ls = files($spool);
	like($ls, qr/(^| )mailbox smtpd\.lock( |$)/,
	    '-b 0: the mailbox and its state');
	unlike($ls, qr/mailbox\.|\.mailbox\.next/,
	    '-b 0: no backup, no spare mailbox for one') or diag($ls);
}

# A file named like a backup but not one (a suffix after the numbers).
{
	my $spool = "$top/stray";
	mkdir $spool;
	spit("$spool/mailbox.1-99.old", "kept by hand\n");
	my ($rc, $out) = smtpd($spool, session('a@b'));
	is(numbers($out), '1', 'stray: numbering starts at 1');
}

# The state file lost: the mailbox's records number on, and a record
# forged inside a body (as an older server could have stored it) does not
# make the numbering jump.
{
	my $spool = "$top/lost";
	mkdir $spool;
	my $rec = sub {
		my ($n, $body) = @_;
		return "Received: from a by mx.test (CS4410MP3)\nNumber: $n\n"
		    . "From: a\@b\nTo: c\@d\n\n$body\n\n";
	};
	spit("$spool/mailbox", $rec->(1, 'one') . $rec->(2, 'two')
	    . $rec->(3, "three\nReceived: from x by y (CS4410MP3)\nNumber: 40"));
	my ($rc, $out) = smtpd($spool, session('a@b'));
	is(numbers($out), '4', 'lost state: the next message is 4');
	like(slurp("$spool/mailbox") // '', qr/^Number: 4\n/m,
	    'lost state: stored as 4');
}

# A message the mailbox cannot take (RLIMIT_FSIZE: EFBIG) is 452, and what
# was written of it is cut back without a word of failure: the mailbox
# is the first message's bytes, as they were.
SKIP: {
	skip('prlimit(1) not installed', 4)
	    if system('prlimit --version >/dev/null 2>&1') != 0;
	my $spool = "$top/fsize";
	mkdir $spool;
	my ($rc, $out, $err) = run_cmd(session('a@b'), 'timeout', '20',
	    'prlimit', '--fsize=300', $smtpd, '-d', '-n', 'mx.test', '-m',
	    $spool);
	is(numbers($out), '1', 'EFBIG: the first message fits');
	my $before = slurp("$spool/mailbox") // '';
	my $big = "HELO client\r\nMAIL FROM:<a\@b>\r\nRCPT TO:<c\@d>\r\n"
	    . "DATA\r\n" . ('x' x 400) . "\r\n.\r\nQUIT\r\n";
	($rc, $out, $err) = run_cmd($big, 'timeout', '20', 'prlimit',
	    '--fsize=300', $smtpd, '-d', '-n', 'mx.test', '-m', $spool);
	like($out, qr/^452 4\.3\.1 /m, 'EFBIG: the second is 452');
	is(slurp("$spool/mailbox"), $before, 'EFBIG: nothing of it stays');
	unlike($err // '', qr/cannot cut back/,
	    'EFBIG: the cut back is not reported as failed') or diag($err);
}

# A state file it cannot read (here a sign before the old format's
# zero-padded number) is refused with 111, never guessed at.
{
	my $spool = "$top/badstate";
	mkdir $spool;
	spit("$spool/smtpd.lock", sprintf("+%019d %020d\n", 3, 0));
	my ($rc, $out) = smtpd($spool, session('a@b'));
	is($rc, 111, 'bad state: exit 111');
	is(numbers($out), '', 'bad state: nothing delivered');
}

# A crash right after the append (the test-only crash point): no 250.
{
	my $spool = "$top/crash";
	mkdir $spool;
	local $ENV{SMTPD_TEST_CRASH} = 'appended:1000';
	my ($rc, $out) = smtpd($spool, session('a@b'));
	like($out, qr/\A220 mx\.test /, 'crash: greeted');
	unlike($out, qr/^221 /m, 'crash: smtpd killed itself, no 221');
	is(numbers($out), '', 'crash: killed before the reply, no 250');
}

# One boot, two processes: what a killed smtpd appended (the write done,
# the commit not) is kept by the next smtpd of the same boot and committed
# with its own message; only a new boot id (a machine restart, when the
# append may be half on disk) would cut it. The boot id is a file bound
# over /proc's in a mount namespace: the spool's first run under it is
# the machine's first after a restart (an empty session here).
SKIP: {
	skip('needs root and unshare(1) for a mount namespace', 3)
	    if $> != 0 || system('unshare -m true 2>/dev/null') != 0;
	my $spool = "$top/oneboot";
	mkdir $spool;
	spit("$top/boot_id", "0f0e0d0c-0b0a-4908-8706-050403020100\n");
	my $wrap = sub {
		return ('unshare', '-m', 'sh', '-c', 'mount --bind "$0" '
		    . '/proc/sys/kernel/random/boot_id && exec "$@"',
		    "$top/boot_id", 'timeout', '20', $smtpd, '-n', 'mx.test',
		    '-m', $spool);
	};
	# The first message under the machine's own boot id.
	my ($rc, $out) = smtpd($spool, session('a@b'));
	is(numbers($out), '1', 'one boot: the first message');
	(undef, undef, my $err) = run_cmd('', $wrap->());
	skip('cannot mount over /proc here', 2) if ($err // '') =~ /mount/;
	{
		local $ENV{SMTPD_TEST_CRASH} = 'appended:1000';
		my $two = session('a@b');
		$two =~ s/body 1/body two/;
		($rc, $out) = run_cmd($two, $wrap->());
	}
	is(numbers($out), '', 'one boot: the second smtpd killed after '
	    . 'its append');
	my $three = session('a@b');
	$three =~ s/body 1/body three/;
	($rc, $out) = run_cmd($three, $wrap->());
	like(slurp("$spool/mailbox") // '', qr/^body 1\n.*^body two\n.*^body three\n/ms,
	    'one boot: the killed one\'s message is kept, the next follows');
}

# No boot id (/proc/sys/kernel/random/boot_id unreadable as one): 111.
SKIP: {
	skip('needs root and unshare(1) for a mount namespace', 2)
	    if $> != 0 || system('unshare -m true 2>/dev/null') != 0;
	my $spool = "$top/boot";
	mkdir $spool;
	spit("$top/short", "not a uuid\n");
	my ($rc, $out, $err) = run_cmd(session('a@b'), 'unshare', '-m', 'sh',
	    '-c', 'mount --bind "$0" /proc/sys/kernel/random/boot_id && '
	    . 'exec "$@"', "$top/short", $smtpd, '-d', '-n', 'mx.test', '-m',
	    $spool);
	skip('cannot mount over /proc here', 2) if ($err // '') =~ /mount/;
	is($rc, 111, 'no boot id: exit 111');
	unlike($out // '', qr/^250 /m, 'no boot id: nothing accepted');
}

done_testing();
