package zmqio

import (
	"runtime"
	"testing"
	"time"

	zmq "github.com/pebbe/zmq4"

	"github.com/condure-go/condure/reactor"
)

// A gated socket loses no message: its mailbox checks are real polls only
// after its edge-triggered ZMQ_FD was reported, and a producer sending in
// bursts and pauses (so the reader sleeps in between, and libzmq wakes it
// through the mailbox each time) gets everything through a reader that
// only reads after an epoll event. With Signalled a no-op the reader stalls
// at the first burst: libzmq never sees the wake-up command.
func TestPollGateNoLostSignal(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	out, in, done := pipePair(t)
	defer done()
	p, err := reactor.NewPoller(4)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := p.Add(in.Fd(), reactor.EvIn, 1); err != nil {
		t.Fatal(err)
	}
	in.GatePolls()
	defer ungate(in.Fd())
	const total = 20000
	sent := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		for n := 0; n < total; {
			burst := 1 + n%97
			for i := 0; i < burst && n < total; i++ {
				if _, err := out.SendBytes([]byte{byte(n), byte(n >> 8)}, 0); err != nil {
					sent <- err
					return
				}
				n++
			}
			if n%3 == 0 {
				time.Sleep(50 * time.Microsecond)
			}
		}
		sent <- nil
	}()
	deadline := time.Now().Add(20 * time.Second)
	next := 0
	for next < total {
		if time.Now().After(deadline) {
			t.Fatalf("received %d of %d: a wake-up was lost", next, total)
		}
		evs, err := p.Wait(1000)
		if err != nil {
			t.Fatal(err)
		}
		for range evs {
			Signalled(in.Fd())
		}
		for {
			f, _, ok, err := in.Recv()
			if err != nil {
				t.Fatal(err)
			}
			if !ok {
				break
			}
			if got := int(f[0]) | int(f[1])<<8; got != next&0xffff {
				t.Fatalf("message %d is %d", next, got)
			}
			next++
		}
		if g := pollGate[in.Fd()]; g != gateQuiet {
			t.Fatalf("gate after a drain: %d, want %d (quiet)", g, gateQuiet)
		}
	}
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
}

// Close ungates the fd: the reaper thread checks the closed socket's
// mailbox, and the number is reused for the next socket or file.
func TestPollGateClose(t *testing.T) {
	ctx, _ := zmq.NewContext()
	defer ctx.Term()
	k, err := newSock(ctx, zmq.PULL, 0)
	if err != nil {
		t.Fatal(err)
	}
	fd := k.Fd()
	k.GatePolls()
	if pollGate[fd] != gateReported {
		t.Fatalf("gate after GatePolls: %d, want %d", pollGate[fd], gateReported)
	}
	k.Close(0)
	if pollGate[fd] != gateOff {
		t.Fatalf("gate after Close: %d, want %d (off)", pollGate[fd], gateOff)
	}
}
