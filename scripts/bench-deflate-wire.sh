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
. scripts/lib/echo-pair.sh
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
	local dir spid hpid port
	port=18933
	echo_pair_start $port "$bin" --compression "$@"
	echo "== $label"
	# shellcheck disable=SC2086
	bin/wsdeflatewire $args -addr 127.0.0.1:$port -pid $spid || true
	echo_pair_stop
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
