#!/usr/bin/perl
# send-email against Postfix's smtp-sink(1), an SMTP server nobody here
# wrote: what arrives (smtp-sink's dump of each message), and what
# send-email says and exits with when smtp-sink is told to refuse
# (-f: 5xx, -r: 4xx, -q: hang up, -Q: 421, -W: be slow).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(build tmpdir free_port wait_port slurp run_cmd);
use POSIX qw(:sys_wait_h);
use Test::More;
use Time::HiRes qw(sleep time);

my $se = build('send-email');
plan skip_all => 'build/send-email is not built' unless -x $se;
my ($sink) = grep { -x } qw(/usr/sbin/smtp-sink /usr/lib/postfix/sbin/smtp-sink);
plan skip_all => 'smtp-sink not installed (Debian package postfix, '
    . 'mk/packages/send-email.txt)' unless $sink;

my $dir = tmpdir();
chmod 0755, $dir;	# smtp-sink writes its dumps as nobody
my $n = 0;

# Start smtp-sink with @opts on $addr (127.0.0.1 or [::1]); returns
# { pid, port, dump (a directory) }.
sub sink {
	my ($addr, @opts) = @_;
	my $port = free_port();
	my $dump = "$dir/dump" . $n++;
	mkdir $dump;
	chmod 0777, $dump;
	my @user = $> == 0 ? ('-u', 'nobody') : ();
	my $pid = fork() // die "fork: $!";
	if ($pid == 0) {
		open(STDIN, '<', '/dev/null');
		open(STDOUT, '>', '/dev/null');
		exec($sink, @user, '-d', "$dump/%M.", @opts, "$addr:$port", 10)
		    or POSIX::_exit(127);
	}
	my $host = $addr =~ /\[(.*)\]/ ? $1 : $addr;
	wait_port($port, 5, $host) or die "smtp-sink on $addr:$port: no";
	return { pid => $pid, port => $port, dump => $dump };
}

sub sink_stop {
	my ($s) = @_;
	kill('TERM', $s->{pid});
	waitpid($s->{pid}, 0);
}

# The one message dumped in $s (waits for smtp-sink to write it).
sub dumped {
	my ($s) = @_;
	my $end = time + 5;
	while (time < $end) {
		my @f = glob("$s->{dump}/*");
		if (@f == 1) {
			my $m = slurp($f[0]);
			# the dump ends with an empty line once complete
			return $m if defined $m && $m =~ /\n\n\z/;
		}
		sleep(0.05);
	}
	return undef;
}

# 1. Seed 000's form: server, recipient, word.
{
	my $s = sink('127.0.0.1');
	my ($rc, $out, $err) = run_cmd(undef, $se, '-t', 5, '-p', $s->{port},
	    '-f', 'alice@example.org', '127.0.0.1', 'titus@example.org',
	    'blarny');
	is($rc, 0, 'server recipient word: exit 0') or diag($err);
	is($err, '', 'nothing on stderr');
	is($out, '', 'nothing on stdout');
	my $m = dumped($s) // '';
	like($m, qr/^X-Mail-Args: <alice\@example\.org>$/m, 'MAIL FROM:<alice@example.org>');
	like($m, qr/^X-Rcpt-Args: <titus\@example\.org>$/m, 'RCPT TO:<titus@example.org>');
	like($m, qr/^X-Client-Proto: ESMTP$/m, 'spoke EHLO');
	my ($body) = $m =~ /\n\n(.*)\z/s;	# after smtp-sink's and our headers
	like($m, qr/^Date: (Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d [+-]\d{4}$/m,
	    'Date: in RFC 5322 3.3 form');
	like($m, qr/^From: alice\@example\.org$/m, 'From:');
	like($m, qr/^To: titus\@example\.org$/m, 'To:');
	like($m, qr/^Subject: blarny$/m, 'Subject: defaults to the word');
	like($m, qr/^Message-ID: <[^<>\s\@]+\@[^<>\s\@]+>$/m, 'Message-ID:');
	is($body, "blarny\n\n", 'the body is the word');
	sink_stop($s);
}

# 2. Body from stdin, lines "." and "..": dot-stuffing is undone by the
# server, so they arrive as written. Several recipients, both ways; the
# word "-" means stdin.
{
	my $s = sink('127.0.0.1');
	my $text = "first\n.\n..\n...\n.x\n\nlast line";
	my ($rc, $out, $err) = run_cmd($text, $se, '-t', 5, '-p', $s->{port},
	    '-s', 'dots', '127.0.0.1', 'a@example.org,b@example.org',
	    'c@example.org', '-');
	is($rc, 0, 'stdin body, three recipients: exit 0') or diag($err);
	my $m = dumped($s) // '';
	my @r = $m =~ /^X-Rcpt-Args: (.*)$/mg;
	is_deeply(\@r, ['<a@example.org>', '<b@example.org>', '<c@example.org>'],
	    'one RCPT per recipient, in order');
	like($m, qr/^To: a\@example\.org, b\@example\.org, c\@example\.org$/m,
	    'To: lists them all');
	like($m, qr/^Subject: dots$/m, '-s subject');
	my ($body) = $m =~ /^Message-ID: .*?\n\n(.*)\z/ms;
	is($body, "first\n.\n..\n...\n.x\n\nlast line\n\n",
	    'lines ".", "..", "..." and ".x" arrive intact');
	sink_stop($s);
}

# 3. IPv6 literal.
{
	my $s = eval { sink('[::1]') };
	SKIP: {
		skip 'no IPv6 loopback here', 2 unless $s;
		my ($rc, undef, $err) = run_cmd(undef, $se, '-t', 5, '-p', $s->{port},
		    '::1', 'v6@example.org', 'six');
		is($rc, 0, 'server ::1: exit 0') or diag($err);
		like(dumped($s) // '', qr/^X-Client-Addr: ipv6:::1$/m,
		    'arrived over IPv6');
		sink_stop($s);
	}
}

# 4. -v shows the dialogue; EHLO refused with 5xx -> HELO.
{
	my $s = sink('127.0.0.1', '-f', 'EHLO');
	my ($rc, undef, $err) = run_cmd(undef, $se, '-v', '-t', 5, '-p', $s->{port},
	    '-H', 'client.example.org', '127.0.0.1', 'x@example.org', 'hello');
	is($rc, 0, 'EHLO refused, HELO accepted: exit 0') or diag($err);
	like($err, qr/^S: 220 smtp-sink/m, '-v: S: greeting');
	like($err, qr/^C: EHLO client\.example\.org\nS: 5\d\d .*\nC: HELO client\.example\.org\nS: 250 /m,
	    '-v: EHLO, 5xx, HELO, 250');
	like($err, qr/^C: DATA\nS: 354 .*\nC: Date: /m, '-v: DATA and the message');
	like($err, qr/^C: hello\nC: \.\nS: 250 .*\nC: QUIT\nS: 221 /m,
	    '-v: body, end of data, QUIT, 221');
	like(dumped($s) // '', qr/^X-Client-Proto: SMTP$/m, 'spoke plain SMTP');
	sink_stop($s);
}

# 5. Failure injection: the exit status and the server's reply in the
# message. [smtp-sink options, exit, stderr pattern, what]
my @cases = (
	[['-f', 'CONNECT'], 100, qr/^send-email: greeting: 5\d\d /m, '5xx greeting'],
	[['-f', 'MAIL'], 100, qr/^send-email: MAIL FROM:<me\@example\.org>: 500 5\.3\.0 Error: command failed$/m, '5xx to MAIL'],
	[['-r', 'MAIL'], 111, qr/^send-email: MAIL FROM:<me\@example\.org>: 450 4\.3\.0 Error: command failed$/m, '4xx to MAIL'],
	[['-f', 'RCPT'], 100, qr/^send-email: RCPT TO:<x\@example\.org>: 500 5\.3\.0 .*\n.*recipients refused; message not sent$/m, '5xx to RCPT'],
	[['-r', 'RCPT'], 111, qr/^send-email: RCPT TO:<x\@example\.org>: 450 4\.3\.0 /m, '4xx to RCPT'],
	[['-f', 'DATA'], 100, qr/^send-email: DATA: 500 5\.3\.0 /m, '5xx to DATA'],
	[['-r', 'DATA'], 111, qr/^send-email: DATA: 450 4\.3\.0 /m, '4xx to DATA'],
	[['-f', '.'], 100, qr/^send-email: end of data: 500 5\.3\.0 /m, '5xx at the end of data'],
	[['-r', '.'], 111, qr/^send-email: end of data: 450 4\.3\.0 /m, '4xx at the end of data'],
	[['-Q', 'RCPT'], 111, qr/^send-email: RCPT TO: 421 /m, '421 to RCPT'],
	[['-q', 'MAIL'], 111, qr/^send-email: 127\.0\.0\.1 closed the connection \(after MAIL\)$/m, 'hang-up after MAIL'],
	[['-q', '.'], 111, qr/closed the connection \(after the end of data\)$/m, 'hang-up at the end of data'],
	[['-W', 'RCPT:4'], 111, qr/^send-email: 127\.0\.0\.1: no reply within 1 s \(after RCPT\)$/m, 'no reply to RCPT within -t 1'],
);
for my $c (@cases) {
	my ($opts, $want, $re, $what) = @$c;
	my $s = sink('127.0.0.1', @$opts);
	my $t0 = time;
	my ($rc, undef, $err) = run_cmd(undef, $se, '-t', 1, '-p', $s->{port},
	    '-f', 'me@example.org', '127.0.0.1', 'x@example.org', 'word');
	my $dt = time - $t0;
	is($rc, $want, "$what: exit $want");
	like($err, $re, "$what: the message says so") or diag($err);
	cmp_ok($dt, '<', 8, "$what: done in under 8 s (-t 1, not a default wait)");
	# smtp-sink opens its dump at MAIL; a message is in it only after "."
	my @got = grep { (slurp($_) // '') =~ /^word$/m } glob("$s->{dump}/*");
	is(scalar(@got), 0, "$what: no message delivered")
	    if $opts->[1] ne '.';
	sink_stop($s);
}

done_testing();
