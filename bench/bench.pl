#!/usr/bin/perl
# bench/bench.pl: forkd against the servers it stands beside, side by side
# in one run, and one table of ratios (`make bench`; `make bench QUICK=1`
# for a short run that only shows the bench works; ONLY=REGEX for the
# workloads whose name matches).
#
#   HTTP (wrk, 2 threads x 32 connections): forkd's httpd prefork.2 against
#   nginx and lighttpd with 2 workers each, a 1 KiB file with keep-alive,
#   with the access log on both sides, with "Connection: close", and a
#   1 MiB file.
#   Echo (bench/connrate): 32 clients each connecting, echoing a line and
#   closing; forkd prefork.2 echod against the internal echo of
#   openbsd-inetd and xinetd; forkd nowait with /bin/cat and with echod
#   against tcpserver with /bin/cat; and 1 GiB echoed through one
#   connection.
#
# The load generators run on CPU 0 and the servers on CPU 1 (taskset),
# every server on loopback on a free high port with its own config in a
# temporary directory; peers are never started as system services. Each
# measurement is taken RUNS times (default 3, QUICK 1), servers in turn,
# and the median is kept. openbsd-inetd's internal echo answers only on
# the "echo" port (7): it runs in a network namespace of its own, with its
# client. xinetd is unpacked into build/xinetd (dpkg-deb -x), never
# installed: it conflicts with openbsd-inetd.
#
# Usage: perl bench/bench.pl [-q]	(run as root: forkd sets users)
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../t/lib";
use Fcntl qw(:flock);
use Forkd qw(build tmpdir free_port wait_port spit slurp);
use POSIX ();
use Time::HiRes qw(time sleep);

my $quick = grep { $_ eq '-q' } @ARGV;
$quick ||= ($ENV{QUICK} // '') ne '' && $ENV{QUICK} ne '0';
my $runs = $ENV{RUNS} // ($quick ? 1 : 3);
my $secs = $ENV{SECONDS_EACH} // ($quick ? 1 : 3);
my $bulk = $quick ? 256 << 20 : 1 << 30;
my $top = "$FindBin::Bin/..";
my $connrate = build('bench/connrate');
-x $_ or die "bench: $_ missing: make first\n"
    for build('forkd'), build('httpd'), build('echod'), $connrate;
$> == 0 or die "bench: run as root (forkd and the peers set users)\n";
$SIG{PIPE} = 'IGNORE';
my $ncpu = () = (slurp('/proc/cpuinfo') // '') =~ /^processor/mg;
my ($cpu_load, $cpu_srv) = $ncpu >= 2 ? (0, 1) : (0, 0);
my @load = ('taskset', '-c', $cpu_load);
my @srv = ('taskset', '-c', $cpu_srv);

my $dir = tmpdir();
chmod(0755, $dir);
mkdir("$dir/www");
spit("$dir/www/1k.html", scalar(('x' x 63) . "\n") x 16);
spit("$dir/www/1m.bin", scalar(('y' x 1023) . "\n") x 1024);
-s "$dir/www/1k.html" == 1024 && -s "$dir/www/1m.bin" == 1 << 20
    or die "bench: the files to serve have the wrong sizes\n";
chmod(0755, "$dir/www");
chmod(0644, glob("$dir/www/*"));

my @pids;		# servers we started, stopped at the end
my %note;		# server name => why it did not run

sub start {
	my ($log, @cmd) = @_;
	my $pid = fork() // die "fork: $!";
	if ($pid == 0) {
		POSIX::setsid();
		open(STDIN, '<', '/dev/null');
		open(STDOUT, '>>', $log);
		open(STDERR, '>>', $log);
		exec(@srv, @cmd) or POSIX::_exit(127);
	}
	push @pids, $pid;
	return $pid;
}

sub stop_all {
	for my $p (@pids) {
		kill('TERM', -$p) or kill('TERM', $p);
	}
	for my $p (@pids) {
		for (1 .. 50) {
			last if waitpid($p, POSIX::WNOHANG()) != 0;
			sleep(0.1);
		}
		kill('KILL', -$p);
		waitpid($p, 0);
	}
	if (-f "$dir/forkd.pid" && (my $f = slurp("$dir/forkd.pid"))) {
		chomp $f;
		kill('TERM', $f) if $f =~ /^\d+$/;
	}
	@pids = ();
}
END { stop_all() if @pids }
$SIG{INT} = $SIG{TERM} = sub { stop_all(); exit 1 };

# xinetd from build/xinetd, unpacked once (as t/supervisors/xinetd.t does); undef if not.
sub xinetd {
	my $x = build('xinetd');
	my $bin = "$x/root/usr/sbin/xinetd";
	mkdir $x;
	open(my $lock, '>', "$x/.lock") or return undef;
	flock($lock, LOCK_EX);
	if (!-x $bin) {
		unlink(glob("$x/*.deb"));
		system("cd '$x' && apt-get download -q -o " .
		    "APT::Sandbox::User=root xinetd >download.log 2>&1") == 0
		    or return undef;
		my ($deb) = glob("$x/xinetd_*.deb");
		system('dpkg-deb', '-x', $deb, "$x/root") == 0 or return undef;
	}
	return system("'$bin' -version >/dev/null 2>&1") == 0 ? $bin : undef;
}

sub have { return system("command -v $_[0] >/dev/null 2>&1") == 0 }

# --- the servers -----------------------------------------------------------
my %port = map { $_ => free_port() } qw(http httplog echo cat echodnw
    nginx nginxlog lighttpd lighttpdlog xinetd xinetdcat tcpcat);
my $bld = build();
spit("$dir/forkd.conf", <<"EOF");
127.0.0.1:$port{http} stream tcp prefork.2 nobody ${bld}httpd httpd -L -r $dir/www
127.0.0.1:$port{httplog} stream tcp prefork.2 nobody ${bld}httpd httpd -r $dir/www
127.0.0.1:$port{echo} stream tcp prefork.2 nobody ${bld}echod echod
127.0.0.1:$port{cat} stream tcp nowait.0 nobody /bin/cat cat
127.0.0.1:$port{echodnw} stream tcp nowait.0 nobody ${bld}echod echod
EOF
# forkd as a daemon (no -d): the handlers' lines go to syslog as in use.
system(@srv, build('forkd'), '-f', "$dir/forkd.conf", '-p',
    "$dir/forkd.pid") == 0 or die "bench: forkd did not start\n";

if (-x '/usr/sbin/nginx') {
	mkdir("$dir/nginx");
	spit("$dir/nginx/nginx.conf", <<"EOF");
daemon off;
worker_processes 2;
pid $dir/nginx/nginx.pid;
error_log $dir/nginx/error.log;
events { worker_connections 1024; }
http {
	include /etc/nginx/mime.types;
	sendfile on;
	tcp_nopush on;
	access_log off;
	client_body_temp_path $dir/nginx;
	proxy_temp_path $dir/nginx;
	fastcgi_temp_path $dir/nginx;
	uwsgi_temp_path $dir/nginx;
	scgi_temp_path $dir/nginx;
	server { listen 127.0.0.1:$port{nginx}; root $dir/www; }
	server { listen 127.0.0.1:$port{nginxlog}; root $dir/www;
		access_log $dir/nginx/access.log; }
}
EOF
	start("$dir/nginx/out.log", '/usr/sbin/nginx', '-c',
	    "$dir/nginx/nginx.conf", '-p', "$dir/nginx");
} else {
	$note{nginx} = 'not installed (mk/packages/bench.txt)';
}

if (-x '/usr/sbin/lighttpd') {
	for my $l ('', 'log') {
		mkdir("$dir/lighttpd$l");
		spit("$dir/lighttpd$l/lighttpd.conf", <<"EOF" . ($l ? <<"LOG" : ''));
server.document-root = "$dir/www"
server.bind = "127.0.0.1"
server.port = $port{"lighttpd$l"}
server.pid-file = "$dir/lighttpd$l/pid"
server.errorlog = "$dir/lighttpd$l/error.log"
server.max-worker = 2
server.max-keep-alive-requests = 1000
server.username = "www-data"
server.groupname = "www-data"
mimetype.assign = ( ".html" => "text/html", ".bin" => "application/octet-stream" )
EOF
server.modules += ( "mod_accesslog" )
accesslog.filename = "$dir/lighttpdlog/access.log"
LOG
		start("$dir/lighttpd$l/out.log", '/usr/sbin/lighttpd', '-D',
		    '-f', "$dir/lighttpd$l/lighttpd.conf");
	}
	chown(scalar getpwnam('www-data'), -1, "$dir/lighttpd", "$dir/lighttpdlog");
} else {
	$note{lighttpd} = 'not installed (mk/packages/bench.txt)';
}

my $xinetd_echo;
if (my $x = xinetd()) {
	mkdir("$dir/xinetd");
	spit("$dir/xinetd/xinetd.conf", <<"EOF");
defaults
{
	instances = UNLIMITED
	per_source = UNLIMITED
	cps = 1000000 1
}
service bench-cat
{
	type = UNLISTED
	socket_type = stream
	protocol = tcp
	wait = no
	user = nobody
	bind = 127.0.0.1
	port = $port{xinetdcat}
	server = /bin/cat
}
EOF
	start("$dir/xinetd/out.log", $x, '-dontfork', '-pidfile',
	    "$dir/xinetd/pid", '-f', "$dir/xinetd/xinetd.conf");
	# Its internal echo is bound to the "echo" port (7): see netns_echo.
	spit("$dir/xinetd/echo.conf", <<"EOF");
defaults
{
	instances = UNLIMITED
	per_source = UNLIMITED
	cps = 1000000 1
}
service echo
{
	type = INTERNAL
	id = echo-stream
	socket_type = stream
	protocol = tcp
	wait = no
	user = root
	bind = 127.0.0.1
}
EOF
	$xinetd_echo = "$x -dontfork -f $dir/xinetd/echo.conf";
} else {
	$note{xinetd} = 'could not be unpacked into build/xinetd';
}

if (have('tcpserver')) {
	my ($uid, $gid) = (getpwnam('nobody'))[2, 3];
	start("$dir/tcpserver.log", 'tcpserver', '-c', 1000, '-b', 128, '-HRl0',
	    '-u', $uid, '-g', $gid, '127.0.0.1', $port{tcpcat}, '/bin/cat');
} else {
	$note{tcpserver} = 'not installed (ucspi-tcp)';
}
$note{'openbsd-inetd'} = 'not installed' unless -x '/usr/sbin/inetd';
spit("$dir/inetd.conf",
    "127.0.0.1:echo stream tcp nowait.1000000 root internal\n");

# --- measurements ----------------------------------------------------------
# Each returns a number, or undef with $err set.
our $err;

sub wrk {
	my ($port, $path, @hdr) = @_;
	return undef unless wait_port($port, 5) || ($err = 'did not listen', 0);
	my $out = `@load wrk -t2 -c32 -d${secs}s @hdr http://127.0.0.1:$port$path 2>&1`;
	my ($r) = $out =~ /Requests\/sec:\s*([\d.]+)/;
	if ($out =~ /Non-2xx or 3xx responses:\s*(\d+)/) {
		$err = "$1 non-2xx";
		return undef;
	}
	$err = 'no result: ' . ($out =~ s/\s+/ /gr) unless defined $r;
	return $r;
}

sub connrate {
	my ($port, @arg) = @_;
	return undef unless wait_port($port, 5) || ($err = 'did not listen', 0);
	my $out = `@load $connrate @arg 127.0.0.1 $port 2>&1`;
	my $st = $?;
	my ($r) = $out =~ /^(?:conn\/s|MiB\/s) (\d+)/;
	$err = ($st ? 'failed: ' : 'no result: ') . ($out =~ s/\s+/ /gr)
	    if $st || !defined $r;
	return $st ? undef : $r;
}

# The internal echo of openbsd-inetd and xinetd answers only on the "echo"
# port (7): the server runs in a network namespace of its own with its
# client, started, measured and stopped there.
sub netns_echo {
	my ($cmd) = @_;
	return undef unless $cmd || ($err = 'not installed', 0);
	my $sh = "ip link set lo up && { @srv $cmd >/dev/null 2>&1 & " .
	    "p=\$!; i=0; " .
	    "while ! $connrate -n 1 -t 1 127.0.0.1 7 >/dev/null 2>&1; do " .
	    "i=\$((i+1)); [ \$i -gt 50 ] && break; sleep 0.1; done; " .
	    "@load $connrate -t $secs 127.0.0.1 7; r=\$?; kill \$p; " .
	    "wait \$p; exit \$r; }";
	my $out = `unshare -n sh -c '$sh' 2>&1`;
	my ($r) = $out =~ /^conn\/s (\d+)/m;
	$err = 'failed: ' . ($out =~ s/\s+/ /gr) if $? || !defined $r;
	return $? ? undef : $r;
}

my $bulkarg = "-b $bulk";
# workload => [ [server, how], ... ], target, unit; the first is forkd's.
my @work = (
	['HTTP 1 KiB keep-alive', 'req/s', 1.0, [
	    ['forkd httpd', sub { wrk($port{http}, '/1k.html') }],
	    ['nginx', sub { wrk($port{nginx}, '/1k.html') }],
	    ['lighttpd', sub { wrk($port{lighttpd}, '/1k.html') }]]],
	['HTTP 1 KiB keep-alive, access log on', 'req/s', 1.0, [
	    ['forkd httpd', sub { wrk($port{httplog}, '/1k.html') }],
	    ['nginx', sub { wrk($port{nginxlog}, '/1k.html') }],
	    ['lighttpd', sub { wrk($port{lighttpdlog}, '/1k.html') }]]],
	['HTTP 1 KiB Connection: close', 'req/s', 1.0, [
	    ['forkd httpd', sub { wrk($port{http}, '/1k.html',
		'-H', "'Connection: close'") }],
	    ['nginx', sub { wrk($port{nginx}, '/1k.html',
		'-H', "'Connection: close'") }],
	    ['lighttpd', sub { wrk($port{lighttpd}, '/1k.html',
		'-H', "'Connection: close'") }]]],
	['HTTP 1 MiB keep-alive', 'req/s', 1.0, [
	    ['forkd httpd', sub { wrk($port{http}, '/1m.bin') }],
	    ['nginx', sub { wrk($port{nginx}, '/1m.bin') }],
	    ['lighttpd', sub { wrk($port{lighttpd}, '/1m.bin') }]]],
	['short conns, echod prefork.2', 'conn/s', 10.0, [
	    ['forkd echod', sub { connrate($port{echo}, '-t', $secs) }],
	    ['openbsd-inetd echo', sub { netns_echo(-x '/usr/sbin/inetd' &&
		"/usr/sbin/inetd -i -R 1000000 $dir/inetd.conf") }],
	    ['xinetd echo', sub { netns_echo($xinetd_echo) }]]],
	['short conns, nowait /bin/cat', 'conn/s', 1.3, [
	    ['forkd cat', sub { connrate($port{cat}, '-t', $secs) }],
	    ['tcpserver cat', sub { connrate($port{tcpcat}, '-t', $secs) }],
	    ['xinetd cat', sub { connrate($port{xinetdcat}, '-t', $secs) }]]],
	['short conns, nowait echod', 'conn/s', 1.2, [
	    ['forkd echod', sub { connrate($port{echodnw}, '-t', $secs) }],
	    ['tcpserver cat', sub { connrate($port{tcpcat}, '-t', $secs) }]]],
	['bulk echo, ' . ($bulk >> 20) . ' MiB, one connection', 'MiB/s', 1.5, [
	    ['forkd echod', sub { connrate($port{echo}, split(/ /, $bulkarg)) }],
	    ['tcpserver cat', sub { connrate($port{tcpcat},
		split(/ /, $bulkarg)) }]]],
);
# ONLY=REGEX keeps the workloads whose name matches it (ONLY=nowait).
@work = grep { $_->[0] =~ /$ENV{ONLY}/i } @work if ($ENV{ONLY} // '') ne '';

sub median {
	my @v = sort { $a <=> $b } @_;
	return undef unless @v;
	return @v % 2 ? $v[$#v / 2] : ($v[@v / 2 - 1] + $v[@v / 2]) / 2;
}

sub human {
	my ($v) = @_;
	return '-' unless defined $v;
	return sprintf('%.1f k', $v / 1000) if $v >= 10000;
	return sprintf('%.0f', $v);
}

my $host = `uname -srm`;
chomp $host;
my ($model) = (slurp('/proc/cpuinfo') // '') =~ /^model name\s*:\s*(.*)$/m;
printf "bench: %s, %s, %d CPUs; load on CPU %d, servers on CPU %d; " .
    "%d run%s of %d s each%s\n", $host, $model // '?', $ncpu, $cpu_load,
    $cpu_srv, $runs, $runs == 1 ? '' : 's', $secs, $quick ? ' (QUICK)' : '';
sleep(0.5);
my (%val, %why);
for my $w (@work) {
	my ($name, $unit, $target, $servers) = @$w;
	for my $r (1 .. $runs) {
		for my $s (@$servers) {
			my ($sn, $how) = @$s;
			next if $why{"$name/$sn"} && !$val{"$name/$sn"};
			$err = undef;
			my $v = $how->();
			if (defined $v) {
				push @{$val{"$name/$sn"}}, $v;
			} else {
				$why{"$name/$sn"} = $err // 'failed';
			}
		}
	}
}
stop_all();

my $fmt = "| %-40s | %-12s | %-26s | %-7s | %-7s |\n";
print "\n";
printf $fmt, 'workload', 'forkd', 'fastest peer', 'ratio', 'target';
printf $fmt, '-' x 40, '-' x 12, '-' x 26, '-' x 7, '-' x 7;
my $short = 0;
for my $w (@work) {
	my ($name, $unit, $target, $servers) = @$w;
	my ($fn) = $servers->[0][0];
	my $fv = median(@{$val{"$name/$fn"} // []});
	my ($pn, $pv);
	for my $s (@$servers[1 .. $#$servers]) {
		my $v = median(@{$val{"$name/$s->[0]"} // []});
		($pn, $pv) = ($s->[0], $v) if defined $v &&
		    (!defined $pv || $v > $pv);
	}
	my $ratio = defined $fv && $pv ? $fv / $pv : undef;
	$short++ if !defined $ratio || $ratio < $target;
	printf $fmt, $name, defined $fv ? human($fv) . " $unit" : '-',
	    defined $pv ? "$pn " . human($pv) : 'none ran',
	    defined $ratio ? sprintf('%.2fx', $ratio) : '-',
	    sprintf('%s%.1fx', '>= ', $target);
}
print "\nEvery server, median of $runs:\n";
for my $w (@work) {
	my ($name, $unit, $target, $servers) = @$w;
	for my $s (@$servers) {
		my $k = "$name/$s->[0]";
		printf "  %-40s %-20s %s\n", $name, $s->[0],
		    $val{$k} ? sprintf('%.0f %s (%s)', median(@{$val{$k}}),
		    $unit, join(' ', map { sprintf('%.0f', $_) } @{$val{$k}})) :
		    'did not run: ' . ($why{$k} // '?');
	}
}
printf "  %s: %s\n", $_, $note{$_} for sort keys %note;
print "  note: nothing listens on /dev/log: httpd's access log lines went " .
    "nowhere\n  (nginx and lighttpd wrote theirs to files); run a syslog " .
    "daemon for a fair \"access log on\" row\n" unless -S '/dev/log';
printf "\n%d of %d workloads below target\n", $short, scalar @work;
exit 0;
