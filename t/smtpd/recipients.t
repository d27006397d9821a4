#!/usr/bin/perl
# smtpd past the recipient limit (RFC 5321 4.5.3.1.10), as a real client
# meets it: python3's smtplib sends one message to 150 recipients. The
# first 100 RCPTs get 250, the other 50 get "452 4.5.3 Error: too many
# recipients", which are flow control and not errors counted against -e
# (no 421); the message is delivered to the 100. The client then sends it
# again to the 50 refused: all 150 recipients have it, each once.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Forkd qw(build tmpdir slurp spit listen_exec run_cmd);
use Test::More;

my $smtpd = build('smtpd');
plan skip_all => "build/smtpd not built" unless -x $smtpd;
plan skip_all => 'python3 not installed'
    if system('python3 -c "import smtplib" 2>/dev/null') != 0;

my $spool = tmpdir();
my ($port) = listen_exec(cmd => [$smtpd, '-n', 'mx.test', '-m', $spool,
    '-e', '10']);
my $py = <<'EOF_PY';
import smtplib, sys
port = int(sys.argv[1])
rcpts = ["r%03d@example.org" % i for i in range(1, 151)]
msg = "Subject: many\r\n\r\nto 150\r\n"
s = smtplib.SMTP("127.0.0.1", port, timeout=20)
refused = s.sendmail("a@example.org", rcpts, msg)
codes = sorted(set("%d %s" % (c, t.decode()) for c, t in refused.values()))
print("refused %d: %s" % (len(refused), "; ".join(codes)))
print("noop %d" % s.noop()[0])
again = s.sendmail("a@example.org", sorted(refused), msg)
print("refused again %d" % len(again))
s.quit()
EOF_PY
my ($rc, $out, $err) = run_cmd('', 'python3', '-c', $py, $port);
is($rc, 0, 'smtplib ran to the end') or diag($err);
like($out, qr/^refused 50: 452 4\.5\.3 Error: too many recipients$/m,
    'the 101st to 150th RCPT: 452 4.5.3, no 421');
like($out, qr/^noop 250$/m, 'the session goes on after the 452s');
like($out, qr/^refused again 0$/m, 'the 50 sent again are all taken');

my $mb = slurp("$spool/mailbox") // '';
my @msgs = split(/(?=^Received: from )/m, $mb);
is(scalar(@msgs), 2, 'two messages in the mailbox');
my @to = map { [ $_ =~ /^To: (\S+)$/mg ] } @msgs;
is(scalar(@{ $to[0] // [] }), 100, 'the first to the 100 accepted');
is(scalar(@{ $to[1] // [] }), 50, 'the second to the 50 refused before');
my %n;
$n{$_}++ for map { @$_ } @to;
is(join(' ', sort keys %n),
    join(' ', map { sprintf('r%03d@example.org', $_) } 1 .. 150),
    'all 150 recipients');
is(scalar(grep { $_ != 1 } values %n), 0, 'each once');

done_testing();
