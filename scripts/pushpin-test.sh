#!/bin/sh
# Runs the Pushpin integration tests (cmd/condure/e2e_pushpin_test.go)
# against our binary and against the reference condure, so that a failure
# can be told apart from a problem in the test itself.
#
#   scripts/pushpin-test.sh            short tests (a few seconds)
#   LONG=1 scripts/pushpin-test.sh     also the 70 s idle-hold test (each
#                                      binary, run in parallel)
#   REF=/path/to/condure               reference binary (default /usr/bin/condure)
#
# Needs the Debian packages pushpin and zurl (condure comes with pushpin).
set -eu
cd "$(dirname "$0")/.."
GO=${GO:-go}
REF=${REF:-/usr/bin/condure}
if [ ! -x /usr/bin/pushpin ]; then
	echo "pushpin not installed: apt-get install -y pushpin zurl" >&2
	exit 1
fi
run='TestPushpin$'
if [ "${LONG:-}" = 1 ]; then
	run='TestPushpin'
	export CONDURE_LONG_TESTS=1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
$GO test -count=1 -v -run "$run" ./cmd/condure >"$tmp/ours" 2>&1 &
ours=$!
rc_ref=0
if [ -x "$REF" ]; then
	CONDURE_BIN_UNDER_TEST=$REF $GO test -count=1 -v -run "$run" ./cmd/condure >"$tmp/ref" 2>&1 || rc_ref=$?
else
	echo "no reference binary at $REF" >"$tmp/ref"
fi
rc_ours=0
wait $ours || rc_ours=$?
echo "=== ours"; cat "$tmp/ours"
echo "=== reference ($REF)"; cat "$tmp/ref"
echo "ours: exit $rc_ours, reference: exit $rc_ref"
[ $rc_ours = 0 ] && [ $rc_ref = 0 ]
