#!/usr/bin/perl
# smtpd under hostile or unusual conditions, from a review: a slowloris
# trickling DATA is cut off like one trickling a command.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Forkd qw(build tmpdir);
use IO::Select;
use IO::Socket::IP;
use POSIX ();
use Test::More;
use Time::HiRes qw(time sleep);

my $smtpd = build('smtpd');
plan skip_all => "build/smtpd not built" unless -x $smtpd;

my %started;
$SIG{PIPE} = 'IGNORE';
END { kill('KILL', $_) for keys %started }

sub crlf { join('', map { "$_\r\n" } @_) }

my $spool = tmpdir();
my $l = IO::Socket::IP->new(LocalAddr => '127.0.0.1', LocalPort => 0,
    Listen => 16, ReuseAddr => 1) or die "listen: $!";
my $port = $l->sockport;
for (1 .. 2) {
	my $pid = fork() // die "fork: $!";
	if ($pid == 0) {
		open(STDIN, '<&', $l) or POSIX::_exit(127);
		open(STDOUT, '>', '/dev/null');
		open(STDERR, '>', '/dev/null');
		exec($smtpd, '-n', 'mx.test', '-m', $spool, '-t', 1)
		    or POSIX::_exit(127);
	}
	$started{$pid} = 1;
}
close($l);

my $T = "421 4.4.2 mx.test Error: timeout exceeded\r\n";

# Read exactly the bytes of $n reply lines (5 s at most).
sub replies {
	my ($s, $n) = @_;
	my $sel = IO::Select->new($s);
	my $got = '';
	while ((() = $got =~ /\r\n/g) < $n && $sel->can_read(5)) {
		my $r = sysread($s, my $buf, 65536);
		last unless $r;
		$got .= $buf;
	}
	return $got;
}

# Seed 003: "a client that does not successfully complete a command
# within 10 seconds" is cut off. In DATA a text line is the unit: one
# byte every 0.2 s (never silent for -t 1) must not hold the session.
{
	my $s = IO::Socket::IP->new(PeerHost => '127.0.0.1', PeerPort => $port)
	    or die "connect: $!";
	syswrite($s, crlf('HELO h', 'MAIL FROM:<a@b>', 'RCPT TO:<c@d>', 'DATA'));
	is(replies($s, 5), "220 mx.test SMTP CS4410MP3\r\n250 mx.test\r\n"
	    . "250 OK\r\n250 OK\r\n354 End data with <CR><LF>.<CR><LF>\r\n",
	    'in DATA');
	my $sel = IO::Select->new($s);
	my $t0 = time;
	# Trickle for up to 6 s, stopping as soon as smtpd says something.
	while (time - $t0 < 6 && !$sel->can_read(0.2)) {
		syswrite($s, 'x');
	}
	my $dt = time - $t0;
	is(replies($s, 1), $T, 'a text line trickled byte by byte: 421');
	ok($dt < 4, sprintf('cut off while still trickling, after %.2f s', $dt));
	close($s);
}

done_testing();
