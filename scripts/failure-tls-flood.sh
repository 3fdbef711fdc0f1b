#!/bin/bash
# TLS handshake lockout (issue #12, item 4): each server in turn, same flags
# (2 workers, one TLS listener), same certificate, same handler
# (bench/hellohandler), is held under a flood of IDLE TCP connections that
# never send a byte (plus ONEBYTE that send one byte of a ClientHello and
# stall, and HELLO that send a whole ClientHello and never answer the
# server), each renewed as soon as the server closes it, for DUR. Meanwhile
# bench/tlsflood does a real TLS handshake + GET every 500 ms, and curl -k
# and openssl s_client each try once, 3 s into the flood. Prints the server
# RSS before / peak / after, how many real clients got through and how long
# their handshakes took.
#
# Usage: scripts/failure-tls-flood.sh [IDLE] [ONEBYTE] [HELLO] [DUR]
# Environment: REF=/usr/bin/condure (REF= skips it), OLD=path (an older
# condure-go build to compare, e.g. main's), SERVER=path (skip building ours).
set -e
cd "$(dirname "$0")/.."
IDLE=${1:-2048}; ONEBYTE=${2:-0}; HELLO=${3:-0}; DUR=${4:-25s}
REF=${REF-/usr/bin/condure}
if [ -z "$SERVER" ]; then go build -o bin/condure ./cmd/condure; SERVER=bin/condure; fi
go build -o bin/hellohandler ./bench/hellohandler
go build -o bin/tlsflood ./bench/tlsflood
ulimit -n 65536 2>/dev/null || true
certs=$(mktemp -d /tmp/tlsflood.XXXXXX)
trap 'rm -rf "$certs"' EXIT
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=localhost \
	-addext subjectAltName=DNS:localhost -keyout $certs/localhost.key -out $certs/localhost.crt 2>/dev/null

one() { # name binary port
	local dir; dir=$(mktemp -d /tmp/tlsflood-run.XXXXXX)
	"$2" --listen 127.0.0.1:$3,tls,default-cert=localhost --tls-identities-dir $certs \
		--zclient-stream ipc://$dir/c --workers 2 >$dir/log 2>&1 &
	local spid=$!
	bin/hellohandler --spec ipc://$dir/c >/dev/null 2>&1 &
	local hpid=$!
	for _ in $(seq 50); do curl -sk -o /dev/null https://127.0.0.1:$3/ && break; sleep 0.1; done
	echo "== $1 ($2)"
	( sleep 3
	  if out=$(curl -sk -o /dev/null --max-time 20 -w "HTTP %{http_code}, TLS done after %{time_appconnect} s, total %{time_total} s" https://127.0.0.1:$3/); then
		echo "  curl -k at 3 s: $out"
	  else
		echo "  curl -k at 3 s: failed (exit $?) after $(echo "$out" | grep -o 'total.*')"
	  fi
	  t0=$(date +%s.%N)
	  if echo | timeout 20 openssl s_client -connect 127.0.0.1:$3 -servername localhost >/dev/null 2>&1; then
		echo "  openssl s_client at 3 s: handshake ok in $(echo "$(date +%s.%N) - $t0" | bc | cut -c1-5) s"
	  else
		echo "  openssl s_client at 3 s: failed after $(echo "$(date +%s.%N) - $t0" | bc | cut -c1-5) s"
	  fi ) &
	local side=$!
	bin/tlsflood -addr 127.0.0.1:$3 -idle $IDLE -onebyte $ONEBYTE -hello $HELLO -pid $spid -dur $DUR | sed 's/^/  /'
	wait $side
	kill $hpid $spid; wait $hpid $spid 2>/dev/null || true
	rm -rf "$dir"
}
one condure-go "$SERVER" 18661
[ -n "$OLD" ] && one condure-go-old "$OLD" 18663
[ -x "$REF" ] && one reference "$REF" 18662
exit 0
