package server

import (
	"strconv"

	"github.com/condure-go/condure/http1"
	"github.com/condure-go/condure/internal/logging"
	"github.com/condure-go/condure/websocket"
	"github.com/condure-go/condure/zhttp"
)

// The WebSocket session (reference.md §4.4, §6). After a valid upgrade request
// the session waits for the handler's answer (ws-await): a 101 completes
// the handshake, anything else is written as a plain HTTP rejection
// (ws-respond, §12 #11). Then (wsPhase, phases.go):
//
//	ws-open ── client close ─► ws-peer-closed (stop reading; 5 s for the handler's close)
//	   │                              └─ handler close ─► ws-finished
//	   └─ handler close ─► ws-closing (keep reading and forwarding) ─ client close ─► ws-finished
//	ws-finished: the TCP connection closes once the close frame is written.
//
// Client frames become data/ping/pong/close packets within the credits the
// handler grants; handler packets become frames, and the payload bytes
// written are credited back (§4.2).

// 5 s: how long a client close waits for the handler's (§12 #12).
const wsCloseWaitTicks = 500

// Client control packets (ping, pong, empty messages) cost no credit, so a
// client could make the server queue any number of them for a handler that
// is not reading. They are counted instead, in the top bits of the session's
// flags: at most wsCtlBudget go to the handler between two of its packets
// for the session, then the client is not read until the handler speaks.
// Pushpin answers every ping with a pong; its keep-alives, credits and
// messages reset the count too.
const (
	wsCtlBudget          = 32
	wsCtlShift           = 26
	wsCtlMask   sessFlag = 0x3f << wsCtlShift
)

func wsCtlSpent(s *session) bool { return s.flags&wsCtlMask>>wsCtlShift >= wsCtlBudget }

// startWebSocket handles an upgrade request on a stream listener.
func (w *Worker) startWebSocket(ss int32, s *session, c *conn, n int) {
	saved := *s // restored when PUSH has no room: the request stays unread
	req := &w.req
	s.minor = uint8(req.Minor)
	key, err := websocket.CheckUpgrade(req)
	if err != nil {
		code, reason := websocket.Status(err)
		logging.Debug(targetConn, "worker %d: conn %d: bad websocket request: %v", w.idx, s.conn, err)
		if code == 426 {
			w.finishWith(ss, s, c, appendUpgradeRequired(w.head[:0]))
			return
		}
		w.respondError(ss, s, c, code, reason)
		return
	}
	scheme := "ws"
	if w.listeners[c.listener].scheme == "https" {
		scheme = "wss"
	}
	o, ok := w.requestOut(ss, s, c, req, scheme)
	if !ok {
		return
	}
	websocket.AppendAccept(s.wsAccept[:0], key)
	s.kind = kindWS
	s.reader.Reset()
	s.reader.MaxMessage = int64(w.opts.WSMaxMessage)
	w.wsNegotiate(s, req.Headers)
	// The request packet has no `more` and no `stream` (§3.2).
	o.Credits = w.opts.BufferSize
	w.pktBuf = zhttp.AppendPacket(w.pktBuf[:0], o)
	if !w.sendRequest(w.pktBuf) {
		*s = saved
		w.waitRequest(ss, c, gateOut)
		return
	}
	s.outSeq = 1
	c.rstart += int32(n) // frames sent early stay buffered until the handshake
	w.releaseRead(c)
	s.toWS(wsAwait)
	w.requestSent(ss, c)
}

// closeWait gives the close handshake 5 s (§12 #12): the inactivity
// timer is set to it and client I/O no longer extends it (touchStream).
func (w *Worker) closeWait(cs int32, c *conn) {
	c.flags |= fCloseWait
	w.timers.Schedule(connTimer(cs, timerInact), w.now+wsCloseWaitTicks)
}

// appendUpgradeRequired is the answer to a handshake with a
// Sec-WebSocket-Version other than 13 (RFC 6455 §4.4).
func appendUpgradeRequired(dst []byte) []byte {
	const body = "Upgrade Required\n"
	return append(dst, "HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\nContent-Type: text/plain\r\n"+
		"Content-Length: "+strconv.Itoa(len(body))+"\r\nConnection: close\r\n\r\n"+body...)
}

// wsPacket applies a handler packet to a WebSocket session; the common
// checks (seq, from, timers, credits, handoff) are done.
func (w *Worker) wsPacket(ss int32, s *session, c *conn, p *zhttp.Packet) {
	switch s.ws() {
	case wsAwait:
		w.wsHandshakeAnswer(ss, s, c, p)
		return
	case wsRespond:
		// An HTTP response ends the session: the handler can only end it
		// sooner.
		if p.Type == zhttp.TypeCancel || p.Type == zhttp.TypeError {
			s.addr = w.dropAddr(s.addr)
			w.closeConn(s.conn, c, false, CauseHandlerCancel)
		}
		return
	}
	// The handler spoke: the control budget is whole again, and credits
	// on any packet may let client frames through that wait for them
	// (buffered, or still in the kernel).
	if (wsCtlSpent(s) || p.Credits > 0) && (s.ws() == wsOpen || s.ws() == wsClosing) &&
		(c.rstart < c.rend || c.has(fCanRead) || c.has(fTLS) || wsInflPending(s)) {
		w.queue(s.conn, c)
	}
	s.flags &^= wsCtlMask
	switch p.Type {
	case zhttp.TypeData:
		if s.ws() == wsClosing || s.ws() == wsFinished {
			return // after our close frame, handler data is dropped (§4.4)
		}
		op := websocket.OpText
		if string(p.ContentType) == "binary" {
			op = websocket.OpBinary
		}
		if s.wsOutOp != 0 {
			op = websocket.OpContinuation
		} else if p.More {
			s.wsOutOp = uint8(op)
		}
		if !p.More {
			s.wsOutOp = 0
		}
		if p.More && len(p.Body) == 0 {
			return // nothing to frame yet
		}
		w.m.mWSOut(!p.More, len(p.Body))
		w.wsFrame(ss, s, c, op, !p.More, p.Body)
	case zhttp.TypePing, zhttp.TypePong:
		if s.ws() == wsClosing || s.ws() == wsFinished {
			return
		}
		if len(p.Body) > websocket.MaxControlPayload {
			logging.Debug(targetConn, "worker %d: conn %d: handler control frame over 125 bytes", w.idx, s.conn)
			w.closeConn(s.conn, c, true, CauseHandlerProtocol)
			return
		}
		op := websocket.OpPing
		if p.Type == zhttp.TypePong {
			op = websocket.OpPong
		}
		w.wsFrame(ss, s, c, op, true, p.Body)
	case zhttp.TypeClose:
		if s.ws() == wsClosing || s.ws() == wsFinished {
			return
		}
		w.handlerCloseFrame(s, p)
		if s.ws() == wsPeerClosed {
			// A client that stops reading must not hold the connection:
			// the close frame has 5 s to get out.
			s.toWS(wsFinished)
			w.closeWait(s.conn, c)
		} else {
			s.toWS(wsClosing)
		}
		s.flags |= fRespLast // no credits after our close frame (§4.2)
		w.iov = append(w.iov[:0], w.frame)
		if w.write(s.conn, c, w.iov) {
			w.finishIfDone(s.conn, c)
		}
	case zhttp.TypeCredit, zhttp.TypeKeepAlive:
		if s.ws() == wsOpen || s.ws() == wsClosing {
			w.queue(s.conn, c) // credits may let client frames through
		}
	case zhttp.TypeCancel, zhttp.TypeError:
		s.addr = w.dropAddr(s.addr)
		w.closeConn(s.conn, c, false, CauseHandlerCancel)
	case zhttp.TypeHandoffStart:
		s.flags |= fHandoffPending
		if c.wstart == c.wend {
			w.proceedHandoff(ss, s)
		}
	default:
		w.violation(ss, s, c, "unexpected packet type")
	}
}

// wsHandshakeAnswer handles the handler's first answer to an upgrade
// (HTTP/1, or an extended CONNECT on an HTTP/2 stream: h2ws.go).
func (w *Worker) wsHandshakeAnswer(ss int32, s *session, c *conn, p *zhttp.Packet) {
	switch p.Type {
	case zhttp.TypeCredit, zhttp.TypeKeepAlive:
		return
	case zhttp.TypeHandoffStart:
		s.flags |= fHandoffPending
		w.proceedHandoff(ss, s)
		return
	case zhttp.TypeData:
		if p.HasCode && p.Code == 101 {
			w.wsAccept(ss, s, c, p)
			return
		}
		w.wsReject(ss, s, c, p) // any other status is a refusal (§12 #11)
		return
	case zhttp.TypeError:
		if string(p.Condition) == "rejected" {
			w.wsReject(ss, s, c, p)
			return
		}
	case zhttp.TypeCancel:
		if !c.has(fH2) { // on HTTP/2 the connection lives on
			w.m.mCause(s.conn, CauseHandlerCancel)
		}
	default:
		w.violation(ss, s, c, "unexpected packet type")
		return
	}
	s.addr = w.dropAddr(s.addr) // no cancel back (§4.6)
	if c.has(fH2) {
		w.h2wsRespond(ss, s, c, 502, nil, []byte("Bad Gateway\n"))
		return
	}
	w.respondError(ss, s, c, 502, "Bad Gateway")
}

// wsAccept completes the handshake with the handler's 101.
func (w *Worker) wsAccept(ss int32, s *session, c *conn, p *zhttp.Packet) {
	if c.has(fH2) {
		w.h2wsAccept(ss, s, c, p)
		return
	}
	if !http1.ValidHeaderValue(p.Reason) || !validHeaders(p.Headers) {
		w.badResponse(ss, s, c, "invalid header")
		return
	}
	if p.Credits == 0 {
		// Compatibility allowance for handlers that grant nothing (§3.4).
		s.credits = int64(w.opts.BufferSize)
	}
	s.toWS(wsOpen)
	s.flags |= fRespStarted
	w.mResponse(ss, c, 101)
	w.mKind(s.conn, c, KindWebSocket)
	w.frame = appendDeflateExt(w.frame[:0], s) // empty unless negotiated: no header then
	w.head = websocket.AppendHandshakeResponseExt(w.head[:0], p.Reason, p.Headers, s.wsAccept[:], w.frame)
	w.iov = append(w.iov[:0], w.head)
	if !w.write(s.conn, c, w.iov) {
		return
	}
	w.touchStream(s.conn, c)
	if c.rstart < c.rend || c.has(fCanRead) || c.has(fPeerFin) {
		w.queue(s.conn, c)
	}
}

// wsReject writes a refusal as a plain HTTP response and closes (§6.5).
func (w *Worker) wsReject(ss int32, s *session, c *conn, p *zhttp.Packet) {
	if c.has(fH2) {
		w.h2wsReject(ss, s, c, p)
		return
	}
	code := p.Code
	if !p.HasCode || code < 200 || code > 999 || !http1.ValidHeaderValue(p.Reason) || !validHeaders(p.Headers) {
		w.badResponse(ss, s, c, "invalid rejection")
		return
	}
	hdrs := w.hdrs[:0]
	for _, h := range p.Headers {
		if !websocket.IsHandshakeHeader(h.Name) {
			hdrs = append(hdrs, h)
		}
	}
	w.hdrs = hdrs
	rh := http1.ResponseHead{Minor: int(s.minor), Code: code, Reason: p.Reason, Headers: hdrs,
		Framing: http1.FramingLength, ContentLength: int64(len(p.Body)), Close: true}
	s.addr = w.dropAddr(s.addr)
	w.mResponse(ss, c, code)
	w.head = http1.AppendResponseHead(w.head[:0], &rh)
	s.toWS(wsRespond)
	s.flags |= fRespStarted | fCloseAfter
	s.framing, s.respLeft = framingLength, int64(len(p.Body))
	w.writeBody(ss, s, c, w.head, p.Body, true)
}

func validHeaders(hs []zhttp.Header) bool {
	for _, h := range hs {
		if !http1.ValidHeaderName(h.Name) || !http1.ValidHeaderValue(h.Value) {
			return false
		}
	}
	return true
}

func validUTF8(b []byte) bool {
	var u websocket.UTF8
	return u.Write(b) && u.Complete()
}

// wsFrame writes one frame to the client; payload bytes are credited back
// to the handler once written (§4.2). --messages-max bounds the messages
// waiting in the write buffer.
func (w *Worker) wsFrame(ss int32, s *session, c *conn, op websocket.Opcode, fin bool, payload []byte) {
	if c.wstart < c.wend && (fin || op.IsControl()) && !c.has(fH2) { // HTTP/2: the stream's block bounds it (h2ws.go)
		s.queued++
		if int(s.queued) > w.opts.MessagesMax {
			logging.Debug(targetConn, "worker %d: conn %d: over --messages-max queued messages", w.idx, s.conn)
			w.closeConn(s.conn, c, true, CauseMessagesMax)
			return
		}
	}
	s.owed += int64(len(payload)) // credits count uncompressed bytes
	if s.reader.Deflate && !op.IsControl() {
		if w.wsDeflateFrames(s.conn, c, s, op, fin, payload) {
			w.touchStream(s.conn, c)
		}
		return
	}
	w.frame = websocket.AppendFrameHeader(w.frame[:0], fin, op, len(payload))
	w.iov = append(w.iov[:0], w.frame, payload)
	if w.wsWrite(s, c, w.iov) {
		w.touchStream(s.conn, c)
	}
}

// wsRead turns client frames into packets while credits allow (§6.3), and
// while the handler takes packets: otherwise the frames wait unread
// (gates.go). Ping and pong payloads use credits like data (Pushpin
// returns them), and packets that cost no credit are counted (wsCtlBudget).
// Input comes from the connection's read buffer, refilled here; a client
// that closes the TCP connection without a close frame is gone.
func (w *Worker) wsRead(ss int32, s *session, c *conn) {
	for i := 0; i < readBudget; {
		switch w.wsBeforeFrame(ss, s, c) {
		case inflMore:
			i++
			continue
		case inflStop:
			return
		}
		if c.rstart == c.rend {
			got, closed := w.fill(s.conn, c)
			if !got && !closed && inputEnded(c) {
				w.clientGone(s.conn, c, "client closed without a close frame")
				return
			}
			if closed || !got {
				return
			}
			i++
			continue
		}
		_, step := w.wsStep(ss, s, c, w.bufs.bytes(c.rbuf)[c.rstart:c.rend], &c.rstart)
		switch step {
		case wsStepOn:
			continue
		case wsStepStop:
			return
		case wsStepShort:
			got, closed := w.fill(s.conn, c)
			if !got && !closed && inputEnded(c) {
				w.clientGone(s.conn, c, "client closed inside a frame")
				return
			}
			if closed || !got {
				return
			}
			i++
		case wsStepClose:
			w.releaseRead(c)
			if s.ws() == wsClosing {
				s.toWS(wsFinished)
				w.closeWait(s.conn, c)
				w.finishIfDone(s.conn, c)
				return
			}
			// Wait for the handler's close, 5 s at most (§12 #12).
			s.toWS(wsPeerClosed)
			w.closeWait(s.conn, c)
			return
		}
	}
	w.queue(s.conn, c)
}

// wsBeforeFrame is the head of wsRead's and h2wsParse's loop, what goes
// before the next client frame: a closed gate stops the read (the session
// waits for it), then a compressed message's pending output goes first
// (wsInflatePending). inflNone: read the next frame.
func (w *Worker) wsBeforeFrame(ss int32, s *session, c *conn) inflStep {
	if g := w.streamBlocked(s.addr); g != 0 {
		w.wait(ss, g)
		return inflStop
	}
	if s.reader.Deflate {
		return w.wsInflatePending(ss, s, c)
	}
	return inflNone
}

// wsStepResult says what wsStep did and what its caller does next.
type wsStepResult uint8

const (
	wsStepOn    wsStepResult = iota // bytes consumed: go round again
	wsStepShort                     // no frame header or payload byte in buf: more input is needed
	wsStepStop                      // stop reading: waiting (credits, a gate, the handler) or the session ended
	wsStepClose                     // the client's close frame went to the handler
)

// wsStep is the step wsRead (HTTP/1) and h2wsParse (HTTP/2) share: it
// reads the next frame header or event from buf, the unread client bytes
// that start at *start in their block, and passes an event to the handler
// as a packet while credits and gates allow, advancing *start by the bytes
// consumed (also returned). A frame that cannot go yet stays unread, and
// who waits is queued (gates, wsPacket). A protocol error ends the session
// (wsProtocolError). The callers differ only in where input comes from and
// what ends it.
func (w *Worker) wsStep(ss int32, s *session, c *conn, buf []byte, start *int32) (int, wsStepResult) {
	limit := int(min(s.credits, int64(w.opts.BufferSize)))
	before := s.reader
	ev, n, err := s.reader.Next(buf, limit)
	if err != nil {
		w.wsProtocolError(ss, s, c, err)
		return 0, wsStepStop
	}
	if n == 0 {
		if limit <= 0 {
			return 0, wsStepStop // waiting for credits; the buffered bytes stay
		}
		return 0, wsStepShort
	}
	if ev.Kind == websocket.EvNone { // a frame header: the payload follows
		*start += int32(n)
		return n, wsStepOn
	}
	if ev.Compressed {
		from := *start
		ok := w.wsInflateEvent(ss, s, c, buf, n, ev, before, start)
		if !ok {
			return int(*start - from), wsStepStop
		}
		return int(*start - from), wsStepOn
	}
	o, cost, ctl := w.wsEventOut(ss, s, ev)
	if ctl && wsCtlSpent(s) || cost > s.credits {
		// The handler has not spoken since the last wsCtlBudget
		// control packets, or has no credit for this payload: the
		// frame stays unread until it does (wsPacket queues us).
		s.reader.Unread(buf, n, ev, before)
		return 0, wsStepStop
	}
	w.pktBuf = zhttp.AppendPacket(w.pktBuf[:0], o)
	if g := w.sendTo(s.addr, w.pktBuf); g != 0 {
		s.reader.Unread(buf, n, ev, before) // the frame stays in the read buffer
		w.wait(ss, g)
		return 0, wsStepStop
	}
	s.outSeq++
	w.m.mWSIn(ev.Kind == websocket.EvData, ev.Fin, len(ev.Payload))
	*start += int32(n)
	s.credits -= cost
	if ctl {
		s.flags += 1 << wsCtlShift
	}
	if ev.Kind == websocket.EvClose {
		w.inflPut(s) // a message cut short by the close
		return n, wsStepClose
	}
	return n, wsStepOn
}

// wsEventOut prepares the packet for a client frame event (data, ping,
// pong, close): its credit cost, and whether it counts against wsCtlBudget.
func (w *Worker) wsEventOut(ss int32, s *session, ev websocket.Event) (o *zhttp.Out, cost int64, ctl bool) {
	o = w.resetOut(ss, s)
	cost = int64(len(ev.Payload))
	switch ev.Kind {
	case websocket.EvData:
		o.ContentType = contentTypeText
		if ev.Opcode == websocket.OpBinary {
			o.ContentType = contentTypeBinary
		}
		o.Body = ev.Payload
		o.More = !ev.Fin
		ctl = cost == 0
	case websocket.EvPing, websocket.EvPong:
		o.Type = zhttp.TypePing
		if ev.Kind == websocket.EvPong {
			o.Type = zhttp.TypePong
		}
		o.Body = ev.Payload
		ctl = true
	case websocket.EvClose:
		o.Type = zhttp.TypeClose
		if ev.Code != 0 {
			o.Code, o.HasCode = ev.Code, true
		}
		o.Body = ev.Payload
		cost = 0
	}
	return o, cost, ctl
}

var (
	contentTypeText   = []byte("text")
	contentTypeBinary = []byte("binary")
)

// wsProtocolError closes a connection whose client broke RFC 6455: a close
// frame with the error's code, a cancel to the handler (§4.6), and the TCP
// connection closed once the frame is written.
func (w *Worker) wsProtocolError(ss int32, s *session, c *conn, err error) {
	code := websocket.CloseProtocolError
	if pe, ok := err.(*websocket.ProtocolError); ok {
		code = pe.Code
	}
	logging.Debug(targetConn, "worker %d: conn %d: websocket protocol error: %v", w.idx, s.conn, err)
	if c.has(fH2) {
		w.h2wsProtocolError(ss, s, c, code)
		return
	}
	w.m.mCause(s.conn, CauseClientProtocol)
	w.inflPut(s)
	w.cancel(ss, s)
	s.addr = w.dropAddr(s.addr)
	s.toWS(wsFinished)
	s.flags |= fRespLast
	w.closeWait(s.conn, c)
	w.frame = websocket.AppendCloseFrame(w.frame[:0], code, nil)
	w.iov = append(w.iov[:0], w.frame)
	if w.write(s.conn, c, w.iov) {
		w.finishIfDone(s.conn, c)
	}
}

// handlerCloseFrame builds in w.frame the close frame for the handler's
// close packet p (HTTP/1 and HTTP/2 alike): code 1000 when none, 1011 for
// a code a client must not see, no reason when it is not UTF-8.
func (w *Worker) handlerCloseFrame(s *session, p *zhttp.Packet) {
	code := 1000
	if p.HasCode {
		code = p.Code
	}
	if !websocket.ValidCloseCode(code) {
		w.closeCodeLog(s.conn, code)
		code = websocket.CloseInternalError
	}
	var reason []byte
	if !validUTF8(p.Body) {
		w.closeReasonLog(s.conn)
	} else {
		reason = p.Body
	}
	w.frame = websocket.AppendCloseFrame(w.frame[:0], code, reason)
}
