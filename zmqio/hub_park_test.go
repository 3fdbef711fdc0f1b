package zmqio

import (
	"fmt"
	"testing"
	"time"

	zmq "github.com/pebbe/zmq4"
)

// The ROUTER lane parks messages for a handler that stops reading and goes
// on with the others; parked destinations are published, and flushed in
// order once the handler reads again.
func TestParkingForwardIsolatesAStalledHandler(t *testing.T) {
	send, peers, blocks, f := parkRig(t, "park", 4, 4, 1000, "slow", "fast")
	woken := make(chan struct{}, 16)
	blocks.Subscribe(func() { woken <- struct{}{} })

	// 50 messages for "slow" (which reads nothing yet), then 50 for "fast".
	for i := 0; i < 50; i++ {
		send("slow", "", fmt.Sprintf("s%d", i))
	}
	for i := 0; i < 50; i++ {
		send("fast", "", fmt.Sprintf("f%d", i))
	}
	recvAll := func(p *zmq.Socket, n int) []string {
		var got []string
		deadline := time.Now().Add(5 * time.Second)
		for len(got) < n && time.Now().Before(deadline) {
			f.pump()
			if m, err := p.RecvMessageBytes(zmq.DONTWAIT); err == nil {
				got = append(got, string(m[len(m)-1]))
			} else {
				time.Sleep(time.Millisecond)
			}
		}
		return got
	}
	got := recvAll(peers["fast"], 50)
	if len(got) != 50 || got[0] != "f0" || got[49] != "f49" {
		t.Fatalf("fast handler got %d messages behind the slow one: %v", len(got), got)
	}
	if !blocks.Has([]byte("slow")) || blocks.Has([]byte("fast")) || !f.pending() {
		t.Fatalf("published set: slow %v fast %v, pending %v", blocks.Has([]byte("slow")), blocks.Has([]byte("fast")), f.pending())
	}
	// "slow" reads again: everything, in order, and it leaves the set.
	got = recvAll(peers["slow"], 50)
	for i, m := range got {
		if m != fmt.Sprintf("s%d", i) {
			t.Fatalf("slow handler got %q at %d", m, i)
		}
	}
	if len(got) != 50 {
		t.Fatalf("slow handler got %d of 50", len(got))
	}
	for i := 0; i < 10 && f.pending(); i++ {
		f.pump()
	}
	if blocks.Has([]byte("slow")) || f.pending() {
		t.Fatal("slow handler still parked after reading everything")
	}
	select {
	case <-woken:
	default:
		t.Fatal("workers not woken when the handler left the set")
	}
}

// Two handlers that stall one after the other each park what was in
// flight to them; the lane's limit is per parked destination, so together
// they do not stop it for a handler still reading (a total limit equal to
// one destination's stopped every handler once two had parked enough).
func TestParkingForwardLimitIsPerDestination(t *testing.T) {
	const limit = 8
	send, peers, blocks, f := parkRig(t, "park2", 1, 1, limit, "slow1", "slow2", "fast")

	// Each slow handler's pipe takes about 2 messages: about 6 parked each,
	// under the limit alone, over it together.
	for _, id := range []string{"slow1", "slow2"} {
		for i := 0; i < limit; i++ {
			send(id, "", fmt.Sprintf("%s-%d", id, i))
		}
	}
	for i := 0; i < 20; i++ {
		send("fast", "", fmt.Sprintf("f%d", i))
	}
	var got []string
	for deadline := time.Now().Add(5 * time.Second); len(got) < 20 && time.Now().Before(deadline); {
		f.pump()
		if m, err := peers["fast"].RecvMessageBytes(zmq.DONTWAIT); err == nil {
			got = append(got, string(m[len(m)-1]))
		} else {
			time.Sleep(time.Millisecond)
		}
	}
	if len(got) != 20 {
		t.Fatalf("fast handler got %d of 20 messages with two handlers parked (%d held)", len(got), int(f.park.total))
	}
	if held := int(f.park.total); held <= limit || held >= 2*limit {
		t.Fatalf("%d messages parked, want between %d and %d for this test to mean something", held, limit, 2*limit)
	}
	if !blocks.Has([]byte("slow1")) || !blocks.Has([]byte("slow2")) {
		t.Fatal("both stalled handlers should be published as blocked")
	}
}

// parkRig is a ROUTER lane between a worker's queue (send puts a message
// on it) and DEALER peers with the given identities, the ROUTER and the
// peers at the given high-water marks, parking at most limit messages per
// destination.
func parkRig(t *testing.T, name string, sndhwm, rcvhwm, limit int, ids ...string) (func(id, empty, p string), map[string]*zmq.Socket, *Blocks, *forward) {
	ctx, _ := zmq.NewContext()
	q := newRing(1000)
	q.wakeConsumer, q.wakeProducer = func() {}, func() {}
	dst, _ := newSock(ctx, zmq.ROUTER, 0)
	dst.s.SetRouterMandatory(1)
	dst.s.SetSndhwm(sndhwm)
	dst.s.Bind("inproc://" + name + "-dst")
	peers := map[string]*zmq.Socket{}
	for _, id := range ids {
		p, _ := ctx.NewSocket(zmq.DEALER)
		p.SetIdentity(id)
		p.SetRcvhwm(rcvhwm)
		p.Connect("inproc://" + name + "-dst")
		peers[id] = p
	}
	blocks := NewBlocks()
	f := newParkingForward([]*ring{q}, dst, blocks, limit)
	t.Cleanup(func() {
		for _, p := range peers {
			p.Close()
		}
		dst.Close(0)
		f.close()
		ctx.Term()
	})
	time.Sleep(20 * time.Millisecond) // the peers' identities reach the ROUTER
	send := func(id, empty, p string) {
		if !q.put([]byte(id), []byte(empty), []byte(p)) {
			t.Fatal("queue full")
		}
		q.commit()
	}
	return send, peers, blocks, f
}
