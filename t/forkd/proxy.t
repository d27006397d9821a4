#!/usr/bin/perl
# The PROXY protocol ("+proxy" in forkd.conf(5)) behind a private HAProxy
# run in the foreground on its own config: echod, smtpd and httpd, nowait,
# prefork and wait, with send-proxy-v2 and send-proxy. HAProxy connects to
# forkd from 127.0.0.2, the clients to HAProxy from 127.0.0.1 (and
# 127.0.0.3), so the handlers' logs, smtpd's mailbox, httpd's access log
# and a CGI program's REMOTE_ADDR show which one they saw. Per-source
# limits count the real client. Then, straight to forkd: a missing,
# malformed (every v1 and v2 field wrong in turn), truncated or slow
# header is closed unserved, no protocol byte sent, and logged.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(build tmpdir slurp spit forkd_start forkd_stop wait_log
    log_lines need_root free_port read_n read_lines wait_port);
use IO::Select;
use IO::Socket::IP;
use POSIX ();
use Socket qw(inet_aton inet_pton AF_INET6);
use Test::More;
use Time::HiRes qw(time sleep);

for my $p (qw(forkd echod smtpd httpd)) {
	plan skip_all => "build/$p not built" unless -x build($p);
}
my $haproxy = '/usr/sbin/haproxy';
plan skip_all => "$haproxy not installed (Debian package haproxy)"
    unless -x $haproxy;
need_root();
$SIG{PIPE} = 'IGNORE';

my $user = system('runuser', '-u', 'nobody', '--', 'test', '-x',
    build('echod')) == 0 ? 'nobody' : 'root';
my $dir = tmpdir();
chmod(0755, $dir);
mkdir("$dir/$_") for qw(www www/cgi-bin spool1 spool2);
spit("$dir/www/index.html", "hello\n");
spit("$dir/www/cgi-bin/addr", "#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\n\\r\\n%s %s\\n' \"\$REMOTE_ADDR\" \"\$SERVER_PORT\"\n");
chmod(0644, "$dir/www/index.html");
chmod(0755, "$dir/www/cgi-bin/addr");

my ($echod, $smtpd, $httpd) = map { build($_) } qw(echod smtpd httpd);
# forkd's services, each behind one HAProxy frontend.
my %svc = (
    echo_pre => ['prefork.2/0/0/1+proxy', "$echod echod", 'send-proxy-v2'],
    echo_now => ['nowait+proxy', "$echod echod", 'send-proxy'],
    echo_wait => ['wait+proxy', "$echod echod", 'send-proxy-v2'],
    smtp_pre => ['prefork.2+proxy', "$smtpd smtpd -F mbox -n mx.test "
	. "-m $dir/spool1", 'send-proxy-v2'],
    smtp_now => ['nowait+proxy', "$smtpd smtpd -F mbox -n mx.test "
	. "-m $dir/spool2", 'send-proxy'],
    http_pre => ['prefork.2+proxy', "$httpd httpd -r $dir/www",
	'send-proxy'],
    http_now => ['nowait+proxy', "$httpd httpd -r $dir/www",
	'send-proxy-v2'],
);
my (%back, %front, $conf, $hconf);
$hconf = <<'EOF';
global
	maxconn 200
defaults
	mode tcp
	timeout connect 2s
	timeout client 20s
	timeout server 20s
EOF
for my $name (sort keys %svc) {
	my ($mode, $cmd, $send) = @{ $svc{$name} };
	my ($prog, @argv) = split(' ', $cmd);
	my $u = $name =~ /^smtp/ ? 'root' : $user;
	$back{$name} = free_port();
	$front{$name} = free_port();
	$conf .= "127.0.0.1:$back{$name}\tstream\ttcp\t$mode\t$u\t$prog\t"
	    . join(' ', @argv) . "\n";
	$hconf .= "listen $name\n\tbind 127.0.0.1:$front{$name}\n"
	    . "\tserver s1 127.0.0.1:$back{$name} $send source 127.0.0.2\n";
}
my $f = forkd_start(dir => $dir, conf => $conf,
    wait_ports => [values %back]);
my $sl = $f->{sl};

spit("$dir/haproxy.cfg", $hconf);
my $hpid = fork() // die "fork: $!";
if ($hpid == 0) {
	open(STDIN, '<', '/dev/null');
	open(STDOUT, '>', "$dir/haproxy.out");
	open(STDERR, '>&', \*STDOUT);
	exec($haproxy, '-f', "$dir/haproxy.cfg", '-db') or POSIX::_exit(127);
}
push @Forkd::STARTED, $hpid;
for (values %front) {
	wait_port($_, 5) or BAIL_OUT("haproxy never listened: "
	    . (slurp("$dir/haproxy.out") // ''));
}

sub conn {
	my ($port, $src) = @_;
	return IO::Socket::IP->new(PeerHost => '127.0.0.1', PeerPort => $port,
	    LocalHost => $src // '127.0.0.1', Proto => 'tcp')
	    // die "connect $port: $!";
}

sub echoes {
	my ($s, $tag) = @_;
	my $line = "echo $tag\n";
	syswrite($s, $line);
	return read_n($s, length($line), 5) eq $line;
}

# One message through SMTP on $port from $src; returns the replies.
sub smtp_send {
	my ($port, $src, $tag) = @_;
	my $s = conn($port, $src);
	my $r = read_lines($s, 1);
	for my $c ("EHLO client.test", "MAIL FROM:<a\@example.org>",
	    "RCPT TO:<b\@example.org>", "DATA") {
		syswrite($s, "$c\r\n");
		$r .= read_lines($s, $c =~ /^EHLO/ ? 1 : 1);
		# EHLO's reply has several lines: read to the last.
		$r .= read_lines($s, 1) while $c =~ /^EHLO/ && $r !~ /^250 /m;
	}
	syswrite($s, "Subject: $tag\r\n\r\nbody\r\n.\r\nQUIT\r\n");
	$r .= read_lines($s, 2);
	return $r;
}

# --- Through HAProxy: the handlers see the client, not the balancer.
for my $name (qw(echo_pre echo_now echo_wait)) {
	# Retried: echo_pre allows one connection per address, and the
	# probe of HAProxy's port, closed, counts until echod reads its EOF.
	my ($s, $lport, $ok);
	for (1 .. 10) {
		$s = conn($front{$name});
		$lport = $s->sockport;
		last if ($ok = echoes($s, $name));
		close($s);
		sleep(0.3);
	}
	ok($ok, "$name: echoed through HAProxy ($svc{$name}[2])")
	    or diag(slurp("$dir/haproxy.out"));
	close($s);
	ok(wait_log($sl, qr/echod\[\d+\]: connect 127\.0\.0\.1:$lport\b/, 3),
	    "$name: echod logs the client 127.0.0.1:$lport");
}

for my $name (qw(smtp_pre smtp_now)) {
	my $r = smtp_send($front{$name}, '127.0.0.1', $name);
	like($r, qr/^250 OK:  delivered message 1\r$/m,
	    "$name: delivered through HAProxy ($svc{$name}[2])");
	my $spool = $name eq 'smtp_pre' ? 'spool1' : 'spool2';
	my $mb = slurp("$dir/$spool/mailbox") // '';
	like($mb, qr/^Received: from client\.test \(\[127\.0\.0\.1\]\) by mx\.test /m,
	    "$name: the mailbox's Received line names 127.0.0.1");
	unlike($mb, qr/127\.0\.0\.2/, "$name: and not HAProxy's 127.0.0.2");
}
ok(wait_log($sl, qr/smtpd\[\d+\]: delivered message 1 from 127\.0\.0\.1:/,
    3), 'smtpd logs the delivery from 127.0.0.1');

for my $name (qw(http_pre http_now)) {
	my $s = conn($front{$name});
	syswrite($s, "GET /cgi-bin/addr HTTP/1.1\r\nHost: x\r\n"
	    . "Connection: close\r\n\r\n");
	my $r = read_n($s, 4096, 5);
	# SERVER_PORT: the port the client called, HAProxy's.
	like($r, qr/\r\n\r\n127\.0\.0\.1 $front{$name}\n\z/,
	    "$name: CGI REMOTE_ADDR is 127.0.0.1, SERVER_PORT HAProxy's "
	    . "($svc{$name}[2])");
	ok(wait_log($sl, qr{httpd\[\d+\]: 127\.0\.0\.1 - - \[.*"GET /cgi-bin/addr HTTP/1\.1" 200},
	    3), "$name: the access log names 127.0.0.1");
}
unlike(join("\n", grep { /(?:echod|smtpd|httpd)\[/ } log_lines($sl)),
    qr/127\.0\.0\.2/, 'no handler logged HAProxy\'s address 127.0.0.2');

# Per-source limits count the client: echo_pre allows one per address.
{
	my $a = conn($front{echo_pre});
	ok(echoes($a, 'held'), 'limit: 127.0.0.1 holds its one connection');
	my $b = conn($front{echo_pre});
	syswrite($b, "x\n");
	is(read_n($b, 2, 3), '', 'limit: a second from 127.0.0.1 is closed');
	ok(echoes(conn($front{echo_pre}, '127.0.0.3'), 'other'),
	    'limit: 127.0.0.3, through the same HAProxy, is served');
	ok(wait_log($sl, qr/echod\[\d+\]: 127\.0\.0\.1:\d+: refused: max-child-per-ip/, 3),
	    'limit: the refusal names the client 127.0.0.1');
	close($a);
}

# --- Straight to forkd: bad headers are closed unserved and logged.
my $sig = "\r\n\r\n\0\r\nQUIT\n";
sub v2 {
	my ($vc, $fam, $block) = @_;
	return $sig . chr($vc) . chr($fam) . pack('n', length($block)) . $block;
}
my $in4 = inet_aton('192.0.2.7') . inet_aton('127.0.0.1') . pack('nn', 5555, 25);
my $in6 = inet_pton(AF_INET6, '2001:db8::7') . inet_pton(AF_INET6, '::1')
    . pack('nn', 5555, 25);
my $v1 = 'PROXY TCP4 192.0.2.7 127.0.0.1 5555 25';
my @bad = (
    ['missing', "EHLO client.test\r\n", qr/no PROXY header/],
    ['v1 word', "PROXI TCP4 192.0.2.7 127.0.0.1 5555 25\r\n", qr/no PROXY header/],
    ['v1 protocol', "PROXY TCP5 192.0.2.7 127.0.0.1 5555 25\r\n", qr/protocol/],
    ['v1 source', "PROXY TCP4 192.0.2.700 127.0.0.1 5555 25\r\n", qr/source address/],
    ['v1 destination', "PROXY TCP4 192.0.2.7 ::1 5555 25\r\n", qr/destination address/],
    ['v1 source port', "PROXY TCP4 192.0.2.7 127.0.0.1 65536 25\r\n", qr/source port/],
    ['v1 destination port', "PROXY TCP4 192.0.2.7 127.0.0.1 5555 025\r\n", qr/destination port/],
    ['v1 spaces', "PROXY TCP4  192.0.2.7 127.0.0.1 5555 25\r\n", qr/empty field/],
    ['v1 fields', "PROXY TCP4 192.0.2.7 127.0.0.1 5555\r\n", qr/fewer than six/],
    ['v1 line end', "$v1\n", qr/control/],
    ['v1 too long', 'PROXY UNKNOWN ' . ('x' x 100) . "\r\n", qr/no CRLF within 107/],
    ['v2 signature', "\r\n\r\n\0\r\nQUIX\n" . "\x21\x11\0\x0c" . $in4, qr/signature/],
    ['v2 version', v2(0x11, 0x11, $in4), qr/version/],
    ['v2 command', v2(0x23, 0x11, $in4), qr/command/],
    ['v2 family', v2(0x21, 0x41, $in4), qr/family/],
    ['v2 protocol', v2(0x21, 0x13, $in4), qr/transport protocol/],
    ['v2 datagram', v2(0x21, 0x12, $in4), qr/DGRAM/],
    ['v2 length', v2(0x21, 0x21, $in4), qr/length shorter/],
    ['v1 truncated', "PROXY TCP4 192.0.2.7 127", qr/truncated/],
    ['v2 truncated', substr(v2(0x21, 0x21, $in6), 0, 30), qr/truncated/],
);
my $before = grep { /PROXY header: / } log_lines($sl);
for my $target (qw(smtp_pre smtp_now)) {
	for my $b (@bad) {
		my ($what, $bytes, $why) = @$b;
		my $s = conn($back{$target});
		my $lport = $s->sockport;
		syswrite($s, $bytes);
		shutdown($s, 1) if $what =~ /truncated/;
		is(read_n($s, 100, 5), '', "$target: $what: closed, nothing "
		    . "sent (no 220)");
		ok(wait_log($sl, qr/127\.0\.0\.1:$lport: PROXY header: .*$why.*: closed/, 3),
		    "$target: $what: logged");
	}
}
# Each bad header logged once.
{
	my @l = grep { /PROXY header: / } log_lines($sl);
	is(scalar(@l) - $before, 2 * @bad, 'each bad header logged once');
}

# v2 LOCAL (a health check of the balancer's own) and v1 UNKNOWN: served
# as connections from the balancer; TLVs after v2 addresses are skipped.
for my $case (['v2 LOCAL', v2(0x20, 0x00, '')],
    ['v1 UNKNOWN', "PROXY UNKNOWN\r\n"],
    ['v2 TCP6 with a TLV', v2(0x21, 0x21, $in6 . "\x04\0\x03abc")]) {
	my ($what, $hdr) = @$case;
	for my $target (qw(smtp_pre smtp_now)) {
		my $s = conn($back{$target}, '127.0.0.2');
		syswrite($s, $hdr);
		like(read_lines($s, 1), qr/^220 mx\.test /,
		    "$target: $what: greeted");
		syswrite($s, "QUIT\r\n");
		like(read_lines($s, 1), qr/^221 /, "$target: $what: QUIT read "
		    . "whole after the header");
	}
}

# Slow: one byte a second, in parallel to a prefork and a nowait service.
{
	my @s = map { conn($back{$_}) } qw(smtp_pre smtp_now);
	my $sel = IO::Select->new(@s);
	my $hdr = "$v1\r\n";
	my ($i, $start, %closed) = (0, time, ());
	while (keys(%closed) < 2 && time - $start < 8) {
		for my $s (@s) {
			syswrite($s, substr($hdr, $i, 1)) unless $closed{$s};
		}
		$i++;
		for my $s ($sel->can_read(1)) {
			my $r = sysread($s, my $buf, 100);
			if (!$r) {
				$closed{$s} = time - $start;
				$sel->remove($s);
			}
		}
	}
	ok($closed{$s[0]} && $closed{$s[0]} < 6, 'slow header (prefork): '
	    . 'closed after ' . ($closed{$s[0]} // 'never'));
	ok($closed{$s[1]} && $closed{$s[1]} < 6, 'slow header (nowait): '
	    . 'closed after ' . ($closed{$s[1]} // 'never'));
	ok($i < length($hdr), "slow header: closed before it was whole "
	    . "($i of " . length($hdr) . ' bytes)');
	ok(wait_log($sl, qr/smtpd\[\d+\]: 127\.0\.0\.1:\d+: PROXY header: slow/, 3),
	    'slow header (prefork): logged');
	ok(wait_log($sl, qr/forkd\[\d+\]: .*: PROXY header: slow/, 3),
	    'slow header (nowait): logged');
}

kill('TERM', $hpid);
waitpid($hpid, 0);
is(forkd_stop($f), 0, 'forkd stops cleanly');
done_testing();
