#!/usr/bin/perl
# send-email against forkd's own smtpd: the mailbox holds what was sent
# (seed 000's word; a stdin body with "." and ".." lines; several
# recipients), first with a listening socket on smtpd's fd 0 (the
# prefork contract), then through build/forkd (nowait).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(build tmpdir free_port slurp forkd_start forkd_stop
    run_cmd);
use IO::Socket::IP;
use POSIX qw(:sys_wait_h);
use Test::More;

my $se = build('send-email');
my $smtpd = build('smtpd');
plan skip_all => 'build/send-email is not built' unless -x $se;
plan skip_all => 'smtpd is not built (build/smtpd, daemons/smtpd/)'
    unless -x $smtpd;
my $dir = tmpdir();

# smtpd serving a listening socket on its fd 0, spool $spool, @opts.
sub smtpd_start {
	my ($spool, @opts) = @_;
	mkdir $spool;
	my $l = IO::Socket::IP->new(LocalHost => '127.0.0.1', LocalPort => 0,
	    Listen => 16, ReuseAddr => 1) or die "listen: $!";
	my $pid = fork() // die;
	if ($pid == 0) {
		open(STDIN, '<&', $l) or POSIX::_exit(1);
		open(STDOUT, '>', '/dev/null');
		open(STDERR, '>', "$spool.stderr");
		exec($smtpd, '-m', $spool, @opts) or POSIX::_exit(127);
	}
	my $port = $l->sockport;
	close($l);
	return { pid => $pid, port => $port };
}

sub smtpd_stop {
	my ($s) = @_;
	kill('TERM', $s->{pid});
	waitpid($s->{pid}, 0);
}

my $spool = "$dir/spool";
my $s = smtpd_start($spool);
my @p = ('-t', 5, '-p', $s->{port}, '-f', 'student@example.org');

# Seed 000: server, recipient, word.
my ($rc, $out, $err) = run_cmd(undef, $se, @p, '127.0.0.1', 'ta@example.org', 'blarny');
is($rc, 0, 'send-email SERVER RECIPIENT WORD: exit 0') or diag($err);
is($err, '', 'nothing on stderr');
my $mb = slurp("$spool/mailbox") // '';
like($mb, qr/^Number: 1\r?\nFrom: student\@example\.org\r?\nTo: ta\@example\.org\r?\n/m,
    'mailbox: message 1, its envelope');
like($mb, qr/^Subject: blarny\r?\n/m, 'mailbox: our Subject:');
like($mb, qr/^Message-ID: <[^>]+>\r?\n\r?\nblarny\r?\n/m, 'mailbox: the word is the body');

# stdin body with "." and "..", two recipients.
($rc, $out, $err) = run_cmd("top\n.\n..\n.x\nend\n", $se, @p, '-s', 'dots', '127.0.0.1',
    'ta@example.org,tb@example.org');
is($rc, 0, 'stdin body with dot lines: exit 0') or diag($err);
$mb = slurp("$spool/mailbox") // '';
like($mb, qr/^Number: 2\r?\nFrom: student\@example\.org\r?\nTo: ta\@example\.org\r?\nTo: tb\@example\.org\r?\n/m,
    'mailbox: message 2 for both recipients');
like($mb, qr/^Subject: dots\r?\n.*?\r?\n\r?\ntop\r?\n\.\r?\n\.\.\r?\n\.x\r?\nend\r?\n/ms,
    'mailbox: ".", ".." and ".x" arrive intact');
smtpd_stop($s);

# smtpd -s 1000 announces SIZE 1000: a larger message is not sent.
$s = smtpd_start("$dir/small", '-s', 1000);
my $big = join('', ('z' x 70 . "\n") x 30);
($rc, $out, $err) = run_cmd($big, $se, '-t', 5, '-p', $s->{port},
    '127.0.0.1', 'ta@example.org');
is($rc, 100, 'message over smtpd -s: exit 100');
like($err, qr/larger than 127\.0\.0\.1 takes \(SIZE 1000\)/, 'says SIZE');
is(slurp("$dir/small/mailbox") // '', '', 'nothing delivered');
smtpd_stop($s);

# Through forkd: a nowait service, one smtpd per connection.
SKIP: {
	skip 'build/forkd is not built', 3 unless -x build('forkd');
	skip 'forkd tests need root and unshare(1) (own /dev/log)', 3
	    unless $> == 0 && system('unshare -m true 2>/dev/null') == 0;
	my $port = free_port();
	my $fspool = "$dir/fspool";
	mkdir $fspool;
	my $f = forkd_start(conf => "127.0.0.1:$port stream tcp nowait root "
	    . "$smtpd smtpd -m $fspool\n", wait_ports => [$port]);
	($rc, $out, $err) = run_cmd(undef, $se, '-t', 5, '-p', $port,
	    '127.0.0.1', 'ta@example.org', 'viaforkd');
	is($rc, 0, 'through forkd: exit 0') or diag($err);
	($rc, $out, $err) = run_cmd(undef, $se, '-t', 5, '-p', $port,
	    '127.0.0.1', 'tb@example.org', 'again');
	$mb = slurp("$fspool/mailbox") // '';
	like($mb, qr/^Number: 1\r?\n.*^To: ta\@example\.org\r?\n.*^viaforkd\r?\n/ms,
	    'through forkd: message 1 holds the word');
	like($mb, qr/^Number: 2\r?\n.*^To: tb\@example\.org\r?\n.*^again\r?\n/ms,
	    'through forkd: message 2 from the next connection');
	forkd_stop($f);
}

done_testing();
