#!/usr/bin/perl
# make install into a DESTDIR gives exactly the tree t/install.list names,
# with its modes: programs, man pages, the sample config and rc script,
# the sample site, the spool (mode 700) and the systemd unit, which points
# at the installed forkd and config.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Forkd qw(tmpdir slurp);
use File::Find;
use Test::More;

my $top = "$FindBin::Bin/..";
my $dir = tmpdir();
my $dest = "$dir/dest";
my $prefix = '/usr/local';

is(system("make -C '$top' install DESTDIR='$dest' PREFIX=$prefix "
    . ">'$dir/make.log' 2>&1"), 0, 'make install DESTDIR=... succeeds')
    or BAIL_OUT("make install failed:\n" . `tail -n 20 '$dir/make.log'`);

my %want;
for (split(/\n/, slurp("$FindBin::Bin/install.list") // die 'no install.list')) {
	next if /^#/ || !/\S/;
	my ($mode, $path) = split(' ', $_, 2);
	$want{$path} = $mode;
}
my %got;
find({ no_chdir => 1, wanted => sub {
	return if $File::Find::name eq $dest;
	my $rel = substr($File::Find::name, length($dest) + 1);
	my $mode = sprintf('%o', (lstat($File::Find::name))[2] & 07777);
	if (-d _) {
		# Directories count when listed or empty (the spool).
		opendir(my $dh, $File::Find::name) or return;
		my @in = grep { !/^\.\.?$/ } readdir($dh);
		$got{$rel} = "d$mode" if exists $want{$rel} || !@in;
	} else {
		$got{$rel} = $mode;
	}
} }, $dest);

my @missing = grep { !exists $got{$_} } sort keys %want;
my @extra = grep { !exists $want{$_} } sort keys %got;
my @mode = grep { exists $got{$_} && $got{$_} ne $want{$_} } sort keys %want;
is("@missing", '', 'nothing listed is missing from the installed tree');
is("@extra", '', 'nothing is installed that t/install.list does not name');
is(join(' ', map { "$_=$got{$_}" } @mode), '', 'every mode as listed');

my $unit = slurp("$dest$prefix/lib/systemd/system/forkd.service") // '';
like($unit, qr{^ExecStart=\Q$prefix\E/sbin/forkd\b}m,
    'the installed unit starts the installed forkd');
unlike($unit, qr{\@[A-Z]+\@}, 'the installed unit has no placeholder left');
my $conf = slurp("$dest$prefix/etc/forkd.conf") // '';
like($conf, qr{\Q$prefix\E/share/forkd/www}, 'the installed config serves the installed site');
unlike($conf, qr{\@[A-Z]+\@}, 'the installed config has no placeholder left');
done_testing();
