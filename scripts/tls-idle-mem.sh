#!/bin/sh
# Server memory per idle TLS keep-alive connection (issue #18), ours and the
# reference side by side: each server runs with one worker, a tls listener
# on an ECDSA P-256 default identity and bench/hellohandler; bin/tlshold
# opens N connections, makes one GET on each, holds them idle and prints
# the server's RSS growth per connection. WS=1: WebSocket sessions (wss)
# held instead, with bench/echohandler.
#
#   scripts/tls-idle-mem.sh [N]      (SERVER=bin/condure REF=/usr/bin/condure IDLE=3s:
#   the settle time; past 2 min Go has run a GC and returned the handshakes' garbage)
set -eu
N=${1:-1000}
SERVER=${SERVER:-bin/condure}
REF=${REF-/usr/bin/condure}
go build -o bin/tlshold ./bench/tlshold
go build -o bin/hellohandler ./bench/hellohandler
go build -o bin/echohandler ./bench/echohandler
handler=bin/hellohandler holdargs=
[ "${WS:-}" = 1 ] && handler=bin/echohandler holdargs=-ws
[ "$SERVER" = bin/condure ] && go build -o bin/condure ./cmd/condure
dir=$(mktemp -d)
trap 'kill $spid $hpid 2>/dev/null; rm -rf "$dir"' EXIT
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=localhost \
	-addext subjectAltName=DNS:localhost -keyout "$dir/default.key" -out "$dir/default.crt" 2>/dev/null
ulimit -n 65536 2>/dev/null || true
port=18543
for bin in "$SERVER" $REF; do
	"$bin" --listen 127.0.0.1:$port,tls,default-cert=default --tls-identities-dir "$dir" \
		--zclient-stream "ipc://$dir/z" --workers 1 --log-level 1 --stream-maxconn 20000 >"$dir/log" 2>&1 &
	spid=$!
	$handler -spec "ipc://$dir/z" -instance condure >"$dir/hlog" 2>&1 &
	hpid=$!
	sleep 1
	printf '%-18s ' "$bin"
	bin/tlshold -addr 127.0.0.1:$port -pid $spid -n "$N"  -idle "${IDLE:-3s}" $holdargs 2>&1 || cat "$dir/log"
	kill $spid $hpid; wait $spid $hpid 2>/dev/null || true
	port=$((port + 1))
done
