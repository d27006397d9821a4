#!/usr/bin/perl
# smtpstress's default run (32 connections, 1,000 operations, every error
# reply of seed 003, one dormant client) against forkd's smtpd run as 32
# workers on one listening socket (the prefork contract: fd 0 is the
# listener), with a 1 s timeout. It must pass with 0 mismatches, and the
# mailbox with its backups must hold exactly the messages reported.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(build tmpdir wait_port slurp syslog_start syslog_wrap);
use IO::Socket::IP;
use POSIX ();
use Test::More;

my $bin = build('smtpstress');
my $smtpd = build('smtpd');
plan skip_all => 'build/smtpstress missing (make build/smtpstress)'
    unless -x $bin;
plan skip_all => 'build/smtpd missing: daemons/smtpd not built yet '
    . '(make build/smtpd)' unless -x $smtpd;

my $dir = tmpdir();
my $spool = "$dir/spool";
mkdir $spool or die "$spool: $!";
my $NAME = 'stress.example';
my $WORKERS = 32;

# smtpd logs to syslog: give it a /dev/log of its own where that can be
# done (root with unshare), so a run does not write to the machine's log.
my (@wrap, $sl);
if ($> == 0 && system('unshare -m true 2>/dev/null') == 0) {
	$sl = syslog_start($dir);
	@wrap = syslog_wrap($sl);
}

my $l = IO::Socket::IP->new(LocalAddr => '127.0.0.1', LocalPort => 0,
    Listen => 128, ReuseAddr => 1, Proto => 'tcp') or die "listen: $!";
my $port = $l->sockport;

# A process group: a Perl parent that preforks 32 smtpd workers with the
# listener on fd 0, as forkd's prefork.32 does.
my $pool = fork() // die "fork: $!";
if ($pool == 0) {
	setpgrp(0, 0);
	open(STDIN, '<&', $l) or POSIX::_exit(127);
	open(STDOUT, '>', '/dev/null');
	open(STDERR, '>', "$dir/smtpd.stderr");
	my $script = 'for (1..shift) { my $p = fork; if (defined $p && !$p) '
	    . '{ exec @ARGV; exit 127 } } 1 while wait != -1;';
	exec(@wrap, $^X, '-e', $script, $WORKERS, $smtpd, '-m', $spool,
	    '-t', '1', '-n', $NAME) or POSIX::_exit(127);
}
close($l);
END {
	local $?;
	if ($pool) { kill('TERM', -$pool); waitpid($pool, 0) }
	if ($sl) { kill('TERM', $sl->{pid}); waitpid($sl->{pid}, 0) }
}
ok(wait_port($port), "smtpd x$WORKERS answers on port $port");

my $t0 = time;
system("\Q$bin\E -T 1 127.0.0.1 $port >\Q$dir/out\E 2>\Q$dir/err\E");
my $st = $? >> 8;
my $out = slurp("$dir/out") // '';
my $err = slurp("$dir/err") // '';
is($st, 0, 'default run against smtpd: exit 0') or diag($out, $err);
like($out, qr/^operations  1000 in [\d.]+ s: \d+ operations\/s$/m,
    '1000 operations');
like($out, qr/^mismatches  0$/m, '0 mismatches') or diag($err);
like($out, qr/^sessions    \d+, 0 connection failures$/m,
    'no connection failure');
for my $k ('500 command not recognized', '501 HELO syntax',
    '503 need HELO command', '503 need MAIL command',
    '503 need RCPT command', '503 duplicate HELO',
    '503 nested MAIL command', '555 sender address rejected',
    '555 recipient address invalid', '421 timeout exceeded (dormant)') {
	my ($n) = $out =~ /^  \Q$k\E\s+(\d+)$/m;
	ok(defined $n && $n > 0, "provoked: $k (" . ($n // 'none') . ')');
}

# The mailbox and its backups (mailbox.1-32, mailbox.33-64, ...) hold
# every message reported delivered, each once, numbered 1..N.
my ($d, $lo, $hi) = $out =~ /^delivered   (\d+) messages \(numbers (\d+)-(\d+)\)$/m;
ok($d && $d > 0, 'messages delivered: ' . ($d // 'none'));
is("$lo-$hi", "1-$d", 'numbered 1 to N');
opendir(my $dh, $spool) or die;
my @files = sort grep { /^mailbox(\.\d+-\d+)?$/ } readdir($dh);
closedir($dh);
my (@num, $blocks, $badrecv);
$blocks = $badrecv = 0;
for my $f (@files) {
	my $m = slurp("$spool/$f") // '';
	push @num, $m =~ /^Number: (\d+)$/mg;
	for my $r ($m =~ /^(Received: .*)$/mg) {
		$blocks++;
		$badrecv++ unless $r =~ /^Received: from \S+ by \Q$NAME\E \(CS4410MP3\)$/;
	}
}
@num = sort { $a <=> $b } @num;
is(scalar(@num), $d, 'the mailbox files hold exactly the messages reported')
    or diag("files: @files");
is($blocks, $d, 'one Received line per message');
is($badrecv, 0, 'every Received line is "Received: from HELO by NAME (CS4410MP3)"');
is_deeply(\@num, [1 .. $d], 'numbers 1..N, each once');
ok(-e "$spool/mailbox.1-32", 'the first backup, mailbox.1-32, exists')
    if $d >= 32;
my ($ops) = $out =~ /^busy .*: (\d+) operations\/s/m;
diag("smtpstress against smtpd x$WORKERS: $ops operations/s without the dormant wait, $d messages")
    if $ops;

done_testing();
