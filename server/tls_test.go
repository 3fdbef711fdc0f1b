package server

import (
	"io"
	"testing"
	"time"
)

// The handshake's input is capped: at handshakeInputCap unconsumed bytes
// room is 0 (reported as a new pause once); when the handshake goroutine
// has consumed everything it says it waits (onWait), idle is true and the
// pause is over.
func TestMemTransportInputCap(t *testing.T) {
	waits := make(chan struct{}, 4)
	tr := newMemTransport(func() {}, func() { waits <- struct{}{} })
	chunk := make([]byte, 1000)
	for {
		n, first := tr.room()
		if first {
			t.Fatalf("pause reported with room %d", n)
		}
		if n < len(chunk) {
			tr.feed(chunk[:n])
			break
		}
		tr.feed(chunk)
	}
	if n, first := tr.room(); n != 0 || !first {
		t.Fatalf("room at the cap = %d, %v; want 0, first pause", n, first)
	}
	if n, first := tr.room(); n != 0 || first {
		t.Fatalf("room again = %d, %v; want 0, not a new pause", n, first)
	}
	if tr.idle() {
		t.Fatal("idle with input buffered")
	}
	// The goroutine drains the input, then blocks: it says so.
	got := make(chan int)
	go func() {
		total := 0
		buf := make([]byte, 4096)
		for total < handshakeInputCap+10 {
			n, err := tr.Read(buf)
			if err != nil {
				break
			}
			total += n
		}
		got <- total
	}()
	select {
	case <-waits:
	case <-time.After(5 * time.Second):
		t.Fatal("no onWait after the input was drained")
	}
	if !tr.idle() {
		t.Fatal("not idle while the goroutine waits with no input")
	}
	if n, first := tr.room(); n != handshakeInputCap || first {
		t.Fatalf("room after the drain = %d, %v; want %d", n, first, handshakeInputCap)
	}
	tr.feed(chunk[:10])
	if total := <-got; total != handshakeInputCap+10 {
		t.Fatalf("read %d bytes, want %d", total, handshakeInputCap+10)
	}
	if tr.idle() {
		t.Fatal("idle after the goroutine took its input and left")
	}
	// Close ends a waiting Read with EOF.
	done := make(chan error)
	go func() { _, err := tr.Read(make([]byte, 1)); done <- err }()
	<-waits
	tr.Close()
	if err := <-done; err != io.EOF {
		t.Fatalf("Read after Close: %v, want EOF", err)
	}
}

// A refQueue pops live entries oldest first, skips stale ones, and keeps
// its array within about twice its live entries however many go stale.
func TestRefQueue(t *testing.T) {
	var q refQueue
	stale := map[int32]bool{}
	valid := func(r slotRef) bool { return !stale[r.slot] }
	for i := int32(0); i < 10; i++ {
		q.push(slotRef{slot: i}, valid)
	}
	stale[0], stale[3] = true, true
	q.drop()
	q.drop()
	for _, want := range []int32{1, 2, 4} {
		r, ok := q.pop(valid)
		if !ok || r.slot != want {
			t.Fatalf("pop = %d, %v; want %d", r.slot, ok, want)
		}
		stale[r.slot] = true
		q.drop()
	}
	if q.live != 5 {
		t.Fatalf("live %d, want 5", q.live)
	}
	// Churn: entries pushed and going stale before they reach the head.
	for i := int32(100); i < 100000; i++ {
		q.push(slotRef{slot: i}, valid)
		stale[i] = true
		q.drop()
	}
	if q.live != 5 || len(q.refs)-q.head > 2*q.live+65 || cap(q.refs) > 1024 {
		t.Fatalf("after churn: live %d, %d entries, array %d", q.live, len(q.refs)-q.head, cap(q.refs))
	}
	for _, want := range []int32{5, 6, 7, 8, 9} {
		r, ok := q.pop(valid)
		if !ok || r.slot != want {
			t.Fatalf("pop = %d, %v; want %d", r.slot, ok, want)
		}
		stale[r.slot] = true
		q.drop()
	}
	if r, ok := q.pop(valid); ok {
		t.Fatalf("pop from an empty queue = %d", r.slot)
	}
}
