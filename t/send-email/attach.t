#!/usr/bin/perl
# send-email -a and -i: what aiosmtpd (a server nobody here wrote)
# received, read back with python's email package: the parts, their
# media types (named by libmagic), file names (RFC 2231 for non-ASCII)
# and bytes, equal to the files sent; and s-nail opens the message.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(build tmpdir free_port wait_port slurp spit run_cmd);
use Certs qw(have_openssl make_certs);
use Digest::SHA qw(sha256_hex);
use Encode qw(decode);
use POSIX qw(:sys_wait_h);
use Test::More;

my $se = build('send-email');
plan skip_all => 'build/send-email is not built' unless -x $se;
plan skip_all => 'no openssl CLI (mk/packages/tls.txt)' unless have_openssl();
my ($py) = grep { system("$_ -c 'import aiosmtpd' 2>/dev/null") == 0 }
    qw(/usr/bin/python3 python3);
plan skip_all => 'python3 without aiosmtpd (Debian python3-aiosmtpd, '
    . 'mk/packages/tls.txt)' unless $py;

my $dir = tmpdir();
my $c = make_certs($dir);
my @started;
END { local $?; for (@started) { kill('TERM', $_); waitpid($_, 0) } }

my $out = "$dir/peer";
mkdir $out;
my $port = free_port();
my $pid = fork() // die;
if ($pid == 0) {
	open(STDIN, '<', '/dev/null');
	open(STDOUT, '>', '/dev/null');
	open(STDERR, '>', "$out/stderr");
	exec($py, "$FindBin::Bin/../lib/aiosmtpd-peer.py", $port, $c->{cert},
	    $c->{key}, $out, 'starttls') or POSIX::_exit(127);
}
push @started, $pid;
wait_port($port, 10) or die "aiosmtpd: not up";

# The files: a 1x1 PNG, a small PDF under a non-ASCII name, every byte.
my $png = pack('H*', '89504e470d0a1a0a0000000d4948445200000001000000010806'
    . '0000001f15c4890000000d49444154789c63f8cfc0f01f0005000201a2d62e3f00'
    . '00000049454e44ae426082');
my $pdf = "%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
    . "2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\ntrailer "
    . "<< /Root 1 0 R >>\n%%EOF\n";
srand(7);	# bytes that no magic number names: application/octet-stream
my $bin = "\0\0forkd\0" . join('', map { chr(int(rand(256))) } 1 .. 10240);
my $pdfname = "rapport d'\x{c3}\x{a9}t\x{c3}\x{a9} \x{e2}\x{82}\x{ac}.pdf";
spit("$dir/pixel.png", $png);
spit("$dir/$pdfname", $pdf);
spit("$dir/bytes.bin", $bin);

# The MIME tree of message N as python's email package reads it.
sub tree {
	my ($file) = @_;
	my ($rc, $o, $e) = run_cmd(undef, $py, "$FindBin::Bin/../lib/mime-parts.py", $file);
	is($rc, 0, 'python email parses it') or diag($e);
	return [ map { [ split(/\t/, $_, -1) ] } split(/\n/, $o) ];
}

my $text = "Bonjour,\nle rapport est joint. Caf\x{c3}\x{a9} \x{e2}\x{82}\x{ac}5.\n";

# 1. -a three times: multipart/mixed, the text first.
{
	my ($rc, undef, $err) = run_cmd($text, $se, '-t', 10, '-S', '-C', $c->{ca},
	    '-p', $port, '-s', 'files', '-a', "$dir/pixel.png", '-a',
	    "$dir/$pdfname", '-a', "$dir/bytes.bin", '127.0.0.1', 'bob@example.org');
	is($rc, 0, '-a x3: exit 0') or diag($err);
	my $t = tree("$out/msg1");
	is_deeply([ map { "$_->[0] $_->[1] $_->[2]" } @$t ], [
	    '0 multipart/mixed ', '1 text/plain ', '1 image/png attachment',
	    '1 application/pdf attachment', '1 application/octet-stream attachment'
	    ], 'parts: the text first, then each file with its media type');
	is($t->[1][6], "Bonjour,\\nle rapport est joint. Caf\x{c3}\x{a9} \x{e2}\x{82}\x{ac}5.\\n",
	    'the text, 8-bit, as written');
	is_deeply([ map { $_->[3] } @$t[2..4] ], [ 'pixel.png', $pdfname, 'bytes.bin' ],
	    'file names, the non-ASCII one too');
	is_deeply([ map { $_->[5] } @$t[2..4] ],
	    [ sha256_hex($png), sha256_hex($pdf), sha256_hex($bin) ],
	    'the bytes of each file');
	my $raw = slurp("$out/msg1");
	like($raw, qr/^ filename\*=UTF-8''rapport%20d%27%C3%A9t%C3%A9%20%E2%82%AC\.pdf\r$/m,
	    'the non-ASCII name as RFC 2231 says');
	ok(!grep({ length($_) > 78 } split(/\r\n/, $raw)), 'no line over 78');
	like(slurp("$out/log"), qr/^DATA .* tls=1 /m, 'sent inside TLS');
}

# 2. -i: the image inline in multipart/related beside an HTML part.
{
	my ($rc, undef, $err) = run_cmd("look <here>:\n", $se, '-t', 10, '-C',
	    $c->{ca}, '-p', $port, '-s', 'picture', '-i', "$dir/pixel.png", '-a',
	    "$dir/bytes.bin", '127.0.0.1', 'bob@example.org');
	is($rc, 0, '-i and -a: exit 0') or diag($err);
	my $t = tree("$out/msg2");
	is_deeply([ map { "$_->[0] $_->[1] $_->[2]" } @$t ], [
	    '0 multipart/mixed ', '1 multipart/alternative ', '2 text/plain ',
	    '2 multipart/related ', '3 text/html ', '3 image/png inline',
	    '1 application/octet-stream attachment' ],
	    'mixed( alternative( text, related( html, image ) ), file )');
	my ($cid) = $t->[5][4] =~ /^<(.*)>$/;
	ok($cid, 'the image has a Content-ID');
	like($t->[4][6], qr/look &lt;here&gt;:.*<img src="cid:\Q$cid\E"/s,
	    'the HTML shows the text, then the image by its Content-ID');
	is($t->[5][5], sha256_hex($png), 'the inline image\'s bytes');
	is($t->[2][6], 'look <here>:\n', 'the text/plain alternative');

	($rc, undef, $err) = run_cmd('x', $se, '-i', "$dir/$pdfname", '127.0.0.1', 'b@example.org');
	is($rc, 100, '-i with a PDF: exit 100');
	like($err, qr/not an image \(application\/pdf\)/, '... says what it is');
	($rc, undef, $err) = run_cmd('x', $se, '-a', "$dir/none", '127.0.0.1', 'b@example.org');
	is($rc, 100, '-a with a missing file: exit 100');
}

# 3. s-nail opens the message and names the parts.
SKIP: {
	my ($mailx) = grep { -x } qw(/usr/bin/s-nail /usr/bin/mutt);
	skip 's-nail not installed (mk/packages/tls.txt)', 3 unless $mailx;
	# An mbox of the first message: a From_ line, the message, a blank line.
	my $m = slurp("$out/msg1") =~ s/\r\n/\n/gr;
	spit("$dir/mbox", "From alice\@example.org Thu Jan  1 00:00:00 2026\n$m\n");
	local $ENV{HOME} = $dir;
	local $ENV{MAILRC} = '/dev/null';
	my ($rc, $o, $e) = run_cmd("type 1\nquit\n", '/usr/bin/s-nail', '-N', '-n',
	    '-R', '-S', 'ttycharset=UTF-8', '-f', "$dir/mbox");
	is($rc, 0, 's-nail reads the mailbox') or diag($e);
	like($o, qr/le rapport est joint/, 's-nail shows the text');
	like($o, qr/image\/png.*\n(?s:.*)application\/pdf/, 's-nail lists the attachments');
}

done_testing();
