#!/usr/bin/perl
# bench/smtpd.pl: messages per second into smtpd under each supervisor it
# runs under: forkd prefork.32 (the sample config), forkd nowait,
# openbsd-inetd nowait, tcpserver; and Postfix as the peer MTA (a private
# instance, when installed and run as root). The load is seed 003's: C clients at
# once (default 32), each delivering N messages (default 20), one
# connection per message (HELO, MAIL, RCPT, DATA of 1 KB, QUIT), each
# waiting for every reply. Every run is checked: all numbers 1..C*N told
# (Postfix: every message taken). The machine's other load shows in the
# numbers: run it twice.
#
# Run from the top of the tree after `make`:  perl bench/smtpd.pl [C [N]]
use strict;
use warnings;
use File::Temp qw(tempdir);
use FindBin;
use IO::Select;
use IO::Socket::IP;
use lib "$FindBin::Bin/lib", "$FindBin::Bin/../t/lib";
use POSIX ();
use Time::HiRes qw(time sleep);
BEGIN { $ENV{FORKD_TEST_TIMEOUT} //= 0 }	# no test watchdog here
use Forkd qw(free_port wait_port);
use SmtpBench qw(start stop forkd_smtpd postfix_start);

my ($C, $N) = (@ARGV ? shift : 32, @ARGV ? shift : 20);
my $bld = "$FindBin::Bin/../build";
-x "$bld/$_" or die "bench/smtpd: $bld/$_ missing: make first\n"
    for qw(smtpd forkd);
$SIG{PIPE} = 'IGNORE';

# One client: $N messages; prints the numbers it was told; exit 0 if all
# replies were right.
sub client {
	my ($port, $c, $out) = @_;
	open(my $fh, '>', $out) or POSIX::_exit(2);
	my $text = "Subject: bench\r\n\r\n" . (('x' x 62) . "\r\n") x 16;
	for my $m (1 .. $N) {
		my $s = IO::Socket::IP->new(PeerHost => '127.0.0.1',
		    PeerPort => $port) or POSIX::_exit(3);
		my $sel = IO::Select->new($s);
		my $buf = '';
		my $want = sub {
			while ($buf !~ /\r\n/) {
				$sel->can_read(30) or POSIX::_exit(4);
				sysread($s, my $x, 4096) or POSIX::_exit(5);
				$buf .= $x;
			}
			$buf =~ s/^(.*?)\r\n//;
			my $l = $1;
			$l =~ $_[0] or POSIX::_exit(6);
			return $l;
		};
		$want->(qr/^220 /);
		for (["HELO c$c", qr/^250 /], ["MAIL FROM:<c$c\@example.org>", qr/^250 /],
		    ["RCPT TO:<r\@example.org>", qr/^250 /], ['DATA', qr/^354 /]) {
			syswrite($s, "$_->[0]\r\n");
			$want->($_->[1]);
		}
		syswrite($s, "$text.\r\n");
		# smtpd tells the number; another MTA only that it took it.
		my $r = $want->(qr/^250 /);
		print $fh ($r =~ /^250 OK:  delivered message (\d+)$/ ? $1 : 'q',
		    "\n");
		syswrite($s, "QUIT\r\n");
		$want->(qr/^221 /);
	}
	close($fh);
	POSIX::_exit(0);
}

sub load {
	my ($port, $dir) = @_;
	my $t0 = time;
	my @pids;
	for my $c (1 .. $C) {
		my $pid = fork() // die "fork: $!";
		client($port, $c, "$dir/c$c") if $pid == 0;
		push @pids, $pid;
	}
	my $bad = 0;
	for (@pids) {
		waitpid($_, 0);
		$bad++ if $?;
	}
	my $dt = time - $t0;
	my @n;
	for my $c (1 .. $C) {
		open(my $fh, '<', "$dir/c$c") or next;
		push @n, map { chomp; $_ } <$fh>;
	}
	my $ok;
	if (grep { $_ eq 'q' } @n) {
		$ok = !$bad && @n == $C * $N ? 'all taken' : '';
	} else {
		@n = sort { $a <=> $b } @n;
		$ok = !$bad && "@n" eq join(' ', 1 .. $C * $N) ?
		    'all numbered 1..' . $C * $N : '';
	}
	return ($dt, $ok);
}

my @runs = (
	['forkd prefork.32', sub { forkd_smtpd(@_[0, 1], 'prefork.32', $_[2]) }],
	['forkd nowait.0', sub { forkd_smtpd(@_[0, 1], 'nowait.0', $_[2]) }],
	['openbsd-inetd nowait', sub {
		my ($d, $p, $args) = @_;
		return undef unless -x '/usr/sbin/inetd';
		open(my $fh, '>', "$d/inetd.conf") or die;
		print $fh "127.0.0.1:$p stream tcp nowait.100000 root $bld/smtpd $args\n";
		close($fh);
		return start($d, '/usr/sbin/inetd', '-d', "$d/inetd.conf");
	}],
	['tcpserver', sub {
		my ($d, $p, $args) = @_;
		return undef if system('command -v tcpserver >/dev/null') != 0;
		return start($d, 'tcpserver', '-HRl0', '-c', 100, '-b', 128,
		    '127.0.0.1', $p, "$bld/smtpd", split(/ /, $args =~ s/^smtpd //r));
	}],
);

# Postfix as the peer: a private instance in the foreground (start-fg)
# on its own port and directories, mail for example.org taken into its
# queue (fsync'ed before the 250, as smtpd's mailbox is) and discarded.
my %stop;
push @runs, ['postfix (peer MTA)', sub {
	my ($d, $p) = @_;
	my ($halt) = postfix_start($d, $p, <<'EOF');
mydestination = example.org
local_recipient_maps =
default_transport = discard
local_transport = discard
relay_transport = discard
EOF
	return undef unless defined $halt;
	$stop{'postfix (peer MTA)'} = $halt;
	return 0;
}];

printf "smtpd: %d clients x %d messages, a connection each\n", $C, $N;
for my $run (@runs) {
	my ($name, $how) = @$run;
	my $d = tempdir('smtpd-bench-XXXXXX', TMPDIR => 1, CLEANUP => 1);
	mkdir "$d/spool";
	my $port = free_port();
	my $pid = $how->($d, $port, "smtpd -n bench.example -m $d/spool -t 30");
	if (!defined $pid) {
		printf "%-22s not installed\n", $name;
		next;
	}
	my $halt = $stop{$name} // sub { stop($pid) };
	if (!wait_port($port, 5)) {
		printf "%-22s did not listen\n", $name;
		$halt->();
		next;
	}
	# wait_port's probe is one connection; let it finish (-t covers it).
	my ($dt, $ok) = load($port, $d);
	$halt->();
	printf "%-22s %5d messages in %6.2f s  %7.0f msg/s  %s\n", $name,
	    $C * $N, $dt, $C * $N / $dt, $ok || 'FAILED';
}
