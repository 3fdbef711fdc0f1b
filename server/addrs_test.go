package server

import (
	"testing"
	"time"

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
// where k empty sweeps would have: slots keep their place in the cycle,
// whether the cycle spans one slot per connection or, once HTTP/2 streams
// used more, the session slab's high-water mark.
func TestSkipSweepsMatchesEmptySweeps(t *testing.T) {
	worker := func(used int) *Worker {
		w := &Worker{conns: reactor.NewSlab[conn](1000), sessions: reactor.NewSlab[session](2000), kaSweeps: maxSweeps}
		for range used { // sessions that came and went
			w.sessions.Alloc()
		}
		for i := range int32(used) {
			w.sessions.Free(i)
		}
		w.kaCursor = 17
		return w
	}
	for _, used := range []int{10, 1500} {
		for _, k := range []uint64{1, 7, 449, 450, 1000, 123457} {
			swept := worker(used)
			for i := uint64(0); i < k; i++ {
				swept.sweepKeepAlives()
			}
			skipped := worker(used)
			skipped.skipSweeps(k)
			if swept.kaCursor != skipped.kaCursor {
				t.Fatalf("%d used, k=%d: cursor %d after sweeps, %d after skipping", used, k, swept.kaCursor, skipped.kaCursor)
			}
		}
	}
}

// A cycle of sweeps visits one slot per connection, not every slot of a
// session slab that HTTP/2 made twice as big: each sweep's slice, so its
// burst of keep-alives, is as big as without HTTP/2 (issue #19); slots past
// the connections' count, once streams used them, are visited too.
func TestSweepSpan(t *testing.T) {
	w := &Worker{conns: reactor.NewSlab[conn](1000), sessions: reactor.NewSlab[session](2000), kaSweeps: 10}
	if got := w.sweepSpan(); got != 1000 {
		t.Fatalf("span %d with no sessions, want 1000 (the connections)", got)
	}
	w.sweepKeepAlives()
	if w.kaCursor != 100 {
		t.Fatalf("cursor %d after one sweep, want 100: a tenth of the connections' slots", w.kaCursor)
	}
	for range 1500 {
		w.sessions.Alloc()
	}
	if got := w.sweepSpan(); got != 1500 {
		t.Fatalf("span %d with 1500 slots used, want 1500", got)
	}
	w.kaCursor = 0
	w.sweepKeepAlives()
	if w.kaCursor != 150 {
		t.Fatalf("cursor %d after one sweep, want 150: a tenth of the 1500 slots used", w.kaCursor)
	}
	for range w.kaSweeps - 1 {
		w.sweepKeepAlives()
	}
	if w.kaCursor != 0 {
		t.Fatalf("cursor %d after a cycle, want 0: the cycle covers the 1500 slots", w.kaCursor)
	}
}

// Small workers sweep rarely, big ones in bounded slices, and the sweeps
// always fill the cycle.
func TestKeepAliveSchedule(t *testing.T) {
	for _, tc := range []struct {
		slots  int
		cycle  time.Duration
		sweeps int32
		ticks  uint64
	}{
		{100, 45 * time.Second, 9, 500},      // every 5 s
		{10000, 45 * time.Second, 9, 500},    // the bench's 20000 over 2 workers
		{100000, 45 * time.Second, 25, 180},  // 4000 slots every 1.8 s
		{500000, 45 * time.Second, 90, 50},   // 1M over 2 workers: 5.6k every 500 ms
		{10000000, 45 * time.Second, 90, 50}, // never finer than 500 ms
		{10000, time.Second, 9, 11},          // test hook interval
		{10000, 30 * time.Millisecond, 3, 1}, // shorter than the sweeps: one per tick
	} {
		sweeps, ticks := keepAliveSchedule(tc.slots, tc.cycle)
		if sweeps != tc.sweeps || ticks != tc.ticks {
			t.Errorf("%d slots, %v: %d sweeps every %d ticks, want %d every %d", tc.slots, tc.cycle, sweeps, ticks, tc.sweeps, tc.ticks)
		}
	}
}

// ref's cache of the last address must forget an address the table
// forgot: past keepAddrs an unreferenced address leaves the index and its
// slot goes to the free list, and a cached hit on it would hand out a free
// slot that the next new address then takes over.
func TestAddrTableLastForgotten(t *testing.T) {
	tb := newAddrTable()
	for i := range keepAddrs + 1 {
		tb.ref([]byte{'h', byte(i), byte(i >> 8)})
	}
	x := tb.ref([]byte("handler-x"))
	if again := tb.ref([]byte("handler-x")); again != x {
		t.Fatalf("second ref of the same address: %d, want %d", again, x)
	}
	tb.unref(x)
	tb.unref(x) // forgotten: the table is past keepAddrs
	x2 := tb.ref([]byte("handler-x"))
	y := tb.ref([]byte("handler-y"))
	if x2 == y || string(tb.name(x2)) != "handler-x" || string(tb.name(y)) != "handler-y" {
		t.Fatalf("x=%d (%q) y=%d (%q): two addresses share a slot", x2, tb.name(x2), y, tb.name(y))
	}
	if a := tb.ref([]byte{'h', 0, 0}); string(tb.name(a)) != "h\x00\x00" {
		t.Fatalf("first address now %q", tb.name(a))
	}
}
