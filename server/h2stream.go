package server

import (
	"bytes"
	"strconv"
	"unsafe"

	"github.com/condure-go/condure/http1"
	"github.com/condure-go/condure/http2"
	"github.com/condure-go/condure/internal/logging"
	"github.com/condure-go/condure/zhttp"
)

// An HTTP/2 stream is one stream-mode session (kind kindH2, phases h2Phase
// in phases.go), the same machine as HTTP/1's stream mode with frames
// instead of a byte stream (docs/design.md "HTTP/2"):
//
//	HEADERS ─ h2Open ─► await-handler ─ h2Packet ─► recv-body ─ h2Payload ─► await-response ─ h2StartResponse ─► send-body ─ h2Body … ─► h2StreamDone
//
// Client frames come through h2Step (h2conn.go), handler packets through
// handlerPacket then h2Packet, the handler-silence timer through
// h2SessionExpired.

// Session flags of HTTP/2 streams, in the bits WebSocket sessions use
// for themselves (wsWinShift and up).
const (
	fH2PeerEnd sessFlag = 1 << (wsWinShift + iota) // the client sent END_STREAM
	fH2EndSent                                     // we sent END_STREAM
	fH2CL                                          // the request declared a content-length: bodyLeft counts it down
	fH2NoBody                                      // HEAD, 204, 304: body parts are dropped
	fH2Req                                         // req mode: the whole request goes on the DEALER, one reply (h2req.go)
	fH2Sending                                     // inside h2SendData: the drain it may cause leaves this stream's held bytes alone
)

// h2stream is a stream's own state. It lives in the session's wsAccept
// bytes, which only WebSocket sessions use (the slot does not grow).
type h2stream struct {
	id      uint32
	sendWin http2.Window // what the client lets us send on the stream
}

func (s *session) h2() *h2stream { return (*h2stream)(unsafe.Pointer(&s.wsAccept)) }

// The overlay must fit and be aligned.
var _ = [1]struct{}{}[unsafe.Offsetof(session{}.wsAccept)%4]
var _ = [unsafe.Sizeof(session{}.wsAccept) - unsafe.Sizeof(h2stream{})]struct{}{}

// connSpecific are the header fields HTTP/2 forbids (RFC 9113 §8.2.2):
// dropped from responses, malformed in requests.
var connSpecific = [...]string{"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade"}

func isConnSpecific(name []byte) bool {
	for _, n := range connSpecific {
		if len(name) == len(n) && bytes.EqualFold(name, []byte(n)) {
			return true
		}
	}
	return false
}

// h2Find returns the session of stream id on connection c.
func (w *Worker) h2Find(c *conn, id uint32) (int32, *session, bool) {
	for p := c.sess; p != 0; {
		s := w.sessions.Get(p - 1)
		if s.h2().id == id {
			return p - 1, s, true
		}
		p = s.next
	}
	return 0, nil, false
}

// h2StreamError resets stream id with code (§5.4.2); its handler, if any,
// gets a cancel.
func (w *Worker) h2StreamError(cs int32, c *conn, id uint32, code http2.ErrCode) bool {
	w.h2BadPeerLog(cs, code, "stream error")
	w.h2ctl = http2.AppendRSTStream(w.h2ctl, id, code)
	if ss, s, ok := w.h2Find(c, id); ok {
		w.h2Free(ss, s, c, true)
	}
	return w.h2Spend(cs, c, w.h2(c))
}

// h2Free ends a stream's session; cancel tells its handler.
func (w *Worker) h2Free(ss int32, s *session, c *conn, cancel bool) {
	cs := s.conn
	h := w.h2(c)
	if cancel && s.addr != 0 && !s.isNew() {
		w.cancel(ss, s)
	}
	if h.has(h2fBlocked) && h.frameStream == s.h2().id {
		h.flags &^= h2fBlocked // its DATA is skipped now
		w.queue(cs, c)
	}
	w.freeSession(c, ss, s) // returns s.bbuf
	h.open--
	if c.sess == 0 && !h.has(h2fGoAway) {
		w.h2Idle(cs, c)
	}
}

// h2pool is the pool of a stream's block (bbuf): response bytes held back
// in stream mode; in req mode the request head and body, then the reply.
func (w *Worker) h2pool(s *session) *bufPool {
	if s.has(fH2Req) {
		return w.bodyBufs
	}
	return w.bufs
}

// h2Headers reads a HEADERS frame and its CONTINUATION frames, all of which
// must be in the read buffer, and opens the stream (or takes trailers).
func (w *Worker) h2Headers(cs int32, c *conn, h *h2conn, fh http2.FrameHeader, in []byte) (int, bool) {
	// Find the end of the header block first.
	end := http2.FrameHeaderLen + int(fh.Length)
	if len(in) < end {
		return end - len(in), true
	}
	for fl := fh.Flags; !fl.Has(http2.FlagEndHeaders); {
		if len(in) < end+http2.FrameHeaderLen {
			return end + http2.FrameHeaderLen - len(in), true
		}
		ch := http2.ParseFrameHeader(in[end:])
		if ch.Type != http2.FrameContinuation || ch.StreamID != fh.StreamID {
			w.h2ConnError(cs, c, http2.ErrProtocol, "header block interrupted")
			return 0, false
		}
		if err := http2.CheckFrame(ch, http2.DefaultMaxFrameSize); err != nil {
			return 0, w.h2Error(cs, c, err)
		}
		next := end + http2.FrameHeaderLen + int(ch.Length)
		if len(in) < next {
			return next - len(in), true
		}
		if ch.Length == 0 && !ch.Flags.Has(http2.FlagEndHeaders) && !w.h2Spend(cs, c, h) {
			return 0, false
		}
		fl, end = ch.Flags, next
	}
	block, prio, hasPrio, err := http2.HeadersPayload(fh, in[http2.FrameHeaderLen:http2.FrameHeaderLen+int(fh.Length)])
	if err != nil {
		return 0, w.h2Error(cs, c, err)
	}
	w.h2blk = append(w.h2blk[:0], block...)
	for off := http2.FrameHeaderLen + int(fh.Length); off < end; {
		ch := http2.ParseFrameHeader(in[off:])
		off += http2.FrameHeaderLen
		w.h2blk = append(w.h2blk, in[off:off+int(ch.Length)]...)
		off += int(ch.Length)
	}
	c.rstart += int32(end)
	id := fh.StreamID
	if id%2 == 0 {
		w.h2ConnError(cs, c, http2.ErrProtocol, "even stream id from a client")
		return 0, false
	}
	endStream := fh.Flags.Has(http2.FlagEndStream)
	// Decode first in every case: the HPACK table must stay in step.
	bad := w.h2DecodeRequest(cs, c, h)
	if bad == h2DecodeFatal {
		return 0, false
	}
	if id <= h.lastID {
		ss, s, ok := w.h2Find(c, id)
		if !ok {
			w.h2ConnError(cs, c, http2.ErrStreamClosed, "HEADERS on a closed stream")
			return 0, false
		}
		if s.kind == kindWS {
			return 0, w.h2StreamError(cs, c, id, http2.ErrProtocol) // a tunnel has no trailers
		}
		if s.has(fH2PeerEnd) {
			return 0, w.h2StreamError(cs, c, id, http2.ErrStreamClosed)
		}
		// Trailers: they end the request; their fields are dropped.
		if !endStream || bad != h2DecodeOK || w.h2req.pseudo {
			return 0, w.h2StreamError(cs, c, id, http2.ErrProtocol)
		}
		if s.has(fH2CL) && s.bodyLeft != 0 {
			return 0, w.h2StreamError(cs, c, id, http2.ErrProtocol)
		}
		s.flags |= fH2PeerEnd
		h.inFrame, h.frameStream, h.frameEnd, h.frameLeft, h.padLeft = true, id, true, 0, 0
		_ = ss
		return 0, true
	}
	h.lastID = id
	if hasPrio && prio.StreamDep == id {
		return 0, w.h2StreamError(cs, c, id, http2.ErrProtocol)
	}
	if h.has(h2fGoAway) {
		return 0, true // above our GOAWAY's last id: ignored (§6.8)
	}
	if bad != h2DecodeFatal && (string(w.h2req.method) == "CONNECT" || w.h2req.protocol != nil) {
		return 0, w.h2wsConnect(cs, c, h, id, endStream, bad) // RFC 8441 (h2ws.go)
	}
	if bad == h2DecodeOK && !h2CheckRequest(&w.h2req) {
		bad = h2DecodeMalformed
	}
	if bad == h2DecodeMalformed {
		return 0, w.h2StreamError(cs, c, id, http2.ErrProtocol)
	}
	if int(h.open) >= w.opts.HTTP2MaxStreams {
		return 0, w.h2StreamError(cs, c, id, http2.ErrRefusedStream)
	}
	ss, s, ok := w.newSession(cs, c, kindH2)
	if !ok {
		return 0, w.h2StreamError(cs, c, id, http2.ErrRefusedStream)
	}
	h.open++
	w.timers.Cancel(connTimer(cs, timerIdle))
	st := s.h2()
	st.id = id
	st.sendWin = http2.Window(h.peerInitWin)
	if endStream {
		s.flags |= fH2PeerEnd | fReqDone
	}
	if bad == h2DecodeTooLarge {
		w.h2Respond(ss, s, c, 431, "Request Header Fields Too Large")
		return 0, w.conns.InUse(cs)
	}
	return 0, w.h2StartRequest(ss, s, c)
}

// h2StartRequest sends the request packet of a stream whose HEADERS were
// decoded into w.h2req.
func (w *Worker) h2StartRequest(ss int32, s *session, c *conn) bool {
	r := &w.h2req
	if string(r.method) == "HEAD" {
		s.flags |= fHead
	}
	if r.cl >= 0 {
		s.flags |= fH2CL
		s.bodyLeft = r.cl
		if s.has(fH2PeerEnd) && r.cl != 0 {
			return w.h2StreamError(s.conn, c, s.h2().id, http2.ErrProtocol)
		}
	}
	if c.has(fReqConn) {
		return w.h2StartReq(ss, s, c)
	}
	return w.h2SendRequest(ss, s, c)
}

// h2SendRequest sends the request packet of a stream-mode stream from
// w.h2req. When PUSH has no room, the decoded head is kept in a block
// lent to the session and the stream waits at the gate (gates.go), in
// order with HTTP/1 requests; h2Resume sends it when the gate opens.
func (w *Worker) h2SendRequest(ss int32, s *session, c *conn) bool {
	r := &w.h2req
	req := &w.req
	req.Method, req.Target, req.Host, req.Headers = r.method, r.path, r.authority, r.headers
	o, ok := w.requestOut(ss, s, c, req, w.listeners[c.listener].scheme)
	if !ok {
		return w.conns.InUse(s.conn)
	}
	o.Credits = w.opts.BufferSize
	o.More = !s.has(fH2PeerEnd)
	o.Stream = true
	w.pktBuf = zhttp.AppendPacket(w.pktBuf[:0], o)
	if !w.sendRequest(w.pktBuf) {
		if s.bbuf == 0 {
			s.bbuf = w.bufs.get(w.opts.BufferSize)
			s.hlen = int32(len(keepHead(w.bufs.bytes(s.bbuf)[:0], r)))
		}
		w.wait(ss, gateOut)
		w.timers.Schedule(w.sessTimer(ss), w.now+w.sessionTicks) // none took it in that time: 504
		return true
	}
	if s.bbuf != 0 {
		w.bufs.put(s.bbuf)
		s.bbuf, s.hlen = 0, 0
	}
	s.outSeq = 1
	s.toH2(h2AwaitHandler)
	w.requestSent(ss, c)
	return true
}

// h2Resume runs a stream that waited at a gate: a request not sent yet is
// sent; then the connection reads on. False if it closed.
func (w *Worker) h2Resume(ss int32, s *session, c *conn) {
	cs := s.conn
	if s.isNew() && s.bbuf != 0 && !s.has(fH2Req) {
		readHead(w.bufs.bytes(s.bbuf)[:s.hlen], &w.h2req)
		if !w.h2SendRequest(ss, s, c) || w.waiting(ss) {
			return
		}
		if !w.h2Flush(cs, c) {
			return
		}
	}
	w.advance(cs, c)
}

// h2DataHeader starts a DATA frame: its checks, then its payload streams
// through h2Payload.
func (w *Worker) h2DataHeader(cs int32, c *conn, h *h2conn, fh http2.FrameHeader, in []byte) (int, bool) {
	hdr := http2.FrameHeaderLen
	var pad uint32
	if fh.Flags.Has(http2.FlagPadded) {
		if len(in) < hdr+1 {
			return hdr + 1 - len(in), true
		}
		pad = uint32(in[hdr])
		if pad >= fh.Length {
			w.h2ConnError(cs, c, http2.ErrProtocol, "padding as long as the payload")
			return 0, false
		}
		hdr++
	}
	if !h.recvWin.Take(fh.Length) {
		w.h2ConnError(cs, c, http2.ErrFlowControl, "DATA beyond the connection window")
		return 0, false
	}
	id := fh.StreamID
	if id > h.lastID {
		w.h2ConnError(cs, c, http2.ErrProtocol, "DATA on an idle stream")
		return 0, false
	}
	c.rstart += int32(hdr)
	w.h2Consumed(h, uint32(hdr-http2.FrameHeaderLen))
	dataLen := fh.Length - uint32(hdr-http2.FrameHeaderLen) - pad
	end := fh.Flags.Has(http2.FlagEndStream)
	h.inFrame, h.frameLeft, h.padLeft, h.frameStream, h.frameEnd, h.frameData = true, dataLen+pad, pad, id, end, true
	if fh.Length == 0 && !end && !w.h2Spend(cs, c, h) {
		return 0, false
	}
	_, s, ok := w.h2Find(c, id)
	if ok && s.kind == kindWS {
		return 0, w.h2wsDataHeader(cs, c, h, s, id, fh.Length, dataLen, end)
	}
	switch {
	case !ok || s.has(fH2PeerEnd):
		h.frameStream = 0 // skipped
		return 0, w.h2StreamError(cs, c, id, http2.ErrStreamClosed)
	case s.has(fH2CL) && (int64(dataLen) > s.bodyLeft || end && int64(dataLen) != s.bodyLeft):
		h.frameStream = 0
		return 0, w.h2StreamError(cs, c, id, http2.ErrProtocol)
	}
	if end {
		s.flags |= fH2PeerEnd
	}
	return 0, true
}

// h2Payload consumes what the read buffer holds of the current DATA (or
// skipped) frame's payload: body bytes go to the stream's handler as its
// credits allow; without credits, or when its handler takes no packet now,
// the connection stops reading (h2fBlocked) until they come.
func (w *Worker) h2Payload(cs int32, c *conn, h *h2conn, in []byte) bool {
	var ss int32
	var s *session
	ok := false
	if h.frameStream != 0 {
		ss, s, ok = w.h2Find(c, h.frameStream)
	}
	if ok && s.kind == kindWS {
		return w.h2wsPayload(cs, c, h, ss, s, in)
	}
	dataLeft := h.frameLeft - h.padLeft
	if !ok || dataLeft == 0 {
		// skipped payload, or padding
		n := min(uint32(len(in)), h.frameLeft)
		c.rstart += int32(n)
		h.frameLeft -= n
		if h.frameData {
			w.h2Consumed(h, n)
		}
		if h.frameLeft == 0 {
			if ok && h.frameEnd && !s.has(fReqDone) && s.has(fH2Req) {
				h.inFrame = false
				return w.h2SendReq(ss, s, c)
			}
			if ok && h.frameEnd && !s.has(fReqDone) {
				return w.h2BodyEnd(ss, s, c, h)
			}
			h.inFrame = false
		}
		return true
	}
	if s.has(fH2Req) {
		return w.h2GatherBody(ss, s, c, h, in[:min(uint32(len(in)), dataLeft)])
	}
	if s.credits <= 0 || s.addr == 0 {
		h.flags |= h2fBlocked
		return true
	}
	if g := w.streamBlocked(s.addr); g != 0 {
		w.wait(ss, g)
		h.flags |= h2fBlocked
		return true
	}
	n := min(uint32(len(in)), dataLeft, uint32(min(s.credits, int64(w.opts.BufferSize))))
	last := h.frameEnd && n == dataLeft && h.padLeft == 0
	o := w.resetOut(ss, s)
	o.Body = in[:n]
	o.More = !last
	w.pktBuf = zhttp.AppendPacket(w.pktBuf[:0], o)
	if g := w.sendTo(s.addr, w.pktBuf); g != 0 {
		w.wait(ss, g)
		h.flags |= h2fBlocked
		return true
	}
	s.outSeq++
	s.credits -= int64(n)
	if s.has(fH2CL) {
		s.bodyLeft -= int64(n)
	}
	c.rstart += int32(n)
	h.frameLeft -= n
	w.h2Consumed(h, n)
	if last {
		s.flags |= fReqDone
		if s.h2Phase() == h2RecvBody {
			s.toH2(h2AwaitResponse)
		}
	}
	if h.frameLeft == 0 {
		h.inFrame = false
	}
	return true
}

// h2BodyEnd sends the empty last body packet of a request whose END_STREAM
// came without bytes (an empty DATA frame, or trailers).
func (w *Worker) h2BodyEnd(ss int32, s *session, c *conn, h *h2conn) bool {
	if s.addr == 0 {
		h.flags |= h2fBlocked // the handler has not spoken yet
		return true
	}
	if g := w.streamBlocked(s.addr); g != 0 {
		w.wait(ss, g)
		h.flags |= h2fBlocked
		return true
	}
	o := w.resetOut(ss, s)
	w.pktBuf = zhttp.AppendPacket(w.pktBuf[:0], o)
	if g := w.sendTo(s.addr, w.pktBuf); g != 0 {
		w.wait(ss, g)
		h.flags |= h2fBlocked
		return true
	}
	s.outSeq++
	s.flags |= fReqDone
	if s.h2Phase() == h2RecvBody {
		s.toH2(h2AwaitResponse)
	}
	h.inFrame = false
	return true
}

// h2Reset: the client reset stream id (RST_STREAM): its handler gets a
// cancel.
func (w *Worker) h2Reset(cs int32, c *conn, h *h2conn, id uint32, code http2.ErrCode) bool {
	if id > h.lastID {
		w.h2ConnError(cs, c, http2.ErrProtocol, "RST_STREAM on an idle stream")
		return false
	}
	ss, s, ok := w.h2Find(c, id)
	if !ok {
		return true
	}
	if logging.Enabled(logging.LevelDebug) {
		logging.Debug(targetConn, "worker %d: conn %d: stream %d reset by the client (%s)", w.idx, cs, id, code)
	}
	w.h2Free(ss, s, c, true)
	return w.h2SpendReset(cs, c, h)
}

// h2StreamWindow applies a WINDOW_UPDATE on a stream.
func (w *Worker) h2StreamWindow(cs int32, c *conn, h *h2conn, fh http2.FrameHeader, incr uint32, err error) bool {
	if fh.StreamID > h.lastID {
		w.h2ConnError(cs, c, http2.ErrProtocol, "WINDOW_UPDATE on an idle stream")
		return false
	}
	if err != nil { // increment 0: a stream error here (§6.9)
		return w.h2StreamError(cs, c, fh.StreamID, http2.ErrProtocol)
	}
	ss, s, ok := w.h2Find(c, fh.StreamID)
	if !ok {
		return true
	}
	if !s.h2().sendWin.Add(incr) {
		return w.h2StreamError(cs, c, fh.StreamID, http2.ErrFlowControl)
	}
	if s.kind == kindWS {
		return w.h2wsEmit(ss, s, c)
	}
	if s.has(fRespStarted) && (s.blen > 0 || s.has(fRespLast) && !s.has(fH2EndSent)) {
		return w.h2SendPending(ss, s, c)
	}
	return true
}

// ---- handler side ----

// h2Packet applies a handler packet to a stream (the common checks are
// done and its credits added: handlerPacket).
func (w *Worker) h2Packet(ss int32, s *session, c *conn, p *zhttp.Packet, id *zhttp.IDSeq) {
	cs := s.conn
	h := w.h2(c)
	if s.h2Phase() == h2AwaitHandler {
		if s.has(fReqDone) {
			s.toH2(h2AwaitResponse)
		} else {
			s.toH2(h2RecvBody)
		}
	}
	if p.Credits > 0 && !s.has(fH2PeerEnd) {
		// Credits open the stream's receive window (docs/design.md "HTTP/2").
		w.h2ctl = http2.AppendWindowUpdate(w.h2ctl, s.h2().id, uint32(min(p.Credits, http2.MaxWindowSize)))
	}
	if h.has(h2fBlocked) && (p.Credits > 0 || s.addr != 0) {
		h.flags &^= h2fBlocked
		w.queue(cs, c)
	}
	switch p.Type {
	case zhttp.TypeData:
		if s.h2Phase() == h2SendBody {
			w.h2Body(ss, s, c, p.Body, !p.More)
		} else {
			w.h2StartResponse(ss, s, c, p)
		}
	case zhttp.TypeCredit, zhttp.TypeKeepAlive:
	case zhttp.TypeCancel, zhttp.TypeError:
		logging.Debug(targetConn, "conn %s: handler %s", id.ID, typeLabel(p.Type))
		s.addr = w.dropAddr(s.addr) // no cancel back (§4.6)
		if !s.has(fRespStarted) {
			w.h2Respond(ss, s, c, 502, "Bad Gateway")
		} else {
			w.h2ctl = http2.AppendRSTStream(w.h2ctl, s.h2().id, http2.ErrInternal)
			w.h2Free(ss, s, c, false)
		}
	case zhttp.TypeHandoffStart:
		s.flags |= fHandoffPending
		if s.blen == 0 {
			w.proceedHandoff(ss, s)
		}
	default: // close, ping, pong, handoff-proceed: not valid on HTTP
		w.h2Violation(ss, s, c, "unexpected packet type")
	}
	if w.conns.InUse(cs) && w.conns.Get(cs) == c && c.has(fH2) && w.h2Flush(cs, c) {
		w.h2CloseIfDone(cs, c)
	}
}

// h2Violation ends a stream whose handler broke the protocol: the stream
// is reset, the connection lives on (§3.6 closes the connection: here it
// is the stream's).
func (w *Worker) h2Violation(ss int32, s *session, c *conn, why string) {
	logging.Debug(targetConn, "worker %d: conn %d: handler protocol violation: %s", w.idx, s.conn, why)
	s.addr = w.dropAddr(s.addr)
	w.h2ctl = http2.AppendRSTStream(w.h2ctl, s.h2().id, http2.ErrInternal)
	w.h2Free(ss, s, c, false)
}

// h2StartResponse writes the response's HEADERS and its first body part.
func (w *Worker) h2StartResponse(ss int32, s *session, c *conn, p *zhttp.Packet) {
	code := p.Code
	if !p.HasCode || code < 200 || code > 999 {
		w.h2BadResponse(ss, s, c, "invalid status code")
		return
	}
	cl := int64(-1)
	for _, hd := range p.Headers {
		if !http1.ValidHeaderName(hd.Name) || !http1.ValidHeaderValue(hd.Value) {
			w.h2BadResponse(ss, s, c, "invalid header")
			return
		}
		if isContentLength(hd.Name) {
			v, ok := parseDecimal(hd.Value)
			if !ok || (cl >= 0 && v != cl) {
				w.h2BadResponse(ss, s, c, "invalid content-length")
				return
			}
			cl = v
		}
	}
	hasCL := cl >= 0
	noBody := s.has(fHead) || code == 204 || code == 304
	body := p.Body
	if noBody {
		s.flags |= fH2NoBody
		body = nil
	}
	blk := http2.AppendStatus(w.head[:0], code)
	for _, hd := range p.Headers {
		if isConnSpecific(hd.Name) || (isContentLength(hd.Name) && !hasCL) {
			continue
		}
		if isContentLength(hd.Name) {
			hasCL = false // one is enough
		}
		blk = hpackAppend(blk, hd.Name, hd.Value)
	}
	if cl < 0 && !p.More && !noBody {
		var n [20]byte
		blk = w.h2Field(blk, "content-length", strconv.AppendInt(n[:0], int64(len(body)), 10))
		cl = int64(len(body))
	}
	w.head = blk
	if cl >= 0 && !noBody {
		s.framing, s.respLeft = framingLength, cl
	} else {
		s.framing = framingNone
	}
	end := !p.More && len(body) == 0
	w.h2frame = http2.AppendHeaders(w.h2frame[:0], s.h2().id, blk, end, w.h2(c).peerFrame)
	s.toH2(h2SendBody)
	s.flags |= fRespStarted
	w.mResponse(ss, c, code)
	if !end {
		// The HEADERS go out with the first DATA frames in one write
		// (h2SendData writes w.h2ctl first), or alone below if no DATA
		// can go now: one writev per response, as for HTTP/1.
		cs := s.conn
		w.h2ctl = append(w.h2ctl, w.h2frame...)
		w.h2Body(ss, s, c, body, !p.More)
		if !w.conns.InUse(cs) || !c.has(fH2) {
			w.h2ctl = w.h2ctl[:0]
			return
		}
		w.h2Flush(cs, c)
		return
	}
	w.iov = append(w.iov[:0], w.h2ctl, w.h2frame)
	w.h2ctl = w.h2ctl[:0]
	if !w.write(s.conn, c, w.iov) {
		return
	}
	s.flags |= fRespLast | fH2EndSent
	w.h2StreamDone(ss, s, c)
}

func isContentLength(name []byte) bool {
	return len(name) == len("Content-Length") && bytes.EqualFold(name, []byte("Content-Length"))
}

// h2BadResponse handles a response the server refuses to pass on (§12 #10).
func (w *Worker) h2BadResponse(ss int32, s *session, c *conn, why string) {
	w.badResponseLog(s.conn, why)
	s.addr = w.dropAddr(s.addr)
	w.h2Respond(ss, s, c, 502, "Bad Gateway")
}

// h2Respond writes a response of the server's own on the stream (its
// handler, if known, gets a cancel) and ends it.
func (w *Worker) h2Respond(ss int32, s *session, c *conn, code int, reason string) {
	if s.bbuf != 0 && !s.has(fRespStarted) { // req mode: the request gathered so far
		w.h2pool(s).put(s.bbuf)
		s.bbuf, s.blen, s.hlen = 0, 0, 0
	}
	if s.addr != 0 && !s.isNew() {
		w.cancel(ss, s)
	}
	s.addr = w.dropAddr(s.addr)
	var n [20]byte
	blk := http2.AppendStatus(w.head[:0], code)
	blk = w.h2Field(blk, "content-type", []byte("text/plain"))
	blk = w.h2Field(blk, "content-length", strconv.AppendInt(n[:0], int64(len(reason)+1), 10))
	w.head = blk
	h := w.h2(c)
	w.h2frame = http2.AppendHeaders(w.h2frame[:0], s.h2().id, blk, false, h.peerFrame)
	if s.h2Phase() != h2SendBody {
		s.toH2(h2SendBody)
	}
	s.flags |= fRespStarted
	s.framing, s.respLeft = framingLength, int64(len(reason)+1)
	w.mResponse(ss, c, code)
	w.iov = append(w.iov[:0], w.h2ctl, w.h2frame)
	w.h2ctl = w.h2ctl[:0]
	cs := s.conn
	if !w.write(cs, c, w.iov) {
		return
	}
	w.scratch = append(append(w.scratch[:0], reason...), '\n')
	w.h2Body(ss, s, c, w.scratch, true)
}

// h2Body writes (or holds, as far as the windows do not allow it) one
// response body part; last ends the stream.
func (w *Worker) h2Body(ss int32, s *session, c *conn, body []byte, last bool) {
	switch {
	case s.has(fH2NoBody):
		body = nil
	case s.framing == framingLength:
		if int64(len(body)) > s.respLeft {
			body = body[:s.respLeft] // never more than the declared length (§12 #7)
		}
		s.respLeft -= int64(len(body))
	}
	cs := s.conn
	sent := 0
	if s.blen == 0 {
		var ok bool
		if sent, ok = w.h2SendData(ss, s, c, body, last); !ok {
			return
		}
		if s.has(fH2EndSent) || !w.sessions.InUse(ss) {
			return
		}
	}
	if rest := body[sent:]; len(rest) > 0 {
		if s.bbuf == 0 {
			// Stream mode: the credits bound what is held. Req mode: the
			// one reply, whole.
			n := w.opts.BufferSize
			if s.has(fH2Req) {
				n = len(rest)
			}
			s.bbuf = w.h2pool(s).get(n)
		}
		buf := w.h2pool(s).bytes(s.bbuf)
		if int(s.blen)+len(rest) > len(buf) {
			w.h2Violation(ss, s, c, "response beyond credits")
			w.h2Flush(cs, c)
			return
		}
		s.blen += int32(copy(buf[s.blen:], rest))
	}
	if last {
		// Set only now: a write above may drain the output and run the
		// held bytes of every stream (h2Written), this one's included.
		s.flags |= fRespLast
	}
	if last && s.blen == 0 && !s.has(fH2EndSent) {
		w.h2SendData(ss, s, c, nil, true)
	}
}

// h2SendPending writes what the windows allow of the bytes a stream holds
// back. False if the connection closed.
func (w *Worker) h2SendPending(ss int32, s *session, c *conn) bool {
	cs := s.conn
	// A write that drains the output runs h2Written, whose h2Emit would
	// send these same held bytes again before blen says they went (the
	// client got them twice, blen went negative): until blen is right a
	// drain is only noted (h2fWriting), and run after.
	h := w.h2(c)
	outer := !h.has(h2fWriting)
	h.flags |= h2fWriting
	buf := w.h2pool(s).bytes(s.bbuf)[:s.blen]
	sent, ok := w.h2SendData(ss, s, c, buf, s.has(fRespLast))
	if !ok {
		return false
	}
	if sent > 0 && w.sessions.InUse(ss) && s.conn == cs {
		copy(buf, buf[sent:])
		s.blen -= int32(sent)
		if s.blen == 0 {
			w.h2pool(s).put(s.bbuf)
			s.bbuf = 0
		}
	}
	if outer && w.conns.InUse(cs) && c.has(fH2) {
		h.flags &^= h2fWriting
		if h.has(h2fWritten) {
			h.flags &^= h2fWritten
			w.h2Written(cs, c)
		}
	}
	return true
}

// h2SendData writes DATA frames for as much of data as the stream's and the
// connection's send windows allow, while the connection has no output
// pending (so held bytes wait in their stream, not in the write buffer);
// END_STREAM goes with the last byte when end. It returns the bytes sent and
// false if the connection closed. A stream that sent END_STREAM ends here.
func (w *Worker) h2SendData(ss int32, s *session, c *conn, data []byte, end bool) (int, bool) {
	h := w.h2(c)
	st := s.h2()
	if c.wstart < c.wend && len(data) > 0 {
		return 0, true
	}
	n := min(uint32(len(data)), st.sendWin.Avail(), h.sendWin.Avail())
	if n == 0 && (len(data) > 0 || !end) {
		return 0, true
	}
	endNow := end && int(n) == len(data)
	w.iov = append(w.iov[:0], w.h2ctl)
	w.h2ctl = w.h2ctl[:0]
	frames := int(n/h.peerFrame) + 1
	if cap(w.frame) < frames*http2.FrameHeaderLen {
		w.frame = make([]byte, 0, frames*http2.FrameHeaderLen)
	}
	w.frame = w.frame[:0]
	for off := uint32(0); ; {
		k := min(n-off, h.peerFrame)
		start := len(w.frame)
		w.frame = http2.AppendDataHeader(w.frame, st.id, k, endNow && off+k == n)
		w.iov = append(w.iov, w.frame[start:], data[off:off+k])
		off += k
		if off == n {
			break
		}
	}
	st.sendWin.Take(n)
	h.sendWin.Take(n)
	if !end {
		s.owed += int64(n)
	}
	if endNow {
		s.flags |= fH2EndSent
	}
	cs := s.conn
	s.flags |= fH2Sending
	if !w.write(cs, c, w.iov) {
		return int(n), false
	}
	s.flags &^= fH2Sending
	w.touchStream(cs, c)
	if endNow && w.sessions.InUse(ss) && w.sessions.Get(ss) == s && s.conn == cs {
		w.h2StreamDone(ss, s, c)
	}
	return int(n), true
}

// h2StreamDone ends a stream whose END_STREAM went out: a client still
// sending is told to stop (RST_STREAM NO_ERROR, §8.1).
func (w *Worker) h2StreamDone(ss int32, s *session, c *conn) {
	w.h2EndStream(ss, s, c, s.has(fH2PeerEnd))
}

// h2EndStream frees a stream whose END_STREAM went out, telling a client
// that has not sent its own (peerEnded false) to stop with RST_STREAM
// NO_ERROR, and flushes; the connection closes if that was its last work.
func (w *Worker) h2EndStream(ss int32, s *session, c *conn, peerEnded bool) {
	cs := s.conn
	if !peerEnded {
		w.h2ctl = http2.AppendRSTStream(w.h2ctl, s.h2().id, http2.ErrNo)
	}
	s.addr = w.dropAddr(s.addr)
	w.h2Free(ss, s, c, false)
	if w.h2Flush(cs, c) {
		w.h2CloseIfDone(cs, c)
	}
}

// h2SessionExpired: the handler said nothing to the stream for 60 s: 504,
// or a reset when the response has begun.
func (w *Worker) h2SessionExpired(ss int32, s *session, c *conn) {
	cs := s.conn
	if !s.has(fRespStarted) {
		w.h2Respond(ss, s, c, 504, "Gateway Timeout")
	} else {
		w.h2ctl = http2.AppendRSTStream(w.h2ctl, s.h2().id, http2.ErrCancel)
		w.h2Free(ss, s, c, true)
	}
	if w.conns.InUse(cs) && c.has(fH2) {
		w.h2Flush(cs, c)
	}
}
