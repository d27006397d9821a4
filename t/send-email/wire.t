#!/usr/bin/perl
# send-email against a scripted SMTP server written here, which records
# every byte the client sends: CRLF only on the wire, dot-stuffing as
# RFC 5321 4.5.2 says, the header fields, multi-line and malformed
# replies, SIZE, partial recipient refusal, 421, timeouts; a word with a
# control byte is the body, not a Subject.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(build tmpdir slurp run_cmd);
use IO::Socket::IP;
use MIME::Base64 qw(decode_base64);
use POSIX qw(:sys_wait_h);
use Test::More;
use Time::HiRes qw(time);

my $se = build('send-email');
plan skip_all => 'build/send-email is not built' unless -x $se;
my $dir = tmpdir();
my $n = 0;

my %default = (
	greeting => "220 fake.test ESMTP\r\n",
	EHLO => "250-fake.test hello\r\n250-8BITMIME\r\n250-PIPELINING\r\n250 SIZE 100000\r\n",
	HELO => "250 fake.test\r\n",
	MAIL => "250 2.1.0 ok\r\n",
	RCPT => "250 2.1.5 ok\r\n",
	DATA => "354 go ahead\r\n",
	END => "250 2.0.0 queued\r\n",
	QUIT => "221 2.0.0 bye\r\n",
	RSET => "250 ok\r\n",
);

# A one-connection server: replies by command verb from %default and
# %o (a reply may be a code ref taking the line, or "SILENT"). Records
# the raw bytes it got in $srv->{raw}. Returns { pid, port, raw }.
sub server {
	my (%o) = @_;
	my %r = (%default, %o);
	my $l = IO::Socket::IP->new(LocalHost => '127.0.0.1', LocalPort => 0,
	    Listen => 8, ReuseAddr => 1) or die "listen: $!";
	my $raw = "$dir/raw" . $n++;
	my $pid = fork() // die;
	if ($pid == 0) {
		my $c = $l->accept or POSIX::_exit(1);
		open(my $fh, '>:raw', $raw) or POSIX::_exit(1);
		$fh->autoflush(1);
		my $say = sub {
			my ($s, $line) = @_;
			$s = $s->($line) if ref $s;
			return if !defined $s || $s eq 'SILENT';
			syswrite($c, $s);
		};
		$say->($r{greeting});
		my ($buf, $indata) = ('', 0);
		while (sysread($c, my $chunk, 65536)) {
			print $fh $chunk;
			$buf .= $chunk;
			for (;;) {
				if ($indata) {
					my $i = index("\r\n$buf", "\r\n.\r\n");
					last if $i < 0;
					$buf = substr($buf, $i + 3);
					$indata = 0;
					$say->($r{END}, '.');
					next;
				}
				last unless $buf =~ s/^([^\n]*\n)//;
				my $line = $1;
				my ($verb) = $line =~ /^(\w+)/;
				$verb = uc($verb // '');
				my $rep = exists $r{$verb} ? $r{$verb} : "500 what?\r\n";
				$say->($rep, $line);
				$indata = 1 if $verb eq 'DATA' && !ref $rep && $rep =~ /^354/;
				POSIX::_exit(0) if $verb eq 'QUIT' || (!ref $rep && $rep =~ /^421/);
			}
		}
		POSIX::_exit(0);
	}
	my $port = $l->sockport;
	close($l);
	return { pid => $pid, port => $port, raw => $raw };
}

sub done {
	my ($s) = @_;
	my $end = time + 5;
	while (time < $end) {
		return slurp($s->{raw}) // '' if waitpid($s->{pid}, WNOHANG) == $s->{pid};
		select(undef, undef, undef, 0.05);
	}
	kill('KILL', $s->{pid});
	waitpid($s->{pid}, 0);
	return slurp($s->{raw}) // '';
}

# The DATA section as sent (dot-stuffed, up to and with CRLF.CRLF).
sub data_of {
	my ($raw) = @_;
	return $raw =~ /^DATA\r\n(.*\r\n\.\r\n)/ms ? $1 : '';
}

# 1. Mixed line ends, dot lines, 8-bit text, a non-ASCII subject.
{
	my $s = server();
	my $subject = "caf\x{c3}\x{a9} r\x{c3}\x{a9}sum\x{c3}\x{a9} " . ('long ' x 12);
	my $body = "unix line\ndos line\r\nmac line\r.\n..\n.leading\nna\x{c3}\x{af}ve\nno newline at the end";
	my ($rc, $out, $err) = run_cmd($body, $se, '-t', 5, '-p', $s->{port},
	    '-f', 'me@example.org', '-H', 'client.example.org', '-s', $subject,
	    '127.0.0.1', 'a@example.org', '-');
	my $raw = done($s);
	is($rc, 0, 'exit 0') or diag($err);
	unlike($raw, qr/(?<!\r)\n/, 'no bare LF on the wire');
	unlike($raw, qr/\r(?!\n)/, 'no bare CR on the wire');
	my @cmds = ($raw =~ /\A(.*?\r\n)DATA\r\n/s ? split(/\r\n/, $1) : ());
	my $data = data_of($raw);
	my $size = length($data);
	is_deeply(\@cmds, ['EHLO client.example.org',
	    "MAIL FROM:<me\@example.org> BODY=8BITMIME SIZE=$size",
	    'RCPT TO:<a@example.org>'], 'EHLO, MAIL with BODY=8BITMIME and SIZE, RCPT');
	like($raw, qr/\r\n\.\r\nQUIT\r\n\z/, 'QUIT after the end of data');
	my ($head, $text) = split(/\r\n\r\n/, $data, 2);
	is($text, "unix line\r\ndos line\r\nmac line\r\n..\r\n...\r\n..leading\r\n"
	    . "na\x{c3}\x{af}ve\r\nno newline at the end\r\n.\r\n",
	    'the body: every line end CRLF, dots doubled, CRLF.CRLF at the end');
	my @h = split(/\r\n(?![ \t])/, $head);
	my @names = map { /^([\w-]+):/ ? $1 : '?' } @h;
	is_deeply(\@names, [qw(Date From To Subject Message-ID MIME-Version
	    Content-Type Content-Transfer-Encoding)], 'the header fields, in order');
	like($head, qr/^Date: (Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d [+-]\d{4}\r$/m,
	    'Date: RFC 5322 3.3');
	like($head, qr/^Message-ID: <[^<>\s\@]+\@client\.example\.org>\r$/m,
	    'Message-ID: with the EHLO name');
	like($head, qr/^Content-Type: text\/plain; charset=UTF-8\r$/m, 'Content-Type: UTF-8');
	my ($subj) = grep { /^Subject:/ } @h;
	my @words = $subj =~ /=\?UTF-8\?B\?([A-Za-z0-9+\/=]+)\?=/g;
	is(join('', map { decode_base64($_) } @words), $subject,
	    'Subject: RFC 2047 encoded words decode to the subject');
	ok(!grep({ length($_) > 78 } split(/\r\n/, $subj)), 'Subject: folded lines of 78 or less');
	ok(!grep({ length($_) > 75 } map { "=?UTF-8?B?$_?=" } @words),
	    'Subject: encoded words of 75 or less (RFC 2047 2)');
}

# 2. Seed 000's form; multi-line greeting, replies ending in a bare LF,
# a server without 8BITMIME: no BODY= parameter.
{
	my $s = server(greeting => "220-fake.test\r\n220-welcome\n220 fake.test\r\n",
	    EHLO => "250-fake.test\n250 HELP\n");
	my ($rc, undef, $err) = run_cmd(undef, $se, '-t', 5, '-p', $s->{port},
	    '-f', 'me@example.org', '127.0.0.1', 'titus@example.org', 'blarny');
	my $raw = done($s);
	is($rc, 0, 'seed form with multi-line and LF replies: exit 0') or diag($err);
	like($raw, qr/^MAIL FROM:<me\@example\.org>\r$/m, 'MAIL without parameters');
	my $data = data_of($raw);
	like($data, qr/\r\n\r\nblarny\r\n\.\r\n\z/, 'the body is the word and CRLF');
	like($data, qr/^Subject: blarny\r$/m, 'Subject: the word');
	unlike($data, qr/^MIME-Version/m, 'ASCII: no MIME header fields');
}

# 3. Lines of exactly 998 octets go, one starting with "." stuffed.
{
	my $s = server();
	my $long = 'y' x 998;
	my $dot = '.' . ('z' x 997);
	my ($rc, undef, $err) = run_cmd("$long\n$dot\n", $se, '-t', 5, '-p', $s->{port},
	    '127.0.0.1', 'a@example.org');
	my $raw = done($s);
	is($rc, 0, '998-octet lines: exit 0') or diag($err);
	like(data_of($raw), qr/\r\n\r\n\Q$long\E\r\n\.\Q$dot\E\r\n\.\r\n\z/,
	    '998-octet lines arrive whole, the dotted one stuffed');
}

# 4. Many recipients: To: folded under 78; one refused -> nothing sent.
{
	my @rcpt = map { "person$_\@example.org" } 1 .. 6;
	my $s = server(RCPT => sub { $_[0] =~ /person3/ ?
	    "550-5.1.1 no such user\r\n550 5.1.1 person3 unknown\r\n" : "250 ok\r\n" });
	my ($rc, undef, $err) = run_cmd(undef, $se, '-t', 5, '-p', $s->{port},
	    '127.0.0.1', join(',', @rcpt), 'w');
	my $raw = done($s);
	is($rc, 100, 'one of six recipients refused: exit 100');
	like($err, qr/^send-email: RCPT TO:<person3\@example\.org>: 550 5\.1\.1 no such user 5\.1\.1 person3 unknown$/m,
	    'the refusal, with both lines of the reply');
	like($err, qr/^send-email: 1 of 6 recipients refused; message not sent$/m, 'message not sent');
	is(scalar(() = $raw =~ /^RCPT TO:/mg), 6, 'every recipient was asked for');
	unlike($raw, qr/^DATA/m, 'no DATA');
	like($raw, qr/QUIT\r\n\z/, 'QUIT');

	$s = server();
	($rc, undef, $err) = run_cmd(undef, $se, '-t', 5, '-p', $s->{port},
	    '127.0.0.1', join(',', @rcpt), 'w');
	$raw = done($s);
	is($rc, 0, 'six recipients: exit 0');
	my ($to) = data_of($raw) =~ /^(To: .*?\r\n)(?![ \t])/ms;
	my @lines = split(/\r\n/, $to // '');
	cmp_ok(scalar(@lines), '>', 1, 'To: folded');
	ok(!grep({ length($_) > 78 } @lines), 'To: lines of 78 or less');
	(my $joined = $to // '') =~ s/\r\n / /g;
	is($joined, 'To: ' . join(', ', @rcpt) . "\r\n", 'To: unfolds to all six');
}

# 5. SIZE: a message larger than the server takes is not sent.
{
	my $s = server(EHLO => "250-fake.test\r\n250 SIZE 100\r\n");
	my ($rc, undef, $err) = run_cmd('x' x 200, $se, '-t', 5, '-p', $s->{port},
	    '127.0.0.1', 'a@example.org');
	my $raw = done($s);
	is($rc, 100, 'over SIZE: exit 100');
	like($err, qr/^send-email: message of \d+ bytes is larger than 127\.0\.0\.1 takes \(SIZE 100\)$/m,
	    'over SIZE: says so');
	unlike($raw, qr/^MAIL/m, 'over SIZE: no MAIL');
	like($raw, qr/QUIT\r\n\z/, 'over SIZE: QUIT');
}

# 6. Malformed replies are temporary failures (111), quoted escaped.
for my $c (["250-fake.test\r\n251 mixed\r\n", qr/malformed reply \(RFC 5321 4\.2\): "251 mixed"/, 'codes that differ'],
	   ["hello there\r\n", qr/malformed reply \(RFC 5321 4\.2\): "hello there"/, 'no code'],
	   ["250" . ('x' x 3000) . "\r\n", qr/reply line longer than 2048 octets/, 'an over-long line'],
	   ["250-\e[31mred\r\n250 x\r\n", qr/^C: EHLO .*\nS: 250-\\033\[31mred$/m, 'control bytes escaped in -v']) {
	my ($ehlo, $re, $what) = @$c;
	my $s = server(EHLO => $ehlo);
	my ($rc, undef, $err) = run_cmd(undef, $se, '-v', '-t', 5, '-p', $s->{port},
	    '127.0.0.1', 'a@example.org', 'w');
	done($s);
	is($rc, $what =~ /escaped/ ? 0 : 111, "EHLO reply with $what: exit");
	like($err, $re, "EHLO reply with $what: message") or diag($err);
}

# 7. 421 at MAIL: 111, and no QUIT after it (RFC 5321 3.8).
{
	my $s = server(MAIL => "421 4.3.2 shutting down\r\n");
	my ($rc, undef, $err) = run_cmd(undef, $se, '-t', 5, '-p', $s->{port},
	    '127.0.0.1', 'a@example.org', 'w');
	my $raw = done($s);
	is($rc, 111, '421: exit 111');
	like($err, qr/^send-email: MAIL FROM:<[^>]*>: 421 4\.3\.2 shutting down$/m, '421: says so');
	unlike($raw, qr/QUIT/, '421: no QUIT');
}

# 8. A server that never greets: -t 1 ends it in about a second.
{
	my $s = server(greeting => 'SILENT');
	my $t0 = time;
	my ($rc, undef, $err) = run_cmd(undef, $se, '-t', 1, '-p', $s->{port},
	    '127.0.0.1', 'a@example.org', 'w');
	my $dt = time - $t0;
	done($s);
	is($rc, 111, 'silent server: exit 111');
	is($err, "send-email: 127.0.0.1: no reply within 1 s (waiting for the greeting)\n",
	    'silent server: says so');
	cmp_ok($dt, '<', 3, sprintf('silent server: gave up after %.2f s', $dt));
}

# 9. EHLO refused with 4xx is not a reason to try HELO: 111.
{
	my $s = server(EHLO => "421 4.7.0 try later\r\n");
	my ($rc, undef, $err) = run_cmd(undef, $se, '-t', 5, '-p', $s->{port},
	    '127.0.0.1', 'a@example.org', 'w');
	my $raw = done($s);
	is($rc, 111, 'EHLO 421: exit 111');
	like($err, qr/^send-email: EHLO: 421 4\.7\.0 try later$/m, 'EHLO 421: says so');
	unlike($raw, qr/^HELO/m, 'EHLO 421: no HELO');
}

# 10. 8-bit text to a server without 8BITMIME: quoted-printable, no BODY=
# (RFC 6152 3), so the text still arrives whole through a 7-bit path.
{
	my $s = server(EHLO => "250-fake.test\r\n250 SIZE 100000\r\n");
	my ($rc, undef, $err) = run_cmd("caf\x{c3}\x{a9} = ok \n", $se, '-t', 5, '-p',
	    $s->{port}, '127.0.0.1', 'a@example.org');
	my $raw = done($s);
	is($rc, 0, '8-bit text, no 8BITMIME: exit 0') or diag($err);
	like($raw, qr/^MAIL FROM:<[^>]*> SIZE=\d+\r$/m, 'no BODY=8BITMIME');
	my $data = data_of($raw);
	like($data, qr/^Content-Transfer-Encoding: quoted-printable\r\n\r\ncaf=C3=A9 =3D ok=20\r\n\.\r\n\z/m,
	    'the text quoted-printable (RFC 2045 6.7)');
	unlike($data, qr/[\x80-\xff]/, 'no 8-bit byte on the wire');
}

# send-email: the word is the Subject only when it can be one; a word
# with a control byte (allowed in the body) was refused with exit 100
# "subject: control character", a -s the user never gave.
{
	my $s = server();
	my ($st) = run_cmd(undef, $se, '-t', '10', '-p', $s->{port},
	    '127.0.0.1', 'a@b.example', "bell\aword");
	is($st, 0, 'send-email with a control byte in the word: exit 0');
	(my $data = data_of(done($s))) =~ s/\.\r\n\z//;
	like($data, qr/^Subject: \(no subject\)\r$/m, 'the Subject is "(no subject)"');
	like($data, qr/\r\n\r\nbell\aword\r\n\z/, 'the word is the body');
}

done_testing();
