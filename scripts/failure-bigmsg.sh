#!/bin/bash
# Issue #12 scenario 5: a handler publishes one 64 MiB message. For each
# server binary (default: ours, then condure 1.9.1), with the same flags and
# handlers: server RSS before / peak / after, whether another handler's
# session and a new request still work, and whether the sender's
# connection was cut (and remade by libzmq). See bench/bigmsg.
# Usage: scripts/failure-bigmsg.sh [server binary ...]
set -e
cd "$(dirname "$0")/.."
go build -o bin/condure ./cmd/condure
go build -o bin/bigmsg ./bench/bigmsg
bins=("$@")
[ ${#bins[@]} -eq 0 ] && bins=(bin/condure /usr/bin/condure)
for b in "${bins[@]}"; do
	bin/bigmsg -bin "$b" -size $((64 << 20)) -workers 2 -settle 5s
done
