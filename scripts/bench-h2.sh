#!/bin/bash
# HTTP/2 figures for issue #17, same run, same handler (bench/hellohandler:
# 200 "hello world\n" from one packet), 1 worker:
#
#   h2load -c10 -m100 and -c1 -m100 (h2c prior knowledge) against ours;
#   h2load --h1 -c100 (the same client over HTTP/1, for a like-for-like ratio);
#   wrk -c100 (HTTP/1) against ours and the reference.
#
# For each: requests/s, server CPU per 100k requests (utime+stime of the
# server process from /proc/PID/stat over the measured run only, after a
# warm-up run), p50/p99 latency (h2load: from its --log-file; wrk: --latency).
# Rounds alternate ours/reference. Then memory per idle connection after one
# request (bench/h2hold: anonymous RSS above a warm-up of held connections,
# as bench/loadgen's hold mode measures idle HTTP) at each of IDLE_N, over h2c
# and, in the same server, over HTTP/1 keep-alive.
#
# Environment: ROUNDS (3), REQS (h2load requests per run, 200000),
# DUR (wrk seconds, 10), PORT (first port, 28700), REF (/usr/bin/condure;
# REF= to skip), IDLE_N (1000,10000), WORKERS (1), SOURCES (h2hold client
# addresses, 127.0.0.2-127.0.0.40).
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
ROUNDS=${ROUNDS:-3}
REQS=${REQS:-200000}
DUR=${DUR:-10}
PORT=${PORT:-28700}
REF=${REF-/usr/bin/condure}
IDLE_N=${IDLE_N:-1000,10000}
WORKERS=${WORKERS:-1}
SOURCES=${SOURCES:-127.0.0.2-127.0.0.40}
TCK=$(getconf CLK_TCK)

$GO build -o bin/condure ./cmd/condure
$GO build -o bin/hellohandler ./bench/hellohandler
$GO build -o bin/h2hold ./bench/h2hold
OURS=bin/condure
TMP=$(mktemp -d /tmp/bench-h2.XXXXXX)
SPID= HPID=
cleanup() {
	[ -n "$HPID" ] && kill "$HPID" 2>/dev/null || true
	[ -n "$SPID" ] && kill "$SPID" 2>/dev/null || true
	wait 2>/dev/null || true
}
trap 'cleanup; rm -rf "$TMP"' EXIT

# start BIN PORT ARGS...: server + handler; sets SPID, HPID.
start() {
	local bin=$1 port=$2
	shift 2
	local spec="ipc://$TMP/c$port"
	"$bin" --listen "127.0.0.1:$port,stream" --zclient-stream "$spec" --workers "$WORKERS" \
		--stream-maxconn 20000 "$@" >"$TMP/server$port.log" 2>&1 &
	SPID=$!
	for _ in $(seq 100); do
		(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
		sleep 0.05
	done
	bin/hellohandler -spec "$spec" >"$TMP/handler$port.log" 2>&1 &
	HPID=$!
	for _ in $(seq 100); do
		curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$port/" && return 0
		sleep 0.05
	done
	echo "server $bin on $port does not answer" >&2
	cat "$TMP/server$port.log" >&2
	exit 1
}

stop() {
	kill "$HPID" "$SPID" 2>/dev/null || true
	wait "$HPID" "$SPID" 2>/dev/null || true
	SPID= HPID=
}

ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }

# measure LABEL CMD...: runs CMD (a load tool) with the server's CPU
# counted around it; prints one result line from the tool's output.
measure() {
	local label=$1
	shift
	local t0 t1 out
	t0=$(ticks "$SPID")
	out=$("$@" 2>&1)
	t1=$(ticks "$SPID")
	echo "$out" >"$TMP/last.out"
	local reqs rps p50 p99
	if [ "$1" = wrk ]; then
		reqs=$(echo "$out" | awk '/requests in/{print $1}')
		rps=$(echo "$out" | awk '/Requests\/sec/{print $2}')
		# wrk prints 512.00us, 1.20ms or 1.01s: in ms like h2load's
		local toms='function ms(v) { if (v ~ /us$/) return sprintf("%.2fms", v / 1000); if (v ~ /ms$/) return sprintf("%.2fms", v + 0); return sprintf("%.2fms", v * 1000) }'
		p50=$(echo "$out" | awk "$toms"' $1=="50%"{print ms($2)}')
		p99=$(echo "$out" | awk "$toms"' $1=="99%"{print ms($2)}')
		if echo "$out" | grep -q "Non-2xx\|Socket errors"; then
			echo "$label: errors: $(echo "$out" | grep 'Non-2xx\|Socket errors')" >&2
		fi
	else
		reqs=$(echo "$out" | awk '/^requests:/{print $8}')
		rps=$(echo "$out" | awk '/^finished in/{print $4}')
		local fail
		fail=$(echo "$out" | awk '/^requests:/{print $10+$12}')
		[ "$fail" = 0 ] || echo "$label: $fail failed/errored requests" >&2
		read -r p50 p99 < <(awk -F'\t' '{print $3}' "$TMP/h2load.log" | sort -n |
			awk '{v[NR]=$1} END{printf "%.2fms %.2fms\n", v[int(NR*0.5)]/1000, v[int(NR*0.99)]/1000}')
	fi
	local cpu
	cpu=$(awk -v d=$((t1 - t0)) -v n="$reqs" -v tck="$TCK" 'BEGIN{printf "%.2f", d/tck/n*100000}')
	printf "%-34s reqs %8s  req/s %10s  CPU s/100k %6s  p50 %8s  p99 %8s\n" "$label" "$reqs" "$rps" "$cpu" "$p50" "$p99" | tee -a "$TMP/results"
}

H2LOAD="h2load -t1 --log-file=$TMP/h2load.log"
echo "# $(nproc) cores, $(uname -r); ours: $($OURS --version | head -1); ref: ${REF:+$($REF --version | head -1)}; workers $WORKERS"
for r in $(seq "$ROUNDS"); do
	port=$((PORT + 2 * r))
	order="ours ref"
	[ $((r % 2)) = 0 ] && order="ref ours"
	for who in $order; do
		if [ "$who" = ours ]; then
			start "$OURS" "$port" --http2
			url="http://127.0.0.1:$port/"
			h2load -n 20000 -c10 -m100 -t1 "$url" >/dev/null # warm-up
			measure "r$r ours h2load -c10 -m100 (h2c)" $H2LOAD -n "$REQS" -c10 -m100 "$url"
			measure "r$r ours h2load -c1 -m100 (h2c)" $H2LOAD -n "$REQS" -c1 -m100 "$url"
			measure "r$r ours h2load --h1 -c100 (http/1)" $H2LOAD --h1 -n "$REQS" -c100 -m1 "$url"
			wrk -c100 -t2 -d2s "$url" >/dev/null # warm-up
			measure "r$r ours wrk -c100 (http/1)" wrk -c100 -t2 -d"${DUR}s" --latency "$url"
			stop
		elif [ -n "$REF" ]; then
			start "$REF" $((port + 1))
			url="http://127.0.0.1:$((port + 1))/"
			h2load --h1 -n 20000 -c100 -m1 -t1 "$url" >/dev/null # warm-up
			measure "r$r ref  h2load --h1 -c100 (http/1)" $H2LOAD --h1 -n "$REQS" -c100 -m1 "$url"
			wrk -c100 -t2 -d2s "$url" >/dev/null
			measure "r$r ref  wrk -c100 (http/1)" wrk -c100 -t2 -d"${DUR}s" --latency "$url"
			stop
		fi
	done
done

echo
echo "# medians over $ROUNDS rounds (min-max)"
sed 's/^r[0-9]* //' "$TMP/results" | awk '
{
	label = substr($0, 1, 31); sub(/ +$/, "", label)
	for (i = 1; i <= NF; i++) {
		if ($i == "req/s") rps[label] = rps[label] " " $(i+1)
		if ($i == "s/100k") cpu[label] = cpu[label] " " $(i+1)
		if ($i == "p50") p50[label] = p50[label] " " $(i+1)
		if ($i == "p99") p99[label] = p99[label] " " $(i+1)
	}
	if (!(label in seen)) { seen[label] = 1; order[++n] = label }
}
function med(s,   a, k, i, j, t) {
	k = split(s, a, " ")
	for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
	return sprintf("%s (%s-%s)", a[int((k + 1) / 2)], a[1], a[k])
}
END {
	for (i = 1; i <= n; i++) {
		l = order[i]
		printf "%-31s req/s %-26s CPU s/100k %-20s p50 %s  p99 %s\n", l, med(rps[l]), med(cpu[l]), med(p50[l]), med(p99[l])
	}
}'

echo
echo "# memory per idle connection after one request (bench/h2hold; the server's idle limit is 60 s)"
port=$((PORT + 2 * ROUNDS + 2))
start "$OURS" "$port" --http2
bin/h2hold -addr "127.0.0.1:$port" -pid "$SPID" -n "$IDLE_N" -proto h2 -sources "$SOURCES"
stop
start "$OURS" $((port + 1)) --http2
bin/h2hold -addr "127.0.0.1:$((port + 1))" -pid "$SPID" -n "$IDLE_N" -proto http1 -sources "$SOURCES"
stop
