#!/usr/bin/perl
# mutate: mutation testing of the files whose mistakes cost most. Each
# mutant changes one line of one file with one classic operator (a
# relational or equality operator flipped, && and || swapped, + and -
# swapped, a constant moved by one, a call or assignment deleted, a return
# value changed, a condition negated); the programs that file goes into are
# relinked (make all) and the test files that cover it run; a mutant is killed
# when one of them fails (or runs past its time). It works on a copy of the
# tree, never on the tree itself, and prints the share killed per file.
# A mutant listed in @equivalent (no behaviour differs; the reason is
# written there) is sampled like any other but neither tried nor counted.
#
#   perl mk/mutate.pl [file ...]        (make mutate runs it)
#   MUTANTS=N   mutants sampled per file (default 10; 0: all of them)
#   SEED=N      the sample's seed (default 1): the same N, the same mutants
#   TIMEOUT=S   seconds a test file may run (default 300)
#   KEEP=1      keep the copy (its path is printed)
#   LIST=1      only list the sampled mutants
#
# No well-kept mutation tool for C is packaged where this project builds
# (Debian, npm): this runner is the project's own, small on purpose.
use strict;
use warnings;
use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Temp qw(tempdir);
use List::Util qw(shuffle);

my $top = abs_path(dirname(abs_path($0)) . '/..');

# The tests that cover each file (make all relinks what it goes into).
my %target = (
	'lib/sandbox.c' => {
		tests => [qw(t/libforkd/sandbox-limits.t t/libforkd/sandbox.t
		    t/smtpd/sandbox.t t/forkd/promises.t t/pingd/forkd.t
		    t/smtpd/syslog.t t/httpd/requests.t)],
	},
	'supervisor/spawn.c' => {
		tests => [qw(t/forkd/handler-env.t t/forkd/fork-fails.t
		    t/forkd/stderr-lines.t
		    t/forkd/promises.t t/forkd/logs.t t/forkd/modes.t
		    t/forkd/persource.t t/forkd/spawn.t)],
	},
	'supervisor/reap.c' => {
		tests => [qw(t/forkd/reap.t t/forkd/children-table.t
		    t/forkd/promises.t t/forkd/logs.t t/forkd/modes.t
		    t/forkd/guards.t t/forkd/unit-pool.t t/forkd/spawn.t)],
	},
	# The handlers' side of the inetd contract: the kinds of fd 0, the
	# pool worker's accept loop and its drain, PROXY and per-source.
	'lib/serve.c' => {
		tests => [qw(t/smtpd/accept.t t/forkd/drain.t t/forkd/proxy.t
		    t/forkd/persource.t t/supervisors/inetd.t
		    t/forkd/activation.t t/smtpd/inetd.t t/smtpd/dialogue.t
		    t/supervisors/systemd.t)],
	},
	# smtpd's input and output: deadlines, line cutting, the last
	# reply and the close.
	'daemons/smtpd/io.c' => {
		tests => [qw(t/smtpd/accept.t t/smtpd/dialogue.t
		    t/smtpd/transcripts.t t/smtpd/limits.t t/smtpd/clients.t
		    t/smtpd/tls.t t/smtpd/forged.t t/smtpd/unit-data.t)],
	},
	# Delivery into the spool: append and wait, the state file, the
	# group commit, the backups, start-up after a crash.
	'daemons/smtpd/mailbox.c' => {
		tests => [qw(t/smtpd/faults.t t/smtpd/spool.t t/smtpd/shared-spool.t
		    t/smtpd/durability.t t/smtpd/promises.t
		    t/smtpd/transcripts.t t/smtpd/options.t
		    t/smtpd/concurrent.t t/smtpd/crash.t)],
	},
	'daemons/smtpd/mbox_state.c' => {
		tests => [qw(t/smtpd/faults.t t/smtpd/spool.t t/smtpd/durability.t t/smtpd/promises.t
		    t/smtpd/concurrent.t t/smtpd/restart.t)],
	},
	'daemons/smtpd/mbox_commit.c' => {
		tests => [qw(t/smtpd/faults.t t/smtpd/spool.t t/smtpd/shared-spool.t
		    t/smtpd/durability.t t/smtpd/concurrent.t
		    t/smtpd/crash.t t/smtpd/full-batch.t)],
	},
	'daemons/smtpd/mbox_backup.c' => {
		tests => [qw(t/smtpd/faults.t t/smtpd/spool.t t/smtpd/durability.t t/smtpd/promises.t
		    t/smtpd/options.t t/smtpd/concurrent.t)],
	},
	'daemons/smtpd/mbox_open.c' => {
		tests => [qw(t/smtpd/faults.t t/smtpd/spool.t t/smtpd/durability.t t/smtpd/restart.t
		    t/smtpd/promises.t t/smtpd/options.t)],
	},
	'daemons/smtpd/data.c' => {
		tests => [qw(t/smtpd/unit-data.t t/smtpd/transcripts.t
		    t/smtpd/dialogue.t t/smtpd/limits.t t/smtpd/promises.t)],
	},
	'daemons/httpd/request.c' => {
		tests => [qw(t/httpd/unit-parse.t t/httpd/static.t
		    t/httpd/escape.t t/httpd/requests.t t/httpd/tokens.t
		    t/httpd/chunked.t)],
	},
	'daemons/httpd/file.c' => {
		tests => [qw(t/httpd/unit-file.t t/httpd/file.t t/httpd/static.t
		    t/httpd/escape.t t/httpd/requests.t)],
	},
);
# Equivalent mutants: no behaviour a client, a log or the disk can see
# differs, so no test can kill them. Each is named by its file and the
# line as the mutant has it (trimmed), the line before it where that one
# is not unique, with why; it is never tried, and counted apart.
my @equivalent = (
	['lib/sandbox.c', ';',
	    'the failure of sigaction(2) for SIGSYS and a valid handler, '
	    . 'which cannot fail',
	    'if (sigaction(SIGSYS, &sa, NULL) == -1)'],
	['supervisor/spawn.c', 'if (psfd == 3 ? fcntl(3, F_SETFD, 0) == -1 : '
	    . 'dup2(psfd, 3) == -0) {',
	    'dup2(2) of the per-source table\'s open descriptor onto 3 never '
	    . 'fails (nor returns 0), so its check never fires either way'],
	['supervisor/spawn.c', 'if (dup2(sp->sp_errfd, 2) == -0)',
	    'dup2(2) of the open stderr pipe onto 2 returns 2, never -1 nor 0, '
	    . 'so the check never fires either way'],
	['supervisor/spawn.c', 'if (n == -0 && errno == EINTR)',
	    'errno is never EINTR in forkd: it takes its signals through '
	    . 'signalfd(2) with no handler installed, and poll(2) is '
	    . 'restarted, so n == 0 with EINTR cannot happen'],
	['supervisor/spawn.c', ';',
	    'the ignored signals are then looked up at every spawn, and find '
	    . 'the same set: forkd ignores nothing new after its start (its '
	    . 'one SIG_IGN, SIGPIPE in main.c, comes before the first spawn)',
	    'sigaddset(&spawn_ignored, sig);'],
	['supervisor/reap.c', 'if (pid != -1 && errno == EINTR)',
	    'errno is never EINTR in forkd (signalfd(2), no handler), so '
	    . 'neither condition ever holds'],
	['daemons/smtpd/mbox_open.c', 'if (fd != -0)',
	    'close(-1) when the mailbox could not be opened: a no-op whose '
	    . 'errno no caller reads (the cut then returns 0)',
	    '}'],
	['daemons/smtpd/mbox_open.c', ';',
	    'close(2) of the mailbox recover() could not read: smtpd then '
	    . 'refuses the spool and exits 111, so the descriptor goes anyway',
	    'if (fstat(fd, &sb) == -1 || (fp = fdopen(fd, "r")) == NULL) {'],
	['daemons/smtpd/mbox_open.c', ';',
	    'the error of the appended line after a restart: that line has no '
	    . 'error field, and the copy is written and dropped',
	    'as = cs;'],
	['daemons/smtpd/mbox_state.c', 'if (n <= 0 || n >= MBOX_LINE) {',
	    'snprintf(3) of a state line never returns 0: each starts with '
	    . 'its word'],
	['daemons/smtpd/mbox_backup.c', 'return -1;',
	    'a backup made reported as not made: *unbacked is then read only '
	    . 'while the group is due, and a made backup set both lengths '
	    . 'to 0, so it never is',
	    'log_info("backup %s", name);'],
	['daemons/smtpd/data.c', "while (n >= 0 && *p == '>') {",
	    'reads the byte after a line of only \'>\': its CR in smtpd\'s '
	    . 'input buffer, never \'>\', so the loop ends as before (both '
	    . 'loops, mboxrd\'s and the seed format\'s)'],
	['daemons/smtpd/data.c', 'if (tx->tx_bodylen + n >= tx->tx_bodycap) {',
	    'a body exactly full grows to the size it has: only a redundant '
	    . 'realloc(3) of the same size'],
	['daemons/smtpd/data.c',
	    'cap = tx->tx_bodycap ? tx->tx_bodycap : 16385;',
	    'the body\'s first allocation, one byte larger: it still grows '
	    . 'by doubling to hold every line'],
	['lib/serve.c', ';',
	    'len is sizeof(int) already, from the SO_TYPE query before',
	    'return SERVE_DATAGRAM;'],
	['lib/serve.c',
	    'for (i = 0; i < 17 && recv(fd, junk, sizeof(junk), MSG_DONTWAIT) > 0;',
	    'one more non-blocking read of a refused client\'s junk before the '
	    . 'close: a bound, not a count anything depends on'],
);

my @order = qw(lib/sandbox.c supervisor/spawn.c supervisor/reap.c
    daemons/smtpd/mailbox.c daemons/smtpd/mbox_state.c
    daemons/smtpd/mbox_commit.c daemons/smtpd/mbox_backup.c
    daemons/smtpd/mbox_open.c daemons/smtpd/data.c daemons/httpd/request.c
    daemons/httpd/file.c);

my $nmut = $ENV{MUTANTS} // 10;
my $seed = $ENV{SEED} // 1;
my $timeout = $ENV{TIMEOUT} // 300;
my @files = @ARGV ? @ARGV : @order;
for (@files) { die "mutate: $_: no targets known for it\n" unless $target{$_} }

# The positions of line $l that are code: not in a string, a character
# constant or a comment. $incomment carries a /* */ across lines.
sub code_mask {
	my ($l, $incomment) = @_;
	my @m = (0) x length($l);
	my $i = 0;
	while ($i < length($l)) {
		my $c = substr($l, $i, 1);
		if ($$incomment) {
			if (substr($l, $i, 2) eq '*/') { $$incomment = 0; $i += 2 }
			else { $i++ }
			next;
		}
		if (substr($l, $i, 2) eq '/*') { $$incomment = 1; $i += 2; next }
		last if substr($l, $i, 2) eq '//';
		if ($c eq '"' || $c eq "'") {
			my $j = $i + 1;
			while ($j < length($l) && substr($l, $j, 1) ne $c) {
				$j++ if substr($l, $j, 1) eq '\\';
				$j++;
			}
			$i = $j + 1;
			next;
		}
		$m[$i++] = 1;
	}
	return @m;
}

# Every mutant of one line: [description, new line].
sub line_mutants {
	my ($l, $mask) = @_;
	my @out;
	my %flip = ('<' => '<=', '<=' => '<', '>' => '>=', '>=' => '>',
	    '==' => '!=', '!=' => '==', '&&' => '||', '||' => '&&',
	    ' + ' => ' - ', ' - ' => ' + ', '++' => '--', '--' => '++');
	while ($l =~ /(->|<<=|>>=|<<|>>|<=|>=|==|!=|&&|\|\||<|>| \+ | - |\+\+|--)/g) {
		my ($op, $at) = ($1, $-[1]);
		next unless $flip{$op} && $mask->[$at] && $mask->[$at + length($op) - 1];
		my $n = $l;
		substr($n, $at, length($op)) = $flip{$op};
		push @out, ["'$op' -> '$flip{$op}'", $n];
	}
	while ($l =~ /(?<![\w.])(\d+)(?![\w.])/g) {
		my ($v, $at) = ($1, $-[1]);
		next unless $mask->[$at];
		my $w = $v == 0 ? 1 : $v == 1 ? 0 : $v + 1;
		my $n = $l;
		substr($n, $at, length($v)) = $w;
		push @out, ["constant $v -> $w", $n];
	}
	my ($ind) = $l =~ /^(\s*)/;
	my $code = join('', map { $mask->[$_] ? substr($l, $_, 1) : ' ' }
	    0 .. length($l) - 1);
	if ($l =~ /^\s*return (-1|0|1);\s*$/) {
		my $w = $1 eq '0' ? '-1' : '0';
		push @out, ["return $1 -> return $w", "${ind}return $w;"];
	} elsif ($code =~ /^\s*(?!return\b|if\b|while\b|for\b|switch\b|case\b|else\b|do\b|goto\b|break\b|continue\b|sizeof\b)[A-Za-z_][\w.>\[\]-]*\s*(\(.*\)|[+|&-]?=[^=].*);\s*$/
	    && $code !~ /^\s*[A-Za-z_]\w*(\s+\**|\s*\*+\s*)[A-Za-z_]\w*\s*(=|\[|;|,)/) {
		# A call or an assignment, whole on this line.
		push @out, ['statement deleted', "$ind;"];
	}
	if ($code =~ /^(\s*(?:\}\s*else\s+)?(?:if|while)\s*)\((.*)\)(\s*\{?\s*)$/) {
		my ($pre, $cond, $post) = ($1, $2, $3);
		my $d = 0;
		my $ok = 1;
		for my $ch (split(//, $cond)) {
			$d++ if $ch eq '(';
			$d-- if $ch eq ')';
			$ok = 0 if $d < 0;
		}
		if ($ok && $d == 0) {
			my $rawcond = substr($l, length($pre) + 1, length($cond));
			push @out, ['condition negated',
			    "$pre(!($rawcond))$post"];
		}
	}
	return @out;
}

# Every mutant of a file: [line number (from 1), description, new line].
sub file_mutants {
	my ($path) = @_;
	open(my $fh, '<', $path) or die "mutate: $path: $!";
	my @lines = <$fh>;
	chomp(@lines);
	my @all;
	my $incomment = 0;
	for my $i (0 .. $#lines) {
		my $l = $lines[$i];
		my @mask = code_mask($l, \$incomment);
		next if $l =~ /^\s*#/ || !grep { $_ } @mask;
		push @all, map { [$i + 1, @$_] } line_mutants($l, \@mask);
	}
	return (\@lines, \@all);
}

sub run_quiet {
	my ($dir, $log, @cmd) = @_;
	my $pid = fork() // die "fork: $!";
	if ($pid == 0) {
		chdir($dir) or exit 127;
		open(STDIN, '<', '/dev/null');
		open(STDOUT, '>>', $log);
		open(STDERR, '>&', \*STDOUT);
		exec(@cmd) or exit 127;
	}
	waitpid($pid, 0);
	return $?;
}

# The reason the mutant of line $no (from 1) of @$lines that makes it
# $new is equivalent, or undef.
sub equivalent {
	my ($file, $lines, $no, $new) = @_;
	my ($t, $p) = map { my $l = $_ // ''; $l =~ s/^\s+|\s+$//g; $l }
	    $new, $no > 1 ? $lines->[$no - 2] : '';
	for my $e (@equivalent) {
		return $e->[2] if $e->[0] eq $file && $e->[1] eq $t &&
		    (!defined $e->[3] || $e->[3] eq $p);
	}
	return undef;
}

# LIST=1: print the mutants the sample would try, and stop.
if ($ENV{LIST}) {
	for my $file (@files) {
		my ($lines, $all) = file_mutants("$top/$file");
		srand($seed);
		my @pick = shuffle(@$all);
		@pick = @pick[0 .. $nmut - 1] if $nmut > 0 && @pick > $nmut;
		printf("%s: %d possible\n", $file, scalar(@$all));
		for my $m (sort { $a->[0] <=> $b->[0] } @pick) {
			my $why = equivalent($file, $lines, $m->[0], $m->[2]);
			printf("%s:%d: %s%s\n\t%s\n", $file, @$m[0, 1],
			    $why ? " (equivalent: $why)" : '', $m->[2]);
		}
	}
	exit 0;
}

# The copy: the tree with its build, so only the mutated program rebuilds.
my $copy = tempdir('forkd-mutate-XXXXXX', TMPDIR => 1, CLEANUP => !$ENV{KEEP});
system('cp', '-a', "$top/.", $copy) == 0 or die "mutate: copy failed\n";
# The copy configures itself: the original's build/config.mk names the
# original's run directory (where make stages the programs) and its stage.
unlink("$copy/build/config.mk", "$copy/build/stage");
print "mutate: working in $copy\n" if $ENV{KEEP};
my $log = "$copy/mutate.log";
run_quiet($copy, $log, 'make', 'all') == 0
    or die "mutate: the unmutated tree does not build (see $log)\n";

my (@table, @survivors);
for my $file (@files) {
	my $t = $target{$file};
	my ($lines, $all) = file_mutants("$copy/$file");
	srand($seed);
	my @pick = shuffle(@$all);
	@pick = @pick[0 .. $nmut - 1] if $nmut > 0 && @pick > $nmut;
	@pick = sort { $a->[0] <=> $b->[0] } @pick;
	my ($killed, $lived, $stillborn, $equiv) = (0, 0, 0, 0);
	for my $m (@pick) {
		my ($no, $what, $new) = @$m;
		if (my $why = equivalent($file, $lines, $no, $new)) {
			$equiv++;
			printf("%s:%d: %s: equivalent (%s)\n", $file, $no,
			    $what, $why);
			next;
		}
		my @mut = @$lines;
		$mut[$no - 1] = $new;
		open(my $out, '>', "$copy/$file") or die "$file: $!";
		print $out join("\n", @mut), "\n";
		close($out);
		my $fate;
		# make all: only the programs the file goes into are relinked,
		# and staged where the tests run them from.
		if (run_quiet($copy, $log, 'make', 'all') != 0) {
			$stillborn++;
			$fate = 'does not build';
		} else {
			$fate = 'survived';
			for my $test (@{ $t->{tests} }) {
				my $st = run_quiet($copy, $log, 'timeout', '-k', '5',
				    $timeout, 'prove', $test);
				if ($st != 0) {
					$fate = "killed by $test";
					last;
				}
			}
			if ($fate eq 'survived') {
				$lived++;
				push @survivors, "$file:$no: $what\n\t-$lines->[$no - 1]\n\t+$new";
			} else {
				$killed++;
			}
		}
		printf("%s:%d: %s: %s\n", $file, $no, $what, $fate);
	}
	# The file as it was, rebuilt, for the next file's tests.
	open(my $out, '>', "$copy/$file") or die "$file: $!";
	print $out join("\n", @$lines), "\n";
	close($out);
	run_quiet($copy, $log, 'make', 'all');
	push @table, [$file, scalar(@$all), $killed, $lived, $stillborn,
	    $equiv];
}

print "\nmutants per file (seed $seed, up to $nmut a file" .
    ($nmut ? '' : ': all') . ")\n";
printf("%-26s %9s %6s %8s %10s %10s %7s\n", 'file', 'possible', 'killed',
    'survived', 'stillborn', 'equivalent', 'killed%');
for my $r (@table) {
	my ($f, $all, $k, $s, $sb, $eq) = @$r;
	printf("%-26s %9d %6d %8d %10d %10d %6s\n", $f, $all, $k, $s, $sb, $eq,
	    $k + $s ? sprintf('%.0f%%', 100 * $k / ($k + $s)) : '-');
}
print "\nsurvivors:\n", map { "$_\n" } @survivors if @survivors;
exit 0;
