#!/bin/bash
# WebSocket echo throughput and server CPU with permessage-deflate (issue
# #15): for each server (ours and the reference, each with --compression and
# -deflate, and without for comparison), C connections (default "100 1000")
# echo 1 KB JSON-like messages (loadgen ws -json) through the echo handler
# for D; loadgen prints messages/s and the server's CPU seconds per 100k
# messages (cpu/100k).
#
#   C="100 1000" D=10s SIZE=1024 REF=/usr/bin/condure scripts/bench-deflate-echo.sh
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/echo-pair.sh
C=${C:-"100 1000"}
D=${D:-10s}
SIZE=${SIZE:-1024}
REF=${REF:-/usr/bin/condure}
go build -o bin/condure ./cmd/condure
go build -o bin/loadgen ./bench/loadgen
go build -o bin/echohandler ./bench/echohandler
run() { # label bin loadgen-flags server-flags...
	local label=$1 bin=$2 lg=$3
	shift 3
	local dir spid hpid port c
	port=18932
	echo_pair_start $port "$bin" --stream-maxconn 5000 "$@"
	echo "== $label"
	for c in $C; do
		# shellcheck disable=SC2086
		bin/loadgen ws -c "$c" -d "$D" -size "$SIZE" -json $lg -addr 127.0.0.1:$port -pid $spid -hpid $hpid \
			-label "$label" 2>&1 >/dev/null | tail -1
	done
	echo_pair_stop
}
run "ours" bin/condure ""
run "ours --compression" bin/condure "-deflate" --compression
if [ -x "$REF" ]; then
	run "reference" "$REF" ""
	run "reference --compression" "$REF" "-deflate" --compression
fi
