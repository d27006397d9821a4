package SmtpBench;
# Shared start-up of the SMTP benchmarks (bench/smtpd.pl,
# bench/smtp-source.pl): the servers they measure, each in a temporary
# directory of its own, on a free loopback port.
#
#   start(DIR, CMD...)       a server in the background, its output in
#                            DIR/out and DIR/err; returns its pid
#   stop(PID)                SIGTERM and reap it
#   forkd_smtpd(DIR, PORT, TYPE, ARGS)
#                            build/forkd -d running build/smtpd ARGS as
#                            a TYPE service (prefork.32, nowait.0);
#                            returns its pid
#   postfix_start(DIR, PORT, MAINCF)
#                            a private Postfix (its own config, queue and
#                            data directories under DIR, never the
#                            system's service) listening on PORT, with
#                            the lines MAINCF added to its main.cf;
#                            returns a sub that stops it, or (undef, why
#                            it cannot run: not root, not installed)
use strict;
use warnings;
use Exporter 'import';
use FindBin;
use POSIX ();

our @EXPORT_OK = qw(start stop forkd_smtpd postfix_start);

my $bld = "$FindBin::Bin/../build";

sub start {
	my ($dir, @cmd) = @_;
	my $pid = fork() // die "fork: $!";
	if ($pid == 0) {
		open(STDIN, '<', '/dev/null');
		open(STDOUT, '>', "$dir/out");
		open(STDERR, '>', "$dir/err");
		exec(@cmd) or POSIX::_exit(127);
	}
	return $pid;
}

sub stop {
	my ($pid) = @_;
	kill('TERM', $pid);
	waitpid($pid, 0);
}

sub forkd_smtpd {
	my ($dir, $port, $type, $args) = @_;
	open(my $fh, '>', "$dir/forkd.conf") or die "$dir/forkd.conf: $!";
	print $fh "127.0.0.1:$port stream tcp $type root $bld/smtpd $args\n";
	close($fh);
	return start($dir, "$bld/forkd", '-d', '-f', "$dir/forkd.conf",
	    '-p', "$dir/forkd.pid");
}

# The main.cf lines every private instance has: its directories, loopback
# only, no aliases, no relaying; the caller adds where mail goes.
sub postfix_start {
	my ($d, $port, $maincf) = @_;
	return (undef, 'needs root') if $> != 0;
	return (undef, 'not installed') if !-x '/usr/sbin/postfix' ||
	    !getpwnam('postfix');
	my ($uid, $gid) = (getpwnam('postfix'))[2, 3];
	chmod(0755, $d);	# the postfix user works in pfq
	mkdir "$d/$_" for qw(pf pfq pfd);
	chown($uid, $gid, "$d/pfq", "$d/pfd");
	open(my $in, '<', '/etc/postfix/master.cf') or
	    return (undef, 'no master.cf');
	open(my $out, '>', "$d/pf/master.cf") or die "$d/pf/master.cf: $!";
	while (<$in>) {
		s/^smtp\s+inet\s.*/127.0.0.1:$port inet n - n - 100 smtpd/;
		print $out $_;
	}
	close($out);
	open($out, '>', "$d/pf/main.cf") or die "$d/pf/main.cf: $!";
	print $out <<"EOF" . $maincf;
compatibility_level = 3.6
queue_directory = $d/pfq
data_directory = $d/pfd
mail_owner = postfix
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = bench.example
mynetworks = 127.0.0.0/8
alias_maps =
alias_database =
smtpd_relay_restrictions = permit_mynetworks, reject
maillog_file = /dev/stdout
default_process_limit = 100
EOF
	close($out);
	system("postfix -c $d/pf check >$d/check.out 2>&1") == 0
	    or return (undef, 'postfix check failed');
	my $pid = start($d, 'postfix', '-c', "$d/pf", 'start-fg');
	return sub {
		system("postfix -c $d/pf stop >/dev/null 2>&1");
		stop($pid);
	};
}

1;
