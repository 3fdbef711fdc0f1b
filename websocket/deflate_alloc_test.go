package websocket

import (
	"bytes"
	"testing"
)

// TestDeflateZeroAllocs asserts the compressed message path allocates
// nothing in steady state: negotiation and its response, reading a
// fragmented compressed message, inflating it through a pooled Inflater,
// and compressing replies whole and in fragments (also with a window
// limit).
func TestDeflateZeroAllocs(t *testing.T) {
	if testing.CoverMode() != "" {
		t.Skip("coverage instrumentation allocates")
	}
	msg := jsonCorpus(1, 1024)[0]
	c := stdDeflate(t, msg, 6)
	pristine := cat(
		rawFrame(false, 4, OpText, true, -1, string(c[:len(c)/2])),
		cframe(true, OpPing, "ping"),
		rawFrame(true, 0, OpContinuation, true, -1, string(c[len(c)/2:])),
	)
	buf := make([]byte, len(pristine))
	req := parse(t, upgradeRequest("GET /chat HTTP/1.1", "Sec-WebSocket-Extensions: foo, permessage-deflate; client_max_window_bits; server_max_window_bits=10"))
	d := NewDeflater()
	pool := NewInflaterPool(4)
	var r Reader
	out := make([]byte, 0, CompressBound(len(msg), 8))
	resp := make([]byte, 0, DeflateResponseMax)
	inflated := make([]byte, 300) // smaller than the message: output resumes
	var got []byte

	run := func() {
		p, ok := NegotiateDeflate(req.Headers)
		if !ok || p.ServerMaxWindowBits != 10 {
			t.Fatalf("NegotiateDeflate = %+v, %v", p, ok)
		}
		resp = AppendDeflateResponse(resp[:0], p)

		copy(buf, pristine)
		r.Reset()
		r.Deflate = true
		id := pool.Get(1<<20, true)
		f := pool.At(id)
		got = got[:0]
		for b := buf; len(b) > 0; {
			ev, n, err := r.Next(b, 1<<20)
			if err != nil || n == 0 {
				t.Fatalf("Next = %v, %d, %v", ev.Kind, n, err)
			}
			b = b[n:]
			if ev.Kind != EvData {
				continue
			}
			for src := ev.Payload; ; {
				o, in, done, err := f.Inflate(inflated, src, ev.Fin)
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, inflated[:o]...)
				src = src[in:]
				if done || len(src) == 0 && o < len(inflated) {
					break
				}
			}
		}
		pool.Put(id)

		out, _ = d.AppendMessage(out[:0], msg, 0)
		out = d.AppendFragment(out[:0], msg[:500], true, 0)
		out = d.AppendFragment(out, msg[500:], false, 8) // 2 window pieces
	}
	got = make([]byte, 0, 2*len(msg))
	run()
	if !bytes.Equal(got, msg) {
		t.Fatalf("inflated %d bytes, want the %d-byte message", len(got), len(msg))
	}
	if allocs := testing.AllocsPerRun(200, run); allocs != 0 {
		t.Fatalf("%v allocations per compressed message, want 0", allocs)
	}
}
