#!/bin/bash
# Side-by-side req-mode throughput: condure-go vs /usr/bin/condure, same
# flags, same Go REP handler (examples/reqhandler), wrk -t2 -c100.
# Usage: scripts/compare-req.sh [rounds] [seconds]
set -e
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}; DUR=${2:-10}
REF=${REF:-/usr/bin/condure}
go build -o bin/condure ./cmd/condure
go build -o bin/reqhandler ./examples/reqhandler
TICK=$(getconf CLK_TCK)
one() { # name binary port
	local dir; dir=$(mktemp -d /tmp/cmpreq.XXXXXX)
	"$2" --listen 127.0.0.1:$3,req --zclient-req ipc://$dir/r --req-maxconn 200 --workers 2 >$dir/log 2>&1 &
	local spid=$!
	sleep 0.3
	for i in 1 2; do bin/reqhandler --spec ipc://$dir/r 2>/dev/null & done
	sleep 0.5
	curl -s -o /dev/null http://127.0.0.1:$3/ || true
	local c0; c0=$(awk '{print $14+$15}' /proc/$spid/stat)
	local out; out=$(wrk -t2 -c100 -d${DUR}s http://127.0.0.1:$3/ 2>&1)
	local c1; c1=$(awk '{print $14+$15}' /proc/$spid/stat)
	kill $spid; pkill -f "reqhandler --spec ipc://$dir/r"; wait $spid 2>/dev/null || true
	rm -rf "$dir"
	echo "$out" | awk -v n="$1" -v c=$((c1-c0)) -v t=$TICK '
		/requests in/ {q=$1} /Requests\/sec/ {r=$2} /Latency/ {l=$2}
		END { printf "%-10s req/s %8.0f   cpu s/100k req %6.2f   avg latency %s\n", n, r, (c/t)/q*100000, l }'
}
for i in $(seq 1 $ROUNDS); do
	one condure-go bin/condure 18641
	[ -x "$REF" ] && one reference "$REF" 18642
done
