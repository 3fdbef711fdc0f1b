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
. "$(dirname "$0")/lib/tls-pair.sh"
go build -o bin/tlsload ./bench/tlsload
go build -o bin/echohandler ./bench/echohandler
tls_pair_init
port=${PORT:-39600}
for r in $(seq "$ROUNDS"); do
	for bin in "$SERVER" $REF; do
		tls_pair_start "$bin" $port "$W" bin/echohandler
		for args in "get -c 50 -d 4s" "hs -n 1000" "hs -n 1000 -resume"; do
			printf 'workers=%s round=%s %-18s ' "$W" "$r" "$bin"
			# shellcheck disable=SC2086
			bin/tlsload $args -addr 127.0.0.1:$port -pid $spid 2>&1 >/dev/null | tail -1
		done
		tls_pair_stop
		port=$((port + 1))
	done
done
