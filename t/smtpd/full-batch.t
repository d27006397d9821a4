#!/usr/bin/perl
# smtpd's group commit on a file system that fills up in the middle of a
# batch: 32 clients at once deliver 4 KiB messages into a pool of 32 smtpd
# processes whose spool is a 256 KiB tmpfs (in a private mount namespace).
# Every reply is 250 or "452 4.3.1 Error: insufficient system storage";
# the spool holds exactly the messages told 250, whole, numbered 1..N in
# the order of their numbers, backups of exactly 32; nothing of a refused
# message stays. Once space is freed, the next message is N+1.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(build tmpdir slurp spit);
use IO::Select;
use IO::Socket::IP;
use POSIX ();
use Test::More;
use Time::HiRes qw(time sleep);

my $smtpd = build('smtpd');
plan skip_all => "build/smtpd not built" unless -x $smtpd;
plan skip_all => 'needs root and unshare(1) to mount a tmpfs'
    if $> != 0 || system('unshare -m true 2>/dev/null') != 0;

my ($CLIENTS, $EACH) = (32, 5);
my %started;
$SIG{PIPE} = 'IGNORE';
END { kill('KILL', $_) for keys %started }

my $dir = tmpdir();
my $spool = "$dir/spool";
mkdir $spool or die;
my $l = IO::Socket::IP->new(LocalAddr => '127.0.0.1', LocalPort => 0,
    Listen => 128, ReuseAddr => 1) or die "listen: $!";
my $port = $l->sockport;

# In the namespace: mount, start 32 workers on the listener (fd 0), wait
# for the clients to finish, stop the workers, free space, deliver one
# more, and copy the spool out before the mount goes away.
spit("$dir/last", "HELO c0\r\nMAIL FROM:<c0\@example.org>\r\n"
    . "RCPT TO:<r\@example.org>\r\nDATA\r\nSubject: c0-m1\r\n\r\nlast\r\n"
    . ".\r\nQUIT\r\n");
my $script = <<'EOF';
mount -t tmpfs -o size=256k tmpfs "$S" || exit 1
# sh gives a background command /dev/null as its stdin unless told.
exec 3<&0
pids=
for i in $(seq 32); do
	"$P" -n mx.test -m "$S" -t 10 <&3 2>/dev/null &
	pids="$pids $!"
done
touch "$D/ready"
n=0
while [ ! -e "$D/done" ] && [ $n -lt 600 ]; do sleep 0.1; n=$((n + 1)); done
kill -9 $pids 2>/dev/null
wait
cp -a "$S" "$D/full"
rm -f "$S"/mailbox.1-32
"$P" -n mx.test -m "$S" < "$D/last" > "$D/last.out" 2>/dev/null
cp -a "$S" "$D/after"
EOF
my $ns = fork() // die "fork: $!";
if ($ns == 0) {
	open(STDIN, '<&', $l) or POSIX::_exit(127);
	open(STDOUT, '>', '/dev/null');
	exec('env', "S=$spool", "D=$dir", "P=$smtpd", 'unshare', '-m', 'sh',
	    '-c', $script) or POSIX::_exit(127);
}
$started{$ns} = 1;
my $t = time + 10;
sleep(0.05) while !-e "$dir/ready" && time < $t;
ok(-e "$dir/ready", 'the pool runs on a 256 KiB tmpfs');
sleep(0.3);

sub client {
	my ($c) = @_;
	open(my $fh, '>', "$dir/client$c") or POSIX::_exit(2);
	for my $m (1 .. $EACH) {
		my $mk = "c$c-m$m";
		my $s = IO::Socket::IP->new(PeerHost => '127.0.0.1',
		    PeerPort => $port) or POSIX::_exit(3);
		my $sel = IO::Select->new($s);
		my $buf = '';
		my $line = sub {
			while ($buf !~ /\r\n/) {
				$sel->can_read(5) or return 'timeout';
				sysread($s, my $b, 4096) or return 'eof';
				$buf .= $b;
			}
			$buf =~ s/^(.*?)\r\n//;
			return $1;
		};
		$line->();
		for ("HELO c$c", "MAIL FROM:<c$c\@example.org>",
		    'RCPT TO:<r@example.org>', 'DATA') {
			syswrite($s, "$_\r\n");
			$line->();
		}
		syswrite($s, "Subject: $mk\r\n\r\n"
		    . join('', map { sprintf("%s line %02d %s\r\n", $mk, $_,
		    'x' x 50) } 1 .. 64) . ".\r\n");
		print $fh "$mk ", $line->(), "\n";
		syswrite($s, "QUIT\r\n");
		$line->();
		close($s);
	}
	close($fh);
	POSIX::_exit(0);
}

my @pids;
for my $c (1 .. $CLIENTS) {
	my $pid = fork() // die "fork: $!";
	client($c) if $pid == 0;
	push @pids, $pid;
	$started{$pid} = 1;
}
for (@pids) {
	waitpid($_, 0);
	delete $started{$_};
}
spit("$dir/done", '');
waitpid($ns, 0);
delete $started{$ns};

my (%said, @other);
for my $c (1 .. $CLIENTS) {
	for (split(/\n/, slurp("$dir/client$c") // '')) {
		my ($mk, $r) = split(/ /, $_, 2);
		if ($r =~ /^250 OK:  delivered message (\d+)$/) {
			$said{$mk} = $1;
		} elsif ($r ne '452 4.3.1 Error: insufficient system storage') {
			push @other, $r;
		}
	}
}
my $told = keys %said;
my $refused = $CLIENTS * $EACH - $told - @other;
diag("$told messages told 250, $refused told 452");
is("@other", '', 'every reply is 250 or 452 4.3.1');
cmp_ok($told, '>', 0, 'some messages fit');
cmp_ok($refused, '>', 0, 'the file system filled up in the middle');

my (%at, @numbers);
my ($whole, $backups_exact) = (1, 1);
my $rec = 'Received: from c(\d+) by mx\.test \(CS4410MP3\)\n'
    . 'Number: (\d+)\nFrom: c\1\@example\.org\nTo: r\@example\.org\n\n'
    . 'Subject: (c\1-m\d+)\n\n((?:\3 line \d\d x{50}\n){64})\n';
$rec = qr/$rec/;
for my $f (sort glob("$dir/full/mailbox*")) {
	my $text = slurp($f) // '';
	my @here;
	while ($text =~ /\G$rec/gc) {
		push @here, $2;
		$at{$3} = defined $at{$3} ? -1 : $2;
	}
	if ((pos($text) // 0) != length($text)) {
		$whole = 0;
		diag("$f: not a whole record at byte " . (pos($text) // 0));
	}
	push @numbers, @here;
	$backups_exact = 0 if $f =~ /mailbox\.(\d+)-(\d+)$/ &&
	    ("@here" ne join(' ', $1 .. $2) || $2 - $1 + 1 != 32);
}
@numbers = sort { $a <=> $b } @numbers;
ok($whole, 'the spool holds whole records and nothing else');
is("@numbers", join(' ', 1 .. $told), "numbers 1..$told, each once");
ok($backups_exact, 'each backup holds exactly its 32 records');
my @bad = grep { ($at{$_} // 0) != $said{$_} } keys %said;
is("@bad", '', 'every message told 250 is there, with its number');
is(scalar(keys %at), $told, 'nothing of a refused message is there');
my $next = $told + 1;
like(slurp("$dir/last.out") // '',
    qr/^250 OK:  delivered message $next\r$/m,
    "space again: the next message is $next");

done_testing();
