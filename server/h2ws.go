package server

import (
	"strconv"
	"unsafe"

	"github.com/condure-go/condure/http1"
	"github.com/condure-go/condure/http2"
	"github.com/condure-go/condure/internal/logging"
	"github.com/condure-go/condure/websocket"
	"github.com/condure-go/condure/zhttp"
)

// WebSocket over HTTP/2 (RFC 8441; docs/design.md "WebSocket over
// HTTP/2"). An extended CONNECT (:method CONNECT, :protocol websocket) on a
// stream is a WebSocket session (kind kindWS, the phases of ws.go) whose
// bytes ride in the stream's DATA frames instead of a TCP connection:
//
//	HEADERS ─ h2wsConnect ─► ws-await ─ handler 101 ─► :status 200, ws-open ─ … (ws.go's machine) … ─► close frames, END_STREAM ─► freed
//	                             └─ other status ─► ws-respond: that status, END_STREAM ─► freed
//
// The handler sees the packets of an HTTP/1 upgrade. Client DATA payload is
// copied into a block of the stream (its "TCP receive buffer"): the stream
// window opened to the client is that block's free room, reopened as
// ws.go's frame reader (the same Reader, credits, deflate) consumes it.
// WebSocket bytes for the client (ws.go's wsFrame and wsDeflateFrames
// write through wsWrite) go out in DATA frames as far as the stream's and
// the connection's send windows allow; the rest waits in a second block
// of the stream, and the handler is credited for payload only once it has
// left that block.

// Flags of a WebSocket on an HTTP/2 stream, in bits only HTTP/1 requests
// use (a WebSocket session's upper bits are ws.go's and ws_deflate.go's).
const (
	fWSPeerEnd = fChunkedReq // the client sent END_STREAM
	fWSEndSent = fExpect100  // we sent END_STREAM
	fWSEndHeld = fHead       // END_STREAM goes with the last held byte
)

// h2wsStream is a WebSocket stream's state: the h2stream (same place, so
// h2Find and the window code work on it) and its two blocks. It lives in
// the session's wsAccept bytes (an HTTP/2 WebSocket has no accept key).
// A session's bodyLeft holds the payload bytes held in the out block, not
// yet credited to the handler.
type h2wsStream struct {
	h2stream
	in, inStart, inEnd int32 // client bytes not parsed yet: block (w.bufs), 0 = none
	out, outLen        int32 // bytes for the client the windows hold back
}

func (s *session) h2ws() *h2wsStream { return (*h2wsStream)(unsafe.Pointer(&s.wsAccept)) }

var _ = [unsafe.Sizeof(session{}.wsAccept) - unsafe.Sizeof(h2wsStream{})]struct{}{}

// h2wsScratch is the worker's scratch for DATA frames built around
// WebSocket bytes.
type h2wsScratch struct {
	iov [][]byte
	hdr []byte
	one [][]byte
}

var (
	methodGET     = []byte("GET")
	protoWS       = "websocket"
	wsVersionName = []byte("sec-websocket-version")
)

// h2wsConnect opens a stream whose HEADERS is a CONNECT or carries
// :protocol. A malformed one (RFC 9113 §8.5, RFC 8441 §4) is reset with
// PROTOCOL_ERROR; a well-formed CONNECT this server does not serve (plain,
// or a protocol other than websocket) gets 501. False if the connection
// closed.
func (w *Worker) h2wsConnect(cs int32, c *conn, h *h2conn, id uint32, endStream bool, bad int) bool {
	r := &w.h2req
	switch {
	case bad == h2DecodeMalformed, string(r.method) != "CONNECT": // :protocol on another method
		return w.h2StreamError(cs, c, id, http2.ErrProtocol)
	case r.protocol == nil: // a plain CONNECT: :method and :authority only (§8.5)
		if r.scheme != nil || r.path != nil || r.authority == nil {
			return w.h2StreamError(cs, c, id, http2.ErrProtocol)
		}
		return w.h2wsRefuse(cs, c, h, id, endStream, 501, "Not Implemented")
	case r.scheme == nil || r.path == nil || r.authority == nil:
		return w.h2StreamError(cs, c, id, http2.ErrProtocol)
	case !equalFoldString(r.protocol, protoWS):
		return w.h2wsRefuse(cs, c, h, id, endStream, 501, "Not Implemented")
	case endStream: // a tunnel closed before it opens
		return w.h2StreamError(cs, c, id, http2.ErrProtocol)
	case bad == h2DecodeTooLarge:
		return w.h2wsRefuse(cs, c, h, id, endStream, 431, "Request Header Fields Too Large")
	case c.has(fReqConn): // as over HTTP/1 (§5.7)
		return w.h2wsRefuse(cs, c, h, id, endStream, 400, wsOnReqBody[:len(wsOnReqBody)-1])
	case !h2wsVersion13(r):
		return w.h2wsRefuse(cs, c, h, id, endStream, 400, "Bad Request")
	}
	if int(h.open) >= w.opts.HTTP2MaxStreams {
		return w.h2StreamError(cs, c, id, http2.ErrRefusedStream)
	}
	ss, s, ok := w.newSession(cs, c, kindWS)
	if !ok {
		return w.h2StreamError(cs, c, id, http2.ErrRefusedStream)
	}
	h.open++
	w.timers.Cancel(connTimer(cs, timerIdle))
	st := s.h2ws()
	st.id = id
	st.sendWin = http2.Window(h.peerInitWin)
	req := &w.req
	req.Method, req.Target, req.Host, req.Headers = methodGET, r.path, r.authority, r.headers
	scheme := "ws"
	if w.listeners[c.listener].scheme == "https" {
		scheme = "wss"
	}
	o, ok := w.requestOut(ss, s, c, req, scheme)
	if !ok {
		return w.conns.InUse(cs)
	}
	s.reader.Reset()
	s.reader.MaxMessage = int64(w.opts.WSMaxMessage)
	w.wsNegotiate(s, r.headers)
	o.Credits = w.opts.BufferSize
	w.pktBuf = zhttp.AppendPacket(w.pktBuf[:0], o)
	if !w.sendRequest(w.pktBuf) {
		return w.h2StreamError(cs, c, id, http2.ErrRefusedStream) // the client may retry
	}
	s.outSeq = 1
	s.toWS(wsAwait)
	w.requestSent(ss, c)
	return true
}

// h2wsVersion13 reports whether the request asks for WebSocket version 13
// (RFC 8441 §5: sec-websocket-version is sent as over HTTP/1).
func h2wsVersion13(r *h2Request) bool {
	for _, hd := range r.headers {
		if string(hd.Name) == string(wsVersionName) {
			return string(hd.Value) == "13"
		}
	}
	return false
}

func equalFoldString(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		x := b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if x != s[i] {
			return false
		}
	}
	return true
}

// h2wsRefuse answers a CONNECT stream with a response of the server's own.
func (w *Worker) h2wsRefuse(cs int32, c *conn, h *h2conn, id uint32, endStream bool, code int, reason string) bool {
	if int(h.open) >= w.opts.HTTP2MaxStreams {
		return w.h2StreamError(cs, c, id, http2.ErrRefusedStream)
	}
	ss, s, ok := w.newSession(cs, c, kindH2)
	if !ok {
		return w.h2StreamError(cs, c, id, http2.ErrRefusedStream)
	}
	if logging.Enabled(logging.LevelDebug) {
		logging.Debug(targetConn, "worker %d: conn %d: stream %d: CONNECT refused: %d", w.idx, cs, id, code)
	}
	h.open++
	w.timers.Cancel(connTimer(cs, timerIdle))
	st := s.h2()
	st.id = id
	st.sendWin = http2.Window(h.peerInitWin)
	if endStream {
		s.flags |= fH2PeerEnd | fReqDone
	}
	w.h2Respond(ss, s, c, code, reason)
	return w.conns.InUse(cs)
}

// ---- handler side ----

// h2wsPacket applies a handler packet to a WebSocket on an HTTP/2 stream
// (the common checks are done): the handshake answer, close and cancel
// here; data, ping, pong, credits and handoff through ws.go's wsPacket,
// whose frames come back through wsWrite.
func (w *Worker) h2wsPacket(ss int32, s *session, c *conn, p *zhttp.Packet) {
	cs := s.conn
	switch {
	case s.ws() == wsAwait:
		w.wsHandshakeAnswer(ss, s, c, p)
	case s.ws() == wsRespond:
		if p.Type == zhttp.TypeCancel || p.Type == zhttp.TypeError {
			s.addr = w.dropAddr(s.addr)
			w.h2ctl = http2.AppendRSTStream(w.h2ctl, s.h2().id, http2.ErrCancel)
			w.h2Free(ss, s, c, false)
		}
	case p.Type == zhttp.TypeClose:
		w.h2wsClose(ss, s, c, p)
	case p.Type == zhttp.TypeCancel || p.Type == zhttp.TypeError:
		logging.Debug(targetConn, "worker %d: conn %d: stream %d: handler %s", w.idx, cs, s.h2().id, typeLabel(p.Type))
		s.addr = w.dropAddr(s.addr) // no cancel back (§4.6)
		w.h2ctl = http2.AppendRSTStream(w.h2ctl, s.h2().id, http2.ErrCancel)
		w.h2Free(ss, s, c, false)
	case (p.Type == zhttp.TypePing || p.Type == zhttp.TypePong) && len(p.Body) > websocket.MaxControlPayload:
		w.h2Violation(ss, s, c, "control frame over 125 bytes")
	case p.Type == zhttp.TypeData, p.Type == zhttp.TypePing, p.Type == zhttp.TypePong,
		p.Type == zhttp.TypeCredit, p.Type == zhttp.TypeKeepAlive, p.Type == zhttp.TypeHandoffStart:
		w.wsPacket(ss, s, c, p)
		// Credits (or the control budget made whole) may let buffered
		// client frames through: ws.go queues the connection only for
		// bytes in its read buffer, not the stream's block.
		if w.conns.InUse(cs) && w.sessions.InUse(ss) && w.sessions.Get(ss) == s && s.conn == cs {
			if st := s.h2ws(); (st.inStart < st.inEnd || wsInflPending(s)) && !w.waiting(ss) {
				w.h2wsRead(ss, s, c)
			}
		}
	default:
		w.h2Violation(ss, s, c, "unexpected packet type")
	}
	if w.conns.InUse(cs) && w.conns.Get(cs) == c && c.has(fH2) {
		w.h2Flush(cs, c)
	}
}

// h2wsAccept answers the extended CONNECT with :status 200 (RFC 8441 §5:
// no 101, no Sec-WebSocket-Accept) and opens the stream's receive window
// to the size of its block.
func (w *Worker) h2wsAccept(ss int32, s *session, c *conn, p *zhttp.Packet) {
	if !http1.ValidHeaderValue(p.Reason) || !validHeaders(p.Headers) {
		w.badResponseLog(s.conn, "invalid header")
		s.addr = w.dropAddr(s.addr)
		w.h2wsRespond(ss, s, c, 502, nil, []byte("Bad Gateway\n"))
		return
	}
	if p.Credits == 0 {
		s.credits = int64(w.opts.BufferSize) // compatibility allowance (§3.4)
	}
	cs := s.conn
	st := s.h2ws()
	s.toWS(wsOpen)
	s.flags |= fRespStarted
	w.mResponse(ss, c, 200)
	blk := http2.AppendStatus(w.head[:0], 200)
	for _, hd := range p.Headers {
		if websocket.IsHandshakeHeader(hd.Name) || isConnSpecific(hd.Name) {
			continue
		}
		blk = hpackAppend(blk, hd.Name, hd.Value)
	}
	if ext := appendDeflateExt(w.frame[:0], s); len(ext) > 0 {
		w.frame = ext
		blk = w.h2Field(blk, "sec-websocket-extensions", ext)
	}
	w.head = blk
	h := w.h2(c)
	w.h2frame = http2.AppendHeaders(w.h2frame[:0], st.id, blk, false, h.peerFrame)
	if room := w.opts.BufferSize - int(st.inEnd-st.inStart); room > 0 {
		w.h2ctl = http2.AppendWindowUpdate(w.h2ctl, st.id, uint32(room))
	}
	w.iov = append(w.iov[:0], w.h2frame, w.h2ctl)
	w.h2ctl = w.h2ctl[:0]
	if !w.write(cs, c, w.iov) {
		return
	}
	w.touchStream(cs, c)
	if st.inStart < st.inEnd || s.has(fWSPeerEnd) {
		w.h2wsRead(ss, s, c) // frames sent early
	}
}

// h2wsReject writes the handler's refusal as the stream's response. A 2xx
// would tell the client the tunnel is open (RFC 9113 §8.5): it becomes 502.
func (w *Worker) h2wsReject(ss int32, s *session, c *conn, p *zhttp.Packet) {
	code := p.Code
	if !p.HasCode || code < 200 || code > 599 || code < 300 || !validHeaders(p.Headers) {
		w.badResponseLog(s.conn, "invalid rejection")
		s.addr = w.dropAddr(s.addr)
		w.h2wsRespond(ss, s, c, 502, nil, []byte("Bad Gateway\n"))
		return
	}
	s.addr = w.dropAddr(s.addr)
	hdrs := p.Headers
	if hdrs == nil {
		hdrs = noHeaders // the handler's response, even without headers
	}
	w.h2wsRespond(ss, s, c, code, hdrs, p.Body)
}

var noHeaders = []zhttp.Header{}

// h2wsRespond ends a stream still waiting for its handshake with a
// response: the handler's refusal (its headers but the handshake's), or
// one of the server's own (headers nil: text/plain). A handler still
// involved gets a cancel.
func (w *Worker) h2wsRespond(ss int32, s *session, c *conn, code int, headers []zhttp.Header, body []byte) {
	if s.addr != 0 && !s.isNew() {
		w.cancel(ss, s)
		s.addr = w.dropAddr(s.addr)
	}
	cs := s.conn
	st := s.h2ws()
	blk := http2.AppendStatus(w.head[:0], code)
	if headers == nil {
		blk = w.h2Field(blk, "content-type", []byte("text/plain"))
	}
	for _, hd := range headers {
		if websocket.IsHandshakeHeader(hd.Name) || isConnSpecific(hd.Name) {
			continue
		}
		blk = hpackAppend(blk, hd.Name, hd.Value)
	}
	var n [20]byte
	blk = w.h2Field(blk, "content-length", strconv.AppendInt(n[:0], int64(len(body)), 10))
	w.head = blk
	w.h2frame = http2.AppendHeaders(w.h2frame[:0], st.id, blk, len(body) == 0, w.h2(c).peerFrame)
	s.toWS(wsRespond)
	s.flags |= fRespStarted | fRespLast
	w.mResponse(ss, c, code)
	w.iov = append(w.iov[:0], w.h2ctl, w.h2frame)
	w.h2ctl = w.h2ctl[:0]
	if !w.write(cs, c, w.iov) {
		return
	}
	if len(body) == 0 {
		s.flags |= fWSEndSent
	} else {
		w.scratch = append(w.scratch[:0], body...) // body may be the packet's, w.iov is reused below
		w.iov = append(w.iov[:0], w.scratch)
		if !w.h2wsWrite(s, c, w.iov, true) {
			return
		}
	}
	w.h2wsCheckDone(ss, s, c)
}

// h2wsClose writes the handler's close frame, then END_STREAM: from now on
// the stream only receives (RFC 8441 §5: END_STREAM is the TCP FIN).
func (w *Worker) h2wsClose(ss int32, s *session, c *conn, p *zhttp.Packet) {
	if s.ws() == wsClosing || s.ws() == wsFinished {
		return
	}
	w.handlerCloseFrame(s, p)
	if s.ws() == wsPeerClosed {
		s.toWS(wsFinished)
	} else {
		s.toWS(wsClosing)
	}
	s.flags |= fRespLast // no credits after our close frame (§4.2)
	w.iov = append(w.iov[:0], w.frame)
	if w.h2wsWrite(s, c, w.iov, true) {
		w.h2wsCheckDone(ss, s, c)
	}
}

// ---- bytes to the client ----

// wsWrite writes WebSocket bytes for session s: to its TCP connection, or
// on an HTTP/2 connection in its stream's DATA frames. False if the
// connection (HTTP/2: the stream) ended.
func (w *Worker) wsWrite(s *session, c *conn, bufs [][]byte) bool {
	if c.has(fH2) {
		return w.h2wsWrite(s, c, bufs, false)
	}
	return w.write(s.conn, c, bufs)
}

// h2wsWrite sends bufs in DATA frames as far as the windows allow (only
// when nothing is held already and the connection has no output pending,
// as h2SendData) and holds the rest in the stream's out block; end puts
// END_STREAM after the last byte. The payload credits of held bytes wait
// until the block is empty. A handler that fills the block (it ignored its
// credits, or sends control frames faster than the client takes them) has
// its stream reset. False if the stream or the connection ended.
func (w *Worker) h2wsWrite(s *session, c *conn, bufs [][]byte, end bool) bool {
	cs := s.conn
	st := s.h2ws()
	total := 0
	for _, b := range bufs {
		total += len(b)
	}
	sent := 0
	if st.outLen == 0 && (c.wstart == c.wend || total == 0) {
		if h := w.h2(c); uint32(total) > min(st.sendWin.Avail(), h.sendWin.Avail()) {
			// Some will be held: no credit for this payload until it is
			// out, though the write below may drain the connection.
			s.bodyLeft += s.owed
			s.owed = 0
		}
		var ok bool
		if sent, ok = w.h2wsData(s, c, bufs, total, end); !ok {
			return false
		}
	}
	if sent == total && (!end || s.has(fWSEndSent)) {
		return true
	}
	need := int(st.outLen) + total - sent
	if need > w.opts.BufferSize*(1+maxFramingPerByte)+writeSlack {
		// The bound of an HTTP/1 connection's write buffer (writeRaw).
		logging.Debug(targetConn, "worker %d: conn %d: stream %d: websocket output over its bound (handler ignored credits)", w.idx, cs, st.id)
		ss, _, _ := w.h2Find(c, st.id)
		w.h2Violation(ss, s, c, "websocket output over its bound")
		w.h2Flush(cs, c)
		return false
	}
	if st.out == 0 {
		st.out = w.bufs.get(need)
	}
	buf := w.bufs.bytes(st.out)
	if need > len(buf) {
		// Credits bound the payload, not its framing: a larger block,
		// dropped when it drains (as appendWrite does).
		nb := w.bufs.get(need)
		copy(w.bufs.bytes(nb), buf[:st.outLen])
		w.bufs.put(st.out)
		st.out = nb
		buf = w.bufs.bytes(nb)
	}
	for _, b := range bufs {
		if sent >= len(b) {
			sent -= len(b)
			continue
		}
		st.outLen += int32(copy(buf[st.outLen:], b[sent:]))
		sent = 0
	}
	if end {
		s.flags |= fWSEndHeld
	}
	s.bodyLeft += s.owed // credited once out of the block (h2wsEmit)
	s.owed = 0
	return true
}

// h2wsData writes DATA frames carrying the first bytes of bufs (total
// bytes) the windows allow; END_STREAM with the last when end and all
// fit. It returns the bytes sent, false if the connection closed.
func (w *Worker) h2wsData(s *session, c *conn, bufs [][]byte, total int, end bool) (int, bool) {
	h := w.h2(c)
	st := s.h2ws()
	n := min(uint32(total), st.sendWin.Avail(), h.sendWin.Avail())
	if n == 0 && (total > 0 || !end) {
		return 0, true
	}
	endNow := end && int(n) == total
	sc := &w.h2ws
	sc.iov = append(sc.iov[:0], w.h2ctl)
	w.h2ctl = w.h2ctl[:0]
	frames := int(n/h.peerFrame) + 1
	if cap(sc.hdr) < frames*http2.FrameHeaderLen {
		sc.hdr = make([]byte, 0, frames*http2.FrameHeaderLen)
	}
	sc.hdr = sc.hdr[:0]
	bi, bo := 0, 0 // where in bufs the next frame's bytes start
	for off := uint32(0); ; {
		k := min(n-off, h.peerFrame)
		start := len(sc.hdr)
		sc.hdr = http2.AppendDataHeader(sc.hdr, st.id, k, endNow && off+k == n)
		sc.iov = append(sc.iov, sc.hdr[start:])
		for left := int(k); left > 0; {
			b := bufs[bi][bo:]
			if len(b) == 0 {
				bi, bo = bi+1, 0
				continue
			}
			m := min(left, len(b))
			sc.iov = append(sc.iov, b[:m])
			bo += m
			left -= m
		}
		off += k
		if off == n {
			break
		}
	}
	st.sendWin.Take(n)
	h.sendWin.Take(n)
	if endNow {
		s.flags = s.flags&^fWSEndHeld | fWSEndSent
	}
	if !w.write(s.conn, c, sc.iov) {
		return int(n), false
	}
	w.touchStream(s.conn, c)
	return int(n), true
}

// h2wsEmit writes what the windows allow of the bytes a stream holds back
// (a window opened, or the connection's output drained). False if the
// connection closed.
func (w *Worker) h2wsEmit(ss int32, s *session, c *conn) bool {
	st := s.h2ws()
	cs := s.conn
	if st.outLen == 0 && !s.has(fWSEndHeld) || st.outLen > 0 && c.wstart < c.wend {
		return true
	}
	buf := w.bufs.bytes(st.out)[:st.outLen]
	sc := &w.h2ws
	sc.one = append(sc.one[:0], buf)
	// Detached while written: the write may drain the connection, whose
	// h2Written would emit the same bytes again.
	end := s.has(fWSEndHeld)
	st.outLen = 0
	s.flags &^= fWSEndHeld
	sent, ok := w.h2wsData(s, c, sc.one, len(buf), end)
	if !ok {
		return false
	}
	st.outLen = int32(len(buf))
	if end && !s.has(fWSEndSent) {
		s.flags |= fWSEndHeld
	}
	if sent > 0 {
		copy(buf, buf[sent:])
		st.outLen -= int32(sent)
	}
	if st.outLen == 0 {
		w.bufs.put(st.out)
		st.out = 0
		s.owed += s.bodyLeft
		s.bodyLeft = 0
		if s.owed > 0 && c.wstart == c.wend && !w.waiting(ss) {
			w.sessionWritten(ss, s) // the drain that would credit them is past
		}
	}
	if s.has(fWSEndSent) {
		w.h2wsCheckDone(ss, s, c)
	}
	return w.conns.InUse(cs)
}

// h2wsCheckDone frees a stream whose END_STREAM went out once there is
// nothing more to wait for: a refusal, or both close frames exchanged. A
// client that has not sent END_STREAM yet is told to stop (RST_STREAM
// NO_ERROR), as h2StreamDone does.
func (w *Worker) h2wsCheckDone(ss int32, s *session, c *conn) {
	if !s.has(fWSEndSent) || (s.ws() != wsRespond && s.ws() != wsFinished) {
		return
	}
	w.h2EndStream(ss, s, c, s.has(fWSPeerEnd))
}

// ---- bytes from the client ----

// h2wsDataHeader checks a DATA frame for a WebSocket stream: it must fit
// the room left in the stream's block (the window we opened). Padding is
// handed back to the stream window at once. False if the connection
// closed.
func (w *Worker) h2wsDataHeader(cs int32, c *conn, h *h2conn, s *session, id, length, dataLen uint32, end bool) bool {
	st := s.h2ws()
	if s.has(fWSPeerEnd) {
		h.frameStream = 0
		return w.h2StreamError(cs, c, id, http2.ErrStreamClosed)
	}
	if int(length) > w.opts.BufferSize-int(st.inEnd-st.inStart) {
		h.frameStream = 0
		return w.h2StreamError(cs, c, id, http2.ErrFlowControl)
	}
	if end {
		s.flags |= fWSPeerEnd
	}
	if pad := length - dataLen; pad > 0 && !end {
		w.h2ctl = http2.AppendWindowUpdate(w.h2ctl, id, pad)
	}
	return true
}

// h2wsTakes reports whether client bytes are wanted: before the handshake
// (kept until it completes, as over HTTP/1) and until the client's close
// frame.
func h2wsTakes(s *session) bool {
	switch s.ws() {
	case wsAwait, wsOpen, wsClosing, wsHandoff:
		return true
	}
	return false
}

// h2wsPayload copies what the read buffer holds of the current DATA frame
// into the stream's block, then lets the frame reader go on. False if the
// connection closed.
func (w *Worker) h2wsPayload(cs int32, c *conn, h *h2conn, ss int32, s *session, in []byte) bool {
	st := s.h2ws()
	n := min(uint32(len(in)), h.frameLeft)
	var data uint32
	if h.frameLeft > h.padLeft {
		data = min(n, h.frameLeft-h.padLeft)
	}
	if data > 0 && h2wsTakes(s) {
		if st.in == 0 {
			st.in = w.bufs.get(w.opts.BufferSize)
			st.inStart, st.inEnd = 0, 0
		}
		buf := w.bufs.bytes(st.in)
		if int(st.inEnd)+int(data) > len(buf) {
			st.inEnd = int32(copy(buf, buf[st.inStart:st.inEnd]))
			st.inStart = 0
		}
		st.inEnd += int32(copy(buf[st.inEnd:], in[:data]))
	} else if data > 0 && !s.has(fWSPeerEnd) {
		w.h2ctl = http2.AppendWindowUpdate(w.h2ctl, st.id, data) // dropped
	}
	c.rstart += int32(n)
	h.frameLeft -= n
	w.h2Consumed(h, n)
	if h.frameLeft == 0 {
		h.inFrame = false
	}
	if h.frameLeft == 0 || data > 0 {
		if !w.waiting(ss) {
			w.h2wsRead(ss, s, c)
		}
	}
	return w.conns.InUse(cs)
}

// h2wsPump runs the frame reader of the connection's WebSocket streams
// (advance: credits, a gate opened). False if the connection closed.
func (w *Worker) h2wsPump(cs int32, c *conn) bool {
	for p := c.sess; p != 0; {
		ss := p - 1
		s := w.sessions.Get(ss)
		p = s.next
		if s.kind != kindWS || w.waiting(ss) {
			continue
		}
		if st := s.h2ws(); st.inStart < st.inEnd || wsInflPending(s) || s.has(fWSPeerEnd) {
			w.h2wsRead(ss, s, c)
			if !w.conns.InUse(cs) {
				return false
			}
		}
	}
	return true
}

// h2wsRead passes the stream's buffered client frames to the handler as
// far as its credits and gates allow, gives the bytes consumed back to
// the stream window, and acts on the client's END_STREAM once everything
// before it was read.
func (w *Worker) h2wsRead(ss int32, s *session, c *conn) {
	cs := s.conn
	st := s.h2ws()
	id := st.id
	if s.ws() == wsFinished || s.ws() == wsPeerClosed {
		if s.ws() == wsFinished {
			w.h2wsCheckDone(ss, s, c)
		}
		return
	}
	if s.ws() != wsOpen && s.ws() != wsClosing {
		return
	}
	consumed := w.h2wsParse(ss, s, c)
	if !w.conns.InUse(cs) || !w.sessions.InUse(ss) || w.sessions.Get(ss) != s || s.conn != cs || s.kind != kindWS || st.id != id {
		return
	}
	if consumed > 0 && !s.has(fWSPeerEnd) {
		w.h2ctl = http2.AppendWindowUpdate(w.h2ctl, id, uint32(consumed))
	}
	if st.inStart == st.inEnd && st.in != 0 {
		w.bufs.put(st.in)
		st.in, st.inStart, st.inEnd = 0, 0, 0
	}
	if st.in == 0 && s.has(fWSPeerEnd) && !wsInflPending(s) && !w.waiting(ss) {
		switch s.ws() {
		case wsOpen, wsClosing:
			// END_STREAM without a close frame: the client left (RFC 8441
			// §5: a TCP FIN). Our side ends too; the handler gets a cancel.
			logging.Debug(targetConn, "worker %d: conn %d: stream %d: client ended without a close frame", w.idx, cs, id)
			if !s.has(fWSEndSent) {
				w.h2ctl = http2.AppendDataHeader(w.h2ctl, id, 0, true)
			}
			w.h2Free(ss, s, c, true)
		case wsFinished:
			w.h2wsCheckDone(ss, s, c)
		}
	}
}

// h2wsParse is wsRead over the stream's block: client frames become
// packets while credits and the handler's gate allow (wsStep). Input is
// what the stream's DATA frames brought; its end is h2wsRead's. It returns
// the bytes consumed.
func (w *Worker) h2wsParse(ss int32, s *session, c *conn) (consumed int) {
	st := s.h2ws()
	for i := 0; i < 4*readBudget; i++ {
		switch w.wsBeforeFrame(ss, s, c) {
		case inflMore:
			continue
		case inflStop:
			return
		}
		if st.inStart == st.inEnd {
			return
		}
		k, step := w.wsStep(ss, s, c, w.bufs.bytes(st.in)[st.inStart:st.inEnd], &st.inStart)
		consumed += k
		switch step {
		case wsStepOn:
			continue
		case wsStepShort, wsStepStop:
			return // credits, a gate, or the rest of a frame: the window brings it
		case wsStepClose:
			if s.ws() == wsClosing {
				s.toWS(wsFinished)
				w.h2wsCheckDone(ss, s, c)
				return
			}
			// Wait for the handler's close, 5 s at most (§12 #12).
			s.toWS(wsPeerClosed)
			w.timers.Schedule(w.sessTimer(ss), w.now+wsCloseWaitTicks)
			return
		}
	}
	w.queue(s.conn, c) // budget spent
	return
}

// ---- ends ----

// h2wsProtocolError ends a stream whose client broke RFC 6455: a close
// frame with the error's code then END_STREAM, a cancel to the handler.
func (w *Worker) h2wsProtocolError(ss int32, s *session, c *conn, code int) {
	w.inflPut(s)
	w.cancel(ss, s)
	s.addr = w.dropAddr(s.addr)
	s.toWS(wsFinished)
	s.flags |= fRespLast
	w.frame = websocket.AppendCloseFrame(w.frame[:0], code, nil)
	w.iov = append(w.iov[:0], w.frame)
	if w.h2wsWrite(s, c, w.iov, true) {
		w.h2wsCheckDone(ss, s, c)
	}
}

// h2wsExpired: the session timer fired: the handler said nothing for 60 s
// (before its answer: 504), or did not answer the client's close within
// 5 s: the stream is reset and the handler gets a cancel.
func (w *Worker) h2wsExpired(ss int32, s *session, c *conn) {
	cs := s.conn
	if s.ws() == wsAwait {
		logging.Debug(targetConn, "worker %d: conn %d: handler timed out", w.idx, cs)
		w.h2wsRespond(ss, s, c, 504, nil, []byte("Gateway Timeout\n"))
	} else {
		w.h2ctl = http2.AppendRSTStream(w.h2ctl, s.h2().id, http2.ErrCancel)
		w.h2Free(ss, s, c, true)
	}
	if w.conns.InUse(cs) && c.has(fH2) {
		w.h2Flush(cs, c)
	}
}

// h2wsRelease returns a WebSocket stream's blocks (freeSession).
func (w *Worker) h2wsRelease(s *session) {
	st := s.h2ws()
	w.bufs.put(st.in)
	w.bufs.put(st.out)
	st.in, st.inStart, st.inEnd, st.out, st.outLen = 0, 0, 0, 0, 0
	s.bodyLeft = 0
}
