#!/usr/bin/perl
# Logs a person can see. forkd -d shows its handlers' own log lines
# (smtpd's "delivered", httpd's access line) on its stderr, tagged with the
# service and the handler's pid, even where nothing listens on /dev/log,
# and says at start that nothing does. With a syslog daemon the handler's
# line reaches syslog once, under the handler's own name. A nowait spawn
# is logged with the client's address; httpd -L logs no access line.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(build tmpdir slurp free_port forkd_start forkd_stop
    syslog_start wait_log log_lines need_root connect_tcp read_lines read_n
    wait_line);
use Test::More;
use Time::HiRes qw(time sleep);

my ($smtpd, $httpd) = (build('smtpd'), build('httpd'));
plan skip_all => 'build/forkd, smtpd and httpd not built'
    unless -x build('forkd') && -x $smtpd && -x $httpd;
need_root();
$SIG{PIPE} = 'IGNORE';

my $www = "$Forkd::TOP/etc/www";

sub mail {
	my ($port) = @_;
	my $s = connect_tcp($port) or return '';
	syswrite($s, "HELO t\r\nMAIL FROM:<a\@b>\r\nRCPT TO:<c\@d>\r\nDATA\r\n"
	    . "hi\r\n.\r\nQUIT\r\n");
	return read_lines($s, 7);
}

sub get {
	my ($port, $line) = @_;
	my $s = connect_tcp($port) or return '';
	syswrite($s, "$line\r\nHost: t\r\nConnection: close\r\n\r\n");
	return read_n($s, 100000);
}

sub conf {
	my ($spool, $ps, $ph, $pq) = @_;
	return "127.0.0.1:$ps stream tcp prefork.1 root $smtpd smtpd -m $spool\n"
	    . "127.0.0.1:$ph stream tcp nowait root $httpd httpd -r $www\n"
	    . "127.0.0.1:$pq stream tcp nowait root $httpd httpd -L -r $www\n";
}

# 1. No syslog daemon: the capture's /dev is there, its /dev/log is not.
{
	my $dir = tmpdir();
	mkdir "$dir/spool";
	my $sl = syslog_start($dir);
	kill('TERM', $sl->{pid});
	waitpid($sl->{pid}, 0);
	$sl->{pid} = 0;
	unlink("$dir/dev/log");
	my ($ps, $ph, $pq) = (free_port(), free_port(), free_port());
	my $f = forkd_start(dir => $dir, sl => $sl,
	    conf => conf("$dir/spool", $ps, $ph, $pq),
	    wait_ports => [$ps, $ph, $pq]);
	my $err = $f->{stderr};

	like(wait_line($err, qr/nothing listens/) // '',
	    qr{^forkd: nothing listens on /dev/log: log lines are lost except on this terminal; install a syslog daemon \(apt-get install rsyslog\)$},
	    'no /dev/log: forkd says so at start, with what to do');

	like(mail($ps), qr/250 OK: +delivered message 1\r\n/, 'smtpd delivers');
	like(wait_line($err, qr/delivered message 1 /) // '',
	    qr{^forkd\[\d+\]: \Q127.0.0.1:$ps\E/tcp: pid \d+: delivered message 1 from 127\.0\.0\.1:\d+ helo=t from=<a\@b> to=<c\@d> size=4$},
	    "smtpd's delivery line on forkd's stderr, with service and pid");

	like(get($ph, "GET /forkd.png HTTP/1.1"), qr{^HTTP/1\.1 200 },
	    'httpd serves');
	my $access = wait_line($err, qr{"GET /forkd\.png HTTP/1\.1" 200 });
	like($access // '',
	    qr{^forkd\[\d+\]: \Q127.0.0.1:$ph\E/tcp: pid \d+: 127\.0\.0\.1 - - \[[^]]+\] "GET /forkd\.png HTTP/1\.1" 200 327 "-" "-"$},
	    "httpd's access line on forkd's stderr, with service and pid");
	my ($hpid) = ($access // '') =~ /pid (\d+): /;
	like(wait_line($err, qr{/tcp: pid \Q$hpid\E from }) // '',
	    qr{^forkd\[\d+\]: \Q127.0.0.1:$ph\E/tcp: pid $hpid from 127\.0\.0\.1 port \d+$},
	    'the nowait spawn of that pid is logged with the client address');

	# Peer text stays escaped: httpd escapes it, forkd leaves its
	# backslashes alone and lets no control byte through.
	get($ph, "GET /\x01\x1b[2J HTTP/1.1");
	my $esc = wait_line($err, qr{\Q127.0.0.1:$ph\E/tcp: pid \d+: .*" 400 });
	like($esc // '', qr{"GET /\\001\\033\[2J HTTP/1\.1" 400 },
	    'a request line with control bytes shows escaped once');

	like(get($pq, "GET /forkd.png HTTP/1.1"), qr{^HTTP/1\.1 200 },
	    'httpd -L serves');
	my $qfrom = wait_line($err, qr{\Q127.0.0.1:$pq\E/tcp: pid \d+ from });
	my ($qpid) = ($qfrom // '') =~ /pid (\d+) from/;
	ok(defined $qpid && wait_line($err,
	    qr{\Q127.0.0.1:$pq\E/tcp: pid $qpid exited 0}),
	    'httpd -L: its spawn and exit are logged');
	my @access = grep { m{\Q127.0.0.1:$pq\E/tcp: pid \d+: .*"GET } }
	    split(/\n/, slurp($err) // '');
	is(scalar(@access), 0, 'httpd -L: no access line');

	my @raw = grep { /pid \d+: <\d+>/ || /\x01|\x1b/ }
	    split(/\n/, slurp($err) // '');
	is(scalar(@raw), 0, 'no <PRI> and no control byte reaches the terminal');
	forkd_stop($f);
}

# 2. A syslog daemon: the handler's line reaches it once, as the handler's
# own (smtpd's LOG_MAIL, <22> = mail.info); forkd logs its spawn line.
{
	my $dir = tmpdir();
	mkdir "$dir/spool";
	my ($ps, $ph, $pq) = (free_port(), free_port(), free_port());
	my $f = forkd_start(dir => $dir,
	    conf => conf("$dir/spool", $ps, $ph, $pq),
	    wait_ports => [$ps, $ph, $pq]);
	like(mail($ps), qr/delivered message 1\r\n/, 'syslog: smtpd delivers');
	like(wait_log($f->{sl}, qr/delivered message 1 /) // '',
	    qr/^<22>.*smtpd\[\d+\]: delivered message 1 from /,
	    'syslog: the delivery line is smtpd\'s own, at mail.info');
	get($ph, "GET / HTTP/1.1");
	like(wait_log($f->{sl}, qr{\Q127.0.0.1:$ph\E/tcp: pid \d+ from }) // '',
	    qr{^<30>.*forkd\[\d+\]: \Q127.0.0.1:$ph\E/tcp: pid \d+ from 127\.0\.0\.1 port \d+$},
	    'syslog: the nowait spawn line, at daemon.info');
	ok(wait_log($f->{sl}, qr{httpd\[\d+\]: 127\.0\.0\.1 - - .*"GET / HTTP/1\.1" 200 }),
	    'syslog: httpd\'s access line');
	sleep(0.3);
	my @d = grep { /delivered message 1 / } log_lines($f->{sl});
	is(scalar(@d), 1, 'syslog: the delivery line once, not again by forkd');
	ok(!grep({ /nothing listens/ } split(/\n/, slurp($f->{stderr}) // '')),
	    'syslog: no warning about /dev/log');
	like(wait_line($f->{stderr}, qr/delivered message 1 /) // '',
	    qr{^forkd\[\d+\]: \Q127.0.0.1:$ps\E/tcp: pid \d+: delivered message 1 },
	    'syslog: forkd -d still shows the line on its stderr');
	forkd_stop($f);
}

done_testing();
