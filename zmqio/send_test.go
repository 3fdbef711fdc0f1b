package zmqio

import (
	"bytes"
	"testing"

	zmq "github.com/pebbe/zmq4"
)

// A worker's ROUTER packet is address, empty delimiter, packet: it must
// arrive as those three frames, and sending it must not allocate (zmq4's
// SendBytes allocated for every empty frame).
func TestSendFramesAllocationFree(t *testing.T) {
	ctx, _ := zmq.NewContext()
	defer ctx.Term()
	in, err := newSock(ctx, zmq.PULL, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close(0)
	in.s.Bind("inproc://sendtest")
	out, err := newSock(ctx, zmq.PUSH, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close(0)
	out.s.Connect("inproc://sendtest")

	addr, pkt := []byte("handler-1"), bytes.Repeat([]byte("p"), 300)
	check := func() {
		if err := out.Send(addr, nil, pkt); err != nil {
			t.Fatal(err)
		}
		f1, more1 := recvWait(t, in)
		f2, more2, _, _ := in.Recv()
		f3, more3, _, _ := in.Recv()
		if !bytes.Equal(f1, addr) || !more1 || len(f2) != 0 || !more2 || !bytes.Equal(f3, pkt) || more3 {
			t.Fatalf("frames %q %v / %q %v / %d bytes %v", f1, more1, f2, more2, len(f3), more3)
		}
	}
	check() // the receive buffer grows once
	if allocs := testing.AllocsPerRun(200, check); allocs != 0 {
		t.Fatalf("%v allocations per send+receive", allocs)
	}
	if err := out.Send(pkt); err != nil { // one frame
		t.Fatal(err)
	}
	if f, more := recvWait(t, in); !bytes.Equal(f, pkt) || more {
		t.Fatalf("single frame %d bytes, more %v", len(f), more)
	}
}
