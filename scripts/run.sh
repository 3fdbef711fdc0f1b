#!/bin/sh
# Runs condure on port 8000 with the bundled Python example handler, as the
# original condure README does: try `curl -i http://localhost:8000/`.
# Ctrl-C stops both.
set -e
BIN=${1:-bin/condure}
PY=${PY:-/usr/bin/python3}
DIR=$(mktemp -d /tmp/condure-run.XXXXXX)
SPEC="ipc://$DIR/client"
cleanup() { kill "$HANDLER" 2>/dev/null || true; rm -rf "$DIR"; }
trap cleanup EXIT INT TERM
"$PY" "$(dirname "$0")/../examples/basichandler.py" --spec "$SPEC" &
HANDLER=$!
echo "example handler pid $HANDLER; condure on :8000 (Ctrl-C to stop)"
"$BIN" --listen 8000 --zclient-stream "$SPEC"
