#!/usr/bin/perl
# The form example of the CGI section (seed 002, 5.1.2), in Perl: reads
# yourname and comment from a POST (or a query string) and shows them.
use strict;
use warnings;

my $data = '';
if (($ENV{REQUEST_METHOD} // '') eq 'POST') {
	my $len = $ENV{CONTENT_LENGTH} // 0;
	$len = 0 unless $len =~ /^\d+$/;
	while (length($data) < $len) {
		my $n = read(STDIN, $data, $len - length($data), length($data));
		last unless $n;
	}
} else {
	$data = $ENV{QUERY_STRING} // '';
}

my %form;
for my $pair (split /[&;]/, $data) {
	my ($k, $v) = split /=/, $pair, 2;
	next unless defined $k;
	for ($k, $v) {
		next unless defined;
		tr/+/ /;
		s/%([0-9A-Fa-f]{2})/chr(hex($1))/ge;
	}
	$form{$k} = $v if defined $v && $v ne '';
}

sub html {
	my ($s) = @_;
	$s =~ s/&/&amp;/g;
	$s =~ s/</&lt;/g;
	$s =~ s/>/&gt;/g;
	$s =~ s/"/&quot;/g;
	$s =~ s/'/&#39;/g;
	return $s;
}

print "Content-Type: text/html\n";
print "\n";

# The seed's Python 2 "print a, b, c" puts one space between the items:
# the lines below are its output byte for byte.
if (exists $form{yourname} && exists $form{comment}) {
	print '<p>Your name:  ', html($form{yourname}), " <br>\n";
	print '<p>You comment:  ', html($form{comment}), "\n";
} else {
	print "Error: fields have not been filled.\n";
}
