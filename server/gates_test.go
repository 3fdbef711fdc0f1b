package server

import (
	"slices"
	"testing"
)

// The wait FIFOs threaded through the slots: order kept, a slot in one
// FIFO at a time, leaving from anywhere, and a refused session keeping its
// turn.
func TestGateFIFO(t *testing.T) {
	w := &Worker{addrs: newAddrTable()}
	w.bp.next, w.bp.prev, w.bp.on = make([]int32, 8), make([]int32, 8), make([]int32, 8)
	a := addrGate(w.addrs.ref([]byte("h1")))
	order := func(id int32) []int32 {
		var got []int32
		for s := w.gate(id).head; s != 0; s = w.bp.next[s-1] {
			got = append(got, s-1)
		}
		return got
	}
	for _, s := range []int32{3, 1, 5, 0} {
		w.wait(s, gateOut)
	}
	w.wait(1, gateOut) // already waiting there: keeps its place
	if got := order(gateOut); !slices.Equal(got, []int32{3, 1, 5, 0}) {
		t.Fatalf("FIFO %v", got)
	}
	w.unwait(5)  // a client that leaves
	w.wait(3, a) // moves to the address's FIFO
	w.unwait(7)  // not waiting: nothing happens
	if got := order(gateOut); !slices.Equal(got, []int32{1, 0}) || !w.waiting(3) || w.waiting(5) {
		t.Fatalf("FIFO %v after leaving", got)
	}
	w.toFront(0)
	if got := order(gateOut); !slices.Equal(got, []int32{0, 1}) || w.gate(gateOut).tail != 2 {
		t.Fatalf("FIFO %v after toFront, tail %d", got, w.gate(gateOut).tail)
	}
	if got := order(a); !slices.Equal(got, []int32{3}) {
		t.Fatalf("address FIFO %v", got)
	}
	if !slices.Contains(w.bp.retry, gateOut) || !slices.Contains(w.bp.retry, a) {
		t.Fatalf("gates with waiters not listed for retry: %v", w.bp.retry)
	}
	// closed: blocked, or others waiting who are not the ones resuming.
	if !w.closed(gateOut) {
		t.Fatal("gate with waiters open to newcomers")
	}
	w.bp.resuming = gateOut
	if w.closed(gateOut) {
		t.Fatal("gate closed to the waiters it is resuming")
	}
}
