#!/usr/bin/perl
# smtpstress against a small SMTP server written here in Perl: one that
# answers as seed 003 says (the run must pass, every error kind provoked,
# the delivered count equal to the mailbox), and deliberately wrong ones
# (the run must fail and name the mismatch: the checker can fail).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(build tmpdir free_port wait_port slurp);
use IO::Select;
use IO::Socket::IP;
use Fcntl qw(:flock);
use POSIX ();
use Test::More;

my $bin = build('smtpstress');
plan skip_all => "build/smtpstress missing (make build/smtpstress)"
    unless -x $bin;

my $dir = tmpdir();
my $NAME = 'fake.example';

# The fake server: a process that accepts and forks one child per
# connection. bug: '' (correct), 'nested' (250 OK where "503 Error:
# nested MAIL command" is due), 'number' (every message is number 1),
# 'lf' (replies end in LF, not CRLF). Returns the server's pid, which
# leads its own process group.
sub fake_start {
	my (%o) = @_;
	my $port = free_port();
	my $spool = "$dir/spool-$port";
	mkdir $spool or die "$spool: $!";
	my $l = IO::Socket::IP->new(LocalAddr => '127.0.0.1',
	    LocalPort => $port, Listen => 128, ReuseAddr => 1, Proto => 'tcp')
	    or die "listen: $!";
	my $pid = fork() // die "fork: $!";
	if ($pid == 0) {
		setpgrp(0, 0);
		$SIG{CHLD} = 'IGNORE';
		while (1) {
			my $c = $l->accept or next;
			my $k = fork();
			if (defined $k && $k == 0) {
				close($l);
				fake_session($c, $spool, %o);
				POSIX::_exit(0);
			}
			close($c);
		}
	}
	close($l);
	wait_port($port) or die "fake server on $port never answered";
	return { pid => $pid, port => $port, spool => $spool };
}

sub fake_stop {
	my ($f) = @_;
	kill('TERM', -$f->{pid});
	waitpid($f->{pid}, 0);
}

# One line, or undef after $timeout s of silence, or '' at EOF.
sub getline {
	my ($c, $buf, $timeout) = @_;
	my $sel = IO::Select->new($c);
	while ($$buf !~ /\n/) {
		return undef unless $sel->can_read($timeout);
		my $n = sysread($c, $$buf, 4096, length($$buf));
		return '' unless $n;
	}
	$$buf =~ s/\A(.*?)\r?\n//s;
	return $1;
}

sub fake_session {
	my ($c, $spool, %o) = @_;
	my $eol = ($o{bug} // '') eq 'lf' ? "\n" : "\r\n";
	my $say = sub { syswrite($c, "$_[0]$eol") };
	my ($helo, $from, @rcpt, $errors, $buf) = (undef, undef);
	$errors = 0;
	$buf = '';
	$say->("220 $NAME SMTP CS4410MP3");
	my $err = sub {
		$say->($_[0]);
		if (++$errors >= 10) {
			$say->("421 4.4.2 $NAME Error: timeout exceeded");
			POSIX::_exit(0);
		}
	};
	while (1) {
		my $l = getline($c, \$buf, $o{timeout});
		if (!defined $l) {
			$say->("421 4.4.2 $NAME Error: timeout exceeded");
			return;
		}
		return if $l eq '' && $buf eq '' && eof($c);
		if ($l =~ /^HELO(?:\s+(.*?))?\s*$/i) {
			if (!defined $1 || $1 eq '') {
				$err->('501 Syntax:  HELO yourhostname');
			} elsif (defined $helo) {
				$err->('503 Error: duplicate HELO');
			} else {
				$helo = $1;
				# 'twice': the reply again, in the same write.
				$say->(($o{bug} // '') eq 'name' ?
				    '250 other.example' :
				    ($o{bug} // '') eq 'twice' ?
				    "250 $NAME${eol}250 $NAME" : "250 $NAME");
			}
		} elsif ($l =~ /^MAIL FROM:\s*(.*?)\s*$/i) {
			my $a = $1;
			if (!defined $helo) {
				$err->('503 Error: need HELO command');
			} elsif (defined $from && ($o{bug} // '') ne 'nested') {
				$err->('503 Error: nested MAIL command');
			} elsif ($a =~ /\s/) {
				$err->(($o{bug} // '') eq 'text' ?
				    "555 <$a>: Sender address invalid" :
				    "555 <$a>: Sender address rejected");
			} else {
				$from = $a;
				$say->('250 OK');
			}
		} elsif ($l =~ /^RCPT TO:\s*(.*?)\s*$/i) {
			my $a = $1;
			if (!defined $helo) {
				$err->('503 Error: need HELO command');
			} elsif (!defined $from) {
				$err->('503 Error: need MAIL command');
			} elsif ($a =~ /\s/) {
				$err->("555 <$a>: Recipient address invalid");
			} else {
				push @rcpt, $a;
				$say->('250 OK');
			}
		} elsif ($l =~ /^DATA\s*$/i) {
			if (!defined $helo) {
				$err->('503 Error: need HELO command');
			} elsif (!defined $from) {
				$err->('503 Error: need MAIL command');
			} elsif (!@rcpt) {
				$err->('503 Error: need RCPT command');
			} else {
				$say->('354 End data with <CR><LF>.<CR><LF>');
				my @body;
				while (1) {
					my $d = getline($c, \$buf, $o{timeout});
					if (!defined $d) {
						$say->("421 4.4.2 $NAME Error: "
						    . 'timeout exceeded');
						return;
					}
					last if $d eq '.';
					push @body, $d;
				}
				my $n = deliver($spool, $helo, $from, \@rcpt,
				    \@body, %o);
				$say->("250 OK:  delivered message $n");
				($from, @rcpt) = (undef);
			}
		} elsif ($l =~ /^QUIT\s*$/i) {
			$say->("221 $NAME closing");
			return;
		} else {
			$err->('500 Error: command not recognized');
		}
	}
}

# Seed 003's mailbox block, numbered under a lock across the children.
sub deliver {
	my ($spool, $helo, $from, $rcpt, $body, %o) = @_;
	open(my $lk, '>>', "$spool/lock") or die "lock: $!";
	flock($lk, LOCK_EX) or die "flock: $!";
	my $n = (slurp("$spool/count") // 0) + 1;
	open(my $cf, '>', "$spool/count") or die;
	print $cf $n;
	close($cf);
	open(my $mb, '>>', "$spool/mailbox") or die;
	print $mb "Received: from $helo by $NAME (CS4410MP3)\nNumber: $n\n"
	    . "From: $from\n" . join('', map { "To: $_\n" } @$rcpt) . "\n"
	    . join('', map { "$_\n" } @$body) . "\n";
	close($mb);
	close($lk);
	return ($o{bug} // '') eq 'number' ? 1 : $n;
}

# Run smtpstress; returns (exit status, stdout, stderr).
sub stress {
	my (@args) = @_;
	my $out = "$dir/out";
	my $err = "$dir/err";
	system("\Q$bin\E @args >\Q$out\E 2>\Q$err\E");
	return ($? >> 8, slurp($out) // '', slurp($err) // '');
}

# Usage and refusals.
{
	my ($st, $out) = stress('-h');
	is($st, 0, '-h exits 0');
	like($out, qr/^usage: smtpstress /, '-h prints the usage');
	($st, undef, my $err) = stress('-x');
	is($st, 100, 'an unknown option exits 100');
	($st, undef, $err) = stress('-c', '0');
	is($st, 100, '-c 0 exits 100');
	like($err, qr/^smtpstress: -c 0: too small/m, 'and says why');
	my $dead = free_port();
	($st, $out, $err) = stress('-q', '127.0.0.1', $dead);
	is($st, 111, 'a refused connection exits 111 (temporary)');
	like($err, qr/connect: Connection refused/, 'and says so');
}

# The seed's default run (32 connections, 1,000 operations) with a
# dormant client against a correct server with a 1 s timeout.
my %kinds;
{
	my $f = fake_start(timeout => 1);
	my ($st, $out, $err) = stress('-T', '1', '-S', '4410', '127.0.0.1',
	    $f->{port});
	is($st, 0, 'a correct server: exit 0') or diag($out, $err);
	like($out, qr/^smtpstress: seed 4410, 1000 operations over 32 connections/m,
	    'the seed is printed at the start');
	like($out, qr/^operations  1000 in [\d.]+ s: \d+ operations\/s$/m,
	    '1000 operations');
	like($out, qr/^mismatches  0$/m, '0 mismatches');
	like($out, qr/^sessions    \d+, 0 connection failures$/m,
	    'no connection failure');
	for my $k ('500 command not recognized', '501 HELO syntax',
	    '503 need HELO command', '503 need MAIL command',
	    '503 need RCPT command', '503 duplicate HELO',
	    '503 nested MAIL command', '555 sender address rejected',
	    '555 recipient address invalid',
	    '421 timeout exceeded (dormant)') {
		my ($n) = $out =~ /^  \Q$k\E\s+(\d+)$/m;
		ok(defined $n && $n > 0, "provoked: $k (" . ($n // 'none')
		    . ')');
		$kinds{$k} = $n;
	}
	my ($d) = $out =~ /^delivered   (\d+) messages/m;
	my $mbox = slurp("$f->{spool}/mailbox") // '';
	my @num = $mbox =~ /^Number: (\d+)$/mg;
	ok($d && $d > 0, "messages delivered: $d");
	is(scalar(@num), $d, 'the mailbox holds exactly the messages reported');
	like($out, qr/^  HELO\s+\d+\s+[\d.]+\s+[\d.]+$/m, 'HELO latency');
	like($out, qr/^  text\/\.\s+$d\s/m, 'one latency per message text');

	# The same seed plans the same sessions: the same counts.
	($st, my $out2) = stress('-T', '1', '-S', '4410', '127.0.0.1',
	    $f->{port});
	is($st, 0, 'second run with the same seed: exit 0');
	my @a = grep { /^  [45]\d\d |^sessions/ } split(/\n/, $out);
	my @b = grep { /^  [45]\d\d |^sessions/ } split(/\n/, $out2);
	is_deeply(\@b, \@a, 'same seed, same sessions and errors provoked');

	# -q: nothing on success.
	($st, $out, $err) = stress('-q', '-n', '50', '127.0.0.1', $f->{port});
	is($st, 0, '-q run: exit 0');
	is($out . $err, '', '-q prints nothing when all is well');
	fake_stop($f);
}

# A server that answers 250 where 503 is due.
{
	my $f = fake_start(timeout => 5, bug => 'nested');
	my ($st, $out, $err) = stress('-S', '7', '127.0.0.1', $f->{port});
	is($st, 1, 'a wrong server (250 for nested MAIL): exit 1');
	my ($m) = $out =~ /^mismatches  (\d+)$/m;
	ok($m && $m > 0, "mismatches reported: " . ($m // 'none'));
	like($err, qr/mismatch: sent "MAIL FROM: [^"]*": expected "503 Error: nested MAIL command", got "250 OK"/,
	    'the mismatch is named, expected and got');
	fake_stop($f);
}

# A server that gives two messages the same number.
{
	my $f = fake_start(timeout => 5, bug => 'number');
	my ($st, $out, $err) = stress('-q', '-S', '8', '-n', '200',
	    '127.0.0.1', $f->{port});
	is($st, 1, 'a server reusing message numbers: exit 1');
	like($err, qr/mismatch: message number 1 delivered twice/,
	    'the duplicate number is named');
	like($err, qr/^smtpstress: seed 8: \d+ mismatches, 0 connection failures$/m,
	    '-q still names the seed of a failed run');
	fake_stop($f);
}

# A server whose replies end in a bare LF.
{
	my $f = fake_start(timeout => 5, bug => 'lf');
	my ($st, $out, $err) = stress('-q', '-c', '2', '-n', '10',
	    '127.0.0.1', $f->{port});
	is($st, 1, 'replies without CR: exit 1');
	like($err, qr/is not one CRLF-ended line: "220 fake\.example SMTP CS4410MP3\\n"/,
	    'the bare LF is named');
	fake_stop($f);
}

# A server that answers HELO twice: the second reply is there before the
# next command was sent, so it answers nothing we said. With -n 1 the
# session is that HELO alone: the extra reply used to go unread and the
# run passed; with more, it was taken for the next command's reply and
# the mismatch named the wrong command.
{
	my $f = fake_start(timeout => 5, bug => 'twice');
	my ($st, $out, $err) = stress('-q', '-S', '1', '-c', '1', '-n', '1',
	    '127.0.0.1', $f->{port});
	is($st, 1, 'a reply to HELO sent twice, session of HELO only: exit 1')
	    or diag($out, $err);
	like($err, qr/mismatch: a reply came before a command was sent, after HELO: "250 fake\.example\\r\\n"/,
	    'the unsolicited reply is named');
	($st, $out, $err) = stress('-q', '-S', '2', '-n', '100',
	    '127.0.0.1', $f->{port});
	is($st, 1, 'a reply to HELO sent twice, 100 operations: exit 1');
	like($err, qr/mismatch: a reply came before a command was sent, after HELO: "250 fake\.example\\r\\n"/,
	    'the unsolicited reply is named, not the next command');
	fake_stop($f);
}

# Other wrong replies, each of which must be caught.
for my $t (['name', qr/expected "250 fake\.example", got "250 other\.example"/],
    ['text', qr/expected "555 <[^>]* [^>]*>: Sender address rejected", got "555 <[^>]*>: Sender address invalid"/]) {
	my ($bug, $re) = @$t;
	my $f = fake_start(timeout => 5, bug => $bug);
	my ($st, $out, $err) = stress('-q', '-S', '9', '127.0.0.1', $f->{port});
	is($st, 1, "a wrong server ($bug): exit 1");
	like($err, $re, "a wrong server ($bug): the mismatch is named");
	fake_stop($f);
}

# The 421 of a dormant client: missing, and too early for -T.
{
	my $f = fake_start(timeout => 30);
	my ($st, $out, $err) = stress('-q', '-T', '1', '-c', '2', '-n', '20',
	    '127.0.0.1', $f->{port});
	is($st, 1, 'no 421 for a dormant client: exit 1');
	like($err, qr/mismatch: dormant 6 s: expected "421 4\.4\.2 fake\.example Error: timeout exceeded", got nothing/,
	    'the missing 421 is named');
	fake_stop($f);
	$f = fake_start(timeout => 1);
	($st, $out, $err) = stress('-q', '-T', '3', '-c', '2', '-n', '20',
	    '127.0.0.1', $f->{port});
	is($st, 1, 'a 421 sooner than -T: exit 1');
	like($err, qr/"421 4\.4\.2 fake\.example Error: timeout exceeded" came after \d+ ms, before the -T 3 s of dormancy/,
	    'the early 421 is named');
	fake_stop($f);
}

done_testing();
