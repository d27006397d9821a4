#!/bin/sh
# bench/smtpstress.sh: smtpstress against forkd's smtpd (prefork.32), the
# way seed 003 runs its multiclient: three default runs (1,000 operations,
# 32 connections) and one of 10,000 operations. Prints the rates.
# Run from the top of the tree after `make`: sh bench/smtpstress.sh
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
b=$top/build
for p in forkd smtpd smtpstress; do
	[ -x "$b/$p" ] || { echo "bench/smtpstress: $b/$p missing: make first" >&2; exit 1; }
done
dir=$(mktemp -d "${TMPDIR:-/tmp}/smtpstress-bench-XXXXXX")
mkdir "$dir/spool"
port=$(perl -MIO::Socket::IP -e 'print IO::Socket::IP->new(LocalAddr => "127.0.0.1", LocalPort => 0, Listen => 1)->sockport')
echo "127.0.0.1:$port stream tcp prefork.32 root $b/smtpd smtpd -m $dir/spool -n bench.example" >"$dir/forkd.conf"
"$b/forkd" -d -f "$dir/forkd.conf" -p "$dir/forkd.pid" 2>"$dir/forkd.log" &
fpid=$!
trap 'kill $fpid 2>/dev/null; wait $fpid 2>/dev/null; rm -rf "$dir"' EXIT INT TERM
i=0
until perl -MIO::Socket::IP -e "exit !IO::Socket::IP->new(PeerHost => '127.0.0.1', PeerPort => $port)"; do
	i=$((i + 1)); [ $i -lt 100 ] || { echo "bench/smtpstress: forkd never listened" >&2; exit 1; }
	sleep 0.05
done
echo "smtpstress against forkd prefork.32 smtpd on 127.0.0.1:$port"
for n in 1000 1000 1000 10000; do
	"$b/smtpstress" -n $n 127.0.0.1 "$port" >"$dir/out" || { cat "$dir/out"; exit 1; }
	printf '%6s operations: %s; %s\n' $n \
	    "$(sed -n 's/^operations  [0-9]* in //p' "$dir/out")" \
	    "$(sed -n 's/^  text\/\. *[0-9]* *\([0-9.]*\) *\([0-9.]*\)$/text p50 \1 ms p99 \2 ms/p' "$dir/out")"
done
