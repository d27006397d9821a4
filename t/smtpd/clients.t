#!/usr/bin/perl
# smtpd: real clients deliver. python3 smtplib (EHLO, SIZE=), Perl
# Net::SMTP, curl smtp://, swaks; each message is in the mailbox exactly
# once in the seed's format. -F mbox output parses with python3's
# mailbox.mbox.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(build tmpdir slurp spit listen_exec);
use IO::Socket::IP;
use Net::SMTP;
use POSIX ();
use Test::More;

my $smtpd = build('smtpd');
plan skip_all => "build/smtpd not built" unless -x $smtpd;

my %started;
$SIG{PIPE} = "IGNORE";
END { kill('KILL', $_) for keys %started }

sub start_listening {
	my ($spool, @args) = @_;
	my ($port, $pid) = listen_exec(
	    cmd => [$smtpd, '-n', 'mx.test', '-m', $spool, '-t', 5, @args]);
	$started{$pid} = 1;
	return ($pid, $port);
}

# Run python3 code with arguments; returns stdout and stderr.
sub python {
	my ($code, @args) = @_;
	open(my $fh, '-|', 'sh', '-c', 'exec python3 -c "$0" "$@" 2>&1', $code,
	    @args) or die "python3: $!";
	local $/;
	my $out = <$fh>;
	close($fh);
	return $out // '';
}

sub have { system("command -v $_[0] >/dev/null 2>&1") == 0 }

my $spool = tmpdir();
my ($pid, $port) = start_listening($spool);
my $n = 0;
my @want;	# [helo, marker] in order of delivery

# python3 smtplib: EHLO, MAIL FROM:<> size=N, two recipients.
SKIP: {
	skip 'python3 not installed', 1 unless have('python3');
	my $py = <<'EOF';
import smtplib, sys
s = smtplib.SMTP('127.0.0.1', int(sys.argv[1]), local_hostname='py.test')
r = s.sendmail('py@example.org', ['one@example.org', 'two@example.org'],
    'Subject: smtplib\r\n\r\nmarker-python\r\n.leading dot\r\n')
s.quit()
print('ok' if r == {} else r)
EOF
	my $out = python($py, $port);
	is($out, "ok\n", 'python3 smtplib delivers');
	push @want, ['py.test', 'marker-python', 'py@example.org',
	    ['one@example.org', 'two@example.org']];
}

# Perl Net::SMTP.
{
	my $s = Net::SMTP->new('127.0.0.1', Port => $port, Hello => 'perl.test',
	    Timeout => 5);
	my $ok = $s && $s->mail('perl@example.org') && $s->to('pl@example.org')
	    && $s->data && $s->datasend("Subject: net-smtp\n\nmarker-perl\n")
	    && $s->dataend;
	my $msg = $s ? $s->message : '';
	$s->quit if $s;
	ok($ok, 'Net::SMTP delivers');
	like($msg, qr/^OK:  delivered message 2/, 'Net::SMTP saw message 2');
	push @want, ['perl.test', 'marker-perl', 'perl@example.org',
	    ['pl@example.org']];
}

# curl smtp:// (the path names the EHLO domain).
SKIP: {
	skip 'curl not installed', 1 unless have('curl');
	my $dir = tmpdir();
	spit("$dir/mail.txt", "Subject: curl\r\n\r\nmarker-curl\r\n");
	my $rc = system('curl', '-sS', '--max-time', '10',
	    "smtp://127.0.0.1:$port/curl.test", '--mail-from', 'curl@example.org',
	    '--mail-rcpt', 'c@example.org', '-T', "$dir/mail.txt");
	is($rc, 0, 'curl smtp:// delivers');
	push @want, ['curl.test', 'marker-curl', 'curl@example.org',
	    ['c@example.org']];
}

# swaks, Debian's SMTP test tool.
SKIP: {
	skip 'swaks not installed (mk/packages/smtpd.txt)', 2 unless have('swaks');
	my $out = `swaks --server 127.0.0.1 --port $port --helo swaks.test --from sw\@example.org --to s\@example.org --body marker-swaks --timeout 10 2>&1`;
	is($?, 0, 'swaks delivers');
	like($out, qr/<- {2}250 OK:  delivered message \d+/,
	    'swaks saw the 250 reply');
	push @want, ['swaks.test', 'marker-swaks', 'sw@example.org',
	    ['s@example.org']];
}

kill('TERM', $pid);
waitpid($pid, 0);
delete $started{$pid};

my $mb = slurp("$spool/mailbox") // '';
my @msgs = split(/(?=^Received: from )/m, $mb);
is(scalar(@msgs), scalar(@want), 'one message in the mailbox per client');
for my $i (0 .. $#want) {
	my ($helo, $marker, $from, $to) = @{ $want[$i] };
	my $num = $i + 1;
	my $head = "Received: from $helo by mx.test (CS4410MP3)\nNumber: $num\n"
	    . "From: $from\n" . join('', map { "To: $_\n" } @$to) . "\n";
	is(substr($msgs[$i] // '', 0, length($head)), $head,
	    "message $num from $helo: the seed's header lines");
	my $count = () = $mb =~ /\Q$marker\E/g;
	is($count, 1, "$marker is in the mailbox exactly once");
	like($msgs[$i] // '', qr/\n\n\z/, "message $num ends in a blank line");
	unlike($msgs[$i] // '', qr/\r/, "message $num: LF line ends on disk");
}
like($mb, qr/^\.leading dot$/m, 'smtplib dot-stuffing undone');

# -F mbox: mboxrd that python3's mailbox module reads.
SKIP: {
	skip 'python3 not installed', 5 unless have('python3');
	my $mspool = tmpdir();
	my ($mpid, $mport) = start_listening($mspool, '-F', 'mbox');
	my $py = <<'EOF';
import smtplib, sys
s = smtplib.SMTP('127.0.0.1', int(sys.argv[1]), local_hostname='py.test')
s.sendmail('a@example.org', ['b@example.org'],
    'Subject: one\r\n\r\nFrom here\r\n>From there\r\n')
s.sendmail('', ['b@example.org'], 'no header line\r\n')
s.sendmail('c@example.org', ['d@example.org'], 'Subject: three\r\n\r\nbye\r\n')
s.quit()
EOF
	python($py, $mport);
	kill('TERM', $mpid);
	waitpid($mpid, 0);
	delete $started{$mpid};
	my $raw = slurp("$mspool/mailbox") // '';
	like($raw, qr/^From a\@example\.org \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}\n/,
	    'mbox: a From_ line');
	like($raw, qr/^>From here\n>>From there\n/m, 'mboxrd escaping');
	my $check = <<'EOF';
import mailbox, sys
box = mailbox.mbox(sys.argv[1], create=False)
for m in box:
    print(m.get_from().split()[0], m['Number'], m['Subject'])
EOF
	my $out = python($check, "$mspool/mailbox");
	is($out, "a\@example.org 1 one\nMAILER-DAEMON 2 None\n"
	    . "c\@example.org 3 three\n", 'python3 mailbox.mbox reads 3 messages');
	like($raw, qr/^Number: 2\n\nno header line\n\n/m,
	    'a message without a header keeps its body a body');
	like($raw, qr/^Return-Path: <>$/m, 'null reverse path in Return-Path');
}

done_testing();
