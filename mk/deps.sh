#!/bin/sh
# Installs the Debian packages the build (deps.sh build) or the build and the
# tests (deps.sh all) need, when any is missing. The lists are
# mk/packages/build.txt and mk/packages/*.txt, one package a line, # comments.
#
# Peer servers (openbsd-inetd, postfix, busybox, rsyslog) must not start as
# system services: while apt-get runs, a policy-rc.d that exits 101 is in
# place unless one already is.
set -eu
cd "$(dirname "$0")/packages"
case "${1:-build}" in
build) lists=build.txt ;;
# The peers of make bench (nginx, lighttpd) only when benching.
bench) lists="build.txt bench.txt" ;;
*) lists=$(ls *.txt | grep -vx bench.txt) ;;
esac
want=$(sed -e 's/#.*//' $lists | tr -s ' \t' '\n\n' | sed '/^$/d' | sort -u)
missing=
for p in $want; do
	s=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$s" = installed ] || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "deps: installing$missing"
if [ "$(id -u)" != 0 ]; then
	echo "deps: not root: install these Debian packages:$missing" >&2
	exit 1
fi
policy=/usr/sbin/policy-rc.d
ours=
if [ ! -e $policy ]; then
	printf '#!/bin/sh\nexit 101\n' >$policy
	chmod 755 $policy
	ours=1
fi
trap '[ -n "$ours" ] && rm -f $policy' EXIT
export DEBIAN_FRONTEND=noninteractive
# Postfix asks what kind of mail system this is: none, we only run its tools.
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections 2>/dev/null || true
apt-get update -qq
apt-get install -y -qq --no-install-recommends $missing >/dev/null
