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
go build -o bin/hellohandler ./bench/hellohandler
[ "$SERVER" = bin/condure ] && go build -o bin/condure ./cmd/condure
dir=$(mktemp -d)
trap 'kill $spid $hpid 2>/dev/null; rm -rf "$dir"' EXIT
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=localhost \
	-addext subjectAltName=DNS:localhost -keyout "$dir/default.key" -out "$dir/default.crt" 2>/dev/null
tick=$(getconf CLK_TCK)
port=18643
for run in "$SERVER:1" "$SERVER:0" ${REF:+"$REF:-"}; do
	bin=${run%:*}
	CONDURE_TLS_RECORD=${run##*:} "$bin" --listen 127.0.0.1:$port,tls,default-cert=default --tls-identities-dir "$dir" \
		--zclient-stream "ipc://$dir/z$port" --workers 1 --log-level 1 >"$dir/log" 2>&1 &
	spid=$!
	bin/hellohandler -spec "ipc://$dir/z$port" >"$dir/hlog" 2>&1 &
	hpid=$!
	sleep 1
	c0=$(awk '{print $14+$15}' /proc/$spid/stat)
	out=$(wrk -t1 -c"$C" -d"${D}s" https://127.0.0.1:$port/ 2>&1)
	c1=$(awk '{print $14+$15}' /proc/$spid/stat)
	echo "$out" | awk -v n="$bin record=${run##*:}" -v c=$((c1 - c0)) -v t="$tick" '
		/requests in/ {q=$1} /Requests\/sec/ {r=$2}
		END { printf "%-30s %7.0f req/s  %6.1f us server CPU per request\n", n, r, (c/t)/q*1e6 }'
	kill $spid $hpid; wait $spid $hpid 2>/dev/null || true
	port=$((port + 1))
done
