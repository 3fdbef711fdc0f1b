package server

import (
	"encoding/binary"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/condure-go/condure/http2"
	"github.com/condure-go/condure/reactor"
)

// FuzzH2Conn drives one HTTP/2 connection of the in-process rig with a
// program read from the fuzz input: client frames of every type (valid-ish,
// random flags, stream ids, lengths, windows, header blocks from a small
// set that includes garbage) delivered split at random points, interleaved
// with handler packets for the live streams, a client that stops reading,
// a full PUSH socket and the clock. A second, well-behaved connection lives
// beside it and must get a correct answer at the end. After every step:
//
//   - no panic and no phase-table violation (strict phases in the rig);
//   - the fuzzed connection's sessions are exactly its open streams, and once
//     it is closed it holds none (slab counts back to the good connection's);
//   - the connection send window is never negative, the output never holds
//     more than the write cap, DATA sent never exceeds the windows granted;
//   - the output parses as frames no larger than the client allows, and
//     nothing follows a GOAWAY with an error code, nor the close.
func FuzzH2Conn(f *testing.F) {
	for _, s := range h2FuzzSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, prog []byte) {
		runH2Fuzz(t, prog)
	})
}

// h2FuzzSeeds are programs written by hand that reach deep states (a
// response, a held body, a flood, a reset); the corpus in testdata grows
// from them.
func h2FuzzSeeds() [][]byte {
	return [][]byte{
		{},
		{1, opFrame, 4, 0, 5, 0, opFlush, 255},
		// GET on stream 1, flush, respond 200 with a body, flush.
		{0, opFrame, 1, 0, 0, 0, opFlush, 255, opHandler, 0, 0, 10, 0, opFlush, 255},
		// POST with a body: HEADERS no END_STREAM, credits, DATA, response in parts.
		{0, opFrame, 1, 1, 0, 2, opFlush, 255, opHandler, 0, 2, 40, 0, opFrame, 0, 1, 0, 20, opFlush, 255,
			opHandler, 0, 0, 200, 1, opHandler, 0, 1, 200, 0, opFlush, 255},
		// Client stops reading, responses pile up, window updates.
		{0, opStall, opFrame, 1, 0, 0, 0, opFrame, 1, 0, 0, 0, opFlush, 255, opHandler, 0, 0, 250, 0,
			opHandler, 1, 0, 250, 0, opFrame, 8, 0, 1, 5, opStall, opFlush, 255},
		// Resets and garbage blocks.
		{0, opFrame, 1, 0, 0, 3, opFrame, 3, 0, 4, 1, opFrame, 1, 0, 0, 4, opFlush, 128, opFlush, 255},
		// SETTINGS changing the initial window and frame size, PING, GOAWAY.
		{0, opFrame, 4, 0, 2, 9, opFrame, 6, 0, 0, 1, opFrame, 7, 0, 0, 1, opFlush, 255, opClock, 7},
	}
}

// Program op codes (the first byte of each op, modulo opCount).
const (
	opFrame   = iota // type, flags, stream choice, argument: one client frame queued
	opFlush          // split: deliver that share (of 255) of the queued bytes
	opHandler        // stream choice, kind, size, more: one handler packet
	opStall          // b: the client stops (or resumes) reading; b >= 128: writes take (b-128)*7 bytes at most
	opClock          // advance the clock
	opPush           // the PUSH socket becomes full (or has room again), gates retried
	opRaw            // n: n raw bytes from the program queued as they are
	opEnd            // the client half-closes or resets the connection
	opCount
)

// trickleFx is the rig's fake with short writes: a writev takes at most
// limit bytes (0: no limit), as a socket whose buffer is nearly full.
type trickleFx struct {
	*fakeFx
	fd    int // the connection whose writes are short
	limit int
}

func (f *trickleFx) writev(fd int, bufs [][]byte) (int, error) {
	if f.limit == 0 || fd != f.fd || f.stalled[fd] {
		return f.fakeFx.writev(fd, bufs)
	}
	var cut [][]byte
	left := f.limit
	for _, b := range bufs {
		if left == 0 {
			break
		}
		k := min(len(b), left)
		cut = append(cut, b[:k])
		left -= k
	}
	return f.fakeFx.writev(fd, cut)
}

// h2fuzz is the state of one run.
type h2fuzz struct {
	t       *testing.T
	r       *rig
	prog    []byte
	cs      int32
	fd      int
	closed  bool
	outLen  int      // bytes written to the fuzzed client when it closed
	queued  []byte   // client bytes not delivered yet
	nextID  uint32   // the next new stream id
	ids     []uint32 // stream ids opened
	reqs    []string // session ids of request packets seen
	seqs    map[string]int
	stalled bool
	trickle *trickleFx
	// output checks
	parsed    int    // bytes of the output parsed
	goneAway  bool   // a GOAWAY with an error code went out
	maxFrame  uint32 // the largest SETTINGS_MAX_FRAME_SIZE the client sent
	granted   int64  // connection window granted by the client (upper bound)
	dataSent  int64  // DATA payload bytes the server sent
	good      *h2client
	pendingIO bool
}

// openGood opens the well-behaved connection (again, when the idle
// timeout closed it).
func (z *h2fuzz) openGood() {
	t, r := z.t, z.r
	z.good = &h2client{t: t, r: r, table: make([]byte, http2.DecoderTableLen(4096))}
	z.good.dec.Init(4096, 0)
	z.good.cs = r.connect(rigStream)
	z.good.fd = r.fd(z.good.cs)
	z.good.send(append([]byte(http2.ClientPreface), http2.AppendSettings(nil)...))
	z.good.want(strings.Replace(serverPreface, "=100", "=4", 1) + " | SETTINGS 0 ACK")
	z.good.send(http2.AppendSettingsAck(nil))
}

func (z *h2fuzz) byte() byte {
	if len(z.prog) == 0 {
		return 0
	}
	b := z.prog[0]
	z.prog = z.prog[1:]
	return b
}

func runH2Fuzz(t *testing.T, prog []byte) {
	r := h2rig(t, 4)
	z := &h2fuzz{t: t, r: r, prog: prog, nextID: 1, seqs: map[string]int{}, maxFrame: 16384, granted: 65535}
	z.trickle = &trickleFx{fakeFx: r.fx}
	r.w.fx = z.trickle
	// The well-behaved neighbour first, then the fuzzed connection.
	z.openGood()
	li := rigStream
	if len(prog) > 0 && prog[0]&4 != 0 {
		li = rigReq // req mode: the whole request, one reply
	}
	z.cs = r.connect(li)
	z.fd = r.fd(z.cs)
	z.trickle.fd = z.fd
	// The first byte: 0 mod 4 (most programs) is a client that completes
	// the handshake (SETTINGS, then our SETTINGS acknowledged), else the
	// program writes it itself after the preface.
	hs := http2.ClientPreface
	if z.byte()%4 == 0 {
		hs += string(http2.AppendSettings(nil)) + string(http2.AppendSettingsAck(nil))
	}
	r.client(z.cs, hs)
	for steps := 0; len(z.prog) > 0 && steps < 400; steps++ {
		z.step()
		z.check()
	}
	// The end: whatever is queued goes, the client reads again, the
	// handlers' socket has room; then the client goes away.
	if !z.closed {
		z.deliver(len(z.queued))
		z.check()
	}
	r.fx.full["push"] = false
	z.trickle.limit = 0
	z.stalled = false
	r.fx.stalled[z.fd] = false
	if !z.closed && !r.fx.closed[z.fd] {
		r.event(z.cs, reactor.EvOut)
	}
	r.retry()
	z.check()
	if !z.closed {
		r.clientReset(z.cs)
		z.check()
	}
	if !z.closed {
		t.Fatal("connection not closed after a client reset")
	}
	// Requests of the fuzzed connection that reached the handler are
	// forgotten by now (cancel sent or not): drop them, then the neighbour
	// must be served as if nothing happened.
	r.packets()
	z.good.out()
	z.good.get(1, "/good")
	p := r.onePacket()
	if str(p.p, "uri") != "http://example.com/good" {
		t.Fatalf("good client's request %v", p.p)
	}
	r.handler(h2resp(str(p.p, "id"), 0, "fine", false))
	z.good.want(`HEADERS 1 :status=200 content-type=text/plain content-length=4 | DATA 1 END_STREAM "fine"`)
	if n := r.w.sessions.Len(); n != 0 {
		t.Fatalf("%d sessions left in the slab", n)
	}
	if r.w.h2s.live != 1 {
		t.Fatalf("%d h2 blocks live, want 1 (the good connection)", r.w.h2s.live)
	}
}

// out drops what the server wrote to the good client so far (its settings
// exchange is done; the fuzzed connection must not have sent it anything).
func (c *h2client) out() {
	if s := c.r.outFd(c.fd); s != "" {
		c.t.Fatalf("good client got unasked bytes %q", s)
	}
}

func (z *h2fuzz) step() {
	r := z.r
	switch z.byte() % opCount {
	case opFrame:
		if !z.closed {
			z.frame()
		}
	case opFlush:
		n := len(z.queued) * (int(z.byte()) + 1) / 256
		if !z.closed {
			z.deliver(n)
		}
	case opHandler:
		z.handler()
	case opStall:
		if z.closed {
			return
		}
		if b := z.byte(); b >= 128 {
			// Short writes from now on (0: whole writes again); the
			// socket has room again.
			z.trickle.limit = int(b-128) * 7
			r.event(z.cs, reactor.EvOut)
			return
		}
		z.stalled = !z.stalled
		r.fx.stalled[z.fd] = z.stalled
		if !z.stalled {
			r.event(z.cs, reactor.EvOut)
		}
	case opClock:
		switch b := z.byte(); {
		case b < 200:
			r.advance(time.Duration(b) * 10 * time.Millisecond)
		default:
			r.advance(time.Duration(b-199) * 5 * time.Second)
		}
	case opPush:
		r.fx.full["push"] = !r.fx.full["push"]
		r.retry()
	case opRaw:
		n := int(z.byte() % 32)
		for i := 0; i < n; i++ {
			z.queued = append(z.queued, z.byte())
		}
	case opEnd:
		if z.closed {
			return
		}
		z.deliver(len(z.queued))
		if z.closed {
			return
		}
		if z.byte()%2 == 0 {
			r.clientFin(z.cs)
		} else {
			r.clientReset(z.cs)
		}
	}
}

// deliver sends the first n queued bytes from the client.
func (z *h2fuzz) deliver(n int) {
	if n == 0 {
		return
	}
	data := string(z.queued[:n])
	z.queued = append(z.queued[:0], z.queued[n:]...)
	z.r.client(z.cs, data)
}

// streamID picks a stream id for a frame.
func (z *h2fuzz) streamID(b byte) uint32 {
	switch b % 8 {
	case 0, 1, 2:
		id := z.nextID
		z.nextID += 2
		z.ids = append(z.ids, id)
		return id
	case 3, 4:
		if len(z.ids) > 0 {
			return z.ids[int(b/8)%len(z.ids)]
		}
		return 1
	case 5:
		return 0
	case 6:
		return uint32(b/8) * 2 // even
	default:
		return z.nextID + 2*uint32(b/8) // a jump ahead
	}
}

var fuzzBlocks = [...][]byte{
	fieldsBlock(":method", "GET", ":scheme", "http", ":authority", "a.example", ":path", "/x"),
	fieldsBlock(":method", "POST", ":scheme", "http", ":authority", "a.example", ":path", "/up", "content-length", "20"),
	fieldsBlock(":method", "POST", ":scheme", "http", ":authority", "a.example", ":path", "/up"),
	fieldsBlock(":method", "HEAD", ":scheme", "https", ":path", "/h", "host", "b.example", "cookie", "a=1", "cookie", "b=2"),
	{0xff, 0xff, 0xff, 0xff, 0x0f}, // an index past every table
	// literal with incremental indexing (grows the dynamic table), then its index
	append(fieldsBlock(":method", "GET", ":scheme", "http", ":path", "/t"),
		append([]byte{0x40, 10}, append([]byte("x-indexed1"), append([]byte{0x7f, 0x81, 0x01}, strings.Repeat("v", 128+127)...)...)...)...),
	{0x82, 0x86, 0x84, 0xbe},             // GET http / and dynamic index 62
	{0x3f, 0xe1, 0x1f, 0x82, 0x86, 0x84}, // a table size update to 4096 first
	{0x82, 0x86, 0x84, 0x3f, 0xe1, 0x1f}, // a table size update after a field
	{0x3f, 0xe1, 0x3f},                   // a table size update above the limit
	fieldsBlock("x-trailer", "1"),        // trailers
	fieldsBlock(":method", "GET", ":path", "/no-scheme"),
	fieldsBlock(":method", "CONNECT", ":authority", "a.example:443"),
	fieldsBlock(":method", "GET", ":scheme", "http", ":authority", "a.example", ":path", "/c", "connection", "close"),
	fieldsBlock(":method", "GET", ":scheme", "http", ":authority", "a.example", ":path", "/big", "x-big", strings.Repeat("b", 9000)),
	{0x00, 0x85, 0xf2, 0xb4, 0xff, 0xff, 0xff, 0x01, 0x61}, // bad Huffman
	{},
}

func fieldsBlock(kv ...string) []byte {
	var b []byte
	for i := 0; i+1 < len(kv); i += 2 {
		b = http2.AppendField(b, []byte(kv[i]), []byte(kv[i+1]))
	}
	return b
}

var fuzzWindows = [...]uint32{0, 1, 100, 16384, 65535, 1 << 20, 1<<31 - 1, 1 << 31}

// frame queues one client frame: type, flags, stream choice, argument.
func (z *h2fuzz) frame() {
	typ := http2.FrameType(z.byte() % 11)
	flags := http2.Flags(z.byte())
	sb := z.byte()
	arg := z.byte()
	var id uint32
	if typ != http2.FrameHeaders {
		// HEADERS opens new streams; other frames mostly go to known ones.
		if sb%8 < 3 {
			sb += 3
		}
	}
	id = z.streamID(sb)
	var p []byte
	switch typ {
	case http2.FrameData:
		p = make([]byte, int(arg%64))
		if arg >= 192 {
			p = make([]byte, 4000+int(arg)*8) // a large one
		}
		flags &^= http2.FlagPadded
		if arg%5 == 0 {
			flags |= http2.FlagPadded
			p = append([]byte{arg % 7}, append(p, make([]byte, arg%7)...)...)
		}
	case http2.FrameHeaders, http2.FrameContinuation, http2.FramePushPromise:
		p = fuzzBlocks[int(arg)%len(fuzzBlocks)]
		flags &^= http2.FlagPadded | http2.FlagPriority
		if typ == http2.FrameHeaders {
			if flags&0x10 == 0 { // mostly whole blocks
				flags |= http2.FlagEndHeaders
			}
			if arg&0x80 != 0 && len(p) > 2 {
				// Split over a CONTINUATION.
				half := len(p) / 2
				z.queued = http2.AppendFrameHeader(z.queued, http2.FrameHeader{Length: uint32(half), Type: typ, Flags: flags &^ http2.FlagEndHeaders, StreamID: id})
				z.queued = append(z.queued, p[:half]...)
				typ, p = http2.FrameContinuation, p[half:]
				flags = http2.FlagEndHeaders
			}
		}
		if typ == http2.FramePushPromise {
			p = append([]byte{0, 0, 0, 2}, p...)
		}
	case http2.FramePriority:
		p = []byte{0, 0, 0, arg % 8, 16}
		if arg > 250 {
			p = p[:4]
		}
	case http2.FrameRSTStream:
		p = binary.BigEndian.AppendUint32(nil, uint32(arg%16))
	case http2.FrameSettings:
		if flags&http2.FlagAck == 0 {
			n := int(arg % 4)
			for i := 0; i < n; i++ {
				sid := uint16(z.byte()%8 + 1)
				val := fuzzWindows[z.byte()%uint8(len(fuzzWindows))]
				if sid == uint16(http2.SettingMaxFrameSize) {
					val = 16384 + uint32(z.byte())*64
					if val > z.maxFrame {
						z.maxFrame = val
					}
				}
				p = binary.BigEndian.AppendUint16(p, sid)
				p = binary.BigEndian.AppendUint32(p, val)
			}
		}
	case http2.FramePing:
		p = make([]byte, 8)
		p[0] = arg
		if arg > 250 {
			p = p[:7]
		}
	case http2.FrameGoAway:
		p = binary.BigEndian.AppendUint32(nil, uint32(arg))
		p = binary.BigEndian.AppendUint32(p, uint32(arg%14))
	case http2.FrameWindowUpdate:
		incr := fuzzWindows[int(arg)%len(fuzzWindows)]
		if arg >= 128 {
			incr = uint32(arg) * 97
		}
		if id == 0 && incr > 0 && incr < 1<<31 {
			z.granted += int64(incr)
		}
		p = binary.BigEndian.AppendUint32(nil, incr)
	default: // an unknown type
		p = []byte{arg}
	}
	n := uint32(len(p))
	if arg == 77 {
		n += uint32(flags % 4) // a length that lies now and then
	}
	z.queued = http2.AppendFrameHeader(z.queued, http2.FrameHeader{Length: n, Type: typ, Flags: flags, StreamID: id})
	z.queued = append(z.queued, p...)
}

var fuzzCodes = [...]int{200, 204, 304, 404, 100, 0, 1000}

// handler sends one handler packet to a stream's session.
func (z *h2fuzz) handler() {
	r := z.r
	for _, p := range r.packets() {
		if str(p.p, "type") == "" && p.via == "push" {
			z.reqs = append(z.reqs, str(p.p, "id"))
		}
		if p.via == "req" {
			z.reqs = append(z.reqs, "req:"+str(p.p, "id"))
		}
	}
	pick, kind, size, more := z.byte(), z.byte(), z.byte(), z.byte()
	if len(z.reqs) == 0 {
		return
	}
	id := z.reqs[int(pick)%len(z.reqs)]
	if rid, ok := strings.CutPrefix(id, "req:"); ok {
		// A req-mode reply (one per request; a second one finds nothing).
		r.reqReply(map[string]any{"id": rid, "code": fuzzCodes[int(size)%len(fuzzCodes)], "reason": "OK",
			"headers": [][]string{{"X-Big", strings.Repeat("h", int(size)*8)}}, "body": strings.Repeat("r", int(size)*40)})
		return
	}
	seq := z.seqs[id]
	if more&0x80 != 0 {
		seq += int(more&3) - 1 // out of order now and then
	}
	z.seqs[id]++
	p := map[string]any{"id": id, "seq": seq}
	body := strings.Repeat("r", int(size)*40)
	switch kind % 10 {
	case 0: // a response (or a body part once started)
		p["code"] = fuzzCodes[int(size)%len(fuzzCodes)]
		p["reason"] = "OK"
		p["headers"] = [][]string{{"Content-Type", "text/plain"}, {"X-Big", strings.Repeat("h", int(size)*8)}}
		if size%9 == 0 {
			p["headers"] = [][]string{{"Content-Length", "5"}}
		}
		p["body"] = body
		if more&1 != 0 {
			p["more"] = true
		}
	case 1: // a body part
		p["body"] = body
		if more&1 != 0 {
			p["more"] = true
		}
	case 2:
		p["type"], p["credits"] = "credit", int(size)*100
	case 3:
		p["type"] = "cancel"
	case 4:
		p["type"], p["condition"] = "error", "bad-request"
	case 5:
		p["type"] = "keep-alive"
	case 6:
		p["type"] = "handoff-start"
	case 7:
		p["type"] = "close"
	default:
		p["type"], p["credits"] = "credit", int(size)
	}
	r.handler(p)
}

// check asserts the invariants after a step.
func (z *h2fuzz) check() {
	t, r := z.t, z.r
	t.Helper()
	if r.fx.closed[z.good.fd] {
		z.good.want("GOAWAY last=0 NO_ERROR") // idle for 60 s: the only way it may end
		z.openGood()
	}
	z.checkOutput()
	if !z.closed && r.fx.closed[z.fd] {
		z.closed = true
		z.outLen = len(r.fx.out[z.fd])
	}
	if z.closed {
		if len(r.fx.out[z.fd]) != z.outLen {
			t.Fatalf("%d bytes written after the close", len(r.fx.out[z.fd])-z.outLen)
		}
		// Only the good connection's streams may remain (it has none).
		if n := r.w.sessions.Len(); n != 0 {
			t.Fatalf("connection closed, %d sessions left", n)
		}
		if r.w.h2s.live != 1 {
			t.Fatalf("connection closed, %d h2 blocks live", r.w.h2s.live)
		}
		return
	}
	c := r.w.conns.Get(z.cs)
	if !c.has(fH2) {
		t.Fatal("fuzzed connection is not HTTP/2")
	}
	h := r.w.h2(c)
	n := 0
	for p := c.sess; p != 0; {
		s := r.w.sessions.Get(p - 1)
		if s.kind != kindH2 || s.conn != z.cs {
			t.Fatalf("session %d on the connection's list: kind %d conn %d", p-1, s.kind, s.conn)
		}
		n++
		p = s.next
	}
	if n != int(h.open) || n != r.w.sessions.Len() {
		t.Fatalf("%d sessions listed, %d open streams counted, %d in the slab", n, h.open, r.w.sessions.Len())
	}
	if n > r.w.opts.HTTP2MaxStreams {
		t.Fatalf("%d streams above the limit %d", n, r.w.opts.HTTP2MaxStreams)
	}
	if h.sendWin < 0 {
		t.Fatalf("connection send window %d", h.sendWin)
	}
	if h.recvWin < 0 {
		t.Fatalf("connection receive window %d", h.recvWin)
	}
	// What the client may still send plus what was consumed and not yet
	// handed back never passes the initial window: a byte is handed back
	// once.
	if int64(h.recvWin)+int64(h.recvUsed) > http2.DefaultInitialWindowSize {
		t.Fatalf("connection receive window %d + %d consumed, above %d", h.recvWin, h.recvUsed, http2.DefaultInitialWindowSize)
	}
	if pend := int(c.wend - c.wstart); pend > r.w.opts.BufferSize*(1+maxFramingPerByte)+writeSlack {
		t.Fatalf("%d bytes of output pending", pend)
	}
}

// checkOutput parses the frames the server wrote to the fuzzed client.
func (z *h2fuzz) checkOutput() {
	t := z.t
	out := z.r.fx.out[z.fd]
	for {
		b := out[z.parsed:]
		if len(b) < http2.FrameHeaderLen {
			return
		}
		fh := http2.ParseFrameHeader(b)
		if len(b) < http2.FrameHeaderLen+int(fh.Length) {
			return
		}
		if z.goneAway {
			t.Fatalf("%s after a GOAWAY with an error code", fh.Type)
		}
		if fh.Length > z.maxFrame {
			t.Fatalf("%s frame of %d bytes, client allows %d", fh.Type, fh.Length, z.maxFrame)
		}
		p := b[http2.FrameHeaderLen : http2.FrameHeaderLen+int(fh.Length)]
		z.parsed += http2.FrameHeaderLen + int(fh.Length)
		switch fh.Type {
		case http2.FrameData, http2.FrameHeaders:
			if fh.StreamID%2 == 0 || fh.StreamID >= z.nextID+512 {
				t.Fatalf("%s on stream %d the client never opened", fh.Type, fh.StreamID)
			}
			if fh.Type == http2.FrameData {
				z.dataSent += int64(fh.Length)
				if z.dataSent > z.granted {
					t.Fatalf("%d DATA bytes sent, %d granted", z.dataSent, z.granted)
				}
			}
		case http2.FrameGoAway:
			if _, code, _, err := http2.ParseGoAway(fh, p); err != nil {
				t.Fatalf("server's GOAWAY does not parse: %v", err)
			} else if code != http2.ErrNo {
				z.goneAway = true
			}
		case http2.FrameSettings, http2.FramePing, http2.FrameRSTStream, http2.FrameWindowUpdate:
		default:
			t.Fatalf("server sent a %s frame", fh.Type)
		}
	}
}

// TestH2PartialFrameWaits: a frame whose bytes are not all in yet leaves
// the connection waiting for input, not on the run queue (it used to be
// requeued at every pass: a client sending half a HEADERS frame kept the
// worker spinning). Found by FuzzH2Conn.
func TestH2PartialFrameWaits(t *testing.T) {
	r := h2rig(t, 0)
	c := h2open(t, r)
	f := http2.AppendHeaders(nil, 1, fieldsBlock(":method", "GET", ":scheme", "http", ":path", "/"), true, 16384)
	for _, n := range []int{3, http2.FrameHeaderLen + 2} { // a partial header; a partial payload
		r.fx.in[c.fd] = append(r.fx.in[c.fd], f[:n]...)
		r.w.connEvent(connTag(c.cs, r.w.conns.Gen(c.cs)), reactor.EvIn)
		r.w.runQueue()
		if len(r.w.runq) != 0 {
			t.Fatalf("%d bytes of a frame: connection requeued", n)
		}
		r.fx.in[c.fd] = nil
		r.fx.out[c.fd] = nil
		r.w.conns.Get(c.cs).rstart = r.w.conns.Get(c.cs).rend // drop it again
	}
	c.send(f)
	c.request("GET", "http://localhost/", false)
}

// TestH2HeldBytesCap: response bytes a closed stream window holds back are
// capped at the credits (--buffer-size): a handler that sends beyond them
// gets its stream reset (INTERNAL_ERROR), the connection and its other
// streams go on.
func TestH2HeldBytesCap(t *testing.T) {
	r := h2rig(t, 0)
	c := h2open(t, r, http2.Setting{ID: http2.SettingInitialWindowSize, Val: 0})
	c.get(1, "/held")
	c.get(3, "/other")
	ps := r.packets()
	if len(ps) != 2 {
		t.Fatalf("%d request packets", len(ps))
	}
	id1, id3 := str(ps[0].p, "id"), str(ps[1].p, "id")
	r.handler(h2resp(id1, 0, strings.Repeat("a", 8000), true)) // held: the stream window is 0
	c.want(`HEADERS 1 :status=200 content-type=text/plain`)
	r.handler(map[string]any{"id": id1, "seq": 1, "body": strings.Repeat("b", 192), "more": true}) // 8192: the cap
	c.want("")
	r.handler(map[string]any{"id": id1, "seq": 2, "body": "c", "more": true}) // one beyond
	c.want("RST_STREAM 1 INTERNAL_ERROR")
	c.wantPhase(1, "")
	r.noPackets()
	r.handler(h2resp(id3, 0, "ok", false))
	c.want(`HEADERS 3 :status=200 content-type=text/plain content-length=2`) // the window is 0: DATA waits
	c.send(http2.AppendWindowUpdate(nil, 3, 2))
	c.want(`DATA 3 END_STREAM "ok"`)
}

// TestH2StalledClientManyResponses: response HEADERS are not bound by
// credits, so a client that opens 100 streams and does not read can make
// its answers pile up in the write buffer; past the write cap the
// connection closes as a client that does not read (the rate-limited
// http/2 line, cause messages_max: client not reading), not as a handler
// that ignored its credits. The handlers get their cancels.
func TestH2StalledClientManyResponses(t *testing.T) {
	r := newRig(t, func(o *Options) { o.HTTP2, o.HTTP2MaxStreams, o.StreamMaxConn, o.Metrics = true, 100, 200, true })
	c := h2open(t, r)
	r.fx.stalled[c.fd] = true
	for i := 0; i < 100; i++ {
		c.get(uint32(2*i+1), "/x")
	}
	ps := r.packets()
	if len(ps) != 100 {
		t.Fatalf("%d requests", len(ps))
	}
	n := 0
	for _, p := range ps {
		r.handler(h2resp(str(p.p, "id"), 0, "", true, []string{"X-Big", strings.Repeat("h", 1000)}))
		n++
		if r.fx.closed[c.fd] {
			break
		}
	}
	if !r.fx.closed[c.fd] {
		t.Fatal("100 KB of HEADERS pending and the connection still open")
	}
	var closed uint64
	for k := range r.w.m.s.Closed {
		closed += r.w.m.s.Closed[k][CauseMessagesMax]
	}
	if closed != 1 {
		t.Fatalf("closed %v, want one messages_max (client not reading)", r.w.m.s.Closed)
	}
	if cancels := len(r.packets()); cancels != n { // every stream whose handler is known
		t.Fatalf("%d cancels, want %d", cancels, n)
	}
	if r.w.sessions.Len() != 0 || r.w.h2s.live != 0 {
		t.Fatalf("%d sessions, %d h2 blocks left", r.w.sessions.Len(), r.w.h2s.live)
	}
}

// TestH2ReqBodyTooLargeWindow: a req-mode body over --body-buffer-size is
// answered 413 and the rest of its DATA frame (padding included) skipped;
// every byte is handed back to the connection window once, not twice.
func TestH2ReqBodyTooLargeWindow(t *testing.T) {
	r := h2rig(t, 0)
	c := h2openOn(t, r, rigReq)
	c.headers(1, false, ":method", "POST", ":scheme", "http", ":authority", "a", ":path", "/up")
	c.want("WINDOW_UPDATE 1 +1000")
	body := make([]byte, 1+1200+200) // pad length, 1200 bytes, 200 of padding
	body[0] = 200
	f := http2.AppendFrameHeader(nil, http2.FrameHeader{Length: uint32(len(body)), Type: http2.FrameData, Flags: http2.FlagPadded, StreamID: 1})
	c.send(append(f, body...))
	h := r.w.h2(r.w.conns.Get(c.cs))
	if got := int64(h.recvWin) + int64(h.recvUsed); got != http2.DefaultInitialWindowSize {
		t.Fatalf("connection window %d + %d consumed = %d, want %d", h.recvWin, h.recvUsed, got, http2.DefaultInitialWindowSize)
	}
	if got := c.frames(); !strings.HasPrefix(got, "HEADERS 1 :status=413") {
		t.Fatalf("server wrote %s", got)
	}
}

// TestH2SessionSlabFull: streams beyond the worker's session slots (below
// --http2-max-streams) are refused (REFUSED_STREAM, which clients retry);
// a slot freed serves the next stream.
func TestH2SessionSlabFull(t *testing.T) {
	r := h2rig(t, 0)
	c := h2open(t, r)
	slots := r.w.sessions.Cap()
	for i := 0; i < slots+1; i++ {
		c.get(uint32(2*i+1), "/x")
	}
	ps := r.packets()
	if len(ps) != slots || r.w.sessions.Len() != slots {
		t.Fatalf("%d requests, %d sessions for %d slots", len(ps), r.w.sessions.Len(), slots)
	}
	last := uint32(2*slots + 1)
	c.want(fmt.Sprintf("RST_STREAM %d REFUSED_STREAM", last))
	r.handler(h2resp(str(ps[0].p, "id"), 0, "", false))
	c.frames()
	c.get(last+2, "/y")
	if p := r.onePacket(); !strings.HasSuffix(str(p.p, "uri"), "/y") {
		t.Fatalf("request %v", p.p)
	}
}

// TestH2DrainBounded: before closing on a connection error the server reads
// and drops what the client already sent (so the close is a FIN that does
// not destroy the GOAWAY), but no more than h2DrainMax of it.
func TestH2DrainBounded(t *testing.T) {
	r := h2rig(t, 0)
	c := h2open(t, r)
	junk := strings.Repeat("x", 1<<20)
	r.fx.in[c.fd] = append(r.fx.in[c.fd], http2.AppendData(nil, 9, []byte("x"), false)...) // DATA on an idle stream
	r.fx.in[c.fd] = append(r.fx.in[c.fd], junk...)
	r.event(c.cs, reactor.EvIn)
	c.want("GOAWAY last=0 PROTOCOL_ERROR")
	r.wantClosed(c.fd)
	if left := len(r.fx.in[c.fd]); left < len(junk)-65536-r.w.opts.BufferSize { // h2DrainMax, and one read block
		t.Fatalf("read %d bytes of junk before closing", len(junk)-left)
	}
}
