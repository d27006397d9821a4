#!/usr/bin/perl
# etc/xinetd.d/, as a user copies it to /etc/xinetd.d: every service file
# run by xinetd (in the foreground on its own config, the tokens and ports
# made this build's), each handler asked by a real client: echod over TCP
# (nc) and UDP, smtpd (python's smtplib, and the mailbox on disk), httpd
# (curl), pingd.
#
# xinetd conflicts with openbsd-inetd as a Debian package, so it is not
# installed: the package is fetched once with apt-get download and
# unpacked with dpkg-deb -x into build/xinetd/, where later runs find it.
use strict;
use warnings;
use Fcntl qw(:flock);
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(build slurp spit wait_port);
use Lines qw(lines_env lines_spool lines_subst lines_start lines_stop check_echo_tcp
    check_echo_udp check_smtp check_http check_ping);
use Test::More;

plan skip_all => 'needs nc (netcat-openbsd), curl and python3'
    if system('command -v nc && command -v curl && command -v python3 >/dev/null') != 0;
for (qw(echod smtpd httpd pingd)) {
	plan skip_all => "build/$_ not built" unless -x build($_);
}
$SIG{PIPE} = 'IGNORE';

# The unpacked xinetd, fetched on first use; a reason when it cannot be.
sub xinetd_fetch {
	my $x = build('xinetd');
	my $bin = "$x/root/usr/sbin/xinetd";
	mkdir $x;
	open(my $lock, '>', "$x/.lock") or return (undef, "$x/.lock: $!");
	flock($lock, LOCK_EX);
	if (!-x $bin) {
		unlink(glob("$x/*.deb"));
		my $get = "cd '$x' && apt-get download -q -o " .
		    "APT::Sandbox::User=root xinetd >download.log 2>&1";
		# No package lists yet (a fresh machine): fetch them once.
		system($get) == 0 ||
		    ($> == 0 && system('apt-get update -qq >/dev/null 2>&1') == 0 &&
		    system($get) == 0)
		    or return (undef, 'apt-get download xinetd failed: ' .
		    ((slurp("$x/download.log") // '') =~ s/\s+/ /gr));
		my ($deb) = glob("$x/xinetd_*.deb");
		system('dpkg-deb', '-x', $deb, "$x/root") == 0 && -x $bin
		    or return (undef, "dpkg-deb -x $deb failed");
	}
	# Its libraries (libwrap, libtirpc) come from this machine.
	system("'$bin' -version >/dev/null 2>&1") == 0
	    or return (undef, "$bin does not run here (libraries?)");
	return ($bin);
}

my ($xinetd, $why) = xinetd_fetch();
plan skip_all => $why unless $xinetd;
plan skip_all => 'xinetd changes to the services\' users: needs root' if $> != 0;

my $top = "$FindBin::Bin/../..";
my @files = sort map { s{.*/}{}r } glob("$top/etc/xinetd.d/*");
is_deeply(\@files, [qw(forkd-echo forkd-http forkd-ping forkd-smtp)],
    'etc/xinetd.d: one file per handler');
my %svc;
for my $f (@files) {
	my $t = slurp("$top/etc/xinetd.d/$f");
	unlike($t, qr{/usr/local}, "$f: installed paths as \@TOKENS\@");
	while ($t =~ /^\s*protocol\s*=\s*(\w+).*?^\s*server\s*=\s*\S+\/(\w+)/msg) {
		$svc{"$2/$1"}++;
	}
}
is_deeply([sort keys %svc],
    [qw(echod/tcp echod/udp httpd/tcp pingd/udp smtpd/tcp)],
    'services for echod (tcp, udp), smtpd, httpd and pingd');

my $env = lines_env();
my $spool = lines_spool($env, 'xinetd');
mkdir "$env->{dir}/xinetd.d";
for my $f (@files) {
	my $t = lines_subst($env, slurp("$top/etc/xinetd.d/$f"), $spool);
	unlike($t, qr/@[A-Z]+@/, "$f: every token substituted");
	spit("$env->{dir}/xinetd.d/$f", $t);
}
spit("$env->{dir}/xinetd.conf", "defaults\n{\n}\n\nincludedir $env->{dir}/xinetd.d\n");
note("handlers run as $env->{user}");

my $pid = lines_start($env, 'xinetd', $xinetd, '-dontfork', '-f',
    "$env->{dir}/xinetd.conf", '-filelog', "$env->{dir}/xinetd.log");
ok(wait_port($env->{port}{echo}, 5) && wait_port($env->{port}{smtp}, 5) &&
    wait_port($env->{port}{http}, 5), 'xinetd listens on every TCP service')
    or diag(slurp("$env->{dir}/xinetd.log"), slurp("$env->{dir}/xinetd.err"));
check_echo_tcp($env, 'xinetd');
check_echo_udp($env, 'xinetd');
check_smtp($env, 'xinetd', $spool);
check_http($env, 'xinetd');
check_ping($env, 'xinetd');
lines_stop($pid);
my $log = slurp("$env->{dir}/xinetd.log") // '';
like($log, qr/Started working: 5 available services/,
    'xinetd: five services (echod twice, smtpd, httpd, pingd)');
unlike($log, qr/\bERROR\b|bad|unknown/i,
    'xinetd took every file without a complaint') or diag($log);

done_testing();
