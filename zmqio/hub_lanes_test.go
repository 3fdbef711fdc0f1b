package zmqio

import (
	"bytes"
	"fmt"
	"strings"
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

func tnet(s string) string { return fmt.Sprintf("%d:%s,", len(s), s) }
func tnetDict(items ...string) string {
	b := strings.Join(items, "")
	return fmt.Sprintf("%d:%s}", len(b), b)
}
func tnetList(items ...string) string {
	b := strings.Join(items, "")
	return fmt.Sprintf("%d:%s]", len(b), b)
}

// routePair wires PUSH → (src PULL) route → one inproc PULL per worker.
func routePair(t *testing.T, req bool, workers int) (*zmq.Socket, *Hub, *route, []*zmq.Socket) {
	t.Helper()
	ctx, _ := zmq.NewContext()
	src, _ := newSock(ctx, zmq.PULL, 0)
	src.s.Bind("inproc://route-src")
	push, _ := ctx.NewSocket(zmq.PUSH)
	push.Connect("inproc://route-src")
	r := newRoute(src, req)
	var outs []*zmq.Socket
	for i := 0; i < workers; i++ {
		in, _ := ctx.NewSocket(zmq.PULL)
		in.Bind(fmt.Sprintf("inproc://route-w%d", i))
		d, _ := newSock(ctx, zmq.PUSH, 0)
		d.s.Connect(fmt.Sprintf("inproc://route-w%d", i))
		r.dst = append(r.dst, d)
		outs = append(outs, in)
	}
	h := &Hub{instance: []byte("condure"), seen: make([]bool, workers)}
	t.Cleanup(func() {
		push.Close()
		src.Close(0)
		for i := range outs {
			outs[i].Close()
			r.dst[i].Close(0)
		}
		r.close()
		ctx.Term()
	})
	return push, h, r, outs
}

func recvWithin(t *testing.T, s *zmq.Socket, pump func()) [][]byte {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		pump()
		if m, err := s.RecvMessageBytes(zmq.DONTWAIT); err == nil {
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
		if m, err := s.RecvMessageBytes(zmq.DONTWAIT); err == nil {
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
