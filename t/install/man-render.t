#!/usr/bin/perl
# make lint's rendering check (mk/lint-man.sh): a page whose Fl runs on
# over the words after it ("(with -f: -when -nothing -happens)") is
# caught, flags side by side are not; then every page in man/ renders
# without such a run.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(tmpdir spit run_cmd);
use Test::More;

plan skip_all => 'needs mandoc' if system('command -v mandoc >/dev/null') != 0;
my $top = "$FindBin::Bin/../..";
my $lint = "$top/mk/lint-man.sh";
my $dir = tmpdir();

my $head = ".Dd January 1, 2026\n.Dt T 1\n.Os\n.Sh NAME\n.Nm t\n.Nd test\n.Sh DESCRIPTION\n";
spit("$dir/bad.1", $head . "Waits\n.Pq with Fl f : when nothing happens for this long ;\nthen exits.\n");
spit("$dir/good.1", $head . ".Nm\n.Op Fl t\n.Op Fl x Ar seconds\nruns as\n.Ql t -t -x 30\nor with\n.Fl f Pq when nothing happens .\n");
my ($st, $out) = run_cmd(undef, 'sh', $lint, "$dir/bad.1");
is($st, 1, 'a page with an Fl run on inside parentheses fails');
like($out, qr/bad\.1: rendered line \d+: .*-when -nothing -happens/, 'naming the page and the words');
($st, $out) = run_cmd(undef, 'sh', $lint, "$dir/good.1");
is($st, 0, 'flags side by side pass') or diag($out);

for my $m (sort glob("$top/man/*.[1-8]")) {
	(my $name = $m) =~ s{.*/}{};
	($st, $out) = run_cmd(undef, 'sh', $lint, $m);
	is($st, 0, "$name renders without an Fl run on") or diag($out);
}

done_testing();
