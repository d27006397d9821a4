#!/usr/bin/perl
# httpd: the sample page loaded by a real browser, Debian's headless
# Chromium, which takes a screenshot. The test asserts from the access
# log (read through the syslog capture) that the page's image was
# fetched, and that the screenshot is a PNG.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(build tmpdir free_port syslog_start wait_log
    need_root wait_port slurp listen_exec);
use IO::Socket::IP;
use Test::More;
use Time::HiRes qw(time sleep);

need_root();
plan skip_all => 'build/httpd is not built' unless -x build('httpd');
my ($chromium) = grep { -x } qw(/usr/bin/chromium /usr/bin/chromium-browser);
plan skip_all => 'chromium is not installed (mk/packages/httpd.txt lists it)'
    unless $chromium;

my $dir = tmpdir();
my $root = "$dir/www";
system('cp', '-R', "$FindBin::Bin/../../etc/www", $root) == 0 or die "cp";
my $sl = syslog_start($dir);
my ($port, $pid) = listen_exec(sl => $sl,
    cmd => [build('httpd'), '-r', $root, '-t', '5']);

my $shot = "$dir/shot.png";
my $cpid = fork() // die;
if ($cpid == 0) {
	open(STDIN, '<', '/dev/null');
	open(STDOUT, '>', "$dir/chromium.out");
	open(STDERR, '>', "$dir/chromium.err");
	$ENV{HOME} = $dir;
	exec($chromium, '--headless', '--no-sandbox', '--disable-gpu',
	    '--disable-quic', '--no-first-run', '--disable-background-networking',
	    '--disable-component-update', '--disable-sync',
	    "--user-data-dir=$dir/profile", "--screenshot=$shot",
	    '--window-size=480,320', "http://127.0.0.1:$port/") or POSIX::_exit(127);
}
my $end = time + 50;
my $done;
while (time < $end) {
	if (waitpid($cpid, POSIX::WNOHANG()) == $cpid) { $done = 1; last }
	sleep(0.1);
}
if (!$done) {
	kill('KILL', $cpid);
	waitpid($cpid, 0);
}
ok($done, 'chromium finished within 50 s');
my $img = slurp($shot) // '';
ok(substr($img, 0, 8) eq "\x89PNG\r\n\x1a\n", 'it wrote a PNG screenshot')
    or diag(slurp("$dir/chromium.err") // '');
ok(wait_log($sl, qr{"GET / HTTP/1\.1" 200 \d+ "-" "[^"]*HeadlessChrome}),
    'access log: chromium fetched the page');
ok(wait_log($sl, qr{"GET /forkd\.png HTTP/1\.1" 200 327 "http://127\.0\.0\.1:$port/" "[^"]*HeadlessChrome}),
    'access log: ... and the image it shows, with the page as Referer');

kill('TERM', $pid);
waitpid($pid, 0);
kill('TERM', $sl->{pid});
waitpid($sl->{pid}, 0);
done_testing();
