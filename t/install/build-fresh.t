#!/usr/bin/perl
# The build from a fresh copy of this tree (its files as they are now,
# committed or not), placed as root's clone in /root is: in a directory
# of mode 0700, which nobody cannot reach.
# - With pkg-config finding none of the libraries, make stops before
#   compiling anything and names the Debian packages to install.
# - The handlers run as nobody from the stage the build makes: under the
#   copy's forkd, echod prefork, nowait and wait, and make run's own
#   config (build/forkd.conf, on free ports) serves echo, SMTP into the
#   spool, HTTP from the sample site and ping.
# - A second PREFIX rebuilds every object: the forkd make install puts
#   there reads that PREFIX's config. Installed without DESTDIR, make
#   install creates the system user forkd and gives it the spool, and make
#   uninstall takes the user away again if it made it.
# - make clean removes the stage.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(tmpdir slurp spit free_port free_udp_port wait_port
    connect_tcp udp_client recv_dgram read_lines read_n);
use IO::Select;
use POSIX qw(:sys_wait_h);
use Test::More;
use Time::HiRes qw(time sleep);

plan skip_all => 'needs root (handlers run as nobody)' if $> != 0;
for my $t (qw(make cc pkg-config runuser)) {
	plan skip_all => "needs $t" if system("command -v $t >/dev/null") != 0;
}
plan skip_all => 'no user nobody' unless defined getpwnam('nobody');
$SIG{PIPE} = 'IGNORE';
# A build of its own: nothing of an outer make's flags or job server.
delete @ENV{qw(MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES FORKD_BUILD)};

my $top = "$FindBin::Bin/../..";
my $base = tmpdir();
chmod(0700, $base);
my $src = "$base/forkd";
mkdir($src, 0755) or die "$src: $!";

# The copy: what git tracks or would track, else everything but build/.
my $files = `git -C '$top' ls-files -z -c -o --exclude-standard 2>/dev/null`;
if ($? == 0 && $files ne '') {
	my @f = grep { -e "$top/$_" || -l "$top/$_" } split(/\0/, $files);
	spit("$base/list", join("\0", @f));
	system("tar -C '$top' --null -T '$base/list' -cf - | tar -C '$src' -xf -") == 0
	    or die 'copying the tree failed';
} else {
	system("tar -C '$top' --exclude=./build -cf - . | tar -C '$src' -xf -") == 0
	    or die 'copying the tree failed';
}
ok(-f "$src/GNUmakefile", 'a copy of the tree in a 0700 directory');

my $stage;
END {
	local $?;
	system("make -C '$src' clean >/dev/null 2>&1") if -d $src;
}

sub make_log {
	my ($log, @args) = @_;
	my $r = system("make -C '$src' @args >'$base/$log' 2>&1");
	return ($r, slurp("$base/$log") // '');
}

# 1. No library pkg-config can find: a clear error, nothing compiled.
mkdir("$base/empty-pc");
{
	local $ENV{PKG_CONFIG_PATH} = "$base/empty-pc";
	local $ENV{PKG_CONFIG_LIBDIR} = "$base/empty-pc";
	my ($r, $out) = make_log('nopc.log');
	isnt($r, 0, 'make fails when pkg-config finds no library');
	like($out, qr/pkg-config cannot find libbsd-overlay \(Debian package libbsd-dev\)/,
	    'naming libbsd-dev');
	like($out, qr/libseccomp-dev/, 'and libseccomp-dev');
	like($out, qr/apt-get install .*libbsd-dev/, 'with the line that installs them');
	unlike($out, qr/implicit declaration|\bcc .* -c /, 'before compiling anything');
	my @objs = split(/\n/, `find '$src/build' -name '*.o' 2>/dev/null`);
	is(scalar(@objs), 0, 'no object left behind');
	ok(!-e "$src/build/config.mk", 'no config.mk left behind');
}

# 2. The build in the unreachable checkout.
my ($r, $out) = make_log('build.log', '-j2');
is($r, 0, 'make in the 0700 checkout succeeds')
    or BAIL_OUT("make failed:\n" . substr($out, -2000));
unlike($out, qr/warning:/, 'without a warning');
isnt(system('runuser', '-u', 'nobody', '--', 'test', '-x', "$src/build/echod"), 0,
    'nobody cannot run the build\'s own echod (the case to handle)');
$stage = readlink("$src/build/stage");
ok(defined $stage, 'the build made a stage (build/stage)');
$stage //= "$src/build";
like($out, qr/nobody cannot reach/, 'and said why');
my @st = stat($stage);
ok(@st && $st[4] == 0 && ($st[2] & 07777) == 0755, 'the stage is root\'s, mode 0755');
for my $p (qw(forkd echod smtpd httpd pingd)) {
	is(system('runuser', '-u', 'nobody', '--', 'test', '-x', "$stage/$p"), 0,
	    "nobody can run the staged $p");
}
is(system('runuser', '-u', 'nobody', '--', 'test', '-r', "$stage/www/index.html"), 0,
    'nobody can read the staged sample site');
my $runconf = slurp("$src/build/forkd.conf") // '';
unlike($runconf, qr/\Q$src\E/, 'make run\'s config names nothing inside the checkout');
like($runconf, qr{\s\Q$stage\E/echod\s}, 'it runs the staged echod');
my @spool = stat("$stage/spool");
my $nobody = getpwnam('nobody');
ok(@spool && $spool[4] == $nobody && ($spool[2] & 07777) == 0700,
    'the run spool belongs to nobody, mode 0700, as smtpd in make run\'s config');
unlike($runconf, qr/^[^#]\S*(\s+\S+){3}\s+root\s/m, 'no handler of make run\'s config runs as root');

# forkd from the copy, with make run's config on free ports plus a nowait
# echod: each handler runs as nobody from the stage.
my %port;
my $conf = '';
for my $l (split(/\n/, $runconf)) {
	if ($l =~ /^127\.0\.0\.1:(\d+)\s+\S+\s+(tcp|udp)\s/) {
		my ($p, $proto) = ($1, $2);
		$port{"$p/$proto"} //= $proto eq 'tcp' ? free_port() : free_udp_port();
		$l =~ s/^127\.0\.0\.1:\d+/127.0.0.1:$port{"$p\/$proto"}/;
	}
	$conf .= "$l\n";
}
my $pn = free_port();
$conf .= "127.0.0.1:$pn\tstream\ttcp\tnowait\tnobody\t$stage/echod\techod -t\n";
spit("$base/run.conf", $conf);
my $fpid = fork() // die "fork: $!";
if ($fpid == 0) {
	open(STDIN, '<', '/dev/null');
	open(STDOUT, '>', "$base/forkd.out");
	open(STDERR, '>', "$base/forkd.err");
	exec("$src/build/forkd", '-d', '-f', "$base/run.conf") or POSIX::_exit(127);
}
END {
	local $?;
	if ($fpid) { kill('TERM', $fpid); waitpid($fpid, 0) }
}
my ($pe, $ps, $ph) = map { $port{"$_/tcp"} } qw(4199 8765 6789);
my ($pu, $pp) = map { $port{"$_/udp"} } qw(4199 12000);
ok($pe && $ps && $ph && $pu && $pp, 'make run\'s config has echo, SMTP, HTTP and ping')
    or diag($runconf);
ok(wait_port($pe, 10) && wait_port($pn, 5) && wait_port($ps, 5) && wait_port($ph, 5),
    'forkd from the copy listens') or diag(slurp("$base/forkd.err"));

sub echo_tcp {
	my ($port) = @_;
	my $s = connect_tcp($port) or return '';
	syswrite($s, "hello\n.\n");
	return read_n($s, 8, 5);
}
is(echo_tcp($pe), "hello\n.\n", 'echo (prefork, as nobody) answers');
is(echo_tcp($pn), "hello\n.\n", 'echo (nowait, as nobody) answers');
{
	my $c = udp_client($pu);
	$c->send("over UDP\n");
	is(recv_dgram($c, 5), "over UDP\n", 'echo (wait, UDP, as nobody) answers');
}
my @uids = map { (slurp("/proc/$_/status") // '') =~ /^Uid:\s+(\d+)/m ? $1 : -1 }
    split(' ', `pgrep -P $fpid` // '');
ok(@uids >= 3 && !grep({ $_ != $nobody } @uids), 'every handler runs as nobody')
    or diag("uids: @uids");

# SMTP into the staged spool, as nobody.
{
	my $s = connect_tcp($ps);
	my $got = read_lines($s, 1);
	for my $cmd ('HELO client', 'MAIL FROM:<a@b.example>', 'RCPT TO:<c@d.example>',
	    'DATA') {
		syswrite($s, "$cmd\r\n");
		$got .= read_lines($s, 1);
	}
	syswrite($s, "staged delivery\r\n.\r\nQUIT\r\n");
	$got .= read_lines($s, 2);
	like($got, qr/^220 .*\r\n250 .*\r\n250 .*\r\n250 .*\r\n354 .*\r\n250 .*\r\n221 /s,
	    'SMTP (as nobody) delivers') or diag($got);
	like(slurp("$stage/spool/mailbox") // '', qr/^staged delivery$/m,
	    'the message is in the staged spool');
}

# HTTP from the staged sample site.
{
	my $s = connect_tcp($ph);
	syswrite($s, "GET / HTTP/1.0\r\n\r\n");
	my $resp = read_n($s, 1 << 20, 5);
	my $index = slurp("$src/etc/www/index.html");
	like($resp, qr{^HTTP/1\.[01] 200 }, 'HTTP (as nobody) answers 200');
	ok(length($resp) > length($index) && substr($resp, -length($index)) eq $index,
	    'with the sample site\'s index.html');
}

# pingd drops 30% of requests: of 10, one at least comes back.
{
	my $c = udp_client($pp);
	$c->send(sprintf('Ping %d %.6f', $_, time)) for 1 .. 10;
	my $reply = recv_dgram($c, 5) // '';
	like($reply, qr/^PING \d+ /, 'ping (wait, UDP, as nobody) answers');
}

kill('TERM', $fpid);
waitpid($fpid, 0);
$fpid = 0;

# 3. Another PREFIX: every object is rebuilt, and the forkd installed
# there reads that PREFIX's config. Installed for real (no DESTDIR) in
# our directory, which also creates the user forkd unless it exists.
my @cfiles = split(/\n/, `cd '$src' && find lib supervisor daemons clients t/unit mk -name '*.c'`);
# and the seccomp profiles each daemon's build compiles (gen/NAME_bpf.c)
push @cfiles, glob("$src/daemons/*/profile.c");
my $prefix = "$base/p2";
my @v = ("PREFIX='$prefix'", "SPOOLDIR='$base/p2spool'", "RCDIR='$base/p2rc'");
my $had = defined getpwnam('forkd');
my $hadg = defined getgrnam('forkd');
($r, $out) = make_log('p2.log', 'install', @v);
is($r, 0, "make install PREFIX=$prefix succeeds") or diag(substr($out, -2000));
my $compiled = () = $out =~ /\s-c -o \S+\.o /g;
is($compiled, scalar(@cfiles), 'the new PREFIX rebuilt every object');
my $forkd = "$prefix/sbin/forkd";
my $n = `'$forkd' -n 2>&1`;
like($n, qr{^\Q$prefix\E/etc/forkd\.conf:\d+: }m,
    'the installed forkd reads the new PREFIX\'s forkd.conf');
my @pw = getpwnam('forkd');
ok(@pw, 'the system user forkd exists');
ok(@pw && $pw[2] < 1000 && $pw[8] =~ m{/(nologin|false)$},
    'a system user without a login shell') or diag(explain(\@pw));
@st = stat("$base/p2spool");
ok(@pw && @st && $st[4] == $pw[2] && ($st[2] & 07777) == 0700,
    'it owns the spool, mode 0700');
like(slurp("$prefix/etc/forkd.conf") // '', qr{\sforkd\s+\Q$prefix\E/libexec/forkd/smtpd\s},
    'the installed config runs smtpd as forkd');
($r, $out) = make_log('p2u.log', 'uninstall', @v);
is($r, 0, 'make uninstall succeeds') or diag($out);
is(defined getpwnam('forkd') ? 1 : 0, $had ? 1 : 0,
    $had ? 'the user forkd, there before, stays' : 'the user forkd it created is gone');
is(defined getgrnam('forkd') ? 1 : 0, $hadg ? 1 : 0,
    $hadg ? 'the group forkd, there before, stays' : 'and its group');
ok(!-e $forkd && !-e "$base/p2spool", 'the installed forkd and the empty spool are gone');

# 4. make clean takes the stage away.
($r, $out) = make_log('clean.log', 'clean');
is($r, 0, 'make clean succeeds');
ok(!-e $stage, 'the stage is gone');

done_testing();
