#!/bin/bash
# TLS side by side: condure-go vs /usr/bin/condure, same flags, same
# certificate, same handler (bench/hellohandler): new handshakes per second
# (openssl s_time, TLS 1.2 since the reference offers nothing newer), kept-alive
# HTTPS requests/s and server CPU per 100k (wrk), and server RSS per idle TLS
# connection at N connections (bench/tlshold).
# Usage: scripts/compare-tls.sh [N idle] [seconds]
set -e
cd "$(dirname "$0")/.."
N=${1:-5000}; DUR=${2:-5}
REF=${REF:-/usr/bin/condure}
go build -o bin/condure ./cmd/condure
go build -o bin/hellohandler ./bench/hellohandler
go build -o bin/tlshold ./bench/tlshold
TICK=$(getconf CLK_TCK)
certs=$(mktemp -d /tmp/cmptls.XXXXXX)
mkdir -p $certs/ecdsa $certs/rsa
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=localhost \
	-addext subjectAltName=DNS:localhost -keyout $certs/ecdsa/localhost.key -out $certs/ecdsa/localhost.crt 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost \
	-addext subjectAltName=DNS:localhost -keyout $certs/rsa/localhost.key -out $certs/rsa/localhost.crt 2>/dev/null

one() { # name binary kind port
	local dir; dir=$(mktemp -d /tmp/cmptls-run.XXXXXX)
	"$2" --listen 127.0.0.1:$4,tls,default-cert=localhost --tls-identities-dir $certs/$3 \
		--zclient-stream ipc://$dir/c --workers 2 >$dir/log 2>&1 &
	local spid=$!
	sleep 0.3
	bin/hellohandler --spec ipc://$dir/c >/dev/null 2>&1 &
	sleep 0.5
	local hs; hs=$(openssl s_time -connect 127.0.0.1:$4 -new -tls1_2 -time $DUR 2>/dev/null | awk '/connections in/ && /real/ {printf "%.0f", $1/$4}')
	local c0; c0=$(awk '{print $14+$15}' /proc/$spid/stat)
	local out; out=$(wrk -t2 -c100 -d${DUR}s https://127.0.0.1:$4/ 2>&1)
	local c1; c1=$(awk '{print $14+$15}' /proc/$spid/stat)
	local idle; idle=$(bin/tlshold -addr 127.0.0.1:$4 -n $N -pid $spid 2>&1 | grep -o '[0-9]* bytes per idle TLS connection' | awk '{print $1}')
	kill $spid; pkill -f "hellohandler --spec ipc://$dir/c"; wait $spid 2>/dev/null || true
	rm -rf "$dir"
	echo "$out" | awk -v n="$1" -v k="$3" -v hs="$hs" -v c=$((c1-c0)) -v t=$TICK -v idle="$idle" -v N=$N '
		/requests in/ {q=$1} /Requests\/sec/ {r=$2}
		END { printf "%-10s %-5s handshakes/s %6s   keep-alive req/s %7.0f   cpu s/100k %5.2f   RSS/idle TLS conn at %d: %s B\n", n, k, hs, r, (c/t)/q*100000, N, idle }'
}
for kind in ecdsa rsa; do
	one condure-go bin/condure $kind 18651
	[ -x "$REF" ] && one reference "$REF" $kind 18652
done
rm -rf $certs
