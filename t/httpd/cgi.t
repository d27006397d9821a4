#!/usr/bin/perl
# httpd: CGI/1.1 (RFC 3875). Seed 002's form through etc/www's Perl
# script, the meta-variables in a fresh environment (never HTTP_PROXY),
# the body on stdin, Status:/Location:, the time limit that kills the
# script's process group, and no zombie left behind.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(build tmpdir syslog_start wait_log need_root
    connect_tcp slurp spit listen_exec);
use HTTP::Tiny;
use IO::Socket::IP;
use Test::More;
use Time::HiRes qw(time sleep);

need_root();
plan skip_all => 'build/httpd is not built' unless -x build('httpd');

my $dir = tmpdir();
my $root = "$dir/www";
system('cp', '-R', "$FindBin::Bin/../../etc/www", $root) == 0 or die "cp";
sub script { my ($n, $s) = @_; spit("$root/cgi-bin/$n", $s); chmod 0755, "$root/cgi-bin/$n" }
script('env.sh', "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\n'\nenv | sort\n");
script('count.sh', "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\n'\nwc -c | tr -d ' '\n");
script('status.sh', "#!/bin/sh\nprintf 'Status: 404 No Such Thing\\nContent-Type: text/plain\\n\\nnot here\\n'\n");
script('redirect.sh', "#!/bin/sh\nprintf 'Location: http://127.0.0.1/elsewhere\\n\\n'\n");
script('broken.sh', "#!/bin/sh\necho 'this is no header'\n");
script('slow.sh', "#!/bin/sh\nsleep 300 &\necho \$! > $dir/bg.pid\necho \$\$ > $dir/fg.pid\nsleep 300\n");
spit("$root/cgi-bin/noexec.sh", "#!/bin/sh\necho hi\n");
chmod 0644, "$root/cgi-bin/noexec.sh";
my $sl = syslog_start($dir);

my ($port, $pid) = listen_exec(sl => $sl,
    env => { LEAKED_FROM_HTTPD => 'yes' },
    cmd => [build('httpd'), '-r', $root, '-t', '5', '-C', '1']);
my $base = "http://127.0.0.1:$port";
my $ht = HTTP::Tiny->new(timeout => 10);

# Seed 002, 5.1.2: the form, POSTed as a browser does.
my $r = $ht->post_form("$base/cgi-bin/form.pl",
    { yourname => 'Ada Lovelace', comment => 'It <works> & well' });
is($r->{status}, 200, 'the seed\'s form POSTed to /cgi-bin/form.pl: 200');
is($r->{content}, "<p>Your name:  Ada Lovelace <br>\n<p>You comment:  It &lt;works&gt; &amp; well\n",
    '... the seed\'s answer, byte for byte (HTML-escaped)');
is($r->{headers}{'content-type'}, 'text/html', '... Content-Type from the script');
$r = $ht->post_form("$base/cgi-bin/form.pl", { yourname => 'Ada' });
is($r->{content}, "Error: fields have not been filled.\n", 'a field missing: the seed\'s error');
$r = $ht->get("$base/cgi-bin/form.pl?yourname=Bob&comment=hi");
is($r->{content}, "<p>Your name:  Bob <br>\n<p>You comment:  hi\n", 'GET with a query string');

# Expect: 100-continue (RFC 9110 10.1.1): told to go on before the body.
{
	my $s = connect_tcp($port) or die;
	print $s "POST /cgi-bin/form.pl HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n" .
	    "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 20\r\n\r\n";
	my $first = '';
	sysread($s, $first, 100);
	is($first, "HTTP/1.1 100 Continue\r\n\r\n", 'Expect: 100-continue gets 100 Continue first');
	print $s "yourname=a&comment=b";
	my $all = '';
	while (sysread($s, my $b, 4096)) { $all .= $b }
	like($all, qr{^HTTP/1\.1 200 OK\r\n.*\r\n\r\n<p>Your name:  a <br>\n<p>You comment:  b\n\z}s,
	    '... then the answer to the body');
}

# Seed 002, 5.1.1: Hello World from a shell script, through curl.
my $out = `curl -s $base/cgi-bin/hello.sh`;
is($out, "<title>CGI Test Page</title>\n<center><h1>Hello World!</h1></center>\n",
    'curl: hello.sh (seed 5.1.1)');

# The meta-variables.
# (By hand: HTTP::Tiny will not send a Host of our choosing.)
my $s = connect_tcp($port) or die;
print $s "POST /cgi-bin/env.sh/extra/path?a=1&b=2 HTTP/1.1\r\nHost: www.example:8080\r\n" .
    "Content-Type: text/x-test\r\nX-Test: forty two\r\nProxy: http://evil.example:8080/\r\n" .
    "Content-Length: 3\r\n\r\nx=1";
my $resp = '';
while (sysread($s, my $b, 65536)) { $resp .= $b }
$r = { content => ($resp =~ /\r\n\r\n(.*)\z/s)[0] };
my %env = map { /^([^=]+)=(.*)$/ ? ($1, $2) : () } split /\n/, $r->{content} // '';
is($env{GATEWAY_INTERFACE}, 'CGI/1.1', 'GATEWAY_INTERFACE');
is($env{REQUEST_METHOD}, 'POST', 'REQUEST_METHOD');
is($env{QUERY_STRING}, 'a=1&b=2', 'QUERY_STRING');
is($env{CONTENT_LENGTH}, '3', 'CONTENT_LENGTH');
is($env{CONTENT_TYPE}, 'text/x-test', 'CONTENT_TYPE');
is($env{SCRIPT_NAME}, '/cgi-bin/env.sh', 'SCRIPT_NAME');
is($env{PATH_INFO}, '/extra/path', 'PATH_INFO');
is($env{REMOTE_ADDR}, '127.0.0.1', 'REMOTE_ADDR');
is($env{SERVER_NAME}, 'www.example', 'SERVER_NAME from Host, without the port');
is($env{SERVER_PORT}, $port, 'SERVER_PORT');
is($env{SERVER_PROTOCOL}, 'HTTP/1.1', 'SERVER_PROTOCOL');
is($env{HTTP_X_TEST}, 'forty two', 'HTTP_X_TEST from X-Test');
ok(!exists $env{HTTP_PROXY}, 'no HTTP_PROXY from a Proxy: field (httpoxy)');
ok(!exists $env{LEAKED_FROM_HTTPD}, 'a fresh environment: nothing of httpd\'s own');

# The body on stdin, larger than any buffer.
$r = $ht->request('POST', "$base/cgi-bin/count.sh", { content => 'z' x 300000 });
is($r->{content}, "300000\n", 'a 300 kB body reaches the script\'s stdin whole');

# Status: and Location:.
$r = $ht->get("$base/cgi-bin/status.sh");
is($r->{status}, 404, 'Status: 404 from the script');
is($r->{reason}, 'No Such Thing', '... with its reason phrase');
is($r->{content}, "not here\n", '... and its body');
$r = HTTP::Tiny->new(max_redirect => 0, timeout => 5)->get("$base/cgi-bin/redirect.sh");
is($r->{status}, 302, 'Location: alone is a 302');
is($r->{headers}{location}, 'http://127.0.0.1/elsewhere', '... to it');
$r = $ht->get("$base/cgi-bin/broken.sh");
is($r->{status}, 502, 'no header section from the script: 502');
$r = $ht->get("$base/cgi-bin/noexec.sh");
is($r->{status}, 403, 'a script that is not executable: 403');
$r = $ht->get("$base/cgi-bin/missing.sh");
is($r->{status}, 404, 'no such script: 404');
$r = $ht->request('PUT', "$base/cgi-bin/env.sh", { content => 'x' });
is($r->{status}, 405, 'PUT to a script: 405');
is($r->{headers}{allow}, 'GET, HEAD, POST', '... Allow: GET, HEAD, POST');

# The time limit (-C 1): 504, and the script's process group killed.
my $t0 = time;
$r = $ht->get("$base/cgi-bin/slow.sh");
my $dt = time - $t0;
is($r->{status}, 504, 'a script past -C 1: 504');
ok($dt < 4, sprintf('... after %.1f s', $dt));
my ($bg, $fg) = (slurp("$dir/bg.pid"), slurp("$dir/fg.pid"));
chomp($bg, $fg) if defined $bg && defined $fg;
my $end = time + 3;
sleep(0.05) while time < $end && (kill(0, $bg) || kill(0, $fg));
ok($bg && !kill(0, $bg), 'the script\'s background child was killed with its group');
ok($fg && !kill(0, $fg), 'the script itself was killed and reaped');

# Every child reaped: no zombie below httpd. The processes below httpd,
# each as its line of ancestry ("pid (comm) Z < ppid (comm) S < ... <
# httpd's pid"), and at what depth (1: httpd's own child, the helper).
sub below_httpd {
	my (%ppid, %state, %comm);
	for my $st (glob('/proc/[0-9]*/stat')) {
		my $s = slurp($st) // next;
		my ($p, $c, $state, $pp) = $s =~ /^(\d+) \((.*)\) (\S) (\d+)/s
		    or next;
		($ppid{$p}, $state{$p}, $comm{$p}) = ($pp, $state, $c);
	}
	my @below;
	for my $p (keys %state) {
		my @line = ("$p ($comm{$p}) $state{$p}");
		for (my $a = $ppid{$p}; $a && $a > 1; $a = $ppid{$a} // 0) {
			if ($a == $pid) {
				push @below, { depth => scalar(@line),
				    zombie => $state{$p} eq 'Z',
				    line => join(' < ', @line, $a) };
				last;
			}
			push @line, "$a (" . ($comm{$a} // '?') . ") $state{$a}";
		}
	}
	return @below;
}
# The 504's process ends when the client's connection does (it lingers
# for the client's close up to 1 s): close it, and wait for every
# process of a request to be gone, the helper's children included.
$ht = HTTP::Tiny->new(timeout => 10);
$end = time + 5;
sleep(0.05) while time < $end && grep { $_->{depth} > 1 } below_httpd();
my @z = grep { $_->{zombie} } below_httpd();
is(scalar(@z), 0, 'no zombies below httpd')
    or diag(join("\n", map { "zombie: $_->{line}" } @z));

ok(wait_log($sl, qr{"POST /cgi-bin/form\.pl HTTP/1\.1" 200 \d+ "-" "HTTP-Tiny}),
    'the CGI request in the access log');
ok(wait_log($sl, qr{cgi slow\.sh: killed after 1 s}), 'the kill is logged');

kill('TERM', $pid);
waitpid($pid, 0);
kill('TERM', $sl->{pid});
waitpid($sl->{pid}, 0);
done_testing();
