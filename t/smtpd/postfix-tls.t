#!/usr/bin/perl
# Postfix as smtpd's TLS client: a private Postfix (its own config and
# queue in a temporary directory, never the system's instance) relays
# to smtpd with smtp_tls_security_level = encrypt, so it must use
# STARTTLS or not deliver. The mail arrives with ESMTPS recorded.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(build tmpdir free_port slurp spit run_cmd listen_exec);
use Certs qw(have_openssl make_certs);
use POSIX qw(:sys_wait_h);
use Test::More;
use Time::HiRes qw(sleep time);

my $smtpd = build('smtpd');
plan skip_all => 'build/smtpd is not built' unless -x $smtpd;
plan skip_all => 'no openssl CLI (mk/packages/tls.txt)' unless have_openssl();
plan skip_all => 'Postfix not installed (mk/packages/send-email.txt)'
    unless -x '/usr/sbin/postfix' && -x '/usr/sbin/sendmail';
plan skip_all => 'a Postfix master runs as root' unless $> == 0;
plan skip_all => 'no postfix user or postdrop group'
    unless getpwnam('postfix') && getgrnam('postdrop');

my $dir = tmpdir();
chmod 0755, $dir;
my $c = make_certs($dir);
chmod 0644, glob("$dir/*");
my $spool = "$dir/spool";
mkdir $spool;
chmod 0777, $spool;
my ($sport, $spid) = listen_exec(stderr => "$dir/smtpd.err", cmd => [$smtpd,
    '-d', '-n', 'netid', '-m', $spool, '-F', 'mbox', '-S', '-c', $c->{cert},
    '-k', $c->{key}]);

my $pf = "$dir/postfix";
mkdir $_ for $pf, "$pf/etc", "$pf/queue", "$pf/data";
chown((getpwnam('postfix'))[2], -1, "$pf/data");
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
myhostname = relay.test.example
mydomain = test.example
mydestination =
alias_maps =
alias_database =
inet_interfaces = loopback-only
inet_protocols = ipv4
relayhost = [127.0.0.1]:$sport
smtp_tls_security_level = encrypt
smtp_tls_CAfile = $c->{ca}
smtp_tls_loglevel = 1
EOF
spit("$pf/etc/master.cf", <<EOF);
pickup    unix  n       -       n       60      1       pickup
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
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
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
	if ($spid) { kill('TERM', $spid); waitpid($spid, 0) }
}
my $end = time + 20;
sleep(0.2) until (slurp("$pf/log") // '') =~ /daemon started/ || time > $end;
plan skip_all => 'the private Postfix did not start: ' . (slurp("$pf/log") // '')
    unless (slurp("$pf/log") // '') =~ /daemon started/;

{
	local $ENV{MAIL_CONFIG} = "$pf/etc";
	my ($rc, $out, $err) = run_cmd("Subject: relayed\n\nthrough Postfix, encrypted\n",
	    '/usr/sbin/sendmail', '-C', "$pf/etc", '-f', 'alice@example.org', 'bob@example.org');
	is($rc, 0, 'Postfix sendmail took the message') or diag($err);
}
$end = time + 30;
my $m = '';
until ($m =~ /encrypted\n/ || time > $end) {
	sleep(0.2);
	$m = slurp("$spool/mailbox") // '';
}
like($m, qr/^Received: from relay\.test\.example \(\[127\.0\.0\.1\]\) by netid \(CS4410MP3\) with ESMTPS; /m,
    'delivered by Postfix, ESMTPS recorded') or diag(slurp("$pf/log"));
like($m, qr/^Subject: relayed\n(?s:.*)through Postfix, encrypted\n/m, 'the message');
like(slurp("$pf/log") // '', qr/Trusted TLS connection established to 127\.0\.0\.1\[127\.0\.0\.1\]:\d+: TLSv1\.[23]/,
    'Postfix: a trusted TLS connection to smtpd');
like(slurp("$pf/log") // '', qr/status=sent \(250 OK:  delivered message 1\)/, 'Postfix: sent, 250');
like(slurp("$dir/smtpd.err") // '', qr/: TLS TLSv1\.[23] /, 'smtpd logged the handshake');

done_testing();
