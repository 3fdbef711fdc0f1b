#!/bin/bash
# Issue figure: N idle streamed responses held open; keep-alive packets per
# second the handler receives, and server CPU and RSS while they sit idle.
# Usage: scripts/measure-idle-streams.sh [N] [idle seconds] [server binary]
set -e
cd "$(dirname "$0")/.."
N=${1:-15000}; IDLE=${2:-60}; BIN=${3:-bin/condure}
go build -o bin/condure ./cmd/condure
go build -o bin/hellohandler ./bench/hellohandler
go build -o bin/streamhold ./bench/streamhold
dir=$(mktemp -d /tmp/idlestreams.XXXXXX)
port=18690
"$BIN" --listen 127.0.0.1:$port --zclient-stream ipc://$dir/c --workers 2 --stream-maxconn 40000 >$dir/server.log 2>&1 &
spid=$!
sleep 0.3
bin/hellohandler --spec ipc://$dir/c -stream 2>$dir/handler.log &
hpid=$!
sleep 0.5
bin/streamhold -addr 127.0.0.1:$port -n $N -d $((IDLE + 15))s >$dir/hold.log 2>&1 &
cpid=$!
until grep -q '^open' $dir/hold.log 2>/dev/null; do sleep 1; kill -0 $cpid || { cat $dir/hold.log; exit 1; }; done
sleep 5
tick=$(getconf CLK_TCK)
c0=$(awk '{print $14+$15}' /proc/$spid/stat); k0=$(tail -1 $dir/handler.log | awk '{print $2, $4}')
sleep $IDLE
c1=$(awk '{print $14+$15}' /proc/$spid/stat); k1=$(tail -1 $dir/handler.log | awk '{print $2, $4}')
rss=$(awk '/VmRSS/ {print $2}' /proc/$spid/status)
cat $dir/hold.log | head -1
echo "$k0 $k1" | awk -v s=$IDLE -v cpu=$(( c1 - c0 )) -v t=$tick -v rss=$rss -v n=$N '{
	printf "idle %d s: keep-alive ids/s %.1f, keep-alive packets/s %.1f (ids per packet %.1f)\n", s, ($3-$1)/s, ($4-$2)/s, ($4-$2) ? ($3-$1)/($4-$2) : 0
	printf "server CPU while idle: %.2f s over %d s (%.2f%% of one core); RSS %d KiB (%.0f bytes per held stream incl. startup)\n", cpu/t, s, cpu/t/s*100, rss, rss*1024/n }'
kill $cpid $hpid $spid 2>/dev/null; wait 2>/dev/null
rm -rf $dir
