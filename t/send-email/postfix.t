#!/usr/bin/perl
# send-email to a private Postfix that takes mail only inside TLS
# (smtpd_tls_security_level = encrypt): its own config_directory and
# queue in a temporary directory, a high loopback port, started with
# "postfix start-fg" and stopped with "postfix stop" (never the
# system's instance). Each message is put on hold, read back with postcat.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(build tmpdir free_port wait_port slurp spit run_cmd);
use Certs qw(have_openssl make_certs);
use POSIX qw(:sys_wait_h);
use Test::More;
use Time::HiRes qw(sleep time);

my $se = build('send-email');
plan skip_all => 'build/send-email is not built' unless -x $se;
plan skip_all => 'no openssl CLI (mk/packages/tls.txt)' unless have_openssl();
plan skip_all => 'Postfix not installed (mk/packages/send-email.txt)'
    unless -x '/usr/sbin/postfix' && -x '/usr/lib/postfix/sbin/master';
plan skip_all => 'a Postfix master runs as root' unless $> == 0;
plan skip_all => 'no postfix user or postdrop group'
    unless getpwnam('postfix') && getgrnam('postdrop');

my $dir = tmpdir();
chmod 0755, $dir;
my $c = make_certs($dir);
my $pf = "$dir/postfix";
mkdir $_ for $pf, "$pf/etc", "$pf/queue", "$pf/data";
chown((getpwnam('postfix'))[2], -1, "$pf/data");
my $port = free_port();
spit("$pf/etc/main.cf", <<EOF);
compatibility_level = 3.6
queue_directory = $pf/queue
data_directory = $pf/data
command_directory = /usr/sbin
daemon_directory = /usr/lib/postfix/sbin
meta_directory = /etc/postfix
shlib_directory = /usr/lib/postfix
mail_owner = postfix
setgid_group = postdrop
maillog_file = /dev/stdout
myhostname = mx.test.example
mydomain = test.example
mydestination =
alias_maps =
alias_database =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
relay_domains = example.org
smtpd_relay_restrictions = permit_mynetworks, reject
smtpd_end_of_data_restrictions = check_client_access static:HOLD
smtpd_tls_security_level = encrypt
smtpd_tls_cert_file = $c->{cert}
smtpd_tls_key_file = $c->{key}
EOF
spit("$pf/etc/master.cf", <<EOF);
127.0.0.1:$port inet n - n - - smtpd
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF

my $pid = fork() // die;
if ($pid == 0) {
	open(STDIN, '<', '/dev/null');
	open(STDOUT, '>', "$pf/log");
	open(STDERR, '>&', \*STDOUT);
	exec('/usr/sbin/postfix', '-c', "$pf/etc", 'start-fg') or POSIX::_exit(127);
}
END {
	local $?;
	if ($pid) {
		system("/usr/sbin/postfix -c '$pf/etc' stop >/dev/null 2>&1");
		my $end = time + 10;
		sleep(0.1) while waitpid($pid, WNOHANG) == 0 && time < $end;
		kill('KILL', $pid) if waitpid($pid, WNOHANG) == 0;
	}
}
if (!wait_port($port, 20)) {
	diag(slurp("$pf/log") // '');
	plan skip_all => 'the private Postfix did not start';
}

# The held messages, header and body, as postcat reads them.
sub held {
	my $end = time + 10;
	my @f;
	while (time < $end) {
		@f = glob("$pf/queue/hold/*");
		last if @f;
		sleep(0.1);
	}
	return map { (run_cmd(undef, '/usr/sbin/postcat', '-c', "$pf/etc",
	    '-bh', $_))[1] } @f;
}

my ($rc, undef, $err) = run_cmd("through Postfix\n", $se, '-v', '-t', 10, '-C',
    $c->{ca}, '-p', $port, '-f', 'alice@example.org', '-s', 'encrypted',
    '127.0.0.1', 'bob@example.org');
is($rc, 0, 'to Postfix with smtpd_tls_security_level=encrypt: exit 0') or diag($err);
like($err, qr/^S: 250-STARTTLS$/m, 'Postfix offered STARTTLS');
like($err, qr/^C: STARTTLS\nS: 220 2\.0\.0 Ready to start TLS\n\* TLS /m, 'STARTTLS, handshake');
like($err, qr/^S: 250 2\.0\.0 Ok: queued as /m, 'queued');
my @m = held();
is(scalar(@m), 1, 'one message held');
like($m[0] // '', qr/^\s+by mx\.test\.example \(Postfix\) with ESMTPS id /m,
    'Postfix recorded ESMTPS (RFC 3848)');
like($m[0] // '', qr/^Subject: encrypted\n(?s:.*)\n\nthrough Postfix\n\z/m, 'the message');

($rc, undef, $err) = run_cmd('x', $se, '-t', 10, '-p', $port, '127.0.0.1', 'bob@example.org');
is($rc, 111, 'the system CAs do not know the test CA: exit 111');
like($err, qr/STARTTLS with 127\.0\.0\.1: TLS: certificate verification failed/, '... says why');

done_testing();
