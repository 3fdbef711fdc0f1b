#!/bin/bash
# Server memory per idle HTTP/2 connection (after one request each):
# condure-go --http2, one worker, bench/hellohandler; RSS of the server
# before and after N connections (bench/h2idle), divided by N, after a
# warm-up of W connections that are closed again (so pools and slabs that
# grow once are counted in the baseline). Usage: scripts/bench-h2-idle.sh [N] [port]
set -e
cd "$(dirname "$0")/.."
N=${1:-1000}; PORT=${2:-28770}; W=200
ulimit -n 65536 2>/dev/null || true
go build -o bin/condure ./cmd/condure
go build -o bin/hellohandler ./bench/hellohandler
go build -o bin/h2idle ./bench/h2idle
dir=$(mktemp -d /tmp/benchh2idle.XXXXXX)
bin/condure --listen 127.0.0.1:$PORT --zclient-stream ipc://$dir/c --workers 1 --http2 --log-level 1 --stream-maxconn 20000 >$dir/log 2>&1 &
spid=$!
bin/hellohandler --spec ipc://$dir/c >/dev/null 2>&1 &
hpid=$!
trap 'kill $spid $hpid $ipid 2>/dev/null; rm -rf $dir' EXIT
sleep 1
rss() { awk '/VmRSS/ {print $2}' /proc/$spid/status; }
# warm-up
bin/h2idle -addr 127.0.0.1:$PORT -n $W >$dir/w 2>&1 &
wp=$!
until grep -q ready $dir/w; do sleep 0.1; done
kill $wp; wait $wp 2>/dev/null || true
sleep 2
r0=$(rss)
bin/h2idle -addr 127.0.0.1:$PORT -n $N >$dir/i 2>&1 &
ipid=$!
until grep -q ready $dir/i; do sleep 0.2; if ! kill -0 $ipid 2>/dev/null; then cat $dir/i; exit 1; fi; done
sleep 2
r1=$(rss)
echo "idle h2 connections: $N   server RSS before $r0 KiB, after $r1 KiB   per connection $(( (r1-r0)*1024/N )) bytes"
