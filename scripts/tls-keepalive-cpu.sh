#!/bin/sh
# Server CPU per kept-alive HTTPS request (issue #18), ours (record layer on
# and off) and the reference side by side: one worker, an ECDSA P-256
# default identity, bench/hellohandler; wrk over https for D seconds; the
# server's utime+stime growth divided by the requests wrk completed.
#
#   scripts/tls-keepalive-cpu.sh [seconds] [connections]   (SERVER=bin/condure REF=/usr/bin/condure)
set -eu
D=${1:-5}
C=${2:-50}
SERVER=${SERVER:-bin/condure}
REF=${REF-/usr/bin/condure}
. "$(dirname "$0")/lib/tls-pair.sh"
go build -o bin/hellohandler ./bench/hellohandler
tls_pair_init
tick=$(getconf CLK_TCK)
port=18643
for run in "$SERVER:1" "$SERVER:0" ${REF:+"$REF:-"}; do
	bin=${run%:*}
	export CONDURE_TLS_RECORD=${run##*:}
	tls_pair_start "$bin" $port 1 bin/hellohandler
	c0=$(awk '{print $14+$15}' /proc/$spid/stat)
	out=$(wrk -t1 -c"$C" -d"${D}s" https://127.0.0.1:$port/ 2>&1)
	c1=$(awk '{print $14+$15}' /proc/$spid/stat)
	echo "$out" | awk -v n="$bin record=${run##*:}" -v c=$((c1 - c0)) -v t="$tick" '
		/requests in/ {q=$1} /Requests\/sec/ {r=$2}
		END { printf "%-30s %7.0f req/s  %6.1f us server CPU per request\n", n, r, (c/t)/q*1e6 }'
	tls_pair_stop
	port=$((port + 1))
done
