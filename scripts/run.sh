#!/bin/sh
# Runs condure on port 8000 with the bundled Python example handler, as the
# original condure README does: `condure --listen 8000 --zclient-stream
# ipc://client` (socket files client-out, client-out-stream, client-in in
# the current directory, removed on exit). Try `curl -i http://localhost:8000/`;
# more handlers can join with the examples' default --spec ipc://client.
# Ctrl-C stops both.
set -e
BIN=${1:-bin/condure}
PY=${PY:-/usr/bin/python3}
cleanup() { kill "$HANDLER" 2>/dev/null || true; }
trap cleanup EXIT INT TERM
"$PY" "$(dirname "$0")/../examples/basichandler.py" --spec ipc://client &
HANDLER=$!
echo "example handler pid $HANDLER; condure on :8000 (Ctrl-C to stop)"
"$BIN" --listen 8000 --zclient-stream ipc://client
