package server

import (
	"testing"

	"github.com/condure-go/condure/reactor"
)

func TestAddrTableRefsAndLive(t *testing.T) {
	tb := newAddrTable()
	a := tb.ref([]byte("handler-a"))
	b := tb.ref([]byte("handler-b"))
	a2 := tb.ref([]byte("handler-a"))
	if a != a2 || a == b || string(tb.name(a)) != "handler-a" || string(tb.name(b)) != "handler-b" {
		t.Fatalf("refs a=%d a2=%d b=%d", a, a2, b)
	}
	if tb.live != 3 {
		t.Fatalf("live %d, want 3", tb.live)
	}
	tb.unref(a)
	tb.unref(0) // no handler: ignored
	tb.unref(b)
	if tb.live != 1 {
		t.Fatalf("live %d after two unrefs, want 1", tb.live)
	}
	tb.unref(a2)
	if tb.live != 0 {
		t.Fatalf("live %d, want 0: the worker would keep sweeping", tb.live)
	}
	if r := tb.ref([]byte("handler-a")); r != a { // kept interned below keepAddrs
		t.Fatalf("re-ref gave %d, want %d", r, a)
	}
}

// A worker that slept through k sweeps without sessions puts its cursor
// where k empty sweeps would have: slots keep their place in the cycle.
func TestSkipSweepsMatchesEmptySweeps(t *testing.T) {
	for _, k := range []uint64{1, 7, 449, 450, 1000, 123457} {
		swept := &Worker{conns: reactor.NewSlab[conn](1000), kaSweeps: keepAliveSweeps}
		swept.kaCursor = 17
		for i := uint64(0); i < k; i++ {
			swept.sweepKeepAlives()
		}
		skipped := &Worker{conns: reactor.NewSlab[conn](1000), kaSweeps: keepAliveSweeps}
		skipped.kaCursor = 17
		skipped.skipSweeps(k)
		if swept.kaCursor != skipped.kaCursor {
			t.Fatalf("k=%d: cursor %d after sweeps, %d after skipping", k, swept.kaCursor, skipped.kaCursor)
		}
	}
}
