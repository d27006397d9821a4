#!/usr/bin/perl
# echod on stdin/stdout (serve_main's stdio case): RFC 862 echo byte for
# byte, the -t terminator of seed 000 in its forms, options and exit codes.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(build tmpdir slurp spit);
use Test::More;

my $echod = build('echod');
plan skip_all => "build/echod not built (make build/echod)" unless -x $echod;

my $dir = tmpdir();

# Run echod with $in on stdin; returns (stdout bytes, stderr text, status).
sub run_echod {
	my ($in, @args) = @_;
	spit("$dir/in", $in);
	my $rc = system("$echod @args <'$dir/in' >'$dir/out' 2>'$dir/err'");
	return (slurp("$dir/out") // '', slurp("$dir/err") // '', $rc >> 8);
}

# Plain echo: every byte value, no interpretation, "." lines included.
my $all = join('', map { chr } 0 .. 255) x 64 . "\n.\nmore\n";
my ($out, $err, $rc) = run_echod($all);
is($rc, 0, 'plain echo exits 0 at EOF');
ok($out eq $all, 'plain echo: ' . length($all) . ' bytes back byte-exact, "." line not special');

# -t: the connection ends after the line ".", which is echoed first.
for my $case (
    [ "hello\n.\n",             "hello\n.\n",            'LF . LF' ],
    [ "hello\n.\nafter\n",      "hello\n.\n",            'bytes after the terminator are not echoed' ],
    [ ".\nnever\n",             ".\n",                   '"." as the very first line' ],
    [ "a\r\n.\r\nb\r\n",        "a\r\n.\r\n",            '"." CR LF' ],
    [ "x.\n..\n. \n.x\nend",    "x.\n..\n. \n.x\nend",   'near misses: x. .. ". " .x are data' ],
    [ "no newline at end\n.",   "no newline at end\n.",  'a final "." without LF is data' ],
    [ "\n\n.\n",                "\n\n.\n",               'empty lines then "."' ],
    [ "a\0\n.\n",               "a\0\n.\n",              'binary before the terminator' ],
) {
	my ($in, $want, $name) = @$case;
	($out, $err, $rc) = run_echod($in, '-t');
	is($out, $want, "-t: $name");
	is($rc, 0, "-t: $name: exit 0");
}

# The terminator split across reads: a pipe writer that pauses.
{
	local $SIG{PIPE} = "IGNORE";	# echod is gone before "two"
	my $pid = open(my $pipe, '|-', "$echod -t >'$dir/out2'") or die $!;
	$pipe->autoflush(1);
	for my $piece ("one\n", ".", "\r", "\n", "two\n") {
		print $pipe $piece;
		# Each piece its own read: wait until echod has taken it
		# from the pipe (FIONREAD, 0x541B on Linux, says 0), 5 s at most.
		my $end = time + 5;
		while (time < $end) {
			my $n = pack('i', 0);
			last unless ioctl($pipe, 0x541B, $n) && unpack('i', $n) > 0;
			select(undef, undef, undef, 0.01);
		}
	}
	close($pipe);
	is(slurp("$dir/out2"), "one\n.\r\n", '-t: terminator split across reads');
}

# The log: a line at open and at close with the byte counts (-d copies
# syslog lines to stderr).
($out, $err, $rc) = run_echod("abc\n.\nzz", '-d', '-t');
like($err, qr/connect -:-/, 'log: connect line');
like($err, qr/close -:- in 8 out 6 \(terminator\)/, 'log: close line with bytes in and out and why');
unlike($err, qr/not allowed/, 'sandbox: no syscall outside the profile');

# The sandbox in trap mode names a syscall it refuses: none for this path.
{
	local $ENV{FORKD_SANDBOX} = 'trap';
	($out, $err, $rc) = run_echod("x" x 100000 . "\n.\n", '-d', '-t');
	is(length($out), 100003, 'sandbox trap mode: 100003 bytes echoed');
	unlike($err, qr/not allowed/, 'sandbox trap mode: nothing trapped');
	like($err, qr/sandbox: entered \(trap mode\)/, 'sandbox entered before serving');
}

# Options and exit statuses.
($out, $err, $rc) = run_echod('', '-h');
is($rc, 0, '-h exits 0');
like($out, qr/^usage: echod /, '-h prints usage');
for my $bad (['-z'], ['-i', '0'], ['-x', 'abc'], ['-c', '0'], ['extra']) {
	($out, $err, $rc) = run_echod('', @$bad);
	is($rc, 100, "usage error @$bad exits 100");
}
($out, $err, $rc) = run_echod('', '-i', 'x');
like($err, qr/^echod: -i x: invalid \(1 to 86400\)$/m, 'bad -i: prog: what: why');

done_testing();
