#!/usr/bin/perl
# smtpd's group commit under kill -9: 32 clients deliver at once into a
# pool of 32 smtpd processes on one listener while workers die by SIGKILL
# at random moments: at the test-only crash points (SMTPD_TEST_CRASH:
# after the append before the commit, in the leader between the mailbox's
# sync and the state's, between the state's write and its sync, after the
# commit before the 250) and from outside at any moment. A dead worker is
# replaced at once. Afterwards, and after one more delivery that commits
# whatever a dead leader left appended:
#   - every message a client was told "250 ... message N" is in the spool
#     exactly once, as record N, whole;
#   - the records are numbered 1..N with no gap and no repeat, and nothing
#     else is in the files (no partial record);
#   - every backup mailbox.F-L holds exactly the records F..L, 32 of them;
#   - a message without a 250 is in the spool only if its client saw the
#     connection die after sending the whole message (a lost reply, see
#     smtpd(8)), at most once; one refused with 4xx is not there at all.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(build tmpdir slurp spit);
use IO::Select;
use IO::Socket::IP;
use POSIX qw(WNOHANG);
use Test::More;
use Time::HiRes qw(time sleep);

my $smtpd = build('smtpd');
plan skip_all => "build/smtpd not built" unless -x $smtpd;

my ($WORKERS, $CLIENTS, $EACH, $SECONDS) = (32, 32, 150, 15);
my %started;
$SIG{PIPE} = 'IGNORE';
END { kill('KILL', $_) for keys %started }

my $spool = tmpdir();
my $dir = tmpdir();
my $l = IO::Socket::IP->new(LocalAddr => '127.0.0.1', LocalPort => 0,
    Listen => 128, ReuseAddr => 1) or die "listen: $!";
my $port = $l->sockport;

# The pool: 32 workers on the listener, each replaced as soon as it dies,
# and a killer that SIGKILLs a random one every few milliseconds. Writes
# how many died and how many it killed to $dir/pool when told to stop.
my $pool = fork() // die "fork: $!";
if ($pool == 0) {
	my (%w, $stop);
	my ($died, $killed) = (0, 0);
	$SIG{TERM} = sub { $stop = 1 };
	my $spawn = sub {
		my $pid = fork();
		return unless defined $pid;
		if ($pid == 0) {
			open(STDIN, '<&', $l) or POSIX::_exit(127);
			open(STDOUT, '>', '/dev/null');
			open(STDERR, '>', '/dev/null');
			$ENV{SMTPD_TEST_CRASH} =
			    'appended,synced,written,committed:15';
			exec($smtpd, '-n', 'mx.test', '-m', $spool, '-t', '5')
			    or POSIX::_exit(127);
		}
		$w{$pid} = 1;
	};
	$spawn->() for 1 .. $WORKERS;
	my $end = time + $SECONDS + 20;
	while (!$stop && time < $end) {
		while ((my $pid = waitpid(-1, WNOHANG)) > 0) {
			next unless delete $w{$pid};
			$died++;
			$spawn->() unless $stop;
		}
		$spawn->() for keys(%w) + 1 .. $WORKERS;
		if (rand() < 0.5) {
			my @p = keys %w;
			$killed++ if kill('KILL', $p[int(rand(@p))]);
		}
		sleep(0.005 + rand(0.01));
	}
	kill('KILL', keys %w);
	1 while waitpid(-1, 0) > 0;
	spit("$dir/pool", "$died $killed\n");
	POSIX::_exit(0);
}
$started{$pool} = 1;

# One client: up to $EACH messages, a connection each, for $SECONDS at
# most. Writes "marker outcome" lines: "250 N", "none" (the connection
# died after the whole message was sent), "early" (it died before), or
# the reply it got.
sub client {
	my ($c) = @_;
	open(my $fh, '>', "$dir/client$c") or POSIX::_exit(2);
	$fh->autoflush(1);
	my $end = time + $SECONDS;
	for my $m (1 .. $EACH) {
		last if time > $end;
		my $mk = "c$c-m$m";
		my $s = IO::Socket::IP->new(PeerHost => '127.0.0.1',
		    PeerPort => $port) or do { print $fh "$mk early\n"; next };
		my $sel = IO::Select->new($s);
		my $buf = '';
		my $line = sub {
			while ($buf !~ /\r\n/) {
				$sel->can_read(15) or return undef;
				sysread($s, my $b, 4096) or return undef;
				$buf .= $b;
			}
			$buf =~ s/^(.*?)\r\n//;
			return $1;
		};
		my $ok = 1;
		for (['', qr/^220 /], ["HELO c$c", qr/^250 /],
		    ["MAIL FROM:<c$c\@example.org>", qr/^250 /],
		    ['RCPT TO:<r@example.org>', qr/^250 /],
		    ['DATA', qr/^354 /]) {
			syswrite($s, "$_->[0]\r\n") if $_->[0] ne '';
			my $r = $line->();
			if (!defined $r || $r !~ $_->[1]) { $ok = 0; last }
		}
		if (!$ok) {
			print $fh "$mk early\n";
			next;
		}
		my $text = "Subject: $mk\r\n\r\n"
		    . join('', map { "$mk line $_\r\n" } 1 .. 5) . ".\r\n";
		if (!defined syswrite($s, $text) ) {
			print $fh "$mk early\n";
			next;
		}
		my $r = $line->();
		if (!defined $r) {
			print $fh "$mk none\n";
		} elsif ($r =~ /^250 OK:  delivered message (\d+)$/) {
			print $fh "$mk 250 $1\n";
			syswrite($s, "QUIT\r\n");
		} else {
			print $fh "$mk $r\n";
		}
		close($s);
	}
	close($fh);
	POSIX::_exit(0);
}

my @pids;
for my $c (1 .. $CLIENTS) {
	my $pid = fork() // die "fork: $!";
	client($c) if $pid == 0;
	push @pids, $pid;
	$started{$pid} = 1;
}
for (@pids) {
	waitpid($_, 0);
	delete $started{$_};
}
kill('TERM', $pool);
waitpid($pool, 0);
delete $started{$pool};
my ($died, $killed) = split(' ', slurp("$dir/pool") // '0 0');

# One clean delivery commits what a dead leader left appended.
spit("$dir/final", "HELO c0\r\nMAIL FROM:<c0\@example.org>\r\n"
    . "RCPT TO:<r\@example.org>\r\nDATA\r\nSubject: c0-m1\r\n\r\n"
    . join('', map { "c0-m1 line $_\r\n" } 1 .. 5) . ".\r\nQUIT\r\n");
my $out = `$smtpd -n mx.test -m $spool < $dir/final 2>/dev/null`;
my ($last) = $out =~ /^250 OK:  delivered message (\d+)\r$/m;
ok(defined $last, 'a clean delivery after the crashes') or diag($out);
$last //= 0;

my (%said, %outcome);
for my $c (1 .. $CLIENTS) {
	for (split(/\n/, slurp("$dir/client$c") // '')) {
		my ($mk, $o) = split(/ /, $_, 2);
		$outcome{$mk} = $o;
		$said{$mk} = $1 if $o =~ /^250 (\d+)$/;
	}
}
$said{'c0-m1'} = $last;
$outcome{'c0-m1'} = "250 $last";

# Read every file of the spool as whole records, nothing else.
my (%at, %seen, @numbers);
my ($whole, $backups_exact, $backups) = (1, 1, 0);
my $rec = 'Received: from c(\d+) by mx\.test \(CS4410MP3\)\n'
    . 'Number: (\d+)\nFrom: c\1\@example\.org\nTo: r\@example\.org\n\n'
    . 'Subject: (c\1-m\d+)\n\n((?:\3 line \d\n){5})\n';
$rec = qr/$rec/;
for my $f (sort glob("$spool/mailbox*")) {
	my $text = slurp($f) // '';
	my @here;
	while ($text =~ /\G$rec/gc) {
		my ($n, $mk) = ($2, $3);
		push @here, $n;
		$seen{$mk}++;
		$at{$mk} = $n;
	}
	my $pos = pos($text) // 0;
	if ($pos != length($text)) {
		$whole = 0;
		diag("$f: not a whole record at byte $pos");
	}
	push @numbers, @here;
	if ($f =~ /mailbox\.(\d+)-(\d+)$/) {
		$backups++;
		$backups_exact = 0 if "@here" ne join(' ', $1 .. $2) ||
		    $2 - $1 + 1 != 32;
	}
}
@numbers = sort { $a <=> $b } @numbers;
my $told = grep { /^250 / } values %outcome;
my $lost = grep { $_ eq 'none' } values %outcome;
my $lost_kept = grep { $outcome{$_} eq 'none' && $seen{$_} } keys %outcome;
diag(sprintf('%d workers died (%d killed from outside), %d messages told '
    . '250, %d replies lost (%d of those delivered), %d backups', $died,
    $killed, $told, $lost, $lost_kept, $backups));

cmp_ok($died, '>=', 20, 'workers died at random moments');
cmp_ok($told, '>=', 100, 'deliveries went on between the crashes');
ok($whole, 'every file holds whole records and nothing else');
is("@numbers", join(' ', 1 .. $last),
    "numbers 1..$last, none missing, none repeated");
ok($backups >= 1 && $backups_exact,
    'every backup holds exactly its 32 records, in order');
my @bad = grep { ($seen{$_} // 0) != 1 || $at{$_} != $said{$_} } keys %said;
is("@bad", '', 'every message told 250 is there once, with its number');
my @forged = grep { !defined $outcome{$_} ||
    ($outcome{$_} ne 'none' && !defined $said{$_}) || $seen{$_} > 1 }
    keys %seen;
is("@forged", '', 'a message without 250 is there only if its reply was '
    . 'lost after the whole message, and only once');
like(slurp("$spool/smtpd.lock") // '', qr/^committed 0*$last 0*\d+ \d+ 0 0 /,
    'the committed state says the last number, synced');

done_testing();
