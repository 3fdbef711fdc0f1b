#!/bin/bash
# permessage-deflate on the wire (issue #15), through the echo handler:
#  - ratio: compressed payload bytes over uncompressed for a mix of JSON
#    messages, ours vs the reference (both --compression);
#  - bomb: a 1 MB message inflating to 1 GiB against ours with
#    --ws-max-message 1048576 and 0 (no limit), and the reference: the
#    server's peak RSS, the bomb connection's fate, a bystander's echoes.
#
#   N=2000 MB=1 REF=/usr/bin/condure scripts/bench-deflate-wire.sh
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-2000}
MB=${MB:-1}
REF=${REF:-/usr/bin/condure}
TIMEOUT=${TIMEOUT:-120s}
go build -o bin/condure ./cmd/condure
go build -o bin/echohandler ./bench/echohandler
go build -o bin/wsdeflatewire ./bench/wsdeflatewire
run() { # label bin wsdeflatewire-args server-flags...
	local label=$1 bin=$2 args=$3
	shift 3
	local dir port=18933
	dir=$(mktemp -d /tmp/condure-dfw-XXXX)
	"$bin" --listen 127.0.0.1:$port,stream --zclient-stream ipc://$dir/c --workers 1 --compression "$@" \
		>"$dir/server.log" 2>&1 &
	local spid=$!
	sleep 0.5
	bin/echohandler -spec ipc://$dir/c >"$dir/handler.log" 2>&1 &
	local hpid=$!
	sleep 0.5
	echo "== $label"
	# shellcheck disable=SC2086
	bin/wsdeflatewire $args -addr 127.0.0.1:$port -pid $spid || true
	kill $hpid $spid
	wait $hpid $spid 2>/dev/null || true
	rm -rf "$dir"
}
if [ "${1:-all}" != bomb ]; then
	run "ratio: ours" bin/condure "ratio -n $N"
	[ -x "$REF" ] && run "ratio: reference" "$REF" "ratio -n $N"
fi
if [ "${1:-all}" != ratio ]; then
	run "bomb: ours --ws-max-message 1048576" bin/condure "bomb -mb $MB -timeout $TIMEOUT" --ws-max-message 1048576
	run "bomb: ours --ws-max-message 0" bin/condure "bomb -mb $MB -timeout $TIMEOUT" --ws-max-message 0
	[ -x "$REF" ] && run "bomb: reference" "$REF" "bomb -mb $MB -timeout $TIMEOUT"
fi
