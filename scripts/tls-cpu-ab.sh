#!/bin/sh
# Server CPU per kept-alive HTTPS request and per TLS 1.2 P-256 handshake
# (full, then resumed from a ticket), ours and the reference alternated for
# ROUNDS rounds (issue #18): each server runs with W workers, a tls listener
# on an ECDSA P-256 default identity and bench/echohandler; bin/tlsload
# drives it (get: 50 connections for 4 s; hs: 200 unmeasured, then 1000
# handshakes 4 at a time). Quote medians and spreads: the machine is shared.
#
#   scripts/tls-cpu-ab.sh [workers] [rounds]   (SERVER=bin/condure REF=/usr/bin/condure PORT=39600)
set -eu
W=${1:-1}
ROUNDS=${2:-3}
SERVER=${SERVER:-bin/condure}
REF=${REF-/usr/bin/condure}
go build -o bin/tlsload ./bench/tlsload
go build -o bin/echohandler ./bench/echohandler
[ "$SERVER" = bin/condure ] && go build -o bin/condure ./cmd/condure
dir=$(mktemp -d)
trap 'kill $spid $hpid 2>/dev/null; rm -rf "$dir"' EXIT
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=localhost \
	-addext subjectAltName=DNS:localhost -keyout "$dir/default.key" -out "$dir/default.crt" 2>/dev/null
port=${PORT:-39600}
for r in $(seq "$ROUNDS"); do
	for bin in "$SERVER" $REF; do
		"$bin" --listen 127.0.0.1:$port,tls,default-cert=default --tls-identities-dir "$dir" \
			--zclient-stream "ipc://$dir/z$port" --workers "$W" --log-level 1 >"$dir/log" 2>&1 &
		spid=$!
		bin/echohandler -spec "ipc://$dir/z$port" >"$dir/hlog" 2>&1 &
		hpid=$!
		sleep 1
		for args in "get -c 50 -d 4s" "hs -n 1000" "hs -n 1000 -resume"; do
			printf 'workers=%s round=%s %-18s ' "$W" "$r" "$bin"
			# shellcheck disable=SC2086
			bin/tlsload $args -addr 127.0.0.1:$port -pid $spid 2>&1 >/dev/null | tail -1
		done
		kill $spid $hpid; wait $spid $hpid 2>/dev/null || true
		port=$((port + 1))
	done
done
