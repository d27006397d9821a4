#!/usr/bin/perl
# smtpd: 32 clients deliver 20 messages each at the same time, into 32
# smtpd processes sharing one listener (seed 003's pool of 32): 640 intact
# messages, numbers 1..640 none missing or repeated, backups mailbox.1-32
# ... mailbox.609-640 of 32 messages each in order. Run twice: through
# build/forkd with prefork.32 (the sample config's line), and with 32
# smtpd processes on a listening socket this test makes itself.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(build tmpdir slurp free_port forkd_start forkd_stop);
use IO::Select;
use IO::Socket::IP;
use POSIX ();
use Test::More;
use Time::HiRes qw(time);

my $smtpd = build('smtpd');
plan skip_all => "build/smtpd not built" unless -x $smtpd;

my %started;
$SIG{PIPE} = 'IGNORE';
END { kill('KILL', $_) for keys %started }

my ($CLIENTS, $EACH) = (32, 20);

# One client: $EACH messages, a connection each. Prints "marker number"
# lines to $out; exits 0 when every reply was the expected one.
sub client {
	my ($port, $c, $out) = @_;
	open(my $fh, '>', $out) or POSIX::_exit(2);
	for my $m (1 .. $EACH) {
		my $s = IO::Socket::IP->new(PeerHost => '127.0.0.1',
		    PeerPort => $port) or POSIX::_exit(3);
		my $sel = IO::Select->new($s);
		my $buf = '';
		my $want = sub {
			my ($re) = @_;
			while ($buf !~ /\r\n/) {
				$sel->can_read(20) or return undef;
				sysread($s, my $b, 4096) or return undef;
				$buf .= $b;
			}
			$buf =~ s/^(.*?)\r\n//;
			my $l = $1;
			return $l =~ $re ? $l : undef;
		};
		my $mk = "c$c-m$m";
		$want->(qr/^220 /) or POSIX::_exit(4);
		syswrite($s, "HELO client$c\r\n");
		$want->(qr/^250 mx.test$/) or POSIX::_exit(5);
		syswrite($s, "MAIL FROM:<c$c\@example.org>\r\n");
		$want->(qr/^250 OK$/) or POSIX::_exit(6);
		syswrite($s, "RCPT TO:<r$m\@example.org>\r\n");
		$want->(qr/^250 OK$/) or POSIX::_exit(7);
		syswrite($s, "DATA\r\n");
		$want->(qr/^354 /) or POSIX::_exit(8);
		syswrite($s, "Subject: $mk\r\n\r\n"
		    . join('', map { "$mk line $_\r\n" } 1 .. 20) . ".\r\n");
		my $r = $want->(qr/^250 OK:  delivered message \d+$/)
		    or POSIX::_exit(9);
		my ($n) = $r =~ /(\d+)$/;
		print $fh "$mk $n\n";
		syswrite($s, "QUIT\r\n");
		$want->(qr/^221 /);
		close($s);
	}
	close($fh);
	POSIX::_exit(0);
}

sub run_clients {
	my ($port, $dir) = @_;
	my @pids;
	my $t0 = time;
	for my $c (1 .. $CLIENTS) {
		my $pid = fork() // die "fork: $!";
		client($port, $c, "$dir/client$c.txt") if $pid == 0;
		push @pids, $pid;
	}
	my $bad = 0;
	for (@pids) {
		waitpid($_, 0);
		$bad++ if $? != 0;
	}
	my %num;	# marker -> number the client was told
	for my $c (1 .. $CLIENTS) {
		for (split /\n/, slurp("$dir/client$c.txt") // '') {
			my ($mk, $n) = split / /;
			$num{$mk} = $n;
		}
	}
	return ($bad, \%num, time - $t0);
}

sub check_spool {
	my ($how, $spool, $num) = @_;
	my @numbers = sort { $a <=> $b } values %$num;
	is(scalar(@numbers), $CLIENTS * $EACH,
	    "$how: every client was told its message was delivered");
	is("@numbers", join(' ', 1 .. $CLIENTS * $EACH),
	    "$how: numbers 1..640, none missing or repeated");
	my @files = map { sprintf('mailbox.%d-%d', $_ * 32 - 31, $_ * 32) }
	    1 .. $CLIENTS * $EACH / 32;
	my ($intact, $inorder, $where) = (0, 0, 0);
	my $expect = 1;
	for my $f (@files) {
		my $text = slurp("$spool/$f") // '';
		my @msgs = split(/(?=^Received: from )/m, $text);
		$inorder++ if @msgs == 32;
		for my $msg (@msgs) {
			my ($n) = $msg =~ /^Number: (\d+)$/m;
			my ($mk) = $msg =~ /^Subject: (\S+)$/m;
			$n //= -1;
			$mk //= '?';
			$inorder = -1e9 if $n != $expect;
			$expect++;
			my ($c) = $mk =~ /^c(\d+)-/;
			my $body = join('', map { "$mk line $_\n" } 1 .. 20);
			my $want = "Received: from client" . ($c // '?')
			    . " by mx.test (CS4410MP3)\nNumber: $n\n"
			    . "From: c" . ($c // '?') . "\@example.org\n";
			$intact++ if index($msg, $want) == 0 &&
			    $msg =~ /\n\nSubject: \Q$mk\E\n\n\Q$body\E\n\z/;
			$where++ if defined $num->{$mk} && $num->{$mk} == $n;
		}
	}
	is($inorder, scalar(@files),
	    "$how: 20 backups mailbox.1-32 .. mailbox.609-640, 32 messages "
	    . "each, in order");
	is($intact, $CLIENTS * $EACH, "$how: 640 intact messages");
	is($where, $CLIENTS * $EACH,
	    "$how: each message carries the number its client was told");
	is(-s "$spool/mailbox", 0, "$how: mailbox is empty after message 640");
	my @extra = grep { !/^(mailbox(\.\d+-\d+)?|smtpd\.lock)$/ }
	    map { s{.*/}{}r } glob("$spool/*");
	is("@extra", '', "$how: nothing else in the spool");
}

# Through forkd, prefork.32.
SKIP: {
	skip 'build/forkd not built', 8 unless -x build('forkd');
	my $spool = tmpdir();
	my $port = free_port();
	my $f = forkd_start(conf => "127.0.0.1:$port stream tcp prefork.32 "
	    . "root $smtpd smtpd -n mx.test -m $spool -t 10\n",
	    wait_ports => [$port]);
	my ($bad, $num, $dt) = run_clients($port, tmpdir());
	forkd_stop($f);
	is($bad, 0, 'forkd: all 32 clients saw every reply they expected');
	diag(sprintf('forkd prefork.32: 640 messages in %.1f s, %.0f/s', $dt,
	    640 / $dt));
	check_spool('forkd', $spool, $num);
}

# 32 smtpd processes on one listening socket made here.
{
	my $spool = tmpdir();
	my $l = IO::Socket::IP->new(LocalAddr => '127.0.0.1', LocalPort => 0,
	    Listen => 128, ReuseAddr => 1) or die "listen: $!";
	my $port = $l->sockport;
	for (1 .. 32) {
		my $pid = fork() // die "fork: $!";
		if ($pid == 0) {
			open(STDIN, '<&', $l) or POSIX::_exit(127);
			open(STDOUT, '>', '/dev/null');
			exec($smtpd, '-n', 'mx.test', '-m', $spool, '-t', 10)
			    or POSIX::_exit(127);
		}
		$started{$pid} = 1;
	}
	close($l);
	my ($bad, $num, $dt) = run_clients($port, tmpdir());
	kill('TERM', $_) for keys %started;
	waitpid($_, 0) for keys %started;
	%started = ();
	is($bad, 0, 'listener: all 32 clients saw every reply they expected');
	diag(sprintf('32 smtpd on one listener: 640 messages in %.1f s, %.0f/s',
	    $dt, 640 / $dt));
	check_spool('listener', $spool, $num);
}

done_testing();
