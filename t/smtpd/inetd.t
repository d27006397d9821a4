#!/usr/bin/perl
# smtpd under other supervisors, unchanged: Debian's openbsd-inetd as a
# nowait service (fd 0 is the connection), and ucspi-tcp's tcpserver.
# Each runs in the foreground on a high loopback port with its own config
# and is stopped by pid.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(build tmpdir slurp spit free_port wait_port crlf);
use IO::Select;
use IO::Socket::IP;
use POSIX ();
use Test::More;

my $smtpd = build('smtpd');
plan skip_all => "build/smtpd not built" unless -x $smtpd;

my %started;
$SIG{PIPE} = 'IGNORE';
END { kill('TERM', $_) for keys %started }


# One session in lockstep: after each line but the message text, wait
# for one more reply line; returns every byte smtpd sent.
sub talk {
	my ($port, @lines) = @_;
	my $s = IO::Socket::IP->new(PeerHost => '127.0.0.1', PeerPort => $port)
	    or return "connect: $!";
	my $sel = IO::Select->new($s);
	my $got = '';
	my $want = 0;
	my $read = sub {
		$want++;
		while ((() = $got =~ /\r\n/g) < $want && $sel->can_read(5)) {
			sysread($s, my $b, 4096) or last;
			$got .= $b;
		}
	};
	$read->();
	for my $l (@lines) {
		syswrite($s, "$l\r\n");
		$read->() if $l =~ /^(?:HELO|MAIL|RCPT|DATA|QUIT|\.)/;
	}
	while ($sel->can_read(3)) {
		sysread($s, my $b, 4096) or last;
		$got .= $b;
	}
	return $got;
}

my @session = ('HELO inetd.test', 'MAIL FROM:<a@b>', 'RCPT TO:<c@d>', 'DATA',
    'via a supervisor', '.', 'QUIT');
my $reply = crlf('220 mx.test SMTP CS4410MP3', '250 mx.test', '250 OK',
    '250 OK', '354 End data with <CR><LF>.<CR><LF>',
    '250 OK:  delivered message %d', '221 2.0.0 mx.test closing connection');

sub start {
	my ($dir, @cmd) = @_;
	my $pid = fork() // die;
	if ($pid == 0) {
		open(STDIN, '<', '/dev/null');
		open(STDOUT, '>', "$dir/out");
		open(STDERR, '>', "$dir/err");
		exec(@cmd) or POSIX::_exit(127);
	}
	$started{$pid} = 1;
	return $pid;
}

sub stop {
	my ($pid) = @_;
	kill('TERM', $pid);
	waitpid($pid, 0);
	delete $started{$pid};
}

SKIP: {
	skip 'openbsd-inetd not installed', 4 unless -x '/usr/sbin/inetd';
	my $dir = tmpdir();
	my $spool = "$dir/spool";
	mkdir $spool;
	my $port = free_port();
	spit("$dir/inetd.conf", "127.0.0.1:$port stream tcp nowait root "
	    . "$smtpd smtpd -n mx.test -m $spool -t 1\n");
	my $pid = start($dir, '/usr/sbin/inetd', '-d', "$dir/inetd.conf");
	ok(wait_port($port, 5), 'inetd listens');
	is(talk($port, @session), sprintf($reply, 1),
	    'inetd nowait: a whole session');
	is(talk($port, @session), sprintf($reply, 2),
	    'inetd nowait: a second process, message 2');
	my $t = talk($port);
	is($t, crlf('220 mx.test SMTP CS4410MP3',
	    '421 4.4.2 mx.test Error: timeout exceeded'),
	    'inetd nowait: a dormant client gets the 421 line');
	stop($pid);
}

SKIP: {
	skip 'ucspi-tcp (tcpserver) not installed', 3
	    unless system('command -v tcpserver >/dev/null 2>&1') == 0;
	my $dir = tmpdir();
	my $spool = "$dir/spool";
	mkdir $spool;
	my $port = free_port();
	my $pid = start($dir, 'tcpserver', '-HRl0', '127.0.0.1', $port, $smtpd,
	    '-n', 'mx.test', '-m', $spool, '-t', 1);
	ok(wait_port($port, 5), 'tcpserver listens');
	is(talk($port, @session), sprintf($reply, 1),
	    'tcpserver: a whole session');
	stop($pid);
	like(slurp("$spool/mailbox") // '',
	    qr/\AReceived: from inetd\.test by mx\.test \(CS4410MP3\)\n/,
	    'tcpserver: delivered');
}

done_testing();
