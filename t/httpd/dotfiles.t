#!/usr/bin/perl
# httpd: dotfiles. A path with a component that starts with a dot, plain
# or percent-encoded, is answered 404 as if absent, static or under
# cgi-bin; /.well-known/ (RFC 8615) is served; -D serves them all.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(build tmpdir spit listen_exec);
use Test::More;

plan skip_all => 'build/httpd is not built' unless -x build('httpd');
plan skip_all => 'needs curl' if system('curl --version >/dev/null 2>&1') != 0;

my $dir = tmpdir();
my $root = "$dir/www";
mkdir $_ for ($root, "$root/.git", "$root/a", "$root/.well-known",
    "$root/.well-known/acme", "$root/cgi-bin");
spit("$root/.htpasswd", "admin:secret\n");
spit("$root/.git/config", "[core]\n");
spit("$root/a/.hidden", "hidden\n");
spit("$root/a/shown.txt", "shown\n");
spit("$root/.well-known/x", "well known\n");
spit("$root/.well-known/acme/token", "token\n");
spit("$root/.well-known/.secret", "secret\n");
spit("$root/cgi-bin/.hidden.sh", "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\nran\\n'\n");
spit("$root/cgi-bin/ok.sh", "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\n%s\\n' \"\$PATH_INFO\"\n");
chmod 0755, "$root/cgi-bin/.hidden.sh", "$root/cgi-bin/ok.sh";

# The request target as written: curl must not normalise %2e or dots.
sub get {
	my ($port, $path) = @_;
	my $out = `curl -s --path-as-is -w ' %{http_code}' http://127.0.0.1:$port$path`;
	return $out;
}

my ($port) = listen_exec(cmd => [build('httpd'), '-r', $root]);
for my $p ('/.htpasswd', '/.git/config', '/.git/', '/a/.hidden',
    '/%2ehtpasswd', '/%2Egit/config', '/a/%2ehidden', '/a/%2E%68idden',
    '/a/b/../.hidden', '/./.htpasswd', '/.well-known/.secret',
    '/cgi-bin/.hidden.sh', '/cgi-bin/ok.sh/.git') {
	like(get($port, $p), qr/ 404\z/, "$p: 404");
	unlike(get($port, $p), qr/secret|\[core\]|hidden\n|ran/, "... none of the file's bytes");
}
is(get($port, '/a/shown.txt'), "shown\n 200", '/a/shown.txt: served');
is(get($port, '/.well-known/x'), "well known\n 200", '/.well-known/x: served');
is(get($port, '/%2ewell-known/acme/token'), "token\n 200",
    '/%2ewell-known/acme/token: served (decoded first)');
is(get($port, '/cgi-bin/ok.sh/x'), "/x\n 200", 'a CGI script with a plain PATH_INFO runs');

my ($dport) = listen_exec(cmd => [build('httpd'), '-D', '-r', $root]);
is(get($dport, '/.htpasswd'), "admin:secret\n 200", '-D: /.htpasswd served');
is(get($dport, '/a/%2ehidden'), "hidden\n 200", '-D: /a/%2ehidden served');

done_testing();
