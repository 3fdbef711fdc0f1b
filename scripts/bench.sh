#!/bin/bash
# The `make bench` report: builds the server and the load tools, then runs
# the standard scenarios for our server and, when it exists, the reference
# condure (alternating A B A B), and writes bench/results/{report.txt,
# bench.svg,results.raw}. Takes about 11 minutes on 2 cores, plus 4-6 for the
# TLS sections.
#
# Environment:
#   SERVER=path     our binary (default: build bin/condure from this tree)
#   REF=path        reference binary (default /usr/bin/condure; REF= to skip)
#   ROUNDS=n        rounds (default 2)
#   CONNS=N         idle-connection steps N/15, N/3, N (default 15000), or a list
#   SOURCES=A-B     client source addresses (default 127.0.0.2-127.0.0.60)
#   ONLY=list       scenarios: http,idle-http,idle-ws,ws,idle-https,idle-wss,tls (default all;
#                   the last three are TLS, with bin/tlsload as the client: ONLY=http,idle-http,idle-ws,ws skips them)
#   NGINX=path      nginx for the `return 200` floor (default /usr/sbin/nginx; NGINX= to skip)
#   PERF=path       perf counting the server's syscalls (default perf; PERF= to skip)
#   SERVER_ARGS=..  extra flags for our server; REF_ARGS=.. for the reference
#                   (A/B of one build: REF=bin/condure SERVER_ARGS="--prometheus 127.0.0.1:19099")
# Extra arguments go to bench/report (see bin/benchreport -h).
#
# For a 1M run on a big box (the server and loadgen each need ~1M open files):
#   ulimit -n 1100000; CONNS=1000000 SOURCES=127.0.0.2-127.0.0.60 scripts/bench.sh
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
if [ -z "${SERVER:-}" ]; then
	$GO build -o bin/condure ./cmd/condure
	SERVER=bin/condure
fi
$GO build -o bin/loadgen ./bench/loadgen
$GO build -o bin/echohandler ./bench/echohandler
$GO build -o bin/tlsload ./bench/tlsload
$GO build -o bin/benchreport ./bench/report
exec bin/benchreport -server "$SERVER" -ref "${REF-/usr/bin/condure}" -rounds "${ROUNDS:-2}" \
	-only "${ONLY:-http,idle-http,idle-ws,ws,idle-https,idle-wss,tls}" -server-args "${SERVER_ARGS:-}" -ref-args "${REF_ARGS:-}" "$@"
