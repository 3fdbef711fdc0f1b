#!/bin/bash
# Side-by-side HTTP throughput: condure-go vs the reference /usr/bin/condure,
# same flags, same Go handler (bench/hellohandler), wrk -t2 -c100.
# Prints requests/s and server CPU seconds per 100k requests for each run,
# alternating A B A B.  Usage: scripts/compare-wrk.sh [workers] [rounds] [seconds]
# CONNECT=1: the handler binds and the servers run with --zclient-connect.
set -e
cd "$(dirname "$0")/.."
WORKERS=${1:-2}; ROUNDS=${2:-3}; DUR=${3:-10}
REF=${REF:-/usr/bin/condure}
go build -o bin/condure ./cmd/condure
go build -o bin/hellohandler ./bench/hellohandler
TICK=$(getconf CLK_TCK)

cpu_of() { awk '{print $14+$15}' /proc/$1/stat; }

one() { # name binary port
	local name=$1 bin=$2 port=$3 dir
	dir=$(mktemp -d /tmp/cmpwrk.XXXXXX)
	local hflags="" sflags=""
	if [ -n "$CONNECT" ]; then hflags=--bind; sflags=--zclient-connect; fi
	if [ -n "$CONNECT" ]; then bin/hellohandler --spec ipc://$dir/c $hflags >/dev/null 2>&1 & sleep 0.3; fi
	"$bin" --listen 127.0.0.1:$port --zclient-stream ipc://$dir/c --workers $WORKERS $sflags >$dir/log 2>&1 &
	local spid=$!
	sleep 0.3
	if [ -z "$CONNECT" ]; then bin/hellohandler --spec ipc://$dir/c >/dev/null 2>&1 & fi
	sleep 0.5
	curl -s -o /dev/null http://127.0.0.1:$port/ || true
	local c0; c0=$(cpu_of $spid)
	local out; out=$(wrk -t2 -c100 -d${DUR}s http://127.0.0.1:$port/ 2>&1)
	local c1; c1=$(cpu_of $spid)
	kill $spid; pkill -f "hellohandler --spec ipc://$dir/c"; wait $spid 2>/dev/null || true
	rm -rf "$dir"
	local reqs; reqs=$(echo "$out" | awk '/requests in/ {print $1}')
	local rps; rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
	local p99; p99=$(echo "$out" | awk '/Latency/ {print $2}')
	awk -v n="$name" -v r="$rps" -v q="$reqs" -v c=$((c1-c0)) -v t=$TICK -v l="$p99" \
		'BEGIN { printf "%-10s req/s %10.0f   cpu s/100k req %6.2f   avg latency %s\n", n, r, (c/t)/q*100000, l }'
}

for i in $(seq 1 $ROUNDS); do
	one condure-go bin/condure 18601
	[ -x "$REF" ] && one reference "$REF" 18602
done
