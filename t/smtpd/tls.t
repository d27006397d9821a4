#!/usr/bin/perl
# smtpd's STARTTLS (RFC 3207) with clients nobody here wrote: swaks --tls,
# openssl s_client -starttls smtp, python's smtplib.starttls(); the
# plaintext injection of CVE-2011-0411 (commands pipelined after STARTTLS
# are dropped, never run inside TLS); 454 without a certificate; -S and
# 530; the Received line (RFC 3848 ESMTPS); start-up errors for bad files.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(build tmpdir slurp listen_exec run_cmd read_lines connect_tcp);
use Certs qw(have_openssl make_certs);
use Test::More;

my $smtpd = build('smtpd');
plan skip_all => 'build/smtpd is not built' unless -x $smtpd;
plan skip_all => 'no openssl CLI (mk/packages/tls.txt)' unless have_openssl();
my ($py) = grep { system("$_ -c 'import ssl, smtplib' 2>/dev/null") == 0 }
    qw(/usr/bin/python3 python3);

my $dir = tmpdir();
chmod 0755, $dir;
my $c = make_certs($dir);
chmod 0644, glob("$dir/*");
my %started;
END { local $?; for (keys %started) { kill('TERM', $_); waitpid($_, 0) } }

# smtpd on a listening socket with @args; returns (port, spool, stderr file).
my $n = 0;
sub start {
	my (@args) = @_;
	my $spool = "$dir/spool" . $n++;
	mkdir $spool;
	chmod 0777, $spool;
	my $err = "$spool.err";
	my ($port, $pid) = listen_exec(stderr => $err,
	    cmd => [$smtpd, '-d', '-n', 'netid', '-m', $spool, @args]);
	$started{$pid} = 1;
	return ($port, $spool, $err);
}

my @tls = ('-c', $c->{cert}, '-k', $c->{key});

# 1. EHLO offers STARTTLS only when configured; without it, 454.
{
	my ($port) = start('-F', 'mbox', @tls);
	my $s = connect_tcp($port);
	read_lines($s, 1);
	print $s "EHLO client.example\r\n";
	like(read_lines($s, 6), qr/^250-STARTTLS\r$/m, 'configured: EHLO offers STARTTLS');
	print $s "STARTTLS now\r\n";
	is(read_lines($s, 1), "501 Syntax:  STARTTLS\r\n", 'STARTTLS with an argument: 501');
	close($s);

	($port) = start();
	$s = connect_tcp($port);
	read_lines($s, 1);
	print $s "EHLO client.example\r\n";
	unlike(read_lines($s, 5), qr/STARTTLS/, 'no certificate: STARTTLS not offered');
	print $s "STARTTLS\r\n";
	is(read_lines($s, 1), "454 4.7.0 TLS not available\r\n", 'no certificate: STARTTLS gets 454');
	print $s "QUIT\r\n";
	close($s);
}

# 2. swaks --tls, verifying our certificate against the test CA.
SKIP: {
	skip 'swaks with TLS (swaks, libnet-ssleay-perl: mk/packages)', 4
	    unless system('swaks --support 2>&1 | grep -q "TLS supported"') == 0;
	my ($port, $spool) = start('-F', 'mbox', @tls);
	my ($rc, $out, $err) = run_cmd(undef, 'swaks', '--server', "127.0.0.1:$port",
	    '--tls', '--tls-verify', '--tls-ca-path', $c->{ca}, '--from',
	    'alice@example.org', '--to', 'bob@example.org', '--helo', 'swaks.example',
	    '--body', 'sent by swaks');
	is($rc, 0, 'swaks --tls: exit 0') or diag($out, $err);
	like($out, qr/^<-  220 2\.0\.0 Ready to start TLS/m, 'swaks: STARTTLS answered 220');
	like($out, qr/^=== TLS started with cipher /m, 'swaks: TLS started');
	like(slurp("$spool/mailbox") // '', qr/^Received: from swaks\.example \(\[127\.0\.0\.1\]\) by netid \(CS4410MP3\) with ESMTPS; /m,
	    'mbox: Received records ESMTPS');
}

# 3. openssl s_client -starttls smtp: a whole transaction inside TLS, the
# seed format with ESMTPS for it.
{
	my ($port, $spool) = start(@tls);
	my $in = "EHLO sclient.example\nMAIL FROM:<a\@example.org>\nRCPT TO:<b\@example.org>\n"
	    . "DATA\nSubject: s_client\n\nover TLS\n.\nQUIT\n";
	my ($rc, $out, $err) = run_cmd($in, 'openssl', 's_client', '-starttls', 'smtp',
	    '-connect', "127.0.0.1:$port", '-CAfile', $c->{ca}, '-verify_return_error',
	    '-verify_ip', '127.0.0.1', '-crlf', '-quiet', '-ign_eof');
	like($out, qr/^250 OK:  delivered message 1\r?$/m, 's_client: delivered') or diag($out, $err);
	unlike($out, qr/STARTTLS/, 's_client: STARTTLS not offered again inside TLS');
	is((split(/\n/, slurp("$spool/mailbox") // ''))[0],
	    'Received: from sclient.example by netid (CS4410MP3) with ESMTPS',
	    'seed format: Received with ESMTPS for mail that came inside TLS');
}

SKIP: {
	skip 'no python3 with ssl', 9 unless $py;
	# 4. smtplib.starttls(): delivered; after TLS, MAIL before EHLO is
	# refused (RFC 3207 4.2: the session starts again).
	my ($port, $spool) = start(@tls);
	my $script = <<'EOF';
import smtplib, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[2])
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=10)
s.ehlo("py.example")
print(s.starttls(context=ctx)[0])
print(s.docmd("MAIL FROM:<a@example.org>"))
s.ehlo("py.example")
print("starttls" in s.esmtp_features)
s.sendmail("a@example.org", ["b@example.org"], "Subject: py\r\n\r\nsmtplib\r\n")
s.quit()
print("sent")
EOF
	my ($rc, $out, $err) = run_cmd(undef, $py, '-c', $script, $port, $c->{ca});
	is($rc, 0, 'smtplib.starttls(): exit 0') or diag($err);
	is($out, "220\n(503, b'Error: need HELO command')\nFalse\nsent\n",
	    'smtplib: 220; MAIL right after TLS needs HELO again; no STARTTLS offered inside TLS');
	like(slurp("$spool/mailbox") // '', qr/^Received: from py\.example by netid \(CS4410MP3\) with ESMTPS\nNumber: 1\n/,
	    'delivered, ESMTPS');

	# 5. The injection: "STARTTLS\r\nRSET\r\n" in one write. The RSET came
	# before TLS: it must not be answered inside it.
	$script = <<'EOF';
import socket, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[2])
raw = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
f = raw.makefile("rb")
f.readline()
raw.sendall(b"EHLO inj.example\r\n")
while f.readline()[3:4] == b"-":
    pass
raw.sendall(b"STARTTLS\r\nRSET\r\n")
print(f.readline().decode().strip())
t = ctx.wrap_socket(raw, server_hostname="127.0.0.1")
t.settimeout(2)
try:
    print("inside TLS first:", t.recv(1000))
except socket.timeout:
    print("inside TLS first: nothing")
t.settimeout(10)
t.sendall(b"NOOP\r\n")
print(t.recv(1000))
t.sendall(b"QUIT\r\n")
print(t.recv(1000))
EOF
	my $errf;
	($port, $spool, $errf) = start(@tls);
	($rc, $out, $err) = run_cmd(undef, $py, '-c', $script, $port, $c->{ca});
	is($rc, 0, 'injection client: exit 0') or diag($err);
	my @l = split(/\n/, $out);
	is($l[0], '220 2.0.0 Ready to start TLS', 'STARTTLS: 220');
	is($l[1], 'inside TLS first: nothing', 'the RSET sent before TLS is not answered inside it');
	is($l[2], "b'250 OK\\r\\n'", 'the first reply inside TLS is to the NOOP');
	like(slurp($errf) // '', qr/6 bytes after STARTTLS before TLS, discarded/, 'smtpd logs the discarded bytes');
}

# 6. -S: MAIL before STARTTLS gets 530; -c without -k, a missing file,
# a key that is not the certificate's: start-up errors, exit 100.
{
	my ($port) = start(@tls, '-S');
	my $s = connect_tcp($port);
	read_lines($s, 1);
	print $s "EHLO c.example\r\n";
	read_lines($s, 6);
	print $s "MAIL FROM:<a\@example.org>\r\n";
	is(read_lines($s, 1), "530 5.7.0 Must issue a STARTTLS command first\r\n", '-S: MAIL in the clear gets 530');
	print $s "QUIT\r\n";
	close($s);

	my ($rc, $out, $err) = run_cmd(undef, $smtpd, '-c', $c->{cert});
	is($rc, 100, '-c without -k: exit 100');
	like($err, qr/-c and -k go together/, '... says why');
	($rc, $out, $err) = run_cmd(undef, $smtpd, '-m', $dir, '-c', "$dir/none.pem", '-k', $c->{key});
	is($rc, 100, 'a missing certificate: exit 100');
	like($err, qr/-c \Q$dir\E\/none\.pem: /, '... names the file');
	($rc, $out, $err) = run_cmd(undef, $smtpd, '-m', $dir, '-c', $c->{cert}, '-k', $c->{other_key});
	is($rc, 100, 'a key that is not the certificate\'s: exit 100');
	like($err, qr/^smtpd: -c \Q$c->{cert}\E -k \Q$c->{other_key}\E: (failed to load private key|.*mismatch)/m,
	    '... names the pair') or diag($err);
}

# 7. Our own client: send-email -S verifies the certificate and sends.
{
	my ($port, $spool) = start('-F', 'mbox', @tls);
	my ($rc, $out, $err) = run_cmd("mine\n", build('send-email'), '-S', '-C',
	    $c->{ca}, '-p', $port, '-f', 'a@example.org', '-H', 'se.example',
	    '127.0.0.1', 'b@example.org');
	is($rc, 0, 'send-email -S: exit 0') or diag($err);
	like(slurp("$spool/mailbox") // '', qr/^Received: from se\.example \(\[127\.0\.0\.1\]\) by netid \(CS4410MP3\) with ESMTPS; /m,
	    'send-email: ESMTPS recorded');
}

# 8. Plaintext sessions keep the seed's Received line byte for byte.
{
	my ($port, $spool) = start(@tls);
	my $s = connect_tcp($port);
	read_lines($s, 1);
	print $s "HELO plain.example\r\nMAIL FROM:<a\@example.org>\r\nRCPT TO:<b\@example.org>\r\nDATA\r\n";
	read_lines($s, 4);
	print $s "in the clear\r\n.\r\nQUIT\r\n";
	read_lines($s, 2);
	close($s);
	is(slurp("$spool/mailbox"), "Received: from plain.example by netid (CS4410MP3)\nNumber: 1\n"
	    . "From: a\@example.org\nTo: b\@example.org\n\nin the clear\n\n",
	    'plaintext: the seed\'s format exactly');
}

done_testing();
