#!/usr/bin/perl
# A handler's stderr reaches forkd's log a line at a time, however the
# bytes arrive: a line written one byte, then the rest a moment later, is
# one line ("ab"), not two, and the handler can go on writing after its
# first byte (forkd keeps reading its pipe).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(tmpdir spit free_port forkd_start forkd_stop need_root
    connect_tcp read_n wait_line);
use Test::More;

need_root();
my $dir = tmpdir();
chmod 0755, $dir;
spit("$dir/h.sh", "printf a >&2\nsleep 0.3\nprintf 'b\\n' >&2\n"
    . "printf 'second line\\n' >&2\necho done\n");
chmod 0644, "$dir/h.sh";
my $port = free_port();
my $f = forkd_start(dir => $dir, wait_ports => [$port],
    conf => "127.0.0.1:$port stream tcp nowait root /bin/sh sh $dir/h.sh\n");

my $c = connect_tcp($port) or die "connect: $!";
like(read_n($c, 64, 10) // '', qr/^done$/m, 'the handler ran to its end');
close($c);
like(wait_line($f->{stderr}, qr/: ab$/, 10) // '', qr/pid \d+: ab$/,
    'a line that came a byte, then the rest: one line');
like(wait_line($f->{stderr}, qr/: second line$/, 10) // '',
    qr/pid \d+: second line$/, 'and the next line after it');
forkd_stop($f);
done_testing();
