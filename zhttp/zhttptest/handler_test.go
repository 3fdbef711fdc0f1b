package zhttptest

import (
	"strings"
	"testing"
	"time"

	zmq "github.com/pebbe/zmq4"

	"github.com/condure-go/condure/config"
)

// TestSendDropsNothing: a server that reads late gets every packet the
// handler published, however many. With libzmq's default PUB send
// high-water mark (1000) the tail of such a burst was dropped silently,
// which stopped TestZmqBurstsStreamBody at 592 of 602 packets.
func TestSendDropsNothing(t *testing.T) {
	const (
		instance = "srv"
		packets  = 4000 // 4 MB: far more than 1000 messages plus what the kernel holds
	)
	base := "ipc://" + t.TempDir() + "/c"
	ctx, err := zmq.NewContext()
	if err != nil {
		t.Fatal(err)
	}
	defer ctx.Term()
	sub, err := ctx.NewSocket(zmq.SUB)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { sub.SetLinger(0); sub.Close() }()
	sub.SetRcvhwm(1) // the server behind: its pipe full after one message
	if err := sub.SetSubscribe(instance + " "); err != nil {
		t.Fatal(err)
	}
	out, outStream, in, err := config.StreamSpecs(base)
	if err != nil {
		t.Fatal(err)
	}
	if err := sub.Bind(in); err != nil {
		t.Fatal(err)
	}
	// The server's PUSH and ROUTER too: a dialling handler waits for its
	// PULL's and ROUTER's handshakes.
	for _, b := range []struct {
		typ zmq.Type
		ep  string
	}{{zmq.PUSH, out}, {zmq.ROUTER, outStream}} {
		s, err := ctx.NewSocket(b.typ)
		if err != nil {
			t.Fatal(err)
		}
		defer func() { s.SetLinger(0); s.Close() }()
		if err := s.Bind(b.ep); err != nil {
			t.Fatal(err)
		}
	}
	// DialHandler waits for the subscription, which the SUB sends only
	// when it processes its commands: poke it meanwhile (from this
	// goroutine only, as a socket wants).
	dialed := make(chan error, 1)
	var h *Handler
	go func() {
		var err error
		h, err = DialHandler(base, "h1", instance)
		dialed <- err
	}()
	for waiting := true; waiting; {
		select {
		case err := <-dialed:
			if err != nil {
				t.Fatal(err)
			}
			waiting = false
		case <-time.After(time.Millisecond):
			sub.GetEvents()
		}
	}
	defer h.Close()
	body := strings.Repeat("x", 1000)
	for i := 0; i < packets; i++ {
		if err := h.Send(map[string]any{"id": "1", "seq": i, "body": body, "more": true}); err != nil {
			t.Fatal(err)
		}
	}
	// Now read: everything published must come, in order, each within 2 s.
	sub.SetRcvtimeo(2 * time.Second)
	for i := 0; i < packets; i++ {
		msg, err := sub.RecvBytes(0)
		if err != nil {
			t.Fatalf("received %d of %d packets (the rest dropped?): %v", i, packets, err)
		}
		p, err := DecodePacket(msg[len(instance)+1:])
		if err != nil {
			t.Fatal(err)
		}
		if p["seq"] != int64(i) {
			t.Fatalf("packet %d has seq %v: packets in between were dropped", i, p["seq"])
		}
	}
}
