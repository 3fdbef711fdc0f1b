# Sourced by the scripts/bench-deflate-*.sh: one server with the echo
# handler behind it, on a fresh ipc directory.
#
#   echo_pair_start PORT BIN SERVER-FLAGS...   sets dir, spid, hpid
#   echo_pair_stop

echo_pair_start() {
	local port=$1 bin=$2
	shift 2
	dir=$(mktemp -d /tmp/condure-echo-XXXX)
	"$bin" --listen 127.0.0.1:"$port",stream --zclient-stream ipc://"$dir"/c --workers 1 "$@" \
		>"$dir/server.log" 2>&1 &
	spid=$!
	sleep 0.5 # the server binds its endpoints
	bin/echohandler -spec ipc://"$dir"/c >"$dir/handler.log" 2>&1 &
	hpid=$!
	sleep 0.5 # the handler's SUB subscribes (slow joiner)
}

echo_pair_stop() {
	kill "$hpid" "$spid"
	wait "$hpid" "$spid" 2>/dev/null || true
	rm -rf "$dir"
}
