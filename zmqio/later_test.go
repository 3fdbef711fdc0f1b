package zmqio

import (
	"testing"
	"time"

	zmq "github.com/pebbe/zmq4"
)

// pushPull gives a PUSH socket connected to a PULL one over inproc://name,
// both with high-water mark hwm, closed (and their context ended) when the
// test ends.
func pushPull(t *testing.T, name string, hwm int) (push, pull *Sock) {
	t.Helper()
	ctx, err := zmq.NewContext()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ctx.Term() })
	if push, err = newSock(ctx, zmq.PUSH, hwm); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { push.Close(0) })
	if pull, err = newSock(ctx, zmq.PULL, hwm); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pull.Close(0) })
	if err := pull.s.Bind("inproc://" + name); err != nil {
		t.Fatal(err)
	}
	if err := push.s.Connect("inproc://" + name); err != nil {
		t.Fatal(err)
	}
	return push, pull
}

// Held messages go out in order at Flush, each as one message (with the
// empty delimiter when asked); at the high-water mark Flush keeps the rest
// and SendLater refuses until a later Flush has sent them all.
func TestSendLaterFlush(t *testing.T) {
	const hwm = 4
	push, pull := pushPull(t, "later", hwm)
	want := []string{"a", "bb", "", "dddd"}
	for _, m := range want {
		if err := push.SendLater(nil, []byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	if sent, dropped, err := push.Flush(); sent != 4 || dropped != 0 || err != nil || push.Held() {
		t.Fatalf("flush: %d sent, %d dropped, %v, held %v", sent, dropped, err, push.Held())
	}
	for _, m := range want {
		f0, more, ok, err := pull.Recv()
		if !ok || err != nil || !more || len(f0) != 0 {
			t.Fatalf("delimiter: %q more %v ok %v %v", f0, more, ok, err)
		}
		f1, more, ok, err := pull.Recv()
		if !ok || err != nil || more || string(f1) != m {
			t.Fatalf("payload %q, want %q (more %v ok %v %v)", f1, m, more, ok, err)
		}
	}
	// Fill the pipe (hwm on each side) a cap's worth at a time until a
	// flush meets the high-water mark.
	n := 0
	for pass := 0; !push.Held(); pass++ {
		if pass > 4*hwm {
			t.Fatal("the pipe never filled")
		}
		for i := 0; i < hwm; i++ {
			if err := push.SendLater([]byte{byte(n)}); err != nil {
				t.Fatalf("SendLater %d before a flush: %v", n, err)
			}
			n++
		}
		push.Flush()
	}
	if err := push.SendLater([]byte("x")); err != ErrWouldBlock {
		t.Fatalf("SendLater while held: %v", err)
	}
	// The reader makes room: the rest goes, in order.
	got := 0
	deadline := time.Now().Add(5 * time.Second)
	for got < n && time.Now().Before(deadline) {
		m, _, ok, err := pull.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			push.Flush()
			time.Sleep(time.Millisecond)
			continue
		}
		if len(m) != 1 || int(m[0]) != got {
			t.Fatalf("message %d: %q", got, m)
		}
		got++
	}
	if got != n || push.Held() {
		t.Fatalf("%d of %d received, held %v", got, n, push.Held())
	}
	if err := push.SendLater([]byte("x")); err != nil {
		t.Fatalf("SendLater after the flush: %v", err)
	}
}

// At most the high-water mark of messages is held: SendLater then refuses,
// and once a Flush has sent them Capped says so, once.
func TestSendLaterCap(t *testing.T) {
	const hwm = 4
	push, _ := pushPull(t, "later-cap", hwm)
	for i := 0; i < hwm; i++ {
		if err := push.SendLater([]byte{byte(i)}); err != nil {
			t.Fatalf("SendLater %d: %v", i, err)
		}
	}
	if err := push.SendLater([]byte("over")); err != ErrWouldBlock {
		t.Fatalf("SendLater over the cap: %v", err)
	}
	if push.Capped() {
		t.Fatal("Capped before the flush")
	}
	if sent, _, _ := push.Flush(); sent != hwm || push.Held() {
		t.Fatalf("flush sent %d, held %v", sent, push.Held())
	}
	if !push.Capped() || push.Capped() {
		t.Fatal("Capped should report once after the flush")
	}
	if err := push.SendLater([]byte("again")); err != nil {
		t.Fatalf("SendLater after the flush: %v", err)
	}
}

// A message refused for another reason than the high-water mark is dropped
// and counted, and the flush goes on with the next (here every one: a SUB
// socket cannot send).
func TestFlushDropsRefused(t *testing.T) {
	ctx, err := zmq.NewContext()
	if err != nil {
		t.Fatal(err)
	}
	defer ctx.Term()
	sub, err := newSock(ctx, zmq.SUB, 4)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close(0)
	for _, m := range []string{"a", "bb", "ccc"} {
		if err := sub.SendLater(nil, []byte(m)); err != nil {
			t.Fatal(err)
		}
	}
	sent, dropped, err := sub.Flush()
	if sent != 0 || dropped != 3 || err == nil || sub.Held() {
		t.Fatalf("flush: %d sent, %d dropped, %v, held %v; want 0, 3, an error, not held", sent, dropped, err, sub.Held())
	}
	if sent, dropped, err := sub.Flush(); sent+dropped != 0 || err != nil {
		t.Fatalf("second flush: %d sent, %d dropped, %v; want nothing", sent, dropped, err)
	}
}

// Holding and flushing allocates nothing once the buffers have grown.
func TestSendLaterFlushAllocationFree(t *testing.T) {
	push, pull := pushPull(t, "later-alloc", 0)
	pkt := make([]byte, 300)
	round := func() {
		for i := 0; i < 3; i++ {
			if err := push.SendLater(nil, pkt); err != nil {
				t.Fatal(err)
			}
		}
		if sent, dropped, err := push.Flush(); sent != 3 || err != nil {
			t.Fatalf("flush: %d sent, %d dropped, %v, held %v", sent, dropped, err, push.Held())
		}
		for i := 0; i < 6; i++ {
			recvWait(t, pull)
		}
	}
	round()
	if allocs := testing.AllocsPerRun(100, round); allocs != 0 {
		t.Fatalf("%v allocations per 3 held messages", allocs)
	}
}
