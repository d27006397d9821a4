#!/bin/sh
# bench/httpd.sh: wrk against httpd (2 workers sharing one listener, the
# prefork.2 contract) and, when installed, busybox httpd and darkhttpd,
# each serving etc/www on a free loopback port. Prints requests/s.
# Usage: sh bench/httpd.sh [seconds] [connections]
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
secs=${1:-5}
conns=${2:-50}
command -v wrk >/dev/null || { echo "bench/httpd: wrk is not installed: skipped"; exit 0; }
[ -x "$top/build/httpd" ] || { echo "bench/httpd: build/httpd is not built"; exit 1; }
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
pids=
trap 'for p in $pids; do kill $p 2>/dev/null || true; done' EXIT
waitport() {
	python3 -c 'import socket, sys, time
for _ in range(100):
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close(); break
    except OSError: time.sleep(0.05)' "$1"
}

run() {	# name port
	waitport "$2"
	r=$(wrk -t2 -c"$conns" -d"${secs}s" "http://127.0.0.1:$2/index.html" |
	    awk '/Requests\/sec/ {print $2} /Non-2xx/ {print "non-2xx:" $NF}' | tr '\n' ' ')
	printf '%-28s %s req/s (wrk -t2 -c%s -d%ss, index.html %s bytes)\n' "$1" "$r" \
	    "$conns" "$secs" "$(wc -c <"$top/etc/www/index.html")"
}

p=$(port)
python3 - "$top/build/httpd" "$top/etc/www" "$p" <<'PY' &
import os, socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[3]))); s.listen(512)
os.dup2(s.fileno(), 0)
kids = []
for _ in range(2):
    pid = os.fork()
    if pid == 0:
        os.execv(sys.argv[1], ["httpd", "-r", sys.argv[2], "-n", "1000000"])
    kids.append(pid)
import signal
def stop(sig, frame):
    for k in kids: os.kill(k, signal.SIGTERM)
    os._exit(0)
signal.signal(signal.SIGTERM, stop)
for k in kids: os.waitpid(k, 0)
PY
pids="$pids $!"
run "forkd httpd (2 workers)" "$p"
kill $! 2>/dev/null || true

if command -v busybox >/dev/null && busybox --list | grep -qx httpd; then
	p=$(port)
	busybox httpd -f -p "127.0.0.1:$p" -h "$top/etc/www" & pids="$pids $!"
	run "busybox httpd" "$p"
fi
if command -v darkhttpd >/dev/null; then
	p=$(port)
	darkhttpd "$top/etc/www" --addr 127.0.0.1 --port "$p" >/dev/null & pids="$pids $!"
	run "darkhttpd" "$p"
fi
