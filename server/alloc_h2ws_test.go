package server

import (
	"testing"

	"github.com/condure-go/condure/zhttp/zhttptest"
)

// WebSocket messages both ways on an HTTP/2 stream (RFC 8441) through a
// worker: a client frame in a DATA frame becomes a data packet, a handler
// message becomes a frame in a DATA frame, windows and credits go back.
// Nothing allocates once warm.
func TestZeroAllocsH2WebSocket(t *testing.T) {
	r := h2rig(t, 0)
	c := h2open(t, r)
	id := openH2WS(t, r, c, 1<<30)
	frames := make([][]byte, h2AllocRounds)
	replies := make([][]byte, h2AllocRounds)
	for i := range frames {
		frames[i] = wsDATA(1, false, clientFrame(1, "hello"))
		replies[i] = append([]byte("condure "), zhttptest.EncodePacket(map[string]any{"from": "h1", "id": id, "seq": i + 1,
			"content-type": "binary", "body": "yo"})...)
	}
	if allocs := h2AllocsPerRound(r, c, frames, replies); allocs != 0 {
		t.Fatalf("%v allocations per WebSocket message pair over HTTP/2", allocs)
	}
	if got := c.frames(); got != `WINDOW_UPDATE 1 +11 | DATA 1 "\x82\x02yo"` {
		t.Fatalf("last output %s", got)
	}
	if r.fx.counted == 0 {
		t.Fatal("no packets counted")
	}
	c.wantPhase(1, "ws-open")
}
