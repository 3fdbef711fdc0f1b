#!/bin/bash
# Idle memory per WebSocket with and without permessage-deflate (issue #15):
# for each server (ours, ours --compression, the reference --compression, and
# the reference without), N connections (default 2000) each exchange one
# message with the echo handler (compressed both ways with -deflate), then
# idle; loadgen prints the server's RSS per connection (JSON
# server_rss_per_conn_b, and marginal_* above its -warm connections).
#
#   N=2000 SIZE=1024 REF=/usr/bin/condure scripts/bench-deflate-idle.sh
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/echo-pair.sh
N=${N:-2000} # or increasing steps: N=1000,5000,15000
SIZE=${SIZE:-1024}
REF=${REF:-/usr/bin/condure}
go build -o bin/condure ./cmd/condure
go build -o bin/loadgen ./bench/loadgen
go build -o bin/echohandler ./bench/echohandler
run() { # label bin loadgen-flags server-flags...
	local label=$1 bin=$2 lg=$3
	shift 3
	local dir spid hpid port
	port=18931
	echo_pair_start $port "$bin" --stream-maxconn $((${N##*,} + 1000)) "$@"
	echo "== $label"
	# shellcheck disable=SC2086
	bin/loadgen hold -n "$N" -kind ws -size "$SIZE" $lg -addr 127.0.0.1:$port -pid $spid \
		-idle 5s -d 1s -warm 256 -label "$label" 2>&1 >/dev/null | grep -v "^note"
	echo_pair_stop
}
run "ours" bin/condure ""
run "ours --compression" bin/condure "-deflate" --compression
if [ -x "$REF" ]; then
	run "reference" "$REF" ""
	run "reference --compression" "$REF" "-deflate" --compression
fi
