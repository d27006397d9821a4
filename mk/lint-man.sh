#!/bin/sh
# Renders each man page with mandoc -Tascii and fails on what mandoc's
# own lint cannot see: words each led by a dash, three or more in a row
# of which at least two are words, "(with -f: -when -nothing -happens)"
# or "(given to -p -in -use, -a -failing -socket)", the sign of an Fl that
# ran on over the words after it (an Fl inside parentheses, say). Flags
# in a row are fine: "-t -x 30", "-dnv", "--inetd --accept".
# usage: lint-man.sh PAGE...
# Exit 1 naming page, line and text of each run found.
set -eu
fail=0
for m in "$@"; do
	mandoc -Tascii "$m" | M="$m" perl -ne '
		s/.\x08//g;	# overstrike: bold and underline
		my ($run, $words) = (0, 0);
		for my $t (split(" ", $_), "") {
			if ($t =~ /^\(?-([A-Za-z]+)[,.:;)]*$/) {
				$run++;
				$words++ if length($1) > 1;
				next;
			}
			if ($run >= 3 && $words >= 2) {
				(my $l = $_) =~ s/^\s+//;
				print "$ENV{M}: rendered line $.: $l";
				$bad = 1;
				last;
			}
			($run, $words) = (0, 0);
		}
		END { exit($bad ? 1 : 0) }' || fail=1
done
exit $fail
