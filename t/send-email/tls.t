#!/usr/bin/perl
# send-email with TLS and AUTH against peers nobody here wrote: aiosmtpd
# (python3-aiosmtpd) offering STARTTLS, implicit TLS (RFC 8314) and AUTH
# PLAIN/LOGIN (RFC 4954), and openssl s_server with a certificate that
# no CA vouches for or that names another host. The certificates are made
# here with the openssl CLI: a private CA and leaves for 127.0.0.1.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(build tmpdir free_port wait_port slurp spit run_cmd);
use Certs qw(have_openssl make_certs);
use IO::Socket::IP;
use MIME::Base64 qw(encode_base64);
use POSIX qw(:sys_wait_h);
use Test::More;
use Time::HiRes qw(sleep time);

my $se = build('send-email');
plan skip_all => 'build/send-email is not built' unless -x $se;
plan skip_all => 'no openssl CLI (mk/packages/tls.txt)' unless have_openssl();
my ($py) = grep { system("$_ -c 'import aiosmtpd' 2>/dev/null") == 0 }
    qw(/usr/bin/python3 python3);
plan skip_all => 'python3 without aiosmtpd (Debian python3-aiosmtpd, '
    . 'mk/packages/tls.txt)' unless $py;

my $dir = tmpdir();
my $c = make_certs($dir);
my $peer = "$FindBin::Bin/../lib/aiosmtpd-peer.py";
my $n = 0;
my @started;
END { local $?; for (@started) { kill('TERM', $_); waitpid($_, 0) } }

# aiosmtpd on a free port in $mode with the certificate $cert/$key.
# Returns { pid, port, out (its directory: msgN, log) }.
sub aiosmtpd {
	my ($mode, $cert, $key) = @_;
	my $out = "$dir/peer" . $n++;
	mkdir $out;
	my $port = free_port();
	my $pid = fork() // die "fork: $!";
	if ($pid == 0) {
		open(STDIN, '<', '/dev/null');
		open(STDOUT, '>', '/dev/null');
		open(STDERR, '>', "$out/stderr");
		exec($py, $peer, $port, $cert // $c->{cert}, $key // $c->{key},
		    $out, $mode) or POSIX::_exit(127);
	}
	push @started, $pid;
	wait_port($port, 10) or die "aiosmtpd on $port: not up";
	return { pid => $pid, port => $port, out => $out };
}

sub peer_log { return slurp("$_[0]{out}/log") // '' }

# send-email with the variables of $env and no SEND_EMAIL_PASSWORD but
# theirs; returns what run_cmd does.
sub send_email {
	my ($env, @args) = @_;
	local %ENV = %ENV;
	delete $ENV{SEND_EMAIL_PASSWORD};
	return run_cmd({ env => $env }, $se, '-t', 10, @args);
}

my %pw = (SEND_EMAIL_PASSWORD => 'open sesame');
my $secret = encode_base64("\0alice\0open sesame", '');

# 1. STARTTLS, AUTH PLAIN, the password from the environment.
{
	my $p = aiosmtpd('starttls');
	my ($rc, $out, $err) = send_email(\%pw, '-v', '-C', $c->{ca}, '-u', 'alice',
	    '-p', $p->{port}, '-f', 'alice@example.org', '127.0.0.1',
	    'bob@example.org', 'sealed');
	is($rc, 0, 'STARTTLS + AUTH PLAIN: exit 0') or diag($err);
	is(peer_log($p), "AUTH PLAIN tls=1 ok=1\nDATA from=alice\@example.org "
	    . "to=bob\@example.org tls=1 auth=1\n",
	    'aiosmtpd saw AUTH only inside TLS, then the message, logged in');
	like(slurp("$p->{out}/msg1") // '', qr/\r\n\r\nsealed\r\n\z/, 'the message arrived');
	like($err, qr/^C: STARTTLS\nS: 220 .*\n\* TLS TLSv1\.[23] /m, '-v: STARTTLS, then the handshake');
	my @ehlo = $err =~ /^C: (EHLO) /mg;
	is(scalar(@ehlo), 2, 'EHLO again after TLS (RFC 3207 4.2)');
	like($err, qr/^C: AUTH PLAIN \(user name and password hidden\)$/m, '-v: AUTH shown without its secret');
	unlike($err, qr/\Q$secret\E|open sesame/, '-v: the secret is nowhere on stderr');
	like($err, qr/^S: 235 /m, '-v: 235');
}

# 2. The password from -P; a wrong one exits 100 with the server's line.
{
	my $p = aiosmtpd('starttls');
	spit("$dir/pass", "open sesame\n");
	spit("$dir/badpass", "open barley\n");
	my ($rc, undef, $err) = send_email({}, '-C', $c->{ca}, '-u', 'alice', '-P',
	    "$dir/pass", '-p', $p->{port}, '127.0.0.1', 'bob@example.org', 'one');
	is($rc, 0, '-P passfile: exit 0') or diag($err);
	($rc, undef, $err) = send_email({}, '-C', $c->{ca}, '-u', 'alice', '-P',
	    "$dir/badpass", '-p', $p->{port}, '127.0.0.1', 'bob@example.org', 'two');
	is($rc, 100, 'a refused password: exit 100');
	is($err, "send-email: AUTH PLAIN: 535 5.7.8 Authentication credentials invalid\n",
	    'a refused password: the server\'s line');
	is(peer_log($p), "AUTH PLAIN tls=1 ok=1\nDATA from=" . ((getpwuid($<))[0])
	    . '@' . `hostname` =~ s/\n//r . " to=bob\@example.org tls=1 auth=1\n"
	    . "AUTH PLAIN tls=1 ok=0\n", 'no message after the refusal');
	($rc, undef, $err) = send_email(\%pw, '-C', $c->{ca}, '-u', 'weak', '-p',
	    $p->{port}, '127.0.0.1', 'bob@example.org', 'x');
	is($rc, 100, '534, mechanism too weak: exit 100');
	is($err, "send-email: AUTH PLAIN: 534 5.7.9 Authentication mechanism is too weak\n",
	    '534: the server\'s line');
	($rc, undef, $err) = send_email(\%pw, '-C', $c->{ca}, '-u', 'later', '-p',
	    $p->{port}, '127.0.0.1', 'bob@example.org', 'x');
	is($rc, 111, '454, temporary failure: exit 111');
	is($err, "send-email: AUTH PLAIN: 454 4.7.0 Temporary authentication failure\n",
	    '454: the server\'s line');
	($rc, undef, $err) = send_email({}, '-u', 'alice', '127.0.0.1', 'bob@example.org', 'x');
	is($rc, 100, '-u without a password: exit 100');
	like($err, qr/no password: give -P passfile or set SEND_EMAIL_PASSWORD/, '... says how to give one');
}

# 3. A server with AUTH LOGIN only.
{
	my $p = aiosmtpd('login');
	my ($rc, undef, $err) = send_email(\%pw, '-v', '-C', $c->{ca}, '-u', 'alice',
	    '-p', $p->{port}, '127.0.0.1', 'bob@example.org', 'login');
	is($rc, 0, 'AUTH LOGIN: exit 0') or diag($err);
	like(peer_log($p), qr/\AAUTH LOGIN tls=1 ok=1\nDATA .* tls=1 auth=1\n\z/, 'aiosmtpd: LOGIN inside TLS');
	like($err, qr/^C: AUTH LOGIN\nS: 334 .*\nC: YWxpY2U=\nS: 334 .*\nC: \(password hidden\)\nS: 235 /m,
	    '-v: the user name, the password hidden');
	unlike($err, qr/b3BlbiBzZXNhbWU=|open sesame/, '-v: the password is nowhere on stderr');
}

# 4. A server without STARTTLS: AUTH is never sent in the clear, -S
# fails with 111, plain mail still goes.
{
	my $p = aiosmtpd('plain');
	my ($rc, undef, $err) = send_email(\%pw, '-u', 'alice', '-p', $p->{port},
	    '127.0.0.1', 'bob@example.org', 'x');
	is($rc, 111, '-u, no STARTTLS offered: exit 111');
	like($err, qr/^send-email: 127\.0\.0\.1 does not offer STARTTLS, which AUTH \(-u\) requires$/m, '... says why');
	($rc, undef, $err) = send_email({}, '-S', '-p', $p->{port}, '127.0.0.1', 'bob@example.org', 'x');
	is($rc, 111, '-S, no STARTTLS offered: exit 111');
	like($err, qr/does not offer STARTTLS, which -S requires/, '... says why');
	is(peer_log($p), '', 'no AUTH and no message in the clear');
	($rc, undef, $err) = send_email({}, '-p', $p->{port}, '127.0.0.1', 'bob@example.org', 'clear');
	is($rc, 0, 'no -S, no STARTTLS offered: sent in the clear') or diag($err);
	like(peer_log($p), qr/^DATA .* tls=0 auth=0$/m, '... as aiosmtpd saw it');
}

# 5. Implicit TLS (-T, RFC 8314 3.3), and -S with STARTTLS offered.
{
	my $p = aiosmtpd('implicit');
	my ($rc, undef, $err) = send_email(\%pw, '-T', '-C', $c->{ca}, '-u', 'alice',
	    '-p', $p->{port}, '127.0.0.1', 'bob@example.org', 'implicit');
	is($rc, 0, '-T: exit 0') or diag($err);
	is(peer_log($p), "AUTH PLAIN tls=1 ok=1\nDATA from=" . ((getpwuid($<))[0])
	    . '@' . `hostname` =~ s/\n//r . " to=bob\@example.org tls=1 auth=1\n", '-T: TLS from the start');
	$p = aiosmtpd('starttls');
	($rc, undef, $err) = send_email({}, '-S', '-C', $c->{ca}, '-p', $p->{port},
	    'localhost', 'bob@example.org', 'by name');
	is($rc, 0, '-S to "localhost", certificate for DNS:localhost: exit 0') or diag($err);
	like(peer_log($p), qr/^DATA .* tls=1 auth=0$/m, '... inside TLS');
}

# 6. Verification: the system CAs do not know our CA; -k goes on and
# says so; a certificate for another name fails.
{
	my $p = aiosmtpd('starttls');
	my ($rc, undef, $err) = send_email({}, '-p', $p->{port}, '127.0.0.1', 'bob@example.org', 'x');
	is($rc, 111, 'STARTTLS offered, certificate of an unknown CA: exit 111');
	like($err, qr/^send-email: STARTTLS with 127\.0\.0\.1: TLS: certificate verification failed/m,
	    '... says the certificate did not verify');
	($rc, undef, $err) = send_email({}, '-k', '-p', $p->{port}, '127.0.0.1', 'bob@example.org', 'x');
	is($rc, 0, '-k: exit 0') or diag($err);
	like($err, qr/^send-email: warning: -k: the server's TLS certificate and name are not verified$/m,
	    '-k: says so on stderr');
	is(scalar(() = peer_log($p) =~ /^DATA/mg), 1, 'one message, the -k one');

	$p = aiosmtpd('starttls', $c->{other_cert}, $c->{other_key});
	($rc, undef, $err) = send_email({}, '-C', $c->{ca}, '-p', $p->{port}, '127.0.0.1', 'bob@example.org', 'x');
	is($rc, 111, 'STARTTLS, certificate for other.example: exit 111');
	like($err, qr/name .?127\.0\.0\.1.? not present in server certificate/, '... says the name is not in it');
	is(peer_log($p), '', '... and sent nothing');

	($rc, undef, $err) = send_email({}, '-C', "$dir/nonexistent", '127.0.0.1', 'bob@example.org', 'x');
	is($rc, 100, '-C with a missing file: exit 100 before connecting');
}

# 7. openssl s_server as an implicit-TLS peer: a self-signed certificate,
# then one for another name. The client gives up in the handshake.
sub s_server {
	my ($cert, $key) = @_;
	my $port = free_port();
	my $pid = fork() // die;
	if ($pid == 0) {
		open(STDIN, '<', '/dev/null');
		open(STDOUT, '>', '/dev/null');
		open(STDERR, '>', '/dev/null');
		# two: wait_port's probe is the first
		exec('openssl', 's_server', '-quiet', '-naccept', 2, '-accept',
		    "127.0.0.1:$port", '-cert', $cert, '-key', $key) or POSIX::_exit(127);
	}
	push @started, $pid;
	wait_port($port, 10) or die "s_server on $port: not up";
	return $port;
}
{
	my $port = s_server($c->{self_cert}, $c->{self_key});
	my ($rc, undef, $err) = send_email({}, '-T', '-C', $c->{ca}, '-p', $port,
	    '127.0.0.1', 'bob@example.org', 'x');
	is($rc, 111, 's_server, self-signed certificate: exit 111');
	like($err, qr/^send-email: 127\.0\.0\.1 port \d+: TLS: certificate verification failed: .*self.signed/m,
	    '... says why') or diag($err);
	$port = s_server($c->{other_cert}, $c->{other_key});
	($rc, undef, $err) = send_email({}, '-T', '-C', $c->{ca}, '-p', $port,
	    '127.0.0.1', 'bob@example.org', 'x');
	is($rc, 111, 's_server, certificate for another name: exit 111');
	like($err, qr/^send-email: 127\.0\.0\.1 port \d+: TLS: name .?127\.0\.0\.1.? not present in server certificate/m,
	    '... says why') or diag($err);
}

# 8. A server whose 220 to STARTTLS comes with more bytes in the clear:
# they could be anyone's, so the client gives up (RFC 3207 5).
{
	my $l = IO::Socket::IP->new(LocalHost => '127.0.0.1', LocalPort => 0,
	    Listen => 1, ReuseAddr => 1) or die;
	my $pid = fork() // die;
	if ($pid == 0) {
		my $s = $l->accept or POSIX::_exit(1);
		syswrite($s, "220 fake ESMTP\r\n");
		my $buf = '';
		while (sysread($s, $buf, 4096, length $buf)) {
			if ($buf =~ s/^EHLO[^\n]*\n//) {
				syswrite($s, "250-fake\r\n250 STARTTLS\r\n");
			} elsif ($buf =~ s/^STARTTLS\r\n//) {
				syswrite($s, "220 go ahead\r\n250-injected\r\n250 AUTH PLAIN\r\n");
			} elsif ($buf =~ s/^QUIT\r\n//) {
				syswrite($s, "221 bye\r\n");
				last;
			}
		}
		POSIX::_exit(0);
	}
	push @started, $pid;
	my ($rc, undef, $err) = send_email({}, '-S', '-C', $c->{ca}, '-p', $l->sockport,
	    '127.0.0.1', 'bob@example.org', 'x');
	close($l);
	is($rc, 111, 'bytes after the 220 to STARTTLS: exit 111');
	like($err, qr/sent data after its 220 to STARTTLS, before TLS/, '... says why');
}

done_testing();
