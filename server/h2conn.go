package server

import (
	"time"

	"github.com/condure-go/condure/http2"
	"github.com/condure-go/condure/internal/logging"
)

// The HTTP/2 connection (docs/design.md "HTTP/2"): the preface, the frame
// loop, and the frames that concern the connection as a whole (SETTINGS,
// PING, GOAWAY, WINDOW_UPDATE on stream 0). Streams are sessions
// (h2stream.go). A connection becomes HTTP/2 with startH2: from recvHeader
// when its first bytes are the client preface (h2c by prior knowledge), or
// from the TLS handshake when ALPN chose h2.
//
//	startH2 ─► preface ─► settings ─► open ─(GOAWAY sent, streams done)─► close

const (
	// h2TableSize is the HPACK table an h2 connection keeps in its block
	// (h2TableLen bytes of storage, http2.DecoderTableLen): what an idle h2
	// connection pays for (docs/design.md "HTTP/2"). The client may use the
	// 4096 default (SETTINGS_HEADER_TABLE_SIZE is not lowered: h2spec's
	// generic cases assume 4096); a block is decoded in a lent 4096-byte
	// table, and the table goes back into the connection's block when what
	// it holds fits there (h2hpack.go).
	h2TableSize    = 2048
	h2TableLen     = (h2TableSize + 31) / 32 * 34
	h2BigTableSize = http2.DefaultHeaderTableSize
	h2BigTableLen  = (h2BigTableSize + 31) / 32 * 34
	// h2ConnWindowStep: consumed DATA bytes are handed back to the
	// connection window in WINDOW_UPDATEs of at least this much (half the
	// initial 65535), one frame per 32 KiB rather than one per DATA frame.
	h2ConnWindowStep = 32768
	// h2ChunkBlocks: connection blocks are allocated this many at a time.
	h2ChunkBlocks = 64
	// h2CtlBytesMax: control frames (PING and SETTINGS acks, WINDOW_UPDATE,
	// RST_STREAM) pending in the write buffer past which the connection is
	// not read: a client that floods frames needing an answer and does not
	// read the answers stops being read (it gets no more than this).
	h2CtlBytesMax = 4096
)

// h2 connection states.
const (
	h2Preface  uint8 = iota // waiting for the 24-byte client preface
	h2Settings              // preface read; the first frame must be SETTINGS
	h2Open                  // frames flow
)

// h2conn flags.
const (
	h2fGoAway  uint8 = 1 << iota // GOAWAY sent: no new stream, close when the last ends
	h2fBlocked                   // a DATA payload waits for its stream's credits or gate: not read
	h2fWriting                   // inside h2Written: a nested drain only notes it
	h2fWritten                   // output drained again during h2Written
	h2fAcked                     // the client acknowledged our SETTINGS
)

// h2conn is an HTTP/2 connection's protocol state, a pointer-free block in
// the worker's h2 slab (the connection refers to it by index: conn.h2ref).
type h2conn struct {
	sendWin     http2.Window // connection send window (the client's WINDOW_UPDATEs)
	recvWin     http2.Window // connection receive window the client has left
	recvUsed    uint32       // DATA bytes consumed and not yet handed back
	peerFrame   uint32       // the client's SETTINGS_MAX_FRAME_SIZE
	peerInitWin uint32       // the client's SETTINGS_INITIAL_WINDOW_SIZE
	lastID      uint32       // highest stream id the client opened (or had refused)
	goAwayID    uint32       // last stream id in the GOAWAY we sent
	// The DATA frame (or skipped payload) being read: its payload bytes
	// not consumed yet, of which padLeft are trailing padding.
	frameLeft   uint32
	padLeft     uint32
	frameStream uint32 // stream of the DATA frame; 0: the payload is skipped
	frameEnd    bool   // END_STREAM on that DATA frame
	frameData   bool   // the payload is DATA (counts against the connection window)
	inFrame     bool   // a payload (perhaps empty, perhaps only an END_STREAM to pass on) is being consumed
	state       uint8
	flags       uint8
	open        uint16 // streams with a session
	// Defences (h2limits.go): budgets refilled per tick.
	tokTick   uint64
	ctlTokens int32         // frames that cost work and carry nothing (PING, SETTINGS, empty frames)
	rstTokens int32         // streams the client reset
	dec       http2.Decoder // pointer-free: its table is lent per call
	big       int32         // a 4096-byte table block (w.h2big) the table does not fit out of, 0 = none
	table     [h2TableLen]byte
}

func (h *h2conn) has(f uint8) bool { return h.flags&f != 0 }

// h2slab holds the blocks of the worker's HTTP/2 connections: chunks
// allocated on demand and never moved, a free list of indices.
type h2slab struct {
	chunks [][]h2conn
	free   []int32
	live   int
}

func (p *h2slab) alloc() int32 {
	if len(p.free) == 0 {
		base := int32(len(p.chunks) * h2ChunkBlocks)
		p.chunks = append(p.chunks, make([]h2conn, h2ChunkBlocks))
		for i := int32(h2ChunkBlocks - 1); i >= 0; i-- {
			p.free = append(p.free, base+i)
		}
	}
	i := p.free[len(p.free)-1]
	p.free = p.free[:len(p.free)-1]
	p.live++
	*p.get(i) = h2conn{}
	return i
}

func (p *h2slab) get(i int32) *h2conn { return &p.chunks[i/h2ChunkBlocks][i%h2ChunkBlocks] }

func (p *h2slab) release(i int32) {
	p.free = append(p.free, i)
	p.live--
}

// h2 returns the connection's HTTP/2 block.
func (w *Worker) h2(c *conn) *h2conn { return w.h2s.get(c.h2ref()) }

// isH2Preface reports whether b, the first bytes of a connection, are the
// client preface or could still become it (more is needed when partial).
func isH2Preface(b []byte) (match, partial bool) {
	n := min(len(b), len(http2.ClientPreface))
	if string(b[:n]) != http2.ClientPreface[:n] {
		return false, false
	}
	return true, n < len(http2.ClientPreface)
}

// startH2 makes connection c an HTTP/2 connection: its block, our SETTINGS
// (the server preface), then the client's preface and frames are read.
func (w *Worker) startH2(cs int32, c *conn) {
	ref := w.h2s.alloc()
	c.setH2ref(ref)
	c.flags |= fH2
	h := w.h2s.get(ref)
	h.sendWin = http2.DefaultInitialWindowSize
	h.recvWin = http2.DefaultInitialWindowSize
	h.peerFrame = http2.DefaultMaxFrameSize
	h.peerInitWin = http2.DefaultInitialWindowSize
	h.ctlTokens, h.rstTokens = h2CtlBudget, h2RstBudget
	h.tokTick = w.now
	h.dec.Init(h2BigTableSize, uint32(w.opts.BufferSize)) // the default until the client acknowledges ours
	w.h2ctl = http2.AppendSettings(w.h2ctl[:0],
		http2.Setting{ID: http2.SettingMaxConcurrentStreams, Val: uint32(w.opts.HTTP2MaxStreams)},
		http2.Setting{ID: http2.SettingInitialWindowSize, Val: 0},
		http2.Setting{ID: http2.SettingMaxHeaderListSize, Val: uint32(w.opts.BufferSize)},
		http2.Setting{ID: http2.SettingEnableConnectProtocol, Val: 1}, // WebSocket over HTTP/2 (h2ws.go)
	)
	if logging.Enabled(logging.LevelDebug) {
		logging.Debug(targetConn, "worker %d: conn %d: http/2", w.idx, cs)
	}
	w.h2Idle(cs, c)
	if !w.h2Flush(cs, c) {
		return
	}
	w.h2Read(cs, c)
}

// h2Idle arms the idle timer of a connection without streams, as startIdle
// does for HTTP/1 (the sooner of 60 s and --stream-timeout).
func (w *Worker) h2Idle(cs int32, c *conn) {
	w.timers.Schedule(connTimer(cs, timerIdle), w.now+min(w.sessionTicks, w.streamTicks()))
}

// h2Flush writes the control frames gathered in w.h2ctl. False if the
// connection closed.
func (w *Worker) h2Flush(cs int32, c *conn) bool {
	if len(w.h2ctl) == 0 {
		return true
	}
	w.iov = append(w.iov[:0], w.h2ctl)
	w.h2ctl = w.h2ctl[:0]
	return w.write(cs, c, w.iov)
}

// h2Read processes the frames in the read buffer, reading more as it goes,
// until nothing more can be read now, a stream holds the input (its DATA
// waits for credits), or the budget is spent. Control frames it answers
// are gathered and written once at the end.
func (w *Worker) h2Read(cs int32, c *conn) {
	h := w.h2(c)
	if h.has(h2fBlocked) {
		return
	}
	reads := 0
	gated, starved := false, false
	for frames := 0; frames < h2FrameBudget; frames++ {
		if c.wend-c.wstart > h2CtlBytesMax {
			gated = true // the client does not read what it asks for: neither do we (EPOLLOUT resumes)
			break
		}
		need, ok := w.h2Step(cs, c, h)
		if !ok {
			return // closed
		}
		if h.has(h2fBlocked) {
			break
		}
		if need == 0 {
			continue
		}
		if reads == readBudget {
			w.h2Flush(cs, c)
			w.queue(cs, c)
			return
		}
		reads++
		got, closed := w.fill(cs, c)
		if closed {
			return
		}
		if !got {
			buf := w.bufs.bytes(c.rbuf)
			if c.rbuf != 0 && c.rstart == 0 && int(c.rend) == len(buf) {
				// need more than the read block holds
				w.h2ConnError(cs, c, http2.ErrEnhanceYourCalm, "frame or header block larger than the read buffer")
				return
			}
			if inputEnded(c) {
				w.h2Flush(cs, c)
				w.closeConn(cs, c, true, CauseClientClose)
				return
			}
			starved = true // a partial frame waits for its bytes (EPOLLIN resumes)
			break
		}
	}
	if !w.h2Flush(cs, c) || !w.h2CloseIfDone(cs, c) {
		return
	}
	if !h.has(h2fBlocked) && !gated && !starved && c.rstart < c.rend {
		w.queue(cs, c) // budget spent with input left
	}
}

// h2FrameBudget bounds the frames one pass processes, so one connection
// does not hold the worker.
const h2FrameBudget = 64

// h2Step processes what the read buffer holds of one frame. It returns
// need > 0 when more input is needed first, ok false when the connection
// closed.
func (w *Worker) h2Step(cs int32, c *conn, h *h2conn) (need int, ok bool) {
	if c.rbuf == 0 {
		return 1, true
	}
	in := w.bufs.bytes(c.rbuf)[c.rstart:c.rend]
	if h.inFrame {
		if len(in) == 0 && h.frameLeft > 0 {
			return 1, true
		}
		return 0, w.h2Payload(cs, c, h, in)
	}
	if h.state == h2Preface {
		n := len(http2.ClientPreface)
		if len(in) < n {
			if m, _ := isH2Preface(in); !m {
				w.h2ConnError(cs, c, http2.ErrProtocol, "bad client preface")
				return 0, false
			}
			return n - len(in), true
		}
		if string(in[:n]) != http2.ClientPreface {
			w.h2ConnError(cs, c, http2.ErrProtocol, "bad client preface")
			return 0, false
		}
		c.rstart += int32(n)
		h.state = h2Settings
		return 0, true
	}
	if len(in) < http2.FrameHeaderLen {
		return http2.FrameHeaderLen - len(in), true
	}
	fh := http2.ParseFrameHeader(in)
	if h.state == h2Settings && (fh.Type != http2.FrameSettings || fh.Flags.Has(http2.FlagAck)) {
		w.h2ConnError(cs, c, http2.ErrProtocol, "first frame is not SETTINGS")
		return 0, false
	}
	if err := http2.CheckFrame(fh, http2.DefaultMaxFrameSize); err != nil {
		if _, ok := err.(http2.StreamError); ok {
			// The frame is dropped whole, the connection goes on.
			if n := http2.FrameHeaderLen + int(fh.Length); len(in) < n {
				return n - len(in), true
			}
			c.rstart += int32(http2.FrameHeaderLen + fh.Length)
		}
		return 0, w.h2Error(cs, c, err)
	}
	whole := http2.FrameHeaderLen + int(fh.Length)
	switch fh.Type {
	case http2.FrameData:
		return w.h2DataHeader(cs, c, h, fh, in)
	case http2.FrameHeaders:
		return w.h2Headers(cs, c, h, fh, in)
	case http2.FrameContinuation:
		w.h2ConnError(cs, c, http2.ErrProtocol, "CONTINUATION without HEADERS")
		return 0, false
	case http2.FramePushPromise:
		w.h2ConnError(cs, c, http2.ErrProtocol, "PUSH_PROMISE from a client")
		return 0, false
	case http2.FrameSettings, http2.FramePing, http2.FrameRSTStream, http2.FrameWindowUpdate, http2.FramePriority:
		if len(in) < whole {
			return whole - len(in), true
		}
		c.rstart += int32(whole)
		return 0, w.h2Control(cs, c, h, fh, in[http2.FrameHeaderLen:whole])
	case http2.FrameGoAway:
		// The client is leaving: its last-stream-id says which of our
		// (nonexistent) pushes it saw; nothing to do but let it close.
		// The debug data is skipped as it streams in.
		if !w.h2Spend(cs, c, h) {
			return 0, false
		}
		fallthrough
	default: // unknown types are ignored (§5.5)
		c.rstart += http2.FrameHeaderLen
		h.inFrame, h.frameLeft, h.padLeft, h.frameStream, h.frameData, h.frameEnd = fh.Length > 0, fh.Length, 0, 0, false, false
		return 0, true
	}
}

// h2Control applies a whole SETTINGS, PING, RST_STREAM, WINDOW_UPDATE or
// PRIORITY frame.
func (w *Worker) h2Control(cs int32, c *conn, h *h2conn, fh http2.FrameHeader, p []byte) bool {
	switch fh.Type {
	case http2.FrameSettings:
		if !w.h2Spend(cs, c, h) {
			return false
		}
		if fh.Flags.Has(http2.FlagAck) {
			h.flags |= h2fAcked
			return true
		}
		h.state = h2Open
		oldInit := h.peerInitWin
		err := http2.ParseSettings(p, func(s http2.Setting) error {
			switch s.ID {
			case http2.SettingMaxFrameSize:
				h.peerFrame = s.Val
			case http2.SettingInitialWindowSize:
				h.peerInitWin = s.Val
			}
			return nil
		})
		if err != nil {
			return w.h2Error(cs, c, err)
		}
		if h.peerInitWin != oldInit && !w.h2AdjustWindows(cs, c, oldInit, h.peerInitWin) {
			return false
		}
		w.h2ctl = http2.AppendSettingsAck(w.h2ctl)
		if h.peerInitWin > oldInit {
			return w.h2Emit(cs, c) // streams whose window opened
		}
		return true
	case http2.FramePing:
		data, err := http2.ParsePing(fh, p)
		if err != nil {
			return w.h2Error(cs, c, err)
		}
		if fh.Flags.Has(http2.FlagAck) {
			return true // we send no PING of our own
		}
		if !w.h2Spend(cs, c, h) {
			return false
		}
		w.h2ctl = http2.AppendPing(w.h2ctl, true, data)
		return true
	case http2.FrameWindowUpdate:
		incr, err := http2.ParseWindowUpdate(fh, p)
		if fh.StreamID == 0 {
			if err != nil {
				return w.h2Error(cs, c, err)
			}
			if !h.sendWin.Add(incr) {
				w.h2ConnError(cs, c, http2.ErrFlowControl, "connection window above 2^31-1")
				return false
			}
			return w.h2Emit(cs, c)
		}
		return w.h2StreamWindow(cs, c, h, fh, incr, err)
	case http2.FrameRSTStream:
		code, err := http2.ParseRSTStream(fh, p)
		if err != nil {
			return w.h2Error(cs, c, err)
		}
		return w.h2Reset(cs, c, h, fh.StreamID, code)
	case http2.FramePriority:
		prio, err := http2.ParsePriority(fh, p)
		if err != nil {
			return w.h2Error(cs, c, err)
		}
		if prio.StreamDep == fh.StreamID {
			return w.h2StreamError(cs, c, fh.StreamID, http2.ErrProtocol)
		}
		return true // priorities are not acted on (RFC 9113 §5.3.2)
	}
	return true
}

// h2AdjustWindows moves every stream's send window by a change of the
// client's SETTINGS_INITIAL_WINDOW_SIZE (§6.9.2).
func (w *Worker) h2AdjustWindows(cs int32, c *conn, oldInit, newInit uint32) bool {
	for p := c.sess; p != 0; {
		s := w.sessions.Get(p - 1)
		p = s.next
		if !s.h2().sendWin.Adjust(oldInit, newInit) {
			w.h2ConnError(cs, c, http2.ErrFlowControl, "stream window above 2^31-1")
			return false
		}
	}
	return true
}

// h2Error answers a frame error from the http2 package (the frame is
// consumed): a connection error ends the connection with GOAWAY, a stream
// error resets the stream.
func (w *Worker) h2Error(cs int32, c *conn, err error) bool {
	switch e := err.(type) {
	case http2.StreamError:
		return w.h2StreamError(cs, c, e.StreamID, e.Code)
	case http2.ConnError:
		w.h2ConnError(cs, c, e.Code, e.Reason)
	default:
		w.h2ConnError(cs, c, http2.ErrInternal, "unexpected error")
	}
	return false
}

// h2ConnError ends the connection with GOAWAY code (§5.4.1): the streams'
// handlers get a cancel.
func (w *Worker) h2ConnError(cs int32, c *conn, code http2.ErrCode, why string) {
	w.h2BadPeerLog(cs, code, why)
	h := w.h2(c)
	w.h2ctl = http2.AppendGoAway(w.h2ctl, h.lastID, code, nil)
	w.h2Flush(cs, c)
	if w.conns.InUse(cs) && w.conns.Get(cs) == c && c.has(fH2) {
		w.drainInput(c)
		w.closeConn(cs, c, true, CauseClientProtocol)
	}
}

// h2DrainMax bounds the input read and dropped before closing after a
// GOAWAY: closing a socket with unread input resets the connection, and a
// reset can destroy the GOAWAY before the client reads it.
const h2DrainMax = 65536

// drainInput reads and drops what the client already sent (up to
// h2DrainMax), so that the close that follows is a FIN, not a reset.
func (w *Worker) drainInput(c *conn) {
	if c.rbuf == 0 {
		c.rbuf = w.bufs.get(w.opts.BufferSize)
	}
	buf := w.bufs.bytes(c.rbuf)
	for n := 0; n < h2DrainMax; {
		k, err := w.fx.read(int(c.fd), buf)
		if err != nil || k <= 0 {
			return
		}
		n += k
	}
}

// h2BadPeerLog is the rate-limited line for a client's protocol error.
func (w *Worker) h2BadPeerLog(cs int32, code http2.ErrCode, why string) {
	if l := w.logs.h2Peer; l.Allow(time.Now()) {
		logging.Info(targetConn, "worker %d: conn %d: http/2 %s: %s%s", w.idx, cs, code, why, l.Note())
	}
}

// h2GoAway tells the client no stream above the last it opened will be
// served (drain, stop); the connection closes when its streams end.
func (w *Worker) h2GoAway(cs int32, c *conn) bool {
	h := w.h2(c)
	if h.has(h2fGoAway) {
		return true
	}
	h.flags |= h2fGoAway
	h.goAwayID = h.lastID
	w.h2ctl = http2.AppendGoAway(w.h2ctl, h.lastID, http2.ErrNo, nil)
	if !w.h2Flush(cs, c) {
		return false
	}
	return w.h2CloseIfDone(cs, c)
}

// h2CloseIfDone closes a connection that sent GOAWAY once its last stream
// ended and its output is written. False if it closed.
func (w *Worker) h2CloseIfDone(cs int32, c *conn) bool {
	h := w.h2(c)
	if !h.has(h2fGoAway) || c.sess != 0 || c.wstart < c.wend {
		return true
	}
	w.closeConn(cs, c, false, CauseDone)
	return false
}

// h2Consumed hands n DATA bytes read (forwarded or dropped) back to the
// connection window, in steps of h2ConnWindowStep.
func (w *Worker) h2Consumed(h *h2conn, n uint32) {
	h.recvUsed += n
	if h.recvUsed >= h2ConnWindowStep {
		h.recvWin.Add(h.recvUsed)
		w.h2ctl = http2.AppendWindowUpdate(w.h2ctl, 0, h.recvUsed)
		h.recvUsed = 0
	}
}

// h2Written runs when the connection's output drained: credits go to the
// handlers of the bytes written, then the streams holding bytes back write
// what their windows allow.
func (w *Worker) h2Written(cs int32, c *conn) {
	h := w.h2(c)
	if h.has(h2fWriting) {
		h.flags |= h2fWritten
		return
	}
	h.flags |= h2fWriting
	for i := 0; i < 4; i++ {
		h.flags &^= h2fWritten
		for p := c.sess; p != 0; {
			ss := p - 1
			s := w.sessions.Get(ss)
			p = s.next
			if !s.isNew() && !w.waiting(ss) {
				w.sessionWritten(ss, s)
			}
		}
		if !w.h2Emit(cs, c) {
			return
		}
		if !h.has(h2fWritten) {
			break
		}
	}
	h.flags &^= h2fWriting
	w.h2CloseIfDone(cs, c)
}

// h2Emit lets every stream holding response bytes back write what the
// windows allow. False if the connection closed.
func (w *Worker) h2Emit(cs int32, c *conn) bool {
	for p := c.sess; p != 0; {
		ss := p - 1
		s := w.sessions.Get(ss)
		p = s.next
		if s.kind == kindWS {
			if !w.h2wsEmit(ss, s, c) {
				return false
			}
		} else if s.has(fRespStarted) && !s.has(fH2Sending) && (s.blen > 0 || s.has(fRespLast) && !s.has(fH2EndSent)) {
			if !w.h2SendPending(ss, s, c) {
				return false
			}
			if !w.conns.InUse(cs) {
				return false
			}
		}
		if w.h2(c).sendWin <= 0 || c.wstart < c.wend {
			break
		}
	}
	return true
}

// h2IdleExpired: no stream for the idle time: GOAWAY and close.
func (w *Worker) h2IdleExpired(cs int32, c *conn) {
	if c.sess != 0 {
		return
	}
	w.h2ctl = http2.AppendGoAway(w.h2ctl, w.h2(c).lastID, http2.ErrNo, nil)
	w.h2Flush(cs, c)
	if w.conns.InUse(cs) && c.has(fH2) {
		w.closeConn(cs, c, false, CauseIdleTimeout)
	}
}

// h2Release frees the connection's block (closeConn).
func (w *Worker) h2Release(c *conn) {
	h := w.h2(c)
	w.h2big.put(h.big)
	h.big = 0
	w.h2s.release(c.h2ref())
	c.setH2ref(0)
}
