#!/usr/bin/perl
# etc/systemd/'s socket units and their services, as systemd would run
# them, through systemd-socket-activate (the tokens and ports made this
# build's): each handler in the way its unit says, and in the other ways
# a unit could pass it the socket:
#   --inetd --accept   Accept=yes, StandardInput=socket: the connection
#                      on fds 0 and 1 (inetd's nowait)
#   --inetd            Accept=no, StandardInput=socket: the listening or
#                      datagram socket on fd 0 (inetd's wait)
#   --accept           Accept=yes without StandardInput=socket: the
#                      connection on fd 3, LISTEN_FDS=1
#   (neither)          Accept=no without StandardInput=socket: the
#                      listening or datagram socket on fd 3, LISTEN_FDS=1
# Each time a real client asks: echod over TCP (nc) and UDP, smtpd
# (python's smtplib, and the mailbox on disk), httpd (curl), pingd.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(build slurp spit run_cmd);
use Lines qw(lines_env lines_spool lines_subst lines_start lines_stop lines_wait_file
    check_echo_tcp check_echo_udp check_smtp check_http check_ping);
use Test::More;

my $ssa = '/usr/bin/systemd-socket-activate';
plan skip_all => "systemd-socket-activate not installed ($ssa)" unless -x $ssa;
plan skip_all => 'needs nc (netcat-openbsd), curl, python3 and setpriv'
    if system('command -v nc && command -v curl && command -v python3 && '
    . 'command -v setpriv >/dev/null') != 0;
for (qw(echod smtpd httpd pingd)) {
	plan skip_all => "build/$_ not built" unless -x build($_);
}
$SIG{PIPE} = 'IGNORE';

my $top = "$FindBin::Bin/../..";
my $env = lines_env();
note("handlers run as $env->{user}");

# "key=value" lines of one [section] of a unit's text.
sub unit_keys {
	my ($text, $section) = @_;
	my %k;
	my $in = '';
	for (split /\n/, $text) {
		next if /^\s*(?:[#;]|$)/;
		if (/^\[(\w+)\]/) { $in = $1; next }
		$k{$1} = $2 if $in eq $section && /^(\w+)=(.*)$/;
	}
	return \%k;
}

# Every socket unit, its service, and what the pair says.
my %unit;
for my $path (sort glob("$top/etc/systemd/*.socket")) {
	my $name = $path =~ s{.*/}{}r =~ s{\.socket\z}{}r;
	my $sock = unit_keys(slurp($path), 'Socket');
	my $accept = ($sock->{Accept} // 'no') =~ /^(?:yes|true|1|on)$/;
	my $svcfile = "$top/etc/systemd/$name" . ($accept ? '@' : '') . '.service';
	ok(-f $svcfile, "$name.socket: its service " . ($svcfile =~ s{.*/}{}r));
	my $svc = unit_keys(slurp($svcfile) // '', 'Service');
	my ($handler) = ($svc->{ExecStart} // '') =~ m{/(\w+)(?:\s|$)};
	$unit{$name} = {
		accept => $accept,
		dgram => exists $sock->{ListenDatagram},
		listen => $sock->{ListenStream} // $sock->{ListenDatagram},
		stdin_socket => ($svc->{StandardInput} // '') eq 'socket',
		handler => $handler // '?',
		socket_file => $path,
		service_file => $svcfile,
	};
}
my %kind = map { ("$unit{$_}{handler}/" . ($unit{$_}{dgram} ? 'udp' : 'tcp') =>
    $unit{$_}{accept} ? 'Accept=yes' : 'Accept=no') } keys %unit;
is_deeply(\%kind, {
	'echod/tcp' => 'Accept=yes', 'smtpd/tcp' => 'Accept=yes',
	'httpd/tcp' => 'Accept=no', 'echod/udp' => 'Accept=no',
	'pingd/udp' => 'Accept=no' },
    'socket units: per connection for echod and smtpd over TCP, a listener '
    . 'for httpd, datagram sockets for echod and pingd over UDP');
for my $n (sort keys %unit) {
	is($unit{$n}{stdin_socket}, $unit{$n}{accept},
	    "$n: StandardInput=socket exactly with Accept=yes "
	    . '(Accept=no takes LISTEN_FDS)');
}

# The units, made this build's, pass systemd's own checker.
SKIP: {
	skip 'no systemd-analyze', 1
	    if system('command -v systemd-analyze >/dev/null') != 0;
	my $d = "$env->{dir}/units";
	mkdir $d;
	for my $f (glob("$top/etc/systemd/forkd-*")) {
		my $t = lines_subst($env, slurp($f), '/var/tmp');
		$t =~ s/^Documentation=.*\n//mg;	# man pages not in MANPATH
		spit("$d/" . ($f =~ s{.*/}{}r), $t);
	}
	my $v = `cd '$d' && systemd-analyze verify *.socket *.service 2>&1`;
	is($v, '', 'etc/systemd: systemd-analyze verify is clean') or diag($v);
}

my %check = (
	'echod/tcp' => \&check_echo_tcp, 'echod/udp' => \&check_echo_udp,
	'httpd/tcp' => \&check_http, 'pingd/udp' => \&check_ping,
	'smtpd/tcp' => \&check_smtp,
);

# The handler's user as the unit names it (User=forkd, DynamicUser=yes)
# is this test's user; setpriv execs, so LISTEN_PID stays right.
my @as = $env->{user} eq 'root' ? () : ('setpriv', '--reuid',
    $env->{user}, '--regid', (getgrgid((getpwnam($env->{user}))[3]))[0],
    '--clear-groups', '--');

my $run = 0;
for my $n (sort keys %unit) {
	my $u = $unit{$n};
	my $key = "$u->{handler}/" . ($u->{dgram} ? 'udp' : 'tcp');
	my @modes = $u->{dgram} ? ([1, 0], [0, 0]) :
	    ([1, 1], [1, 0], [0, 1], [0, 0]);
	for my $m (@modes) {
		my ($inetd, $accept) = @$m;
		my $as_unit = $inetd == $u->{stdin_socket} &&
		    $accept == $u->{accept};
		my $label = "$n " . join(' ', ($inetd ? '--inetd' : 'LISTEN_FDS'),
		    ($accept ? '--accept' : ())) . ($as_unit ? ' (as the unit)' : '');
		$run++;
		my $spool = lines_spool($env, "ssa$run");
		my $svc = lines_subst($env, slurp($u->{service_file}), $spool);
		my $sock = lines_subst($env, slurp($u->{socket_file}), $spool);
		my $listen = unit_keys($sock, 'Socket');
		my $addr = $listen->{ListenStream} // $listen->{ListenDatagram};
		my @cmd = split(' ', unit_keys($svc, 'Service')->{ExecStart});
		my $pid = lines_start($env, "ssa$run", $ssa, '-l', $addr,
		    ($u->{dgram} ? '-d' : ()), ($inetd ? '--inetd' : ()),
		    ($accept ? '-a' : ()), '--', @as, @cmd);
		lines_wait_file("$env->{dir}/ssa$run.err", qr/Listening on/)
		    or diag(slurp("$env->{dir}/ssa$run.err"));
		$check{$key}->($env, $label, $spool);
		lines_stop($pid);
	}
}

# The protocol's edges, through echod run by sh (exec keeps the pid that
# LISTEN_PID names). Variables meant for another process (a parent that
# was activated) are not ours: fd 0 is served as before.
my @echod = ('sh', '-c', 'eval "$1"; exec "$0" -d', build('echod'));
my ($st, $out, $err) = run_cmd("x\n", @echod,
    'export LISTEN_PID=1 LISTEN_FDS=1; exec 3</dev/null');
is($out, "x\n", 'LISTEN_PID of another process: stdin served as before');
($st, $out, $err) = run_cmd("x\n", @echod,
    'export LISTEN_PID=$$ LISTEN_FDS=2; exec 3</dev/null 4</dev/null');
is($st, 100, 'LISTEN_FDS=2: echod exits 100');
like($err, qr/LISTEN_FDS=2: a handler serves one socket/, '... saying why');
($st, $out, $err) = run_cmd("x\n", @echod,
    'export LISTEN_PID=$$ LISTEN_FDS=1; exec 3</dev/null');
is($st, 100, 'LISTEN_FDS=1 on a file: echod exits 100');
like($err, qr/fd 3 is not a socket/, '... saying why');
($st, $out, $err) = run_cmd("x\n", @echod,
    'export LISTEN_PID=$$ LISTEN_FDS=1x; exec 3</dev/null');
is($st, 100, 'LISTEN_FDS=1x: echod exits 100');
like($err, qr{LISTEN_PID/LISTEN_FDS: Invalid argument}, '... saying why');

done_testing();
