#!/usr/bin/perl
# smtpd: seed 003's two transcripts, byte for byte, over a socket (the
# prefork contract: a listening socket on fd 0) and through stdin/stdout,
# and the seed's mailbox example byte for byte on disk.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(build tmpdir slurp listen_exec read_n);
use IO::Select;
use IO::Socket::IP;
use POSIX qw(:sys_wait_h);
use Test::More;
use Time::HiRes qw(time);

my $smtpd = build('smtpd');
plan skip_all => "build/smtpd not built" unless -x $smtpd;

# Seed 003, first table: [client line or undef, server reply lines].
my @t1 = (
	[undef, '220 netid SMTP CS4410MP3'],
	['HELO client', '250 netid'],
	['MAIL FROM: student@CS4410', '250 OK'],
	['RCPT TO: TA@CS4410', '250 OK'],
	['DATA', '354 End data with <CR><LF>.<CR><LF>'],
	['I made an awesome submission!'],
	['Network programming is fun.'],
	['.', '250 OK:  delivered message 1'],
);
# Seed 003, second table (the error-laden one).
my @t2 = (
	[undef, '220 netid SMTP CS4410MP3'],
	['HELO', '501 Syntax:  HELO yourhostname'],
	['HELO clienthostname', '250 netid'],
	['mkdir', '500 Error: command not recognized'],
	['MAIL FROM: student @CS4410',
	    '555 <student @CS4410>: Sender address rejected'],
	['MAIL FROM: student@CS4410', '250 OK'],
	['MAIL FROM: professor@CS4410', '503 Error: nested MAIL command'],
	['RCPT TO: TA @CS4410', '555 <TA @CS4410>: Recipient address invalid'],
	['RCPT TO: TA@CS4410', '250 OK'],
	['DATA', '354 End data with <CR><LF>.<CR><LF>'],
	["I'm going to send and wait"],
);
my $timeout = '421 4.4.2 netid Error: timeout exceeded';
# "Had the client sent a trailing '.'": the seed's mailbox.
my $seed_mailbox = <<'EOF';
Received: from client by netid (CS4410MP3)
Number: 1
From: student@CS4410
To: TA@CS4410

I made an awesome submission!
Network programming is fun.

Received: from clienthostname by netid (CS4410MP3)
Number: 2
From: student@CS4410
To: TA@CS4410

I'm going to send and wait

EOF

my %started;
$SIG{PIPE} = "IGNORE";
END { kill('KILL', $_) for keys %started }

sub expected { join('', map { "$_\r\n" } map { @$_[1 .. $#$_] } @_) }

# Play a transcript in lockstep over socket $s; returns all bytes read.
sub play {
	my ($s, @t) = @_;
	my $all = '';
	for my $step (@t) {
		my ($line, @replies) = @$step;
		syswrite($s, "$line\r\n") if defined $line;
		my $want = length(join('', map { "$_\r\n" } @replies));
		$all .= read_n($s, $want, 5) if $want;
	}
	return $all;
}

# smtpd on a listening socket of our own, as forkd's prefork gives it.
sub start_listening {
	my ($spool, @args) = @_;
	my ($port, $pid) = listen_exec(
	    cmd => [$smtpd, '-n', 'netid', '-m', $spool, @args]);
	$started{$pid} = 1;
	return ($pid, $port);
}

sub stop { kill('TERM', $_[0]); waitpid($_[0], 0); delete $started{$_[0]} }

# Over a socket.
{
	my $spool = tmpdir();
	my ($pid, $port) = start_listening($spool, '-t', 1);
	my $s = IO::Socket::IP->new(PeerHost => '127.0.0.1',
	    PeerPort => $port) or die "connect: $!";
	is(play($s, @t1), expected(@t1), 'seed transcript 1 over a socket');
	close($s);

	$s = IO::Socket::IP->new(PeerHost => '127.0.0.1', PeerPort => $port)
	    or die "connect: $!";
	my $t0 = time;
	my $got = play($s, @t2);
	$got .= read_n($s, 1 << 20, 4);	# until EOF
	my $dt = time - $t0;
	is($got, expected(@t2) . "$timeout\r\n",
	    'seed transcript 2 over a socket, ending in 421 (-t 1)');
	ok($dt < 6, sprintf('421 and EOF after %.1f s (-t 1; the default is 10)', $dt));
	close($s);

	# "Had the client sent a trailing '.'": delivered as message 2.
	$s = IO::Socket::IP->new(PeerHost => '127.0.0.1', PeerPort => $port)
	    or die "connect: $!";
	my @t2dot = (@t2, ['.', '250 OK:  delivered message 2']);
	is(play($s, @t2dot), expected(@t2dot),
	    'seed transcript 2 with the final dot over a socket');
	close($s);
	is(slurp("$spool/mailbox"), $seed_mailbox,
	    "mailbox is the seed's example byte for byte");
	stop($pid);

	# A restart never erases the mailbox; numbering continues.
	($pid, $port) = start_listening($spool, '-t', 1);
	$s = IO::Socket::IP->new(PeerHost => '127.0.0.1', PeerPort => $port)
	    or die "connect: $!";
	my @t3 = @t1;
	$t3[-1] = ['.', '250 OK:  delivered message 3'];
	is(play($s, @t3), expected(@t3), 'after a restart: message 3');
	close($s);
	stop($pid);
	my $mb = slurp("$spool/mailbox");
	is(substr($mb, 0, length($seed_mailbox)), $seed_mailbox,
	    'the restart kept messages 1 and 2');
	like($mb, qr/\nNumber: 3\n/, 'message 3 appended');
}

# Through stdin/stdout: the whole client side at once (pipelined).
sub run_stdio {
	my ($spool, $input, $keep_open, @args) = @_;
	pipe(my $in_r, my $in_w) or die;
	pipe(my $out_r, my $out_w) or die;
	my $pid = fork() // die;
	if ($pid == 0) {
		open(STDIN, '<&', $in_r) or POSIX::_exit(127);
		open(STDOUT, '>&', $out_w) or POSIX::_exit(127);
		close($in_w);
		close($out_r);
		exec($smtpd, '-n', 'netid', '-m', $spool, @args)
		    or POSIX::_exit(127);
	}
	close($in_r);
	close($out_w);
	syswrite($in_w, $input);
	close($in_w) unless $keep_open;
	my $out = read_n($out_r, 1 << 20, 10);
	waitpid($pid, 0);
	my $status = $? >> 8;
	close($in_w) if $keep_open;
	return ($out, $status);
}

sub client { join('', map { "$_->[0]\r\n" } grep { defined $_->[0] } @_) }

{
	my $spool = tmpdir();
	my ($out, $st) = run_stdio($spool, client(@t1), 0);
	is($out, expected(@t1), 'seed transcript 1 through stdin/stdout');
	is($st, 0, 'exit status 0');
	my ($out2) = run_stdio($spool, client(@t2), 1, '-t', 1);
	is($out2, expected(@t2) . "$timeout\r\n",
	    'seed transcript 2 through stdin/stdout, ending in 421');
	my @t2dot = (@t2, ['.', '250 OK:  delivered message 2']);
	($out2) = run_stdio($spool, client(@t2dot), 0);
	is($out2, expected(@t2dot), 'seed transcript 2 with the final dot');
	is(slurp("$spool/mailbox"), $seed_mailbox,
	    "stdio: mailbox is the seed's example byte for byte");
}

done_testing();
