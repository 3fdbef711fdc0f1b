# Sourced by scripts/tls-keepalive-cpu.sh and scripts/tls-cpu-ab.sh: a
# server with a tls listener on an ECDSA P-256 default identity and a
# handler behind it, on a fresh directory removed on exit.
#
#   tls_pair_init                         builds bin/condure when SERVER is it; sets dir, writes the identity
#   tls_pair_start BIN PORT WORKERS HANDLER   sets spid, hpid
#   tls_pair_stop

tls_pair_init() {
	if [ "$SERVER" = bin/condure ]; then
		go build -o bin/condure ./cmd/condure
	fi
	dir=$(mktemp -d)
	spid= hpid=
	trap 'kill $spid $hpid 2>/dev/null || :; rm -rf "$dir"' EXIT # kill fails once both are stopped: set -e must not skip the rm
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=localhost \
		-addext subjectAltName=DNS:localhost -keyout "$dir/default.key" -out "$dir/default.crt" 2>/dev/null
}

tls_pair_start() {
	"$1" --listen 127.0.0.1:"$2",tls,default-cert=default --tls-identities-dir "$dir" \
		--zclient-stream "ipc://$dir/z$2" --workers "$3" --log-level 1 >"$dir/log" 2>&1 &
	spid=$!
	"$4" -spec "ipc://$dir/z$2" >"$dir/hlog" 2>&1 &
	hpid=$!
	sleep 1 # the server binds, the handler's SUB subscribes (slow joiner)
}

tls_pair_stop() {
	kill $spid $hpid
	wait $spid $hpid 2>/dev/null || true
}
