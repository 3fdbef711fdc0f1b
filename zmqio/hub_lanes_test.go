package zmqio

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	zmq "github.com/pebbe/zmq4"
)

// forwardPair wires a worker's queue (send puts a message on it) →
// forward (dst ROUTER, mandatory) → a DEALER peer with identity "h1".
func forwardPair(t *testing.T) (send func(frames ...string), f *forward, peer *zmq.Socket) {
	t.Helper()
	ctx, _ := zmq.NewContext()
	q := newRing(1000)
	q.wakeConsumer, q.wakeProducer = func() {}, func() {}
	dst, _ := newSock(ctx, zmq.ROUTER, 0)
	dst.s.SetRouterMandatory(1)
	dst.s.Bind("inproc://fwd-dst")
	peer, _ = ctx.NewSocket(zmq.DEALER)
	peer.SetIdentity("h1")
	peer.Connect("inproc://fwd-dst")
	f = &forward{dst: dst, srcQ: []*ring{q}}
	t.Cleanup(func() {
		peer.Close()
		dst.Close(0)
		f.close()
		ctx.Term()
	})
	time.Sleep(20 * time.Millisecond) // the peer's identity reaches the ROUTER
	send = func(frames ...string) {
		b := make([][]byte, len(frames))
		for i, x := range frames {
			b[i] = []byte(x)
		}
		if !q.put(b...) {
			t.Fatal("queue full")
		}
		q.commit()
	}
	return send, f, peer
}

func TestForwardMovesWholeMessagesAndDropsUnroutable(t *testing.T) {
	send, f, peer := forwardPair(t)
	big := bytes.Repeat([]byte("b"), 100000) // over a quarter of the queue's bytes: a buffer of its own
	send("h1", "", "first")
	send("nobody", "", "lost") // unroutable: dropped with its frames
	send("h1", "", string(big))
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

func tnet(s string) string { return fmt.Sprintf("%d:%s,", len(s), s) }
func tnetDict(items ...string) string {
	b := strings.Join(items, "")
	return fmt.Sprintf("%d:%s}", len(b), b)
}
func tnetList(items ...string) string {
	b := strings.Join(items, "")
	return fmt.Sprintf("%d:%s]", len(b), b)
}

// routePair wires PUSH → (src PULL) route → one queue per worker, read
// through the worker's Sock.
func routePair(t *testing.T, req bool, workers int) (*zmq.Socket, *Hub, *route, []*Sock) {
	t.Helper()
	ctx, _ := zmq.NewContext()
	src, _ := newSock(ctx, zmq.PULL, 0)
	src.s.Bind("inproc://route-src")
	push, _ := ctx.NewSocket(zmq.PUSH)
	push.Connect("inproc://route-src")
	r := newRoute(src, req)
	var outs []*Sock
	for i := 0; i < workers; i++ {
		q := newRing(100)
		q.wakeConsumer, q.wakeProducer = func() {}, func() {}
		r.dstQ = append(r.dstQ, q)
		outs = append(outs, ringSock(q, -1))
	}
	h := &Hub{instance: []byte("condure"), seen: make([]bool, workers)}
	t.Cleanup(func() {
		push.Close()
		src.Close(0)
		r.close()
		ctx.Term()
	})
	return push, h, r, outs
}

// recvMessage receives one whole message from a worker's Sock (copied),
// or nil when none is there.
func recvMessage(s *Sock) [][]byte {
	var m [][]byte
	for {
		f, more, ok, err := s.Recv()
		if !ok || err != nil {
			return m
		}
		m = append(m, append([]byte(nil), f...))
		if !more {
			return m
		}
	}
}

func recvWithin(t *testing.T, s *Sock, pump func()) [][]byte {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		pump()
		if m := recvMessage(s); m != nil {
			return m
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatal("nothing routed")
	return nil
}

func TestRouteStreamToEveryNamedWorker(t *testing.T) {
	push, h, r, outs := routePair(t, false, 3)
	multi := "condure T" + tnetDict(tnet("from"), tnet("h"), tnet("id"), tnetList(
		tnetDict(tnet("id"), tnet("0-1-0"), tnet("seq"), "1:0#"),
		tnetDict(tnet("id"), tnet("2-7-0"), tnet("seq"), "1:4#"),
		tnetDict(tnet("id"), tnet("2-9-0"), tnet("seq"), "1:4#")), tnet("type"), tnet("keep-alive"))
	single := "condure T" + tnetDict(tnet("from"), tnet("h"), tnet("id"), tnet("1-3-0"), tnet("seq"), "1:0#") + strings.Repeat(" ", 5000)
	push.SendMessage(multi, "ignored extra frame")
	push.SendMessage("other T" + tnetDict(tnet("id"), tnet("1-3-0")))
	push.SendMessage(single)
	pump := func() { r.pump(h) }
	for _, w := range []int{0, 2} {
		if m := recvWithin(t, outs[w], pump); len(m) != 1 || string(m[0]) != multi {
			t.Fatalf("worker %d got %q", w, m)
		}
	}
	if m := recvWithin(t, outs[1], pump); len(m) != 1 || string(m[0]) != single {
		t.Fatalf("worker 1 got %d frames", len(m))
	}
	for w, s := range outs { // once each: no duplicates, nothing for another instance
		if m := recvMessage(s); m != nil {
			t.Fatalf("worker %d got an extra message %q", w, m)
		}
	}
}

func TestRouteReqKeepsEnvelope(t *testing.T) {
	push, h, r, outs := routePair(t, true, 2)
	pkt := "T" + tnetDict(tnet("id"), tnet("1-4-2"), tnet("type"), tnet("data"))
	push.SendMessage("env1", "", pkt)
	m := recvWithin(t, outs[1], func() { r.pump(h) })
	if len(m) != 3 || string(m[0]) != "env1" || len(m[1]) != 0 || string(m[2]) != pkt {
		t.Fatalf("worker 1 got %q", m)
	}
}
