package server

import (
	"io"
	"testing"
	"time"
)

// The handshake's input is capped: at handshakeInputCap unconsumed bytes
// room is 0 (reported as a new pause once), and when the handshake
// goroutine has consumed everything and waits for more it asks the worker
// to read on (resume), once per pause.
func TestMemTransportInputCap(t *testing.T) {
	resumed := make(chan struct{}, 4)
	tr := newMemTransport(func() {}, func() { resumed <- struct{}{} })
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
	// The goroutine drains the input, then blocks: that asks for more.
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
	case <-resumed:
	case <-time.After(5 * time.Second):
		t.Fatal("no resume after the input was drained")
	}
	if n, first := tr.room(); n != handshakeInputCap || first {
		t.Fatalf("room after the drain = %d, %v; want %d", n, first, handshakeInputCap)
	}
	tr.feed(chunk[:10])
	if total := <-got; total != handshakeInputCap+10 {
		t.Fatalf("read %d bytes, want %d", total, handshakeInputCap+10)
	}
	select {
	case <-resumed:
		t.Fatal("resumed twice for one pause")
	default:
	}
	// Without a pause an empty Read waits quietly; Close ends it.
	done := make(chan error)
	go func() { _, err := tr.Read(make([]byte, 1)); done <- err }()
	time.Sleep(20 * time.Millisecond)
	tr.Close()
	if err := <-done; err != io.EOF {
		t.Fatalf("Read after Close: %v, want EOF", err)
	}
	select {
	case <-resumed:
		t.Fatal("resume without a pause")
	default:
	}
}
