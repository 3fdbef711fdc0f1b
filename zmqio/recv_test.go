package zmqio

import (
	"bytes"
	"runtime"
	"testing"
	"time"

	zmq "github.com/pebbe/zmq4"

	"github.com/condure-go/condure/reactor"
)

func TestRawSocketMatches(t *testing.T) {
	ctx, _ := zmq.NewContext()
	defer ctx.Term()
	for _, typ := range []zmq.Type{zmq.PUSH, zmq.PULL, zmq.SUB, zmq.ROUTER, zmq.DEALER} {
		s, err := ctx.NewSocket(typ)
		if err != nil {
			t.Fatal(err)
		}
		if got := socketType(s); got != int(typ) {
			t.Errorf("raw socket of a %v reports type %d: zmq4.Socket layout changed", typ, got)
		}
		s.Close()
	}
}

// pipePair is a PUSH → Sock(PULL) pair over inproc.
func pipePair(t *testing.T) (*zmq.Socket, *Sock, func()) {
	ctx, _ := zmq.NewContext()
	in, err := newSock(ctx, zmq.PULL, 0)
	if err != nil {
		t.Fatal(err)
	}
	in.s.Bind("inproc://recvtest")
	out, _ := ctx.NewSocket(zmq.PUSH)
	out.Connect("inproc://recvtest")
	return out, in, func() { out.Close(); in.Close(0); ctx.Term() }
}

func recvWait(t *testing.T, k *Sock) ([]byte, bool) {
	t.Helper()
	for i := 0; i < 1000; i++ {
		f, more, ok, err := k.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			return f, more
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatal("nothing received")
	return nil, false
}

func TestRecvFramesLargeAndMultipart(t *testing.T) {
	out, in, done := pipePair(t)
	defer done()
	big := bytes.Repeat([]byte("0123456789"), 50000) // over the first buffer
	out.SendMessage("a", big, "")
	f1, more1 := recvWait(t, in)
	f2, more2, _, _ := in.Recv()
	f3, more3, _, _ := in.Recv()
	if string(f1) != "a" || !more1 || !bytes.Equal(f2, big) || !more2 || len(f3) != 0 || more3 {
		t.Fatalf("frames %q %v / %d %v / %q %v", f1, more1, len(f2), more2, f3, more3)
	}
	if string(f1) != "a" { // earlier frames of a message stay valid
		t.Fatal("first frame overwritten")
	}
	if _, _, ok, _ := in.Recv(); ok {
		t.Fatal("unexpected message")
	}
}

func TestRecvAllocationFree(t *testing.T) {
	out, in, done := pipePair(t)
	defer done()
	msg := bytes.Repeat([]byte("x"), 300)
	out.SendBytes(msg, 0)
	recvWait(t, in) // buffer grown once
	allocs := testing.AllocsPerRun(200, func() {
		out.SendBytes(msg, 0)
		for {
			f, _, ok, _ := in.Recv()
			if ok {
				if len(f) != len(msg) {
					t.Fatal("short frame")
				}
				return
			}
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per send+receive", allocs)
	}
}

// An oversized frame is taken in a second cgo call; the goroutine may move
// to another OS thread between the two (allocation, preemption), so the
// pending frame must belong to the socket, not the thread.
func TestRecvLargeFramesAcrossThreads(t *testing.T) {
	out, in, done := pipePair(t)
	defer done()
	stop := make(chan struct{})
	defer close(stop)
	for i := 0; i < 4; i++ { // churn that makes the scheduler move goroutines
		go func() {
			var sink [][]byte
			for {
				select {
				case <-stop:
					return
				default:
				}
				sink = append(sink[:0], make([]byte, 1<<16))
				runtime.Gosched()
			}
		}()
	}
	for round := 0; round < 300; round++ {
		big := bytes.Repeat([]byte{byte(round)}, 70000+round*1000)
		out.SendBytes(big, 0)
		f, _ := recvWait(t, in)
		if !bytes.Equal(f, big) {
			t.Fatalf("round %d: frame of %d bytes garbled", round, len(f))
		}
	}
}

// After a send hits the high-water mark, the socket's ZMQ_FD fires once the
// peer has drained it, so an owner retries at once rather than on a timer.
func TestSendSignalsRoomAfterHWM(t *testing.T) {
	ctx, _ := zmq.NewContext()
	defer ctx.Term()
	in, _ := ctx.NewSocket(zmq.PULL)
	defer in.Close()
	in.SetRcvhwm(1)
	in.Bind("inproc://hwmtest")
	out, err := newSock(ctx, zmq.PUSH, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close(0)
	out.s.Connect("inproc://hwmtest")
	msg := bytes.Repeat([]byte("m"), 100)
	sent := 0
	for ; sent < 10000; sent++ {
		if err := out.Send(msg); err == ErrWouldBlock {
			break
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if sent == 10000 {
		t.Fatal("never reached the high-water mark")
	}
	p, err := reactor.NewPoller(4)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	p.Add(out.Fd(), reactor.EvIn, 7)
	p.Wait(0) // whatever edge was pending before draining
	for i := 0; i < sent; i++ {
		if _, err := in.RecvBytes(0); err != nil {
			t.Fatal(err)
		}
	}
	evs, _ := p.Wait(5000)
	if len(evs) != 1 || evs[0].Tag != 7 {
		t.Fatalf("no signal from the full socket after the peer drained it: %+v", evs)
	}
	if err := out.Send(msg); err != nil {
		t.Fatalf("send after the signal: %v", err)
	}
}

// recvMsgWait is RecvMsg, waiting up to a second for a message.
func recvMsgWait(t *testing.T, k *Sock) [][]byte {
	t.Helper()
	for i := 0; i < 1000; i++ {
		fs, ok, err := k.RecvMsg(nil)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			return fs
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatal("nothing received")
	return nil
}

// RecvMsg returns a message's frames as Recv would one by one: an empty
// frame, a frame over the buffer between two small ones (taken from the
// pending slot, with the frames before it still valid), and a message
// of more than recvMaxFrames cut there, without the next message losing
// a frame.
func TestRecvMsgWholeMessages(t *testing.T) {
	out, in, done := pipePair(t)
	defer done()
	big := bytes.Repeat([]byte("0123456789"), 50000) // over the first buffer
	out.SendMessage("", "a", big, "b")
	fs := recvMsgWait(t, in)
	if len(fs) != 4 || len(fs[0]) != 0 || string(fs[1]) != "a" || !bytes.Equal(fs[2], big) || string(fs[3]) != "b" {
		t.Fatalf("got %d frames", len(fs))
	}
	var many []any
	for i := 0; i < recvMaxFrames+3; i++ {
		many = append(many, []byte{byte('A' + i)})
	}
	out.SendMessage(many...)
	out.SendMessage("", "next")
	fs = recvMsgWait(t, in)
	if len(fs) != recvMaxFrames || string(fs[0]) != "A" || fs[recvMaxFrames-1][0] != byte('A'+recvMaxFrames-1) {
		t.Fatalf("long message: %d frames %q", len(fs), fs)
	}
	fs = recvMsgWait(t, in)
	if len(fs) != 2 || string(fs[1]) != "next" {
		t.Fatalf("message after the long one: %q", fs)
	}
	if fs, ok, err := in.RecvMsg(fs); ok || err != nil || len(fs) != 0 {
		t.Fatalf("empty socket: %q %v %v", fs, ok, err)
	}
}

// Draining a burst with RecvMsg until it says none re-arms the socket's
// edge-triggered ZMQ_FD: a burst that arrives afterwards signals again, as
// the worker's loop needs (it reads a socket only when its fd fired). Bursts
// of various sizes, each read to EAGAIN, none lost.
func TestRecvMsgDrainRearmsFd(t *testing.T) {
	out, in, done := pipePair(t)
	defer done()
	p, err := reactor.NewPoller(4)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	p.Add(in.Fd(), reactor.EvIn, 9)
	var fs [][]byte
	next := 0
	for burst := 1; burst <= 300; burst += 37 {
		for i := 0; i < burst; i++ {
			out.SendMessage("", []byte{byte(next + i), byte((next + i) >> 8)})
		}
		got := 0
		for got < burst {
			evs, _ := p.Wait(5000)
			if len(evs) == 0 {
				t.Fatalf("burst of %d: no signal after %d received", burst, got)
			}
			for {
				var ok bool
				fs, ok, err = in.RecvMsg(fs)
				if err != nil {
					t.Fatal(err)
				}
				if !ok {
					break
				}
				if len(fs) != 2 || len(fs[0]) != 0 || int(fs[1][0])|int(fs[1][1])<<8 != next {
					t.Fatalf("burst of %d: message %d is %q", burst, next, fs)
				}
				next++
				got++
			}
		}
	}
}

func TestRecvMsgAllocationFree(t *testing.T) {
	out, in, done := pipePair(t)
	defer done()
	msg := bytes.Repeat([]byte("x"), 300)
	out.SendMessage("", msg)
	fs := recvMsgWait(t, in) // buffer grown once
	env := []byte("e")       // zmq4 allocates for an empty frame and for SendMessage
	allocs := testing.AllocsPerRun(200, func() {
		out.SendBytes(env, zmq.SNDMORE)
		out.SendBytes(msg, 0)
		for {
			var ok bool
			fs, ok, _ = in.RecvMsg(fs)
			if ok {
				if len(fs) != 2 || len(fs[1]) != len(msg) {
					t.Fatal("short message")
				}
				return
			}
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per send+receive", allocs)
	}
}
