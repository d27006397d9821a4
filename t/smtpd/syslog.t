#!/usr/bin/perl
# smtpd: one syslog line (LOG_MAIL) per delivery with number, peer, HELO
# name, sender, recipients and size, client text escaped; backups logged;
# the seccomp profile covers everything smtpd does (FORKD_SANDBOX=trap
# logs any syscall outside it, and none is).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(build tmpdir slurp syslog_start syslog_wrap wait_log log_lines
    need_root);
use IO::Select;
use IO::Socket::IP;
use POSIX ();
use Test::More;

my $smtpd = build('smtpd');
plan skip_all => "build/smtpd not built" unless -x $smtpd;
need_root();

my %started;
$SIG{PIPE} = 'IGNORE';
END { kill('KILL', $_) for keys %started }

my $dir = tmpdir();
my $spool = "$dir/spool";
mkdir $spool;
my $sl = syslog_start($dir);
$started{$sl->{pid}} = 1;
my $l = IO::Socket::IP->new(LocalAddr => '127.0.0.1', LocalPort => 0,
    Listen => 16, ReuseAddr => 1) or die "listen: $!";
my $port = $l->sockport;
my $pid = fork() // die;
if ($pid == 0) {
	open(STDIN, '<&', $l) or POSIX::_exit(127);
	open(STDOUT, '>', '/dev/null');
	open(STDERR, '>', '/dev/null');
	$ENV{FORKD_SANDBOX} = 'trap';
	exec(syslog_wrap($sl), $smtpd, '-n', 'mx.test', '-m', $spool, '-t', 1,
	    '-b', 2, '-F', 'mbox', '-v') or POSIX::_exit(127);
}
$started{$pid} = 1;
close($l);

sub session {
	my ($text) = @_;
	my $s = IO::Socket::IP->new(PeerHost => '127.0.0.1', PeerPort => $port)
	    or die "connect: $!";
	syswrite($s, $text);
	my $sel = IO::Select->new($s);
	my $got = '';
	while ($sel->can_read(5)) {
		sysread($s, my $b, 4096) or last;
		$got .= $b;
	}
	return ($got, $s->sockport);
}

my ($got, $cport) = session("EHLO back\\slash\r\nMAIL FROM:<a\@b> SIZE=10\r\n"
    . "RCPT TO:<c\@d>\r\nRCPT TO:<e\@f>\r\nDATA\r\nFrom me\r\nhello\r\n.\r\n"
    . "MAIL FROM:<>\r\nRCPT TO:<g\@h>\r\nDATA\r\n.\r\nQUIT\r\n");
like($got, qr/delivered message 2\r\n221 /, 'two messages delivered');
my $line = wait_log($sl, qr/delivered message 1 /);
like($line // '', qr/smtpd\[\d+\]: delivered message 1 from 127\.0\.0\.1:$cport helo=back\\\\slash from=<a\@b> to=<c\@d,e\@f> size=16$/,
    'delivery line: number, peer, escaped helo, sender, recipients, size');
like(wait_log($sl, qr/delivered message 2 /) // '',
    qr/helo=back\\\\slash from=<> to=<g\@h> size=0$/, 'null sender logged as <>');
like(wait_log($sl, qr/backup mailbox\.1-2/) // '', qr/backup mailbox\.1-2$/,
    'the backup is logged');
like(slurp("$spool/mailbox.1-2") // '', qr/^>From me$/m,
    'the -F mbox backup holds the messages');
my ($t) = session('');
is($t, "220 mx.test SMTP CS4410MP3\r\n"
    . "421 4.4.2 mx.test Error: timeout exceeded\r\n", 'timeout in the sandbox');
like(wait_log($sl, qr/timeout/) // '', qr/127\.0\.0\.1:\d+: timeout$/,
    'the timeout is logged with the peer');
ok(Forkd::alive($pid), 'smtpd is still serving (not a zombie)');
my $again = IO::Socket::IP->new(PeerHost => '127.0.0.1', PeerPort => $port);
like($again ? Forkd::read_lines($again, 1, 5) : 'refused',
    qr/^220 mx\.test /, '... and greets the next client');
close($again) if $again;
my @bad = grep { /not allowed/ } log_lines($sl);
is("@bad", '', 'FORKD_SANDBOX=trap: no syscall outside the profile');
ok(scalar(grep { /sandbox: entered \(trap mode\)/ } log_lines($sl)),
    'the sandbox was entered');
kill('TERM', $pid);
waitpid($pid, 0);
delete $started{$pid};

# An IPv6 peer is logged as [addr]:port.
SKIP: {
	my $l6 = IO::Socket::IP->new(LocalAddr => '::1', LocalPort => 0,
	    Listen => 4, ReuseAddr => 1);
	skip 'no ::1 here', 2 unless $l6;
	my $p6 = fork() // die;
	if ($p6 == 0) {
		open(STDIN, '<&', $l6) or POSIX::_exit(127);
		open(STDOUT, '>', '/dev/null');
		open(STDERR, '>', '/dev/null');
		exec(syslog_wrap($sl), $smtpd, '-n', 'mx.test', '-m', $spool)
		    or POSIX::_exit(127);
	}
	$started{$p6} = 1;
	my $s = IO::Socket::IP->new(PeerHost => '::1',
	    PeerPort => $l6->sockport) or die "connect ::1: $!";
	close($l6);
	syswrite($s, "HELO six\r\nMAIL FROM:<a\@b>\r\nRCPT TO:<c\@d>\r\n"
	    . "DATA\r\nv6\r\n.\r\nQUIT\r\n");
	my $sel = IO::Select->new($s);
	my $got = '';
	while ($sel->can_read(5)) {
		sysread($s, my $b, 4096) or last;
		$got .= $b;
	}
	like($got, qr/delivered message 3\r\n/, 'delivered over IPv6');
	my $cp = $s->sockport;
	like(wait_log($sl, qr/delivered message 3 /) // '',
	    qr/ from \[::1\]:$cp helo=six /, 'IPv6 peer logged as [::1]:port');
	kill('TERM', $p6);
	waitpid($p6, 0);
	delete $started{$p6};
}

done_testing();
