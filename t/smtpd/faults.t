#!/usr/bin/perl
# smtpd's spool when the system fails it, one libc call at a time (an
# LD_PRELOAD library, fault.c, fails the Nth call): a failed sync rolls
# the group back (451, the mailbox cut to its committed length, a new
# epoch in the state file, the reason logged) and numbering stays
# contiguous; a lock, a state line, the mailbox or the header buffer
# that cannot be had answers 451 or 452 and keeps nothing partial; a
# short or empty write is finished or refused; a delivery that failed
# lets go of the append lock for the other processes; an unreadable
# spool at start is refused with 111; the shared page, the spare mailbox
# and a backup's directory sync may fail and delivery goes on, logged.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(build tmpdir slurp spit run_cmd);
use IO::Handle;
use IO::Select;
use POSIX ();
use Test::More;

my $smtpd = build('smtpd');
plan skip_all => 'build smtpd first (make)' unless -x $smtpd;
my $top = tmpdir();
my $so = "$top/fault.so";
system("cc -shared -fPIC -o $so $FindBin::Bin/fault.c -ldl 2>/dev/null") == 0
    or plan skip_all => 'no cc to build the fault library';

my $ok = "250 OK:  delivered message";
my $local = '451 4.3.0 Error: local error in processing';
my $storage = '452 4.3.1 Error: insufficient system storage';

# The commands of one message, its body "body $tag".
sub msg { "MAIL FROM:<a\@b>\r\nRCPT TO:<c\@d>\r\nDATA\r\nbody $_[0]\r\n.\r\n" }
sub session { "HELO client\r\n" . join('', map { msg($_) } @_) . "QUIT\r\n" }

# smtpd on spool with the session's text and FORKD_FAULT $fault:
# (status, replies, log).
sub smtpd {
	my ($spool, $text, $fault, @args) = @_;
	my ($rc, $out, $err) = run_cmd({ in => $text, env => {
	    LD_PRELOAD => $so, FORKD_FAULT => $fault // '',
	    ASAN_OPTIONS => 'verify_asan_link_order=0' } },
	    'timeout', '20', $smtpd, '-n', 'mx.test', '-m', $spool, '-d',
	    @args);
	return ($rc, $out // '', $err // '');
}

# The replies to the messages' final dots: "250:N" or the whole failure.
sub verdicts {
	my ($out) = @_;
	return join(' ', map { /^250 .* (\d+)$/ ? "250:$1" : $_ }
	    $out =~ /^(\Q$ok\E \d+|45\d [^\r]*)\r$/mg);
}

# The numbers of the records in the mailbox, in order.
sub numbers {
	my ($mbox) = @_;
	return join(' ', ($mbox // '') =~ /^Number: (\d+)$/mg);
}

# A spool with messages 1 .. $n delivered.
sub spool {
	my ($name, $n, @args) = @_;
	my $spool = "$top/$name";
	mkdir $spool;
	if ($n) {
		my (undef, $out) = smtpd($spool, session(1 .. $n), '', @args);
		die "$name: setup: $out" unless verdicts($out) eq
		    join(' ', map { "250:$_" } 1 .. $n);
	}
	return $spool;
}

# The committed line of smtpd.lock: (number, length, epoch, error).
sub committed {
	my ($spool) = @_;
	return (slurp("$spool/smtpd.lock") // '') =~
	    /^committed (\d+) (\d+) (\d+) (\d+) /;
}

# The mailbox's sync fails: the group is rolled back, nothing of it stays.
{
	my $spool = spool('rollback', 1);
	my $before = slurp("$spool/mailbox");
	my ($rc, $out, $err) = smtpd($spool, session('x', 'y'), 'fdatasync:1:5');
	is(verdicts($out), "$local 250:2", 'sync fails: 451, then the next is 2');
	my $mbox = slurp("$spool/mailbox");
	is(numbers($mbox), '1 2', 'sync fails: the numbering stays contiguous');
	unlike($mbox, qr/^body x$/m, 'sync fails: nothing of the rolled back one');
	is(substr($mbox, 0, length($before)), $before,
	    'sync fails: the earlier record is whole');
	like($err, qr/: mailbox: commit: Input\/output error$/m,
	    'sync fails: logged with its reason');
	like($err, qr/: mailbox: messages 2-2 rolled back$/m,
	    'sync fails: the rollback is logged');
	unlike($err, qr/cannot cut back/, 'sync fails: the cut back worked');
	unlike($err, qr/shared page/, 'a start with the shared page logs none');
	my ($n, $len, $epoch) = committed($spool);
	is(($n + 0) . ' ' . ($len + 0), '2 ' . length($mbox), 'sync fails: state and mailbox agree');
	is($epoch + 0, 1, 'sync fails: the rollback counts the epoch up by one');

	# A leader whose commit failed lets go of the sync lock as one whose
	# commit held: each counts up the shared page's release word (bytes
	# 4-7 of .smtpd.hint, the futex waiters sleep on) the same times.
	my $release = sub { unpack('L', substr(slurp("$_[0]/.smtpd.hint")
	    // '', 4, 4) . "\0" x 4) };
	my $plain = spool('released', 1);
	my $r0 = $release->($plain);
	smtpd($plain, session('x', 'y'));
	my $r1 = $release->($spool);
	smtpd($spool, session('v', 'w'), 'fdatasync:1:5');
	is($release->($spool) - $r1, $release->($plain) - $r0,
	    'sync fails: the waiters are woken as after a commit');
}

# The rollback's append lock cannot be had: it still rolls back, logged.
{
	my $spool = spool('rblock', 1);
	my ($rc, $out, $err) = smtpd($spool, session('x', 'y'),
	    'fdatasync:1:5,flock:4:5');
	is(verdicts($out), "$local 250:2", 'rollback unlocked: 451, then 2');
	like($err, qr/: mailbox: lock for the rollback: Input\/output error$/m,
	    'rollback unlocked: logged');
	is(numbers(slurp("$spool/mailbox")), '1 2', 'rollback unlocked: 1 2');
}

# The append lock cannot be had: 451, and nothing is appended.
{
	my $spool = spool('flock', 1);
	my ($rc, $out, $err) = smtpd($spool, session('x', 'y'), 'flock:2:5');
	is(verdicts($out), "$local 250:2", 'no append lock: 451, then 2');
	is(numbers(slurp("$spool/mailbox")), '1 2', 'no append lock: 1 2');
}

# The committed line cannot be read by the leader, then by its commit.
# Under make check-asan, ASan's own pread(2) interceptor goes to the C
# library past this fault library: nothing is injected there.
SKIP: {
	skip('ASan build: its pread interceptor bypasses the fault library', 5)
	    if ($ENV{FORKD_BUILD} // '') =~ /asan/;
	my $spool = spool('lead', 1);
	my ($rc, $out, $err) = smtpd($spool, session('x'), 'pread0:2:5');
	is(verdicts($out), $local, 'state unreadable to the leader: 451');
	like($err, qr/: spool state smtpd\.lock: Invalid argument$/m,
	    'state unreadable to the leader: logged');

	$spool = spool('commit', 1);
	($rc, $out, $err) = smtpd($spool, session('x'), 'pread0:3:5');
	is(verdicts($out), $local, 'state unreadable to the commit: 451');
	like($err, qr/: spool state smtpd\.lock: Invalid argument$/m,
	    'state unreadable to the commit: logged');
	like($err, qr/: delivery failed: Invalid argument$/m,
	    'state unreadable to the commit: the delivery fails for it');
}

# No memory for the record's header: 451, nothing kept, numbering goes on.
{
	my $spool = spool('memstream', 1);
	my ($rc, $out, $err) = smtpd($spool, session('x', 'y'),
	    'memstream:1:12');
	is(verdicts($out), "$local 250:2", 'no memory: 451, then 2');
	my $mbox = slurp("$spool/mailbox");
	is(numbers($mbox), '1 2', 'no memory: 1 2');
	unlike($mbox, qr/^body x$/m, 'no memory: nothing of the refused one');
	like($err, qr/: delivery failed: Cannot allocate memory$/m,
	    'no memory: the log says why');
}

# The mailbox cannot be opened for lack of space: 452, and it is kept.
{
	my $spool = spool('nospace', 2);
	my $before = slurp("$spool/mailbox");
	my ($rc, $out, $err) = smtpd($spool, session('x', 'y'),
	    'open:mailbox:1:28');
	is(verdicts($out), "$storage 250:3", 'no space: 452, then 3');
	my $mbox = slurp("$spool/mailbox");
	is(substr($mbox, 0, length($before)), $before,
	    'no space: the records before are kept whole');
	is(numbers($mbox), '1 2 3', 'no space: 1 2 3');
}

# A mail reader emptied the mailbox: the next record starts it.
{
	my $spool = spool('emptied', 2);
	truncate("$spool/mailbox", 0) or die "truncate: $!";
	my ($rc, $out) = smtpd($spool, session('x'));
	is(verdicts($out), '250:3', 'emptied: numbering goes on');
	my $mbox = slurp("$spool/mailbox");
	like($mbox, qr/\AReceived: from client by mx\.test \(CS4410MP3\)\nNumber: 3\n/,
	    'emptied: the record starts the mailbox, no hole before it');
	unlike($mbox, qr/\0/, 'emptied: no NUL byte');
	my ($n, $len) = committed($spool);
	is($len + 0, length($mbox), 'emptied: the state has its length');
}

# The record's write returns 0 (no progress): 451, and it is cut back; a
# short write is finished where it stopped.
{
	my $spool = spool('zero', 1);
	my $before = slurp("$spool/mailbox");
	my ($rc, $out, $err) = smtpd($spool, session('x', 'y'),
	    'pwritev:1:zero');
	is(verdicts($out), "$local 250:2", 'write of 0 bytes: 451, then 2');
	like($err, qr/: delivery failed: Input\/output error$/m,
	    'write of 0 bytes: logged as EIO');
	unlike($err, qr/cannot cut back/, 'write of 0 bytes: the cut back worked');
	is(numbers(slurp("$spool/mailbox")), '1 2', 'write of 0 bytes: 1 2');

	# The cut back fails too: logged, and the client still gets 451.
	$spool = spool('nocut', 1);
	($rc, $out, $err) = smtpd($spool, session('x'),
	    'pwritev:1:5,ftruncate:1:5');
	is(verdicts($out), $local, 'no cut back: 451');
	like($err, qr/: mailbox: cannot cut back to \d+: Input\/output error$/m,
	    'no cut back: logged');

	$spool = spool('short', 1);
	$before = slurp("$spool/mailbox");
	($rc, $out) = smtpd($spool, session('x'), 'pwritev:1:short');
	is(verdicts($out), '250:2', 'short write: delivered');
	is(slurp("$spool/mailbox"), $before . "Received: from client by "
	    . "mx.test (CS4410MP3)\nNumber: 2\nFrom: a\@b\nTo: c\@d\n\n"
	    . "body x\n\n", 'short write: the record is whole');
}

# A state file of the earlier one-line format, numbered 0: the numbers
# come from the mailbox's records.
{
	my $spool = spool('old', 2);
	spit("$spool/smtpd.lock", sprintf("%020d %020d\n", 0, 0));
	my ($rc, $out) = smtpd($spool, session('x'));
	is(verdicts($out), '250:3', 'old state of 0: numbering from records');
}

# The spool cannot be opened: 111, the reason logged, nothing changed.
{
	my $spool = spool('nolock', 1);
	my ($rc, $out, $err) = smtpd($spool, session('x'), 'setlkw:1:5');
	is($rc, 111, 'sync lock refused at start: 111');
	like($err, qr/: spool \S+: Input\/output error$/m,
	    'sync lock refused at start: logged');

	$spool = spool('norecover', 2);
	my $before = slurp("$spool/mailbox");
	unlink("$spool/smtpd.lock");
	($rc, $out, $err) = smtpd($spool, session('x'), 'open:mailbox:1:5');
	is($rc, 111, 'mailbox unreadable to recover the numbers: 111');
	is(verdicts($out), '', 'mailbox unreadable: nothing delivered');
	is(slurp("$spool/mailbox"), $before, 'mailbox unreadable: unchanged');
}

# The shared page cannot be made: logged, delivery goes on without it.
{
	my $spool = spool('nohint', 0);
	my ($rc, $out, $err) = smtpd($spool, session('x', 'y'),
	    'creat:.smtpd.hint:1+:5');
	is(verdicts($out), '250:1 250:2', 'no shared page: delivered');
	like($err, qr/: spool state smtpd\.lock: shared page: Input\/output error$/m,
	    'no shared page: logged');
}

# The spare mailbox cannot be made: logged once a backup, not a message.
{
	my $spool = spool('nospare', 0);
	my ($rc, $out, $err) = smtpd($spool, session('x', 'y', 'z'),
	    'creat:.mailbox.next:2+:5', '-b', 2);
	is(verdicts($out), '250:1 250:2 250:3', 'no spare: delivered');
	is(scalar(() = $err =~ /: \.mailbox\.next: Input\/output error$/mg), 1,
	    'no spare: the failure is logged once') or diag($err);
}

# The backup's directory sync fails: logged, delivery goes on.
{
	my $spool = spool('bksync', 0);
	my ($rc, $out, $err) = smtpd($spool, session('x', 'y', 'z'),
	    'fsync:2:5', '-b', 2);
	is(verdicts($out), '250:1 250:2 250:3', 'backup unsynced: delivered');
	like($err, qr/: backup mailbox\.1-2: spool: Input\/output error$/m,
	    'backup unsynced: logged');
	is(numbers(slurp("$spool/mailbox.1-2")), '1 2', 'backup unsynced: 1 2');
}

# No spare and no new mailbox at the backup: the backup stands, and the
# next delivery makes the mailbox.
{
	my $spool = spool('bknew', 0);
	my ($rc, $out, $err) = smtpd($spool, session('x', 'y', 'z'),
	    'creat:.mailbox.next:1+:5,creat:mailbox:2:5', '-b', 2);
	is(verdicts($out), '250:1 250:2 250:3', 'backup, no new mailbox: delivered');
	like($err, qr/: backup mailbox\.1-2$/m, 'backup, no new mailbox: made');
	unlike($err, qr/: backup mailbox\.1-2: /,
	    'backup, no new mailbox: no failure logged');
	is(numbers(slurp("$spool/mailbox")), '3', 'backup, no new mailbox: 3');
}

# A failed delivery lets go of the append lock, and so does a commit: a
# second smtpd on the spool delivers while the first one's session is
# still open.
{
	my $spool = spool('two', 1);
	pipe(my $in_r, my $in_w) or die "pipe: $!";
	pipe(my $out_r, my $out_w) or die "pipe: $!";
	my $pid = fork() // die "fork: $!";
	if ($pid == 0) {
		open(STDIN, '<&', $in_r);
		open(STDOUT, '>&', $out_w);
		open(STDERR, '>', "$top/two.err");
		@ENV{qw(LD_PRELOAD FORKD_FAULT ASAN_OPTIONS)} =
		    ($so, 'setlk:2:5', 'verify_asan_link_order=0');
		exec('timeout', '30', $smtpd, '-n', 'mx.test', '-m', $spool, '-d')
		    or POSIX::_exit(127);
	}
	close($in_r);
	close($out_w);
	$in_w->autoflush(1);
	my $sel = IO::Select->new($out_r);
	my $buf = '';
	# Read until a line matching $re, at most 10 s.
	my $until = sub {
		my ($re) = @_;
		my $end = time() + 10;
		while ($buf !~ $re && time() < $end && $sel->can_read(1)) {
			sysread($out_r, $buf, 4096, length($buf)) or last;
		}
		return $buf =~ $re;
	};
	print $in_w "HELO client\r\n", msg('a1');
	ok($until->(qr/^(\Q$ok\E \d+|45\d [^\r]*)\r$/m),
	    'two: the first smtpd answers');
	my ($rc, $out) = smtpd($spool, session('b'));
	is(verdicts($out), '250:3', 'two: the second delivers after a commit');
	$buf = '';
	print $in_w msg('a2');
	ok($until->(qr/^\Q$local\E\r$/m),
	    'two: a sync lock that fails answers 451');
	($rc, $out) = smtpd($spool, session('c'));
	# The refused record was appended before its commit failed: the
	# next commit covers it (a duplicate if the client sends it again,
	# never a loss).
	is(verdicts($out), '250:5', 'two: the second delivers after a failure');
	print $in_w "QUIT\r\n";
	close($in_w);
	waitpid($pid, 0);
	is(numbers(slurp("$spool/mailbox")), '1 2 3 4 5', 'two: numbering contiguous');
}

done_testing();
