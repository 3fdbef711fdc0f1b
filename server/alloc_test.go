package server

import (
	"strings"
	"testing"
	"unsafe"

	"github.com/condure-go/condure/http1"
	"github.com/condure-go/condure/reactor"
	"github.com/condure-go/condure/websocket"
	"github.com/condure-go/condure/zhttp"
	"github.com/condure-go/condure/zhttp/zhttptest"
)

// The steady state of the data path allocates nothing: a keep-alive request
// parsed and turned into its packet, a handler response packet parsed and
// its head written, a client WebSocket frame decoded and turned into a
// packet, and a handler message framed (docs/design.md "Memory").

func TestZeroAllocsHTTPRequestPath(t *testing.T) {
	raw := []byte("GET /items?id=7 HTTP/1.1\r\nHost: api.example\r\nUser-Agent: bench\r\nAccept: */*\r\nCookie: a=b\r\n\r\n")
	// A handler response as handlers send it (code, reason, headers, body).
	resp := zhttptest.EncodePacket(map[string]any{"from": "h1", "id": "0-12-1f", "seq": 0, "code": 200, "reason": "OK",
		"headers": [][]string{{"Content-Type", "text/plain"}}, "body": "hi"})
	from, peer := []byte("condure"), []byte("127.0.0.1")
	var (
		req   http1.Request
		pkt   zhttp.Packet
		out   zhttp.Out
		buf   = make([]byte, 0, 4096)
		uri   = make([]byte, 0, 512)
		head  = make([]byte, 0, 512)
		idBuf [32]byte
	)
	allocs := testing.AllocsPerRun(1000, func() {
		n, err := http1.ParseRequest(raw, &req, 8192)
		if err != nil || n != len(raw) {
			t.Fatal("parse failed")
		}
		uri, _ = http1.AppendURI(uri[:0], "http", req.Host, req.Target)
		out = zhttp.Out{From: from, ID: append(idBuf[:0], "0-12-1f"...), Method: req.Method, URI: uri,
			Headers: req.Headers, Credits: 8192, Stream: true, PeerAddress: peer, PeerPort: 5555}
		buf = zhttp.AppendPacket(buf[:0], &out)
		if pkt.Parse(resp) != nil {
			t.Fatal("packet parse failed")
		}
		rh := http1.ResponseHead{Minor: 1, Code: pkt.Code, Reason: pkt.Reason, Headers: pkt.Headers,
			Framing: http1.FramingLength, ContentLength: int64(len(pkt.Body))}
		head = http1.AppendResponseHead(head[:0], &rh)
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per request", allocs)
	}
}

func TestZeroAllocsWebSocketMessagePath(t *testing.T) {
	payload := []byte("hello websocket world")
	mask := [4]byte{1, 2, 3, 4}
	frame := []byte{0x81, 0x80 | byte(len(payload))}
	frame = append(frame, mask[:]...)
	for i, c := range payload {
		frame = append(frame, c^mask[i%4])
	}
	work := make([]byte, len(frame))
	from, text := []byte("condure"), []byte("text")
	var (
		r     websocket.Reader
		out   zhttp.Out
		buf   = make([]byte, 0, 4096)
		hdr   = make([]byte, 0, 16)
		idBuf [32]byte
	)
	allocs := testing.AllocsPerRun(1000, func() {
		copy(work, frame) // Next unmasks in place
		ev, n, err := r.Next(work, 8192)
		if err != nil || n != len(work) || ev.Kind != websocket.EvData {
			t.Fatal("decode failed")
		}
		out = zhttp.Out{From: from, ID: append(idBuf[:0], "1-3-a"...), Seq: 7, ContentType: text, Body: ev.Payload}
		buf = zhttp.AppendPacket(buf[:0], &out)
		hdr = websocket.AppendFrameHeader(hdr[:0], true, websocket.OpText, len(ev.Payload))
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per message", allocs)
	}
}

// The connection and session slots are the per-connection memory that does
// not depend on traffic; keep them small (docs/scaling.md: well under 1 KiB
// per idle connection, kernel buffers aside). An idle WebSocket holds both,
// an idle keep-alive HTTP connection only the conn.
func TestConnSlotSize(t *testing.T) {
	const budget = 232
	c, s := unsafe.Sizeof(conn{}), unsafe.Sizeof(session{})
	if c+s > budget {
		t.Fatalf("conn %d + session %d = %d bytes, budget %d", c, s, c+s, budget)
	}
}

// A compressed WebSocket message each way through a worker (the rig's fake
// sockets): a client message inflated into its packet, a handler message
// compressed into its frame, and the credit for it. After warm-up (the
// Inflater and the compressor allocate once per worker) nothing allocates.
func TestZeroAllocsCompressedWebSocket(t *testing.T) {
	for _, tc := range []struct {
		name string
		n    int // message size
		b0   byte
	}{
		{"1 KiB", 1040, 0xc1},
		{"larger than --buffer-size", 3*8192 + 1040, 0x41}, // sent compressed in pieces
	} {
		t.Run(tc.name, func(t *testing.T) { zeroAllocsCompressedWS(t, tc.n, tc.b0) })
	}
}

func zeroAllocsCompressedWS(t *testing.T, size int, b0 byte) {
	r := newRig(t, func(o *Options) { o.Compression = true })
	cs, id := openDeflateWS(t, r, 1<<20)
	fd := r.fd(cs)
	msg := []byte(strings.Repeat(`{"key":"value","n":12345},`, size/26))
	scratch := cap(r.w.dscratch)
	frame := []byte(clientFrameB(0xc1, deflateRaw(t, msg)))
	handlerMsg := append([]byte("condure "), zhttptest.EncodePacket(map[string]any{"from": "h1", "id": id,
		"body": string(msg), "credits": len(msg)})...)
	r.fx.discard = true // only handler addresses (sendRouter)
	in := make([]byte, len(frame))
	round := func() {
		r.fx.out[fd] = r.fx.out[fd][:0]
		r.fx.in[fd] = in
		copy(in, frame)
		r.w.connEvent(connTag(cs, r.w.conns.Gen(cs)), reactor.EvIn)
		r.settle()
		r.w.handlerMessage(handlerMsg)
		r.settle()
	}
	for i := 0; i < 3; i++ {
		round()
	}
	r.fx.counted = 0
	allocs := testing.AllocsPerRun(200, round)
	if allocs != 0 {
		t.Fatalf("%v allocations per compressed message each way", allocs)
	}
	// Data packets of at most --buffer-size and a credit per round (AllocsPerRun warms up once).
	if want := ((len(msg)+r.w.opts.BufferSize-1)/r.w.opts.BufferSize + 1) * 201; r.fx.counted != want {
		t.Fatalf("%d packets", r.fx.counted)
	}
	if out := r.fx.out[fd]; len(out) == 0 || out[0] != b0 || len(out) > len(msg)/2 {
		t.Fatalf("frame to the client %x", out)
	}
	if r.w.infl.Lent() != 0 || r.phase(cs) != "ws-open" {
		t.Fatal("session not in its steady state")
	}
	if cap(r.w.dscratch) != scratch { // warm-up rounds may not grow it either
		t.Fatalf("scratch buffer grew from %d to %d", scratch, cap(r.w.dscratch))
	}
}
