#!/usr/bin/perl
# Two smtpd processes on one spool, as two forkd services or two prefork
# workers run them: a delivery of one never keeps the spool's locks once
# its 250 is sent, so the other delivers while the first client's session
# is still open, and the numbers follow one another in the mailbox. The
# Received line of -F mbox names the client as RFC 5321 4.1.3 writes it:
# "[127.0.0.1]", "[IPv6:::1]".
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(build tmpdir slurp listen_exec connect_tcp read_lines);
use IO::Socket::IP;
use Test::More;

my $smtpd = build('smtpd');
plan skip_all => 'build smtpd first (make)' unless -x $smtpd;
$SIG{PIPE} = 'IGNORE';

my $dir = tmpdir();
my $spool = "$dir/spool";
mkdir $spool;

# A message from a connected session $c: the reply lines after its end.
sub deliver {
	my ($c, $n) = @_;
	print $c "MAIL FROM:<a\@b>\r\nRCPT TO:<c\@d>\r\nDATA\r\n"
	    . "Subject: $n\r\n\r\nbody $n\r\n.\r\n";
	return read_lines($c, 4, 10);
}

my @cmd = ($smtpd, '-n', 'mx.test', '-m', $spool, '-F', 'mbox');
my ($p1) = listen_exec(cmd => \@cmd);
my ($p2) = listen_exec(cmd => \@cmd);
my ($p6) = listen_exec(cmd => \@cmd, host => '::1');

my $a = connect_tcp($p1) or die "connect: $!";
like(read_lines($a, 1, 5), qr/^220 /, 'first process greets');
print $a "HELO one\r\n";
read_lines($a, 1, 5);
like(deliver($a, 1), qr/250 OK:  delivered message 1\r\n\z/,
    'first process delivers message 1');

# The first session stays open: the second process must not wait on it.
my $b = connect_tcp($p2) or die "connect: $!";
like(read_lines($b, 1, 5), qr/^220 /, 'second process greets');
print $b "HELO two\r\n";
read_lines($b, 1, 5);
like(deliver($b, 2), qr/250 OK:  delivered message 2\r\n\z/,
    'second process delivers while the first session is open');
like(deliver($a, 3), qr/250 OK:  delivered message 3\r\n\z/,
    'and the first delivers again after it');
print $_ "QUIT\r\n" for $a, $b;
close($_) for $a, $b;

SKIP: {
	my $c = $p6 ? IO::Socket::IP->new(PeerHost => '::1', PeerPort => $p6)
	    : undef;
	skip('no IPv6 loopback', 2) unless $c;
	like(read_lines($c, 1, 5), qr/^220 /, 'IPv6: greets');
	print $c "HELO six\r\n";
	read_lines($c, 1, 5);
	like(deliver($c, 4), qr/250 OK:  delivered message 4\r\n\z/,
	    'IPv6: delivers message 4');
	print $c "QUIT\r\n";
	close($c);
}

my $mbox = slurp("$spool/mailbox") // '';
is(join(' ', $mbox =~ /^Number: (\d+)$/mg), '1 2 3' . ($mbox =~ /six/
    ? ' 4' : ''), 'the mailbox holds the messages in order');
like($mbox, qr/^Received: from one \(\[127\.0\.0\.1\]\) by mx\.test \(CS4410MP3\); /m,
    'Received: an IPv4 client as [127.0.0.1]');
SKIP: {
	skip('no IPv6 loopback', 1) unless $mbox =~ /from six/;
	like($mbox, qr/^Received: from six \(\[IPv6:::1\]\) by mx\.test \(CS4410MP3\); /m,
	    'Received: an IPv6 client as [IPv6:::1]');
}

done_testing();
