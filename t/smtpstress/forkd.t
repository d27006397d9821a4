#!/usr/bin/perl
# smtpstress's default run with a dormant client against smtpd served by
# forkd with prefork.32, as a user would run the two: 0 mismatches, and
# the mailbox with its backups holds exactly the messages reported.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(build tmpdir free_port slurp forkd_start forkd_stop need_root);
use Test::More;

my $bin = build('smtpstress');
plan skip_all => 'build/smtpstress missing (make build/smtpstress)'
    unless -x $bin;
plan skip_all => 'build/smtpd missing (make build/smtpd)'
    unless -x build('smtpd');
plan skip_all => 'build/forkd missing (make build/forkd)'
    unless -x build('forkd');
need_root();

my $dir = tmpdir();
my $spool = "$dir/spool";
mkdir $spool or die "$spool: $!";
my $port = free_port();
my $NAME = 'forkd.example';
my $smtpd = build('smtpd');
my $f = forkd_start(dir => $dir, wait_ports => [$port], conf =>
    "127.0.0.1:$port stream tcp prefork.32 root $smtpd smtpd -m $spool "
    . "-t 1 -n $NAME\n");
END { local $?; forkd_stop($f) if $f }

system("\Q$bin\E -T 1 -S 3 127.0.0.1 $port >\Q$dir/out\E 2>\Q$dir/err\E");
my $st = $? >> 8;
my $out = slurp("$dir/out") // '';
my $err = slurp("$dir/err") // '';
is($st, 0, 'default run against forkd prefork.32 smtpd: exit 0')
    or diag($out, $err, slurp($f->{stderr}) // '');
like($out, qr/^operations  1000 in /m, '1000 operations');
like($out, qr/^mismatches  0$/m, '0 mismatches');
like($out, qr/^sessions    \d+, 0 connection failures$/m,
    'no connection failure');
like($out, qr/^  421 timeout exceeded \(dormant\)\s+1$/m,
    'the dormant client got its 421');
my ($d) = $out =~ /^delivered   (\d+) messages/m;
opendir(my $dh, $spool) or die;
my @files = grep { /^mailbox(\.\d+-\d+)?$/ } readdir($dh);
closedir($dh);
my @num = sort { $a <=> $b }
    map { (slurp("$spool/$_") // '') =~ /^Number: (\d+)$/mg } @files;
ok($d && $d > 0, 'messages delivered: ' . ($d // 'none'));
is_deeply(\@num, [1 .. ($d // 0)],
    'the mailbox files hold exactly the messages reported, numbered 1..N');
my ($ops) = $out =~ /^busy .*: (\d+) operations\/s/m;
diag("smtpstress against forkd prefork.32 smtpd: $ops operations/s "
    . 'without the dormant wait') if $ops;

done_testing();
