package zmqio

import (
	"testing"
	"time"

	zmq "github.com/pebbe/zmq4"

	"github.com/condure-go/condure/reactor"
)

func TestPollInterposedCountsReady(t *testing.T) {
	if got := pollCounted(); got != 1 {
		t.Fatalf("poll as libzmq resolves it: %d, want pollcount.c's", got)
	}
}

// A send on a DEALER processes its mailbox now and then (libzmq throttles
// it to about once a millisecond); when a reply's signal waits there, the
// send takes it and the socket's ZMQ_FD does not fire for the reply.
// TookSignal says so after that Flush, and not after one that found the
// mailbox quiet, so the worker reads the socket only when it must.
func TestFlushTookSignal(t *testing.T) {
	ctx, _ := zmq.NewContext()
	defer ctx.Term()
	router, _ := ctx.NewSocket(zmq.ROUTER)
	defer router.Close()
	router.Bind("inproc://tooksignal")
	dealer, err := newSock(ctx, zmq.DEALER, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer dealer.Close(0)
	dealer.s.Connect("inproc://tooksignal")
	p, err := reactor.NewPoller(4)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	p.Add(dealer.Fd(), reactor.EvIn, 5)

	send := func(body string) {
		t.Helper()
		if err := dealer.SendLater(nil, []byte(body)); err != nil {
			t.Fatal(err)
		}
		if _, dropped, err := dealer.Flush(); dropped > 0 {
			t.Fatal(err)
		}
	}
	send("q1")
	req, err := router.RecvMessageBytes(0)
	if err != nil || len(req) != 3 || string(req[2]) != "q1" {
		t.Fatalf("router got %q %v", req, err)
	}
	// Drain the DEALER (its pipe sleeps, so a reply will signal) and the fd.
	if fs, ok, _ := dealer.RecvMsg(nil); ok {
		t.Fatalf("unexpected %q", fs)
	}
	p.Wait(0)
	dealer.TookSignal()

	router.SendMessage(req[0], "", "r1")
	time.Sleep(5 * time.Millisecond) // past libzmq's throttle of command checks in sends
	send("q2")
	if !dealer.TookSignal() {
		t.Fatal("a send that processed the reply's signal: TookSignal false")
	}
	if evs, _ := p.Wait(0); len(evs) != 0 {
		t.Logf("the fd still fired (%d events): the edge came before the send read it", len(evs))
	}
	fs, ok, err := dealer.RecvMsg(nil)
	if !ok || err != nil || len(fs) != 2 || string(fs[1]) != "r1" {
		t.Fatalf("reply after the send: %q %v %v", fs, ok, err)
	}
	send("q3") // within the throttle: libzmq does not look at the mailbox
	if dealer.TookSignal() {
		t.Fatal("TookSignal after a send that did not process the mailbox")
	}
}
