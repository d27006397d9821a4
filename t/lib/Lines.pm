package Lines;
# Shared by the tests of the ready lines for other supervisors
# (t/supervisors/inetd.t, t/supervisors/xinetd.t,
# t/supervisors/systemd.t): the files of etc/ with their @TOKENS@ and
# ports made this build's, the user the handlers may run as here, one real
# client per handler asserting the bytes it gets, and the supervisors run
# in the foreground and stopped by pid with whatever they started.
use strict;
use warnings;
use Exporter 'import';
use IO::Select;
use IO::Socket::IP;
use POSIX ();
use Test::More;
use Time::HiRes qw(sleep time);

use Forkd qw(build tmpdir slurp spit free_port wait_port connect_tcp);

our @EXPORT_OK = qw(lines_env lines_subst lines_start lines_stop
    lines_wait_file lines_spool check_echo_tcp check_echo_udp check_smtp check_http
    check_ping);

our $TOP = $Forkd::TOP;

# The course ports the files use, each mapped to a free one here.
my %COURSE = (echo => 4199, smtp => 8765, http => 6789, ping => 12000);

# Everything a test needs: a directory reachable by the handlers' user,
# that user, free ports, the paths the tokens stand for. The user is
# nobody, as the files say, when nobody may run this build and read the
# sample site (a checkout in a 0700 home is not), else root; a test not
# run as root runs them as itself.
sub lines_env {
	my $dir = tmpdir();
	chmod(0711, $dir);
	my $user;
	if ($> != 0) {
		$user = getpwuid($>);
	} elsif (system('runuser', '-u', 'nobody', '--', 'sh', '-c',
	    'test -x "$1" && test -r "$2"', 'sh', build('echod'),
	    "$TOP/etc/www/index.html") == 0) {
		$user = 'nobody';
	} else {
		$user = 'root';
	}
	my %port;
	my %seen;
	for my $k (sort keys %COURSE) {
		my $p;
		do { $p = free_port() } while ($seen{$p}++);
		$port{$k} = $p;
	}
	return {
		dir => $dir,
		user => $user,
		port => \%port,
		libexec => build('') =~ s{/\z}{}r,
		www => "$TOP/etc/www",
		sbin => build('') =~ s{/\z}{}r,
		sysconf => $dir,
	};
}

# A fresh spool for smtpd, owned by the handlers' user.
sub lines_spool {
	my ($env, $name) = @_;
	my $spool = "$env->{dir}/spool-$name";
	mkdir($spool, 0700) or die "$spool: $!";
	my ($uid, $gid) = (getpwnam($env->{user}))[2, 3];
	chown($uid, $gid, $spool) if $> == 0;
	return $spool;
}

# Text of a file of etc/ made this build's: the tokens, the course ports
# to free ones, the users (forkd and nobody) to the user that may run
# here, and the idle exits of the datagram handlers ("-x 30") to 1 s so
# that they are gone when the test ends. spool: smtpd's spool.
sub lines_subst {
	my ($env, $text, $spool) = @_;
	$text =~ s/\@LIBEXECDIR\@/$env->{libexec}/g;
	$text =~ s/\@WWWDIR\@/$env->{www}/g;
	$text =~ s/\@SPOOLDIR\@/$spool/g;
	$text =~ s/\@SBINDIR\@/$env->{sbin}/g;
	$text =~ s/\@SYSCONFDIR\@/$env->{sysconf}/g;
	for my $k (keys %COURSE) {
		my ($from, $to) = ($COURSE{$k}, $env->{port}{$k});
		$text =~ s/(127\.0\.0\.1:)$from\b/$1$to/g;
		$text =~ s/^(\s*port\s*=\s*)$from\b/$1$to/mg;
	}
	$text =~ s/^(127\.\S+\s+\S+\s+\S+\s+\S+\s+)(?:forkd|nobody)\b/$1$env->{user}/mg;
	$text =~ s/^(\s*user\s*=\s*)(?:forkd|nobody)\b/$1$env->{user}/mg;
	$text =~ s/ -x 30\b/ -x 1/g;
	return $text;
}

# Children of pid, and theirs, from /proc.
sub descendants {
	my ($pid) = @_;
	my %kids;
	opendir(my $d, '/proc') or return ();
	for my $p (grep { /^\d+$/ } readdir($d)) {
		my $st = slurp("/proc/$p/stat") // next;
		$st =~ /\)\s+\S+\s+(\d+)/ or next;
		push @{ $kids{$1} }, $p;
	}
	closedir($d);
	my @all;
	my @todo = ($pid);
	while (defined(my $p = shift @todo)) {
		for my $k (@{ $kids{$p} // [] }) {
			push @all, $k;
			push @todo, $k;
		}
	}
	return @all;
}

my @RUNNING;

# Run @cmd in the background: stdin /dev/null, stdout and stderr to
# $env->{dir}/$name.out and .err. Returns the pid.
sub lines_start {
	my ($env, $name, @cmd) = @_;
	my $pid = fork() // die "fork: $!";
	if ($pid == 0) {
		open(STDIN, '<', '/dev/null');
		open(STDOUT, '>', "$env->{dir}/$name.out");
		open(STDERR, '>', "$env->{dir}/$name.err");
		exec(@cmd) or POSIX::_exit(127);
	}
	push @RUNNING, $pid;
	return $pid;
}

# Stop pid and everything it started that still runs (handlers that
# outlive their supervisor would hold the ports). Returns the wait status.
sub lines_stop {
	my ($pid) = @_;
	my @kids = descendants($pid);
	kill('TERM', $pid);
	my $end = time + 5;
	my $st;
	while (time < $end) {
		if (waitpid($pid, POSIX::WNOHANG()) == $pid) { $st = $?; last }
		sleep(0.02);
	}
	if (!defined $st) {
		kill('KILL', $pid);
		waitpid($pid, 0);
		$st = $?;
	}
	kill('TERM', $_) for @kids;
	@RUNNING = grep { $_ != $pid } @RUNNING;
	return $st;
}

END {
	local $?;
	lines_stop($_) for @RUNNING;
}

# Wait up to timeout s (default 5) for file to match re.
sub lines_wait_file {
	my ($file, $re, $timeout) = @_;
	my $end = time + ($timeout // 5);
	while (time < $end) {
		return 1 if (slurp($file) // '') =~ $re;
		sleep(0.02);
	}
	return 0;
}

# echod over TCP with -t, through nc: the line and the terminator back,
# then the end of the connection.
sub check_echo_tcp {
	my ($env, $name) = @_;
	my $in = "$env->{dir}/nc.in";
	spit($in, "hello $name\n.\n");
	my $out = `timeout 10 nc 127.0.0.1 $env->{port}{echo} <'$in'`;
	is($out, "hello $name\n.\n", "$name: echod over TCP: nc gets its line and the terminator back");
}

# echod over UDP, through IO::Socket: the datagram back.
sub check_echo_udp {
	my ($env, $name) = @_;
	my $s = IO::Socket::IP->new(PeerHost => '127.0.0.1',
	    PeerPort => $env->{port}{echo}, Proto => 'udp') or die "udp: $!";
	my $got;
	# The first datagram may reach the socket before a handler reads it;
	# it waits there, so one is enough, and a second only a safety net.
	for (1 .. 2) {
		$s->send("datagram $name\n");
		last if IO::Select->new($s)->can_read(3) &&
		    defined($s->recv($got, 65536));
	}
	is($got, "datagram $name\n", "$name: echod over UDP: the datagram back");
}

# smtpd through python's smtplib: each reply, then the mailbox on disk.
sub check_smtp {
	my ($env, $name, $spool) = @_;
	my $host = (POSIX::uname())[1];
	my $py = <<'EOF';
import smtplib, sys
s = smtplib.SMTP(timeout=5)
out = []
def say(r):
    out.append("%d %s" % (r[0], r[1].decode()))
say(s.connect("127.0.0.1", int(sys.argv[1])))
say(s.helo("py.test"))
say(s.mail("a@b"))
say(s.rcpt("c@d"))
say(s.data(("via %s\r\n" % sys.argv[2]).encode()))
say(s.quit())
print("\n".join(out))
EOF
	spit("$env->{dir}/smtp.py", $py);
	my $out = `timeout 20 python3 '$env->{dir}/smtp.py' $env->{port}{smtp} '$name' 2>&1`;
	my $want = join('', map { "$_\n" }
	    "220 $host SMTP CS4410MP3", "250 $host", '250 OK', '250 OK',
	    '250 OK:  delivered message 1',
	    "221 2.0.0 $host closing connection");
	is($out, $want, "$name: smtpd: smtplib gets every reply");
	is(slurp("$spool/mailbox") // '', "Received: from py.test by $host "
	    . "(CS4410MP3)\nNumber: 1\nFrom: a\@b\nTo: c\@d\n\nvia $name\n\n",
	    "$name: smtpd: the message in the mailbox");
}

# httpd through curl: the status line, the sample's index.html and its
# image byte for byte, both on one connection.
sub check_http {
	my ($env, $name) = @_;
	my $base = "http://127.0.0.1:$env->{port}{http}";
	my $o = "$env->{dir}/curl";
	unlink("$o.head", "$o.index", "$o.png");	# nothing from an earlier run
	my $rc = system('curl', '-sS', '--max-time', '10', '-D', "$o.head",
	    '-o', "$o.index", "$base/", '-o', "$o.png", "$base/forkd.png");
	is($rc, 0, "$name: httpd: curl exits 0");
	like(slurp("$o.head") // '', qr{\AHTTP/1\.1 200 OK\r\n},
	    "$name: httpd: 200 OK");
	ok((slurp("$o.index") // 'x') eq slurp("$env->{www}/index.html"),
	    "$name: httpd: index.html byte for byte");
	ok((slurp("$o.png") // 'x') eq slurp("$env->{www}/forkd.png"),
	    "$name: httpd: forkd.png byte for byte");
}

# pingd through IO::Socket: the request back in upper case. The files
# drop 30% of requests (-l 30): up to 20 tries, 0.3 s each, well inside
# the 1 s idle exit of the tests (a pingd under systemd-socket-activate
# takes the socket with it when it exits).
sub check_ping {
	my ($env, $name) = @_;
	my $s = IO::Socket::IP->new(PeerHost => '127.0.0.1',
	    PeerPort => $env->{port}{ping}, Proto => 'udp') or die "udp: $!";
	my (%sent, $got);
	for my $seq (1 .. 20) {
		$sent{$seq} = "ping $seq " . time;
		$s->send($sent{$seq});
		# A late reply to an earlier request counts as well.
		if (IO::Select->new($s)->can_read(0.3) &&
		    defined($s->recv($got, 65536))) {
			last;
		}
		undef $got;
	}
	my $seq = defined $got && $got =~ /^PING (\d+) / ? $1 : 0;
	is($got, uc($sent{$seq} // 'a request'),
	    "$name: pingd: the request back in upper case");
}

1;
