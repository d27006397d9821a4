#!/usr/bin/perl
# httpd: a CGI script's local redirect (RFC 3875 6.2.2). "Location:" with
# a local path and no Status makes the server answer that path in the
# script's place, with GET semantics: a static file, or another script
# with the new path's meta-variables and no body; bounded, a loop ends
# in 500. A Location with an absolute URI stays a 302 for the client.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(build tmpdir spit slurp listen_exec);
use Test::More;

plan skip_all => 'build/httpd is not built' unless -x build('httpd');
plan skip_all => 'needs curl' if system('curl --version >/dev/null 2>&1') != 0;

my $dir = tmpdir();
my $root = "$dir/www";
mkdir $_ for ($root, "$root/cgi-bin", "$root/sub");
spit("$root/hello.txt", "hello\n");
spit("$root/sub/index.html", "<p>sub</p>\n");
spit("$root/.secret", "secret\n");
sub script { my ($n, $s) = @_; spit("$root/cgi-bin/$n", "#!/bin/sh\n$s"); chmod 0755, "$root/cgi-bin/$n" }
script('local.sh', "printf 'Location: /hello.txt\\n\\n'\n");
script('local-extra.sh', "cat >/dev/null\nprintf 'Location: /hello.txt\\nX-Script: yes\\n\\nscript body\\n'\n");
script('to-env.sh', "cat >/dev/null\nprintf 'Location: /cgi-bin/env.sh/more/path?x=1&y=2\\n\\n'\n");
script('env.sh', "printf 'Content-Type: text/plain\\n\\n'\nenv | grep -E '^(REQUEST_METHOD|QUERY_STRING|SCRIPT_NAME|PATH_INFO|CONTENT_LENGTH|CONTENT_TYPE|REQUEST_URI)=' | sort\n");
script('loop.sh', "printf 'Location: /cgi-bin/loop.sh\\n\\n'\n");
script('missing.sh', "printf 'Location: /nothing.txt\\n\\n'\n");
script('dot.sh', "printf 'Location: /.secret\\n\\n'\n");
script('dir.sh', "printf 'Location: /sub\\n\\n'\n");
script('client.sh', "printf 'Location: http://127.0.0.1/elsewhere\\n\\n'\n");
script('status.sh', "printf 'Status: 303 See Other\\nLocation: /hello.txt\\n\\n'\n");

my ($port) = listen_exec(cmd => [build('httpd'), '-r', $root, '-C', '5']);
my $base = "http://127.0.0.1:$port";
sub curl { my $o = `curl -s -m 10 @_`; return $o }

is(curl("-w ' %{http_code} %{content_type}' $base/cgi-bin/local.sh"),
    "hello\n 200 text/plain", 'Location: /hello.txt: the file is served in the script\'s place');
my $h = curl("-D - -o /dev/null $base/cgi-bin/local.sh");
like($h, qr{^HTTP/1\.1 200 OK\r\n}, '... status line 200');
like($h, qr{\r\nContent-Length: 6\r\n}i, '... the file\'s Content-Length');
unlike($h, qr{\r\nLocation:}i, '... no Location for the client');
$h = curl("-I $base/cgi-bin/local.sh");
like($h, qr{^HTTP/1\.1 200 OK\r\n.*Content-Length: 6\r\n}si, 'HEAD: 200 with the file\'s length');
is(curl("-w ' %{http_code}' -d 'a=1' $base/cgi-bin/local-extra.sh"), "hello\n 200",
    'POST, and the script\'s other fields and body: only the file reaches the client');
unlike(curl("-D - -o /dev/null $base/cgi-bin/local-extra.sh"), qr/X-Script/i,
    '... not the script\'s X-Script field');

is(curl("-d 'posted=body' $base/cgi-bin/to-env.sh"),
    "PATH_INFO=/more/path\nQUERY_STRING=x=1&y=2\nREQUEST_METHOD=GET\n" .
    "REQUEST_URI=/cgi-bin/env.sh/more/path?x=1&y=2\nSCRIPT_NAME=/cgi-bin/env.sh\n",
    'a local redirect to another script: GET, its query and path info, no body');

is(curl("-w ' %{http_code}' -o /dev/null $base/cgi-bin/loop.sh"), ' 500',
    'a script redirecting to itself: 500 after a bounded number of rounds');
is(curl("-w ' %{http_code}' -o /dev/null $base/cgi-bin/missing.sh"), ' 404',
    'a local redirect to a missing file: 404');
is(curl("-w ' %{http_code}' $base/cgi-bin/dot.sh") =~ /secret/ ? 'leak' : 'ok', 'ok',
    'a local redirect to a dotfile does not serve it');
is(curl("-w ' %{http_code}' -o /dev/null $base/cgi-bin/dot.sh"), ' 404', '... 404');
is(curl("-w ' %{http_code} %{redirect_url}' -o /dev/null $base/cgi-bin/dir.sh"),
    " 301 $base/sub/", 'a local redirect to a directory without slash: 301 to the slash form');

is(curl("-w ' %{http_code} %{redirect_url}' -o /dev/null $base/cgi-bin/client.sh"),
    ' 302 http://127.0.0.1/elsewhere', 'Location with an absolute URI: 302 for the client');
is(curl("-w ' %{http_code} %{redirect_url}' -o /dev/null $base/cgi-bin/status.sh"),
    " 303 $base/hello.txt", 'a local path with a Status: the client is redirected, not served');

done_testing();
