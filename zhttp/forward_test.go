package zhttp

import (
	"bytes"
	"testing"
	"time"

	zmq "github.com/pebbe/zmq4"
)

// forwardPair wires PUSH → (src PULL) forward (dst ROUTER, mandatory) → a
// DEALER peer with identity "h1".
func forwardPair(t *testing.T) (push *zmq.Socket, f *forward, peer *zmq.Socket) {
	t.Helper()
	ctx, _ := zmq.NewContext()
	src, _ := newSock(ctx, zmq.PULL, 0)
	src.s.Bind("inproc://fwd-src")
	dst, _ := newSock(ctx, zmq.ROUTER, 0)
	dst.s.SetRouterMandatory(1)
	dst.s.Bind("inproc://fwd-dst")
	push, _ = ctx.NewSocket(zmq.PUSH)
	push.Connect("inproc://fwd-src")
	peer, _ = ctx.NewSocket(zmq.DEALER)
	peer.SetIdentity("h1")
	peer.Connect("inproc://fwd-dst")
	f = newForward(src, dst)
	t.Cleanup(func() {
		push.Close()
		peer.Close()
		src.Close(0)
		dst.Close(0)
		f.close()
		ctx.Term()
	})
	time.Sleep(20 * time.Millisecond) // the peer's identity reaches the ROUTER
	return push, f, peer
}

func TestForwardMovesWholeMessagesAndDropsUnroutable(t *testing.T) {
	push, f, peer := forwardPair(t)
	big := bytes.Repeat([]byte("b"), 100000)
	push.SendMessage("h1", "", "first")
	push.SendMessage("nobody", "", "lost") // unroutable: dropped with its frames
	push.SendMessage("h1", "", big)
	deadline := time.Now().Add(5 * time.Second)
	var got [][]byte
	for len(got) < 2 && time.Now().Before(deadline) {
		f.pump()
		if m, err := peer.RecvMessageBytes(zmq.DONTWAIT); err == nil {
			got = append(got, m[len(m)-1])
			if len(m) != 2 || len(m[0]) != 0 {
				t.Fatalf("peer got %d frames, want [\"\", payload]", len(m))
			}
		} else {
			time.Sleep(time.Millisecond)
		}
	}
	if len(got) != 2 || string(got[0]) != "first" || !bytes.Equal(got[1], big) {
		t.Fatalf("peer got %d messages (%q...)", len(got), got)
	}
	if f.pending() {
		t.Fatal("pending after everything was delivered")
	}
}
