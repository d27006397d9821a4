package Certs;
# Test certificates made with the openssl CLI: a private CA, a leaf for
# 127.0.0.1 and localhost signed by it, a leaf for another name signed by
# it, and a self-signed leaf for 127.0.0.1 that no CA vouches for.
use strict;
use warnings;
use Exporter 'import';
our @EXPORT_OK = qw(have_openssl make_certs);

sub have_openssl {
	return system('openssl version >/dev/null 2>&1') == 0;
}

sub _run {
	my @cmd = @_;
	system(join(' ', map { "'$_'" } @cmd) . ' >/dev/null 2>&1') == 0
	    or die "@cmd: failed";
}

# Leaf key and certificate $name.{key,pem} in $dir for subjectAltName $san,
# signed by the CA in $dir.
sub _leaf {
	my ($dir, $name, $san) = @_;
	open(my $fh, '>', "$dir/$name.ext") or die "$dir/$name.ext: $!";
	print $fh "subjectAltName=$san\nbasicConstraints=CA:FALSE\n"
	    . "keyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n";
	close($fh);
	_run('openssl', 'req', '-newkey', 'ec', '-pkeyopt',
	    'ec_paramgen_curve:P-256', '-nodes', '-keyout', "$dir/$name.key",
	    '-out', "$dir/$name.csr", '-subj', "/CN=$name");
	_run('openssl', 'x509', '-req', '-in', "$dir/$name.csr", '-CA',
	    "$dir/ca.pem", '-CAkey', "$dir/ca.key", '-CAcreateserial',
	    '-days', 2, '-out', "$dir/$name.pem", '-extfile', "$dir/$name.ext");
}

# Returns { ca, cert, key (127.0.0.1 and localhost), other_cert,
# other_key (other.example), self_cert, self_key (self-signed) }.
sub make_certs {
	my ($dir) = @_;
	_run('openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt',
	    'ec_paramgen_curve:P-256', '-nodes', '-keyout', "$dir/ca.key",
	    '-out', "$dir/ca.pem", '-days', 2, '-subj', '/CN=forkd test CA',
	    '-addext', 'basicConstraints=critical,CA:TRUE',
	    '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
	_leaf($dir, 'leaf', 'IP:127.0.0.1,DNS:localhost');
	_leaf($dir, 'other', 'DNS:other.example');
	_run('openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt',
	    'ec_paramgen_curve:P-256', '-nodes', '-keyout', "$dir/self.key",
	    '-out', "$dir/self.pem", '-days', 2, '-subj', '/CN=127.0.0.1',
	    '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost');
	return { ca => "$dir/ca.pem", cert => "$dir/leaf.pem",
	    key => "$dir/leaf.key", other_cert => "$dir/other.pem",
	    other_key => "$dir/other.key", self_cert => "$dir/self.pem",
	    self_key => "$dir/self.key" };
}

1;
