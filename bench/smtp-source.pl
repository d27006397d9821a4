#!/usr/bin/perl
# bench/smtp-source.pl: Postfix's smtp-source(1) against three servers in
# one run, the same load for each: M messages (default 6000) of 1 KiB, one
# message per session, 32 sessions at once, on loopback. The three run
# side by side and take turns in R rounds (default 3) of M/R messages
# each, so a change in the machine's other load falls on all three alike.
# A first round of M/R messages warms each server up and is not timed:
# Postfix's master starts its smtpd, cleanup and virtual processes on
# demand, where forkd's pool is started before the clock runs.
#
#   smtpd      forkd prefork.32 running build/smtpd: each 250 means the
#              message and its number are on disk (group commit)
#   smtp-sink  Postfix's test server, which stores nothing: the ceiling
#   postfix    a private Postfix instance (its own config, queue and
#              data directories under a temporary directory, a high
#              loopback port; never the system's postfix service) that
#              delivers every message into a Maildir with virtual(8)
#
# smtpd's rate is messages answered 250 per second, checked afterwards:
# numbers 1..M in the spool, each once. Postfix's is messages delivered
# into the Maildir per second (a round ends when its last message is
# there; its 250 comes once a message is in its queue), its accept rate
# shown beside. Prints the rates and the ratios smtpd/postfix and
# smtpd/smtp-sink. The machine's other load shows in the numbers: run it
# more than once.
#
# Run from the top of the tree after `make`:
#   perl bench/smtp-source.pl [M [R]]
use strict;
use warnings;
use File::Temp qw(tempdir);
use FindBin;
use lib "$FindBin::Bin/lib", "$FindBin::Bin/../t/lib";
use Time::HiRes qw(time sleep);
BEGIN { $ENV{FORKD_TEST_TIMEOUT} //= 0 }	# no test watchdog here
use Forkd qw(free_port wait_port);
use SmtpBench qw(start stop forkd_smtpd postfix_start);

my $M = @ARGV ? shift : 6000;
my $R = @ARGV ? shift : 3;
my ($SESSIONS, $LEN) = (32, 1024);
my $ROUND = int($M / $R);
$M = $ROUND * $R;
my $TOTAL = $M + $ROUND;	# the warm-up round's messages too
my $bld = "$FindBin::Bin/../build";
-x "$bld/$_" or die "bench/smtp-source: $bld/$_ missing: make first\n"
    for qw(smtpd forkd);
my ($source) = grep { -x } qw(/usr/sbin/smtp-source
    /usr/lib/postfix/sbin/smtp-source);
my ($sink) = grep { -x } qw(/usr/sbin/smtp-sink /usr/lib/postfix/sbin/smtp-sink);
if (!defined $source) {
	print "bench/smtp-source: smtp-source not installed (package postfix)\n";
	exit 0;
}
$SIG{PIPE} = 'IGNORE';

# One round of smtp-source against $port; returns the seconds it took,
# or undef.
sub source {
	my ($port, $dir) = @_;
	my $t0 = time;
	my $rc = system("$source -s $SESSIONS -m $ROUND -l $LEN"
	    . " -M bench.example -f sender\@bench.example -t rcpt\@example.org"
	    . " 127.0.0.1:$port >>$dir/source.out 2>&1");
	my $dt = time - $t0;
	return $rc == 0 ? $dt : undef;
}

# Every number 1..$TOTAL once in the spool (mailbox and its backups), and
# the committed state says $TOTAL.
sub smtpd_check {
	my ($spool) = @_;
	my %seen;
	for my $f (glob("$spool/mailbox*")) {
		open(my $fh, '<', $f) or return 0;
		my $prev = '';
		while (<$fh>) {
			$seen{$1}++ if $prev =~ /^Received: from / &&
			    /^Number: (\d+)$/;
			$prev = $_;
		}
	}
	return 0 if keys(%seen) != $TOTAL || grep { $_ != 1 } values %seen;
	return 0 if grep { !$seen{$_} } 1 .. $TOTAL;
	open(my $fh, '<', "$spool/smtpd.lock") or return 0;
	my $state = <$fh>;
	return $state =~ /^committed 0*$TOTAL /;
}

# Each start_* returns (why it cannot run) or (undef, a server: round,
# stop, check).
sub start_smtpd {
	my ($d) = @_;
	mkdir "$d/spool" or die;
	my $port = free_port();
	my $pid = forkd_smtpd($d, $port, 'prefork.32',
	    "smtpd -n bench.example -m $d/spool");
	wait_port($port, 10) or do { stop($pid); return ('did not listen') };
	sleep(0.5);	# all 32 workers up
	return (undef, {
	    round => sub { source($port, $d) },
	    stop => sub { stop($pid) },
	    check => sub {
		smtpd_check("$d/spool") ? 'all numbered 1..' . $TOTAL :
		    'FAILED: numbers not 1..N once each' } });
}

sub start_sink {
	my ($d) = @_;
	return ('not installed') unless defined $sink;
	my $port = free_port();
	my $pid = start($d, $sink, ($> == 0 ? ('-u', 'nobody') : ()),
	    "127.0.0.1:$port", 256);
	wait_port($port, 10) or do { stop($pid); return ('did not listen') };
	return (undef, {
	    round => sub { source($port, $d) },
	    stop => sub { stop($pid) },
	    check => sub { 'stores nothing' } });
}

sub maildir_count {
	my ($dir) = @_;
	opendir(my $dh, $dir) or return 0;
	my $n = grep { !/^\./ } readdir($dh);
	closedir($dh);
	return $n;
}

sub start_postfix {
	my ($d) = @_;
	my $port = free_port();
	my ($uid, $gid) = (getpwnam('postfix'))[2, 3];
	mkdir "$d/mail";
	chown($uid // 0, $gid // 0, "$d/mail");
	my ($halt, $why) = postfix_start($d, $port, <<"EOF");
mydestination =
virtual_mailbox_domains = example.org
virtual_mailbox_base = $d/mail
virtual_mailbox_maps = static:box/
virtual_uid_maps = static:@{[ $uid // 0 ]}
virtual_gid_maps = static:@{[ $gid // 0 ]}
virtual_minimum_uid = 1
virtual_destination_concurrency_limit = 32
relay_transport = error:no relaying
default_transport = error:no relaying
EOF
	return ($why) unless defined $halt;
	if (!wait_port($port, 10)) {
		$halt->();
		return ('did not listen');
	}
	my $box = "$d/mail/box/new";
	my ($want, $accepting) = (0, 0);
	return (undef, {
	    # A round ends when its messages are in the Maildir.
	    round => sub {
		my $t0 = time;
		my $dt = source($port, $d);
		return undef unless defined $dt;
		$accepting += $dt;
		$want += $ROUND;
		my $end = time + 120;
		sleep(0.01) while maildir_count($box) < $want && time < $end;
		return maildir_count($box) >= $want ? time - $t0 : undef;
	    },
	    stop => $halt,
	    check => sub {
		my $n = maildir_count($box);
		return $n == $TOTAL ? sprintf('delivered into a Maildir; '
		    . 'accepted %.0f/s', $TOTAL / $accepting) :
		    "FAILED: $n of $TOTAL delivered";
	    } });
}

printf "smtp-source: %d messages of %d bytes, a session each, %d sessions "
    . "at once, %d rounds in turn after one to warm up\n", $M, $LEN,
    $SESSIONS, $R;
my (@servers, %rate);
for my $s (['smtpd', \&start_smtpd], ['smtp-sink', \&start_sink],
    ['postfix', \&start_postfix]) {
	my ($name, $how) = @$s;
	my $d = tempdir('smtp-source-bench-XXXXXX', TMPDIR => 1,
	    CLEANUP => 1);
	my ($why, $srv) = $how->($d);
	if (defined $why) {
		printf "%-10s %s\n", $name, $why;
		next;
	}
	$srv->{name} = $name;
	$srv->{time} = 0;
	push @servers, $srv;
}
for my $r (0 .. $R) {	# round 0: the warm-up, not timed
	for my $srv (grep { !$_->{failed} } @servers) {
		my $dt = $srv->{round}->();
		$srv->{failed} = 1 unless defined $dt;
		$srv->{time} += $dt // 0 if $r > 0;
	}
}
for my $srv (@servers) {
	$srv->{stop}->();
	if ($srv->{failed}) {
		printf "%-10s smtp-source failed\n", $srv->{name};
		next;
	}
	my $note = $srv->{check}->();
	$rate{$srv->{name}} = $M / $srv->{time} if $note !~ /^FAILED/;
	printf "%-10s %7.0f msg/s  %s\n", $srv->{name}, $M / $srv->{time},
	    $note;
}
if ($rate{smtpd}) {
	printf "smtpd/postfix   %.2fx (target >= 5x)\n",
	    $rate{smtpd} / $rate{postfix} if $rate{postfix};
	printf "smtpd/smtp-sink %.0f%% (target >= 30%%)\n",
	    100 * $rate{smtpd} / $rate{'smtp-sink'} if $rate{'smtp-sink'};
}
