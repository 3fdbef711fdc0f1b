package zmqio

import (
	"bytes"
	"testing"

	zmq "github.com/pebbe/zmq4"
)

// The req-mode reply path: a delimiter and a packet, received frame by
// frame (Recv, a cgo call each) or whole (RecvMsg, one), 64 messages per
// drain and the EAGAIN that ends it.
func benchRecvReplies(b *testing.B, whole bool) {
	ctx, _ := zmq.NewContext()
	defer ctx.Term()
	in, err := newSock(ctx, zmq.PULL, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer in.Close(0)
	in.s.Bind("inproc://recvbench")
	out, _ := ctx.NewSocket(zmq.PUSH)
	defer out.Close()
	out.Connect("inproc://recvbench")
	env, pkt := []byte("e"), bytes.Repeat([]byte("x"), 200)
	var fs [][]byte
	b.ResetTimer()
	for i := 0; i < b.N; i += 64 {
		b.StopTimer()
		for j := 0; j < 64; j++ {
			out.SendBytes(env, zmq.SNDMORE)
			out.SendBytes(pkt, 0)
		}
		b.StartTimer()
		for got := 0; ; {
			if whole {
				var ok bool
				if fs, ok, _ = in.RecvMsg(fs); !ok {
					if got == 64 {
						break
					}
					continue
				}
				got++
				continue
			}
			_, more, ok, _ := in.Recv()
			if !ok {
				if got == 64 {
					break
				}
				continue
			}
			if !more {
				got++
			}
		}
	}
}

func BenchmarkRecvRepliesByFrame(b *testing.B) { benchRecvReplies(b, false) }
func BenchmarkRecvRepliesWhole(b *testing.B)   { benchRecvReplies(b, true) }
