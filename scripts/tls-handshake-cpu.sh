#!/bin/sh
# Server CPU per TLS handshake, ours and the reference side by side
# (issue #18; the reference offers TLS 1.2 only): each server runs with one worker and a tls listener on a
# default identity (ECDSA P-256 or RSA-2048); bin/tlshs runs N handshakes
# per case and divides the server's CPU growth by N.
#
#   scripts/tls-handshake-cpu.sh [N]       (SERVER=bin/condure REF=/usr/bin/condure)
set -eu
N=${1:-1000}
SERVER=${SERVER:-bin/condure}
REF=${REF-/usr/bin/condure}
go build -o bin/tlshs ./bench/tlshs
[ "$SERVER" = bin/condure ] && go build -o bin/condure ./cmd/condure
dir=$(mktemp -d)
trap 'kill $spid 2>/dev/null; rm -rf "$dir"' EXIT
mkdir "$dir/ecdsa" "$dir/rsa"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=localhost \
	-addext subjectAltName=DNS:localhost -keyout "$dir/ecdsa/default.key" -out "$dir/ecdsa/default.crt" 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost \
	-addext subjectAltName=DNS:localhost -keyout "$dir/rsa/default.key" -out "$dir/rsa/default.crt" 2>/dev/null
port=18443
for bin in "$SERVER" $REF; do
	for cert in ecdsa rsa; do
		"$bin" --listen 127.0.0.1:$port,tls,default-cert=default --tls-identities-dir "$dir/$cert" \
			--zclient-stream "ipc://$dir/z" --workers 1 --log-level 1 >"$dir/log" 2>&1 &
		spid=$!
		i=0
		until bin/tlshs -addr 127.0.0.1:$port -pid $spid -n 1 -c 1 -vers 12 -curve p256 >/dev/null 2>&1; do
			i=$((i + 1)); [ $i -lt 100 ] || { cat "$dir/log"; exit 1; }; sleep 0.1
		done
		# the reference offers TLS 1.2 only, and with an ECDSA certificate
		# only P-256 key exchange
		cases='"12 p256" "12 x25519" "12 p256 -resume"'
		[ "$bin" = "$REF" ] || cases="$cases"' "13 x25519" "13 p256" "13 x25519mlkem768" "13 x25519 -resume" "13 x25519 -linger=20ms"'
		eval "set -- $cases"
		for case in "$@"; do
			set -- $case
			printf '%-18s %-6s ' "$bin" "$cert"
			bin/tlshs -addr 127.0.0.1:$port -pid $spid -n "$N" -vers "$1" -curve "$2" ${3:-} 2>&1 || true
		done
		kill $spid; wait $spid 2>/dev/null || true
		port=$((port + 1))
	done
done
