#!/usr/bin/perl
# smtpd's sandbox holds it to its spool: with smtpd's own profile
# (daemons/smtpd/profile.c, entered by build/t/sandbox_violator the way
# smtpd enters it) a file is made beneath the spool, but a file outside
# it cannot be opened, neither by an absolute path (which openat(2) takes
# whatever the directory fd, so only Landlock can refuse it) nor by "../"
# from the spool. A call outside the profile still kills with SIGSYS. A
# real smtpd says its filter came compiled from the build.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(build tmpdir slurp spit);
use Test::More;
use Config;

my $smtpd = build('smtpd');
my $violator = build('t/sandbox_violator');
plan skip_all => 'build/smtpd and build/t/sandbox_violator not built'
    unless -x $smtpd && -x $violator;

# Whether this kernel has Landlock: landlock_create_ruleset(2) asked for
# its ABI version (x86-64's number; elsewhere smtpd's log line says).
my $landlock = $Config{archname} =~ /^x86_64/ ?
    (syscall(444, 0, 0, 1) > 0 ? 1 : 0) : undef;
# No Landlock: a test of it skips (smtpd logged so: checked).
sub no_landlock {
	my ($err) = @_;
	return $landlock ? 0 : defined($landlock) || $err =~ /no Landlock/;
}

my $dir = tmpdir();
my $spool = "$dir/spool";
mkdir $spool or die "mkdir: $!";
spit("$dir/secret", "not for smtpd\n");

{
	local $ENV{FORKD_LOG} = 'stderr';
	my $out = `$violator smtpd $spool $dir/secret 2>$dir/err`;
	my $err = slurp("$dir/err") // '';
	SKIP: {
		skip('no Landlock in this kernel: files are not confined', 4)
		    if no_landlock($err);
		is($out, "inside: ok\noutside: EACCES\nescape: EACCES\n",
		    'smtpd\'s profile: a file beneath the spool, none outside');
		ok(-f "$spool/inside", 'the file beneath the spool is made');
		ok(!-e "$dir/escape", 'nothing is made next to the spool');
		is(slurp("$dir/secret"), "not for smtpd\n",
		    'the file outside is untouched');
	}
}

{
	local $ENV{FORKD_LOG} = 'stderr';
	open(my $fh, '-|', $violator, 'smtpd-kill', $spool) or die "fork: $!";
	my $out = do { local $/; <$fh> } // '';
	close($fh);
	my $st = $?;
	is($out, "inside: ok\n", 'smtpd\'s profile: entered');
	ok(($st & 127) == 31, 'a call outside smtpd\'s profile: SIGSYS')
	    or diag("status $st");
}

# abort(3) under the filter the build compiled for smtpd: the pid in its
# tgkill rule is this process's, so SIGABRT, not a sandbox violation.
{
	open(my $fh, '-|', $violator, 'smtpd-abort', $spool) or die "fork: $!";
	my $out = do { local $/; <$fh> } // '';
	close($fh);
	SKIP: {
		# ASan's abort path makes calls of its own, outside the filter.
		skip('ASan build: abort(3) goes through the sanitizer', 1)
		    if ($ENV{FORKD_BUILD} // '') =~ /asan/;
		is($? & 127, 6,
		    'smtpd\'s compiled profile: abort(3) is SIGABRT');
	}
	open($fh, '-|', $violator, 'smtpd-kill9', $spool) or die "fork: $!";
	$out = do { local $/; <$fh> } // '';
	close($fh);
	is($? & 127, 9, 'smtpd\'s compiled profile: SIGKILL to itself');
}

# A kernel without Landlock (hidden by a filter that answers ENOSYS): smtpd
# says so in one log line and runs on under its seccomp profile, which
# still kills a call outside it.
{
	local $ENV{FORKD_LOG} = 'stderr';
	unlink("$dir/escape");
	my $out = `exec $violator smtpd-nolandlock $spool $dir/secret 2>$dir/err`;
	my $st = $?;
	is($out, "inside: ok\noutside: ok\nescape: ok\n",
	    'no Landlock: the opens are not refused');
	my @ll = grep { /no Landlock/ } split(/\n/, slurp("$dir/err") // '');
	is(scalar(@ll), 1, 'no Landlock: one log line says so');
	is($st & 127, 31, 'no Landlock: the seccomp profile still kills');
	unlink("$dir/escape");
}

# Landlock there but failing (EINVAL): not the same as no Landlock, so
# the sandbox fails closed.
{
	local $ENV{FORKD_LOG} = 'stderr';
	my $out = `exec $violator smtpd-llerror $spool $dir/secret 2>$dir/err`;
	my $st = $?;
	is($st >> 8, 111, 'Landlock failing: exit 111');
	is($out, '', 'Landlock failing: nothing done in the sandbox');
	like(slurp("$dir/err") // '', qr/sandbox: Landlock: Invalid argument/,
	    'Landlock failing: logged');
}

# A spool that is not a directory: Landlock refuses the rule, and smtpd's
# sandbox fails closed rather than run without it.
{
	local $ENV{FORKD_LOG} = 'stderr';
	my $out = `$violator smtpd-file $dir/secret 2>$dir/err`;
	my $st = $?;
	SKIP: {
		skip('no Landlock in this kernel', 2)
		    if no_landlock(slurp("$dir/err") // '');
		is($st >> 8, 111, 'Landlock refused: exit 111');
		is($out, '', 'Landlock refused: nothing done in the sandbox');
	}
}

{
	local $ENV{FORKD_LOG} = 'stderr';
	spit("$dir/in", "QUIT\r\n");
	my $out = `$smtpd -v -n mx.test -m $spool <$dir/in 2>$dir/err`;
	is($out, "220 mx.test SMTP CS4410MP3\r\n"
	    . "221 2.0.0 mx.test closing connection\r\n",
	    'smtpd in its sandbox: greeting and QUIT');
	like(slurp("$dir/err") // '',
	    qr/smtpd: sandbox: entered, filter compiled by the build/,
	    'smtpd loads the filter the build compiled');
}

done_testing();
