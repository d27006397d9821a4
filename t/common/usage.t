#!/usr/bin/perl
# One command-line contract for all eleven programs: -h prints the usage
# on stdout and exits 0; a bad option prints "prog: ..." and the usage on
# stderr and exits 100 (pinger: ping's 2); a bad number says the option,
# the value, why and the range, the same way everywhere. A handler run by
# hand that fails says why on its stderr. The man pages render without an
# Fl running on into the words after it.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(build run_cmd);
use Test::More;

# program => [usage status, a numeric option with a value out of range,
# the message it gives]
my %prog = (
	forkd        => [100],
	echod        => [100, ['-c', '0'], '-c 0: too small (1 to 4096)'],
	smtpd        => [100, ['-t', '0'], '-t 0: too small (1 to 3600)'],
	httpd        => [100, ['-c', 'x', '-r', '.'], '-c x: invalid (1 to 65536)'],
	pingd        => [100, ['-l', '101'], '-l 101: too large (0 to 100)'],
	'send-email' => [100, ['-t', '0', 'h', 'a@b'], '-t 0: too small (1 to 3600)'],
	pinger       => [2, ['-c', '0', '127.0.0.1'], '-c 0: too small (at least 1)'],
	netchat      => [100, ['127.0.0.1', '70000'], 'port 70000: too large (1 to 65535)'],
	sendline     => [100, ['-t', '0', 'h', '1'], '-t 0: too small (1 to 86400)'],
	httpget      => [100, ['-t', '0', 'h', '1', '/'], '-t 0: too small (1 to 86400)'],
	smtpstress   => [100, ['-c', '0'], '-c 0: too small (1 to 1000)'],
);

for my $p (sort keys %prog) {
	my $bin = build($p);
	SKIP: {
		skip("build/$p not built", 8) unless -x $bin;
		my ($status, $num, $msg) = @{ $prog{$p} };

		my ($rc, $out, $err) = run_cmd('', $bin, '-h');
		is($rc, 0, "$p -h: exit 0");
		like($out, qr/^usage: \Q$p\E /, "$p -h: usage on stdout");
		is($err, '', "$p -h: nothing on stderr");

		# The full path as argv[0], as an rc script runs it: messages
		# still name the program by its short name.
		($rc, $out, $err) = run_cmd('', $bin, '-Z');
		is($rc, $status, "$p -Z: exit $status");
		is($out, '', "$p -Z: nothing on stdout");
		like($err, qr/\A\Q$p\E: invalid option -- 'Z'\nusage: \Q$p\E /,
		    "$p -Z: \"$p: invalid option\", then the usage, on stderr");

		if (!$num) {
			pass("$p: no numeric option") for 1 .. 2;
			next;
		}
		($rc, $out, $err) = run_cmd('', $bin, @$num);
		is($rc, $status, "$p @$num: exit $status");
		is($err, "$p: $msg\n", "$p @$num: \"$p: $msg\"");
	}
}

# A missing option argument is getopt's message, under the short name too.
{
	my ($rc, undef, $err) = run_cmd('', build('forkd'), '-f');
	is($rc, 100, 'forkd -f without its argument: exit 100');
	like($err, qr/\Aforkd: option requires an argument -- 'f'\n/,
	    '... and getopt says so as "forkd: "');
}

# A handler run by hand that fails says why on stderr (not a socket).
SKIP: {
	skip('build/smtpd and build/pingd not built', 4)
	    unless -x build('smtpd') && -x build('pingd');
	my ($rc, $out, $err) = run_cmd('', build('smtpd'), '-m', '/nonexistent');
	is($rc, 111, 'smtpd -m /nonexistent: exit 111');
	is($err, "smtpd: spool /nonexistent: No such file or directory\n",
	    'smtpd -m /nonexistent: says why on stderr');
	($rc, $out, $err) = run_cmd("hi\n", build('pingd'));
	is($rc, 100, 'pingd with a pipe on fd 0: exit 100');
	like($err, qr/\Apingd: fd 0 is not a datagram socket: /,
	    'pingd with a pipe on fd 0: says why on stderr');
}

# Man pages: an Fl with words after it on its line turns each into a
# flag ("(with -f: -when -nothing -happens)"). Literal examples aside, no
# rendered page has three "-word"s in a row.
SKIP: {
	skip('mandoc not installed', 1)
	    if system('mandoc -V >/dev/null 2>&1') != 0 &&
	    system('command -v mandoc >/dev/null 2>&1') != 0;
	my @bad;
	for my $page (glob("$Forkd::TOP/man/*.[158]")) {
		my $txt = `mandoc -Tascii '$page' 2>/dev/null | col -b`;
		for my $l (split(/\n/, $txt)) {
			push(@bad, "$page: $l")
			    if $l =~ /(?:^|[\s(])-[a-z]+ -[a-z]+ -[a-z]+/;
		}
	}
	is(join("\n", @bad), '', 'no Fl runs on in a rendered man page');
}

done_testing();
