#!/usr/bin/perl
# smtpd's promises the other files let pass: a command must be complete
# within -t seconds of the reply before it (a client dribbling one byte at
# a time cannot stretch it), and bytes a dead delivery left past the
# committed length are cut, and the cut is logged, even when they are
# longer than the next message (which would otherwise hide them).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(build tmpdir slurp spit listen_exec connect_tcp read_lines
    crlf);
use IO::Select;
use Test::More;
use Time::HiRes qw(time sleep);

my $smtpd = build('smtpd');
plan skip_all => 'build/smtpd not built' unless -x $smtpd;
$SIG{PIPE} = 'IGNORE';


# One byte every 0.6 s of "NOOP\r\n" (3.6 s in all) against -t 2: the
# deadline runs from the 220, so the 421 comes before the line is done.
{
	my $spool = tmpdir();
	my ($port) = listen_exec(cmd => [$smtpd, '-n', 'mx.test', '-m', $spool,
	    '-t', '2']);
	my $s = connect_tcp($port) or die "connect: $!";
	like(read_lines($s, 1, 5), qr/^220 /, 'dribble: greeting');
	my $sel = IO::Select->new($s);
	my $got = '';
	for my $c (split(//, "NOOP\r\n")) {
		last unless defined syswrite($s, $c);
		if ($sel->can_read(0.6)) {
			last unless sysread($s, $got, 512, length($got));
			last if $got =~ /\n/;
		}
	}
	$got .= read_lines($s, 1, 5) unless $got =~ /\n/;
	# A timer restarted by each byte would answer the NOOP: 250.
	is($got, "421 4.4.2 mx.test Error: timeout exceeded\r\n",
	    'dribble: 421 although a byte came every 0.6 s');
}

# Uncommitted bytes longer than the next message: cut, and logged with
# their count; the mailbox holds message 1 then message 2, nothing else.
{
	my $spool = tmpdir();
	my $dir = tmpdir();
	my $deliver = sub {
		my ($body, $name) = @_;
		spit("$dir/in", crlf('HELO h', 'MAIL FROM:<a@b>', 'RCPT TO:<c@d>',
		    'DATA') . $body . crlf('.', 'QUIT'));
		local $ENV{FORKD_LOG} = 'stderr';
		return scalar `$smtpd -n mx.test -m $spool < $dir/in 2>$dir/$name.err`;
	};
	like($deliver->("one\r\n", 'one'), qr/delivered message 1/, 'tail: message 1');
	my $good = slurp("$spool/mailbox");
	my $tail = "Received: from dead by mx.test (CS4410MP3)\nNumber: 2\n"
	    . "From: a\nTo: b\n\n" . ('dead ' x 400) . "\n";
	open(my $fh, '>>', "$spool/mailbox") or die;
	print $fh $tail;
	close($fh);
	like($deliver->("two\r\n", 'two'), qr/delivered message 2/,
	    'tail: message 2');
	my $mb = slurp("$spool/mailbox");
	my $msg2 = substr($mb, length($good));
	like($msg2, qr/\AReceived: from h by mx.test \(CS4410MP3\)\nNumber: 2\n/,
	    'tail: message 2 follows message 1 directly');
	unlike($mb, qr/dead/, 'tail: nothing of the dead delivery is left');
	ok(length($msg2) < length($tail),
	    'tail: the mailbox ends with message 2 (it is shorter than the tail)');
	my $len = length($tail);
	like(slurp("$dir/two.err") // '',
	    qr/mailbox: cutting $len\b/,
	    "tail: the cut of $len bytes is logged");
}

# A state record of the right size that does not parse is an error (smtpd
# says why and exits 111, a temporary failure), never taken for "message
# 0, length 0": the mailbox stays as it was.
{
	my $spool = tmpdir();
	my $dir = tmpdir();
	spit("$dir/in", crlf('HELO h', 'MAIL FROM:<a@b>', 'RCPT TO:<c@d>',
	    'DATA') . "one\r\n" . crlf('.', 'QUIT'));
	like(scalar `$smtpd -n mx.test -m $spool < $dir/in 2>/dev/null`,
	    qr/delivered message 1/, 'state: message 1');
	my $before = slurp("$spool/mailbox");
	spit("$spool/smtpd.lock", ('x' x 41) . "\n");
	my $out = `$smtpd -n mx.test -m $spool < $dir/in 2>$dir/err`;
	is($? >> 8, 111, 'state: a record that does not parse: exit 111');
	like(slurp("$dir/err") // '', qr/spool .*: Invalid argument/,
	    'state: ... saying why');
	unlike($out, qr/delivered/, 'state: nothing delivered');
	is(slurp("$spool/mailbox"), $before, 'state: the mailbox is untouched');
}

# -F mbox (mboxrd): a body line matching ^>*From  gets one more '>', the
# shortest such line too; others stay as they are.
{
	my $spool = tmpdir();
	my $dir = tmpdir();
	spit("$dir/in", crlf('HELO h', 'MAIL FROM:<a@b>', 'RCPT TO:<c@d>',
	    'DATA', 'From ', '>From x', 'From x', 'Fromage', 'From', '.',
	    'QUIT'));
	like(scalar `$smtpd -n mx.test -m $spool -F mbox < $dir/in 2>/dev/null`,
	    qr/delivered message 1/, 'mboxrd: delivered');
	my $mb = slurp("$spool/mailbox") // '';
	like($mb, qr/\n\n>From \n>>From x\n>From x\nFromage\nFrom\n/,
	    'mboxrd: "From ", ">From x", "From x" quoted; "Fromage", "From" not');
}

done_testing();
