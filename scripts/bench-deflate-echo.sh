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
	local dir port=18932 c
	dir=$(mktemp -d /tmp/condure-dfe-XXXX)
	"$bin" --listen 127.0.0.1:$port,stream --zclient-stream ipc://$dir/c --workers 1 --stream-maxconn 5000 "$@" \
		>"$dir/server.log" 2>&1 &
	local spid=$!
	sleep 0.5
	bin/echohandler -spec ipc://$dir/c >"$dir/handler.log" 2>&1 &
	local hpid=$!
	sleep 0.5
	echo "== $label"
	for c in $C; do
		# shellcheck disable=SC2086
		bin/loadgen ws -c "$c" -d "$D" -size "$SIZE" -json $lg -addr 127.0.0.1:$port -pid $spid -hpid $hpid \
			-label "$label" 2>&1 >/dev/null | tail -1
	done
	kill $hpid $spid
	wait $hpid $spid 2>/dev/null || true
	rm -rf "$dir"
}
run "ours" bin/condure ""
run "ours --compression" bin/condure "-deflate" --compression
if [ -x "$REF" ]; then
	run "reference" "$REF" ""
	run "reference --compression" "$REF" "-deflate" --compression
fi
