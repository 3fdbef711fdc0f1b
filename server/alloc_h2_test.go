package server

import (
	"testing"

	"github.com/condure-go/condure/http2"
	"github.com/condure-go/condure/reactor"
	"github.com/condure-go/condure/zhttp/zhttptest"
)

// An HTTP/2 request and its response through a worker (the rig's fake
// sockets), on a connection that stays open: HEADERS decoded into the
// request packet, the handler's response encoded into HEADERS and DATA,
// the stream's session freed. Nothing allocates once warm.
func TestZeroAllocsH2Request(t *testing.T) {
	r := h2rig(t, 0)
	c := h2open(t, r)
	frames := make([][]byte, h2AllocRounds)
	replies := make([][]byte, h2AllocRounds)
	for i := range frames {
		id := uint32(2*i + 1)
		var blk []byte
		for _, f := range [][2]string{{":method", "GET"}, {":scheme", "http"}, {":authority", "api.example"},
			{":path", "/items?id=7"}, {"user-agent", "bench"}, {"accept", "*/*"}, {"cookie", "a=b"}, {"cookie", "c=d"}} {
			blk = http2.AppendField(blk, []byte(f[0]), []byte(f[1]))
		}
		frames[i] = http2.AppendHeaders(nil, id, blk, true, 16384)
	}
	// The session slot is the same every round (freed, then taken again),
	// the id counter goes up by one.
	slot, counter := int32(0), r.w.idCounter
	for i := range replies {
		sid := string(r.w.idText(slot, counter+uint64(i)))
		replies[i] = append([]byte("condure "), zhttptest.EncodePacket(map[string]any{"from": "h1", "id": sid, "seq": 0,
			"code": 200, "reason": "OK", "headers": [][]string{{"Content-Type", "text/plain"}}, "body": "hi"})...)
	}
	if allocs := h2AllocsPerRound(r, c, frames, replies); allocs != 0 {
		t.Fatalf("%v allocations per HTTP/2 request", allocs)
	}
	if r.fx.counted != 201 {
		t.Fatalf("%d request packets, want 201", r.fx.counted)
	}
	if got := c.frames(); got != `HEADERS 407 :status=200 content-type=text/plain content-length=2 | DATA 407 END_STREAM "hi"` {
		t.Fatalf("last response %s", got)
	}
	if cs := r.w.conns.Get(c.cs); cs.sess != 0 {
		t.Fatal("a stream's session was not freed")
	}
}

// h2AllocRounds is how many request frames and replies h2AllocsPerRound
// uses: 3 rounds of ours to warm up, AllocsPerRun's warm-up run, and 200.
const h2AllocRounds = 3 + 1 + 200

// h2AllocsPerRound runs rounds of frames[i] in from client c, then
// replies[i] from the handler, on rig r, with the client's output and the
// request packets discarded: three to warm up, then testing.AllocsPerRun's.
// r.fx.counted counts the packets of the measured rounds (and its warm-up).
func h2AllocsPerRound(r *rig, c *h2client, frames, replies [][]byte) float64 {
	r.fx.discard = true
	hook := onTransition // the phase-coverage hook allocates its keys
	onTransition = nil
	defer func() { onTransition = hook }()
	i := 0
	round := func() {
		r.fx.out[c.fd] = r.fx.out[c.fd][:0]
		r.fx.in[c.fd] = frames[i]
		r.w.connEvent(connTag(c.cs, r.w.conns.Gen(c.cs)), reactor.EvIn)
		r.settle()
		r.w.handlerMessage(replies[i])
		r.settle()
		i++
	}
	for j := 0; j < 3; j++ {
		round()
	}
	r.fx.counted = 0
	return testing.AllocsPerRun(200, round)
}
