#!/usr/bin/perl
# smtpd's promises the other files let pass: a command must be complete
# within -t seconds of the reply before it (a client dribbling one byte at
# a time cannot stretch it), and bytes a dead delivery left past the
# committed length are cut, and the cut is logged, even when they are
# longer than the next message (which would otherwise hide them).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Forkd qw(build tmpdir slurp spit listen_exec connect_tcp read_lines);
use IO::Select;
use Test::More;
use Time::HiRes qw(time sleep);

my $smtpd = build('smtpd');
plan skip_all => 'build/smtpd not built' unless -x $smtpd;
$SIG{PIPE} = 'IGNORE';

sub crlf { join('', map { "$_\r\n" } @_) }

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
	    qr/mailbox: cutting $len uncommitted bytes/,
	    "tail: the cut of $len bytes is logged");
}

done_testing();
