#!/bin/bash
# HTTP/2 against HTTP/1 on the same server (condure-go --http2, one worker,
# bench/hellohandler): h2load with 10 connections x 100 streams and with
# 1 connection x 100 streams, wrk -t1 -c100 over HTTP/1, alternated per
# round. Prints requests/s and server CPU seconds per 100k requests.
# Usage: scripts/bench-h2.sh [rounds] [seconds] [port]
set -e
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}; DUR=${2:-5}; PORT=${3:-28760}
go build -o bin/condure ./cmd/condure
go build -o bin/hellohandler ./bench/hellohandler
TICK=$(getconf CLK_TCK)
dir=$(mktemp -d /tmp/benchh2.XXXXXX)
bin/condure --listen 127.0.0.1:$PORT --zclient-stream ipc://$dir/c --workers 1 --http2 --log-level 1 >$dir/log 2>&1 &
spid=$!
bin/hellohandler --spec ipc://$dir/c >/dev/null 2>&1 &
hpid=$!
trap 'kill $spid $hpid 2>/dev/null; rm -rf $dir' EXIT
sleep 1
curl -s -o /dev/null http://127.0.0.1:$PORT/
cpu_of() { awk '{print $14+$15}' /proc/$1/stat; }
report() { # name requests cpu-ticks seconds
	awk -v n="$1" -v q="$2" -v c="$3" -v t=$TICK -v d="$4" \
		'BEGIN { printf "%-24s req/s %9.0f   cpu s/100k req %6.3f\n", n, q/d, (c/t)/q*100000 }'
}
for i in $(seq 1 $ROUNDS); do
	c0=$(cpu_of $spid); t0=$(date +%s.%N)
	out=$(wrk -t1 -c100 -d${DUR}s http://127.0.0.1:$PORT/ 2>&1)
	c1=$(cpu_of $spid); t1=$(date +%s.%N)
	report "wrk http/1.1 c100" "$(echo "$out" | awk '/requests in/ {print $1}')" $((c1-c0)) "$(echo "$t1 - $t0" | bc)"
	for cm in "10 100" "1 100"; do
		set -- $cm
		c0=$(cpu_of $spid); t0=$(date +%s.%N)
		out=$(h2load -D $DUR -c $1 -m $2 http://127.0.0.1:$PORT/ 2>&1)
		c1=$(cpu_of $spid); t1=$(date +%s.%N)
		n=$(echo "$out" | awk '/^requests:/ {print $8}')
		fail=$(echo "$out" | awk '/^requests:/ {print $10}')
		report "h2load c$1 m$2 (failed $fail)" "$n" $((c1-c0)) "$(echo "$t1 - $t0" | bc)"
	done
done
