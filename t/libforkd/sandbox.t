#!/usr/bin/perl
# lib/sandbox's modes on build/t/sandbox_violator, each a process of its
# own: an allow list kills a call outside it with SIGSYS, or under
# FORKD_SANDBOX=trap ends the process with 111; a deny list makes its
# calls fail with EPERM and lets the rest run, or under trap mode ends
# the process with 111 and a log line that names the call; abort(3)
# stays SIGABRT; FORKD_SANDBOX=off runs unconfined.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(build tmpdir slurp);
use Test::More;

my $violator = build('t/sandbox_violator');
plan skip_all => 'build/t/sandbox_violator not built' unless -x $violator;
my $dir = tmpdir();

# Run the violator with @args and %env; its stdout, stderr and status.
sub violate {
	my ($env, @args) = @_;
	local %ENV = (%ENV, %$env);
	delete $ENV{FORKD_LOG};
	open(my $fh, '-|', "exec $violator @args 2>$dir/err")
	    or die "violator: $!";
	my $out = do { local $/; <$fh> } // '';
	close($fh);
	return ($out, slurp("$dir/err") // '', $?);
}

my ($out, $err, $st) = violate({});
is($out, "entered\n", 'allow list: entered, no more');
is($st & 127, 31, 'allow list: a call outside it, SIGSYS');

($out, $err, $st) = violate({ FORKD_SANDBOX => 'trap' });
is($out, "entered\n", 'allow list, trap mode: entered, no more');
is($st >> 8, 111, 'allow list, trap mode: exit 111');

($out, $err, $st) = violate({ FORKD_SANDBOX => 'off' });
is($out, "entered\nsurvived\n", 'off: the call outside the profile runs');
is($st, 0, 'off: exit 0');

($out, $err, $st) = violate({}, 'abort');
is($st & 127, 6, 'allow list: abort(3) is SIGABRT, not SIGSYS');

($out, $err, $st) = violate({}, 'deny');
is($out, "unshare: EPERM\n", 'deny list: its call fails with EPERM');
is($st, 0, 'deny list: the rest runs, exit 0');

($out, $err, $st) = violate({ FORKD_SANDBOX => 'trap' }, 'deny');
is($out, '', 'deny list, trap mode: its call does not return');
is($st >> 8, 111, 'deny list, trap mode: exit 111');
like($err, qr/sandbox: syscall unshare \(\d+\) not allowed/,
    'deny list, trap mode: the log names the call');

done_testing();
