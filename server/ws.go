package server

import (
	"strconv"

	"github.com/condure-go/condure/http1"
	"github.com/condure-go/condure/internal/logging"
	"github.com/condure-go/condure/websocket"
	"github.com/condure-go/condure/zhttp"
)

// The WebSocket session (reference.md §4.4, §6). After a valid upgrade request
// the session waits for the handler's answer (stWsAwait): a 101 completes
// the handshake, anything else is written as a plain HTTP rejection (§12
// #11). Then:
//
//	stWsOpen ── client close ─► stWsPeerClosed (stop reading; 5 s for the handler's close)
//	   │                              └─ handler close ─► stWsFinished
//	   └─ handler close ─► stWsClosing (keep reading and forwarding) ─ client close ─► stWsFinished
//	stWsFinished: the TCP connection closes once the close frame is written.
//
// Client frames become data/ping/pong/close packets within the credits the
// handler grants; handler packets become frames, and the payload bytes
// written are credited back (§4.2).

// 5 s: how long a client close waits for the handler's (§12 #12).
const wsCloseWaitTicks = 500

// Client control packets (ping, pong, empty messages) cost no credit, so a
// client could make the server queue any number of them for a handler that
// is not reading. They are counted instead, in the top bits of the slot's
// flags: at most wsCtlBudget go to the handler between two of its packets
// for the session, then the client is not read until the handler speaks.
// Pushpin answers every ping with a pong; its keep-alives, credits and
// messages reset the count too.
const (
	wsCtlBudget        = 32
	wsCtlShift         = 26
	wsCtlMask   uint32 = 0x3f << wsCtlShift
)

func wsCtlSpent(c *conn) bool { return c.flags&wsCtlMask>>wsCtlShift >= wsCtlBudget }

// startWebSocket handles an upgrade request on a stream listener.
func (w *Worker) startWebSocket(slot int32, c *conn, n int) {
	saved := *c // restored when PUSH has no room: the request stays unread
	req := &w.req
	c.minor = uint8(req.Minor)
	key, err := websocket.CheckUpgrade(req)
	if err != nil {
		code, reason := websocket.Status(err)
		logging.Debug(targetConn, "worker %d: conn %d: bad websocket request: %v", w.idx, slot, err)
		if code == 426 {
			w.finishWith(slot, c, appendUpgradeRequired(w.head[:0]))
			return
		}
		w.respondError(slot, c, code, reason)
		return
	}
	scheme := "ws"
	if w.listeners[c.listener].scheme == "https" {
		scheme = "wss"
	}
	o, ok := w.requestOut(slot, c, req, scheme)
	if !ok {
		return
	}
	websocket.AppendAccept(c.wsAccept[:0], key)
	c.flags |= fWS
	c.reader.Reset()
	c.reader.MaxMessage = int64(w.opts.WSMaxMessage)
	// The request packet has no `more` and no `stream` (§3.2).
	o.Credits = w.opts.BufferSize
	w.pktBuf = zhttp.AppendPacket(w.pktBuf[:0], o)
	if !w.sendRequest(w.pktBuf) {
		*c = saved
		w.waitRequest(slot, c, gateOut)
		return
	}
	c.outSeq = 1
	c.rstart += int32(n) // frames sent early stay buffered until the handshake
	w.releaseRead(c)
	c.state = stWsAwait
	w.timers.Schedule(slot*timersPerConn+timerSession, w.now+w.sessionTicks)
	w.touchStream(slot)
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
func (w *Worker) wsPacket(slot int32, c *conn, p *zhttp.Packet) {
	if c.state == stWsAwait {
		w.wsHandshakeAnswer(slot, c, p)
		return
	}
	// The handler spoke: the control budget is whole again, and credits
	// on any packet may let client frames through that wait for them
	// (buffered, or still in the kernel).
	if (wsCtlSpent(c) || p.Credits > 0) && (c.state == stWsOpen || c.state == stWsClosing) &&
		(c.rstart < c.rend || c.has(fCanRead) || c.has(fTLS)) {
		w.queue(slot, c)
	}
	c.flags &^= wsCtlMask
	switch p.Type {
	case zhttp.TypeData:
		if c.state == stWsClosing || c.state == stWsFinished {
			return // after our close frame, handler data is dropped (§4.4)
		}
		op := websocket.OpText
		if string(p.ContentType) == "binary" {
			op = websocket.OpBinary
		}
		if c.wsOutOp != 0 {
			op = websocket.OpContinuation
		} else if p.More {
			c.wsOutOp = uint8(op)
		}
		if !p.More {
			c.wsOutOp = 0
		}
		if p.More && len(p.Body) == 0 {
			return // nothing to frame yet
		}
		w.wsFrame(slot, c, op, !p.More, p.Body)
	case zhttp.TypePing, zhttp.TypePong:
		if c.state == stWsClosing || c.state == stWsFinished {
			return
		}
		if len(p.Body) > websocket.MaxControlPayload {
			logging.Debug(targetConn, "worker %d: conn %d: handler control frame over 125 bytes", w.idx, slot)
			w.closeConn(slot, c, true)
			return
		}
		op := websocket.OpPing
		if p.Type == zhttp.TypePong {
			op = websocket.OpPong
		}
		w.wsFrame(slot, c, op, true, p.Body)
	case zhttp.TypeClose:
		if c.state == stWsClosing || c.state == stWsFinished {
			return
		}
		code := 1000
		if p.HasCode {
			code = p.Code
		}
		if !websocket.ValidCloseCode(code) {
			w.closeCodeLog(slot, code)
			code = websocket.CloseInternalError
		}
		var reason []byte
		if !validUTF8(p.Body) {
			w.closeReasonLog(slot)
		} else {
			reason = p.Body
		}
		w.frame = websocket.AppendCloseFrame(w.frame[:0], code, reason)
		if c.state == stWsPeerClosed {
			// A client that stops reading must not hold the connection:
			// the close frame has 5 s to get out.
			c.state = stWsFinished
			w.timers.Schedule(slot*timersPerConn+timerStream, w.now+wsCloseWaitTicks)
		} else {
			c.state = stWsClosing
		}
		c.flags |= fRespLast // no credits after our close frame (§4.2)
		w.iov = append(w.iov[:0], w.frame)
		if w.write(slot, c, 0) {
			w.finishIfDone(slot, c)
		}
	case zhttp.TypeCredit, zhttp.TypeKeepAlive:
		if c.state == stWsOpen || c.state == stWsClosing {
			w.queue(slot, c) // credits may let client frames through
		}
	case zhttp.TypeCancel, zhttp.TypeError:
		c.addr = w.dropAddr(c.addr)
		w.closeConn(slot, c, false)
	case zhttp.TypeHandoffStart:
		c.flags |= fHandoffPending
		if c.wstart == c.wend {
			w.proceedHandoff(slot, c)
		}
	default:
		w.violation(slot, c, "unexpected packet type")
	}
}

// wsHandshakeAnswer handles the handler's first answer to an upgrade.
func (w *Worker) wsHandshakeAnswer(slot int32, c *conn, p *zhttp.Packet) {
	switch p.Type {
	case zhttp.TypeCredit, zhttp.TypeKeepAlive:
		return
	case zhttp.TypeHandoffStart:
		c.flags |= fHandoffPending
		w.proceedHandoff(slot, c)
		return
	case zhttp.TypeData:
		if p.HasCode && p.Code == 101 {
			w.wsAccept(slot, c, p)
			return
		}
		w.wsReject(slot, c, p) // any other status is a refusal (§12 #11)
		return
	case zhttp.TypeError:
		if string(p.Condition) == "rejected" {
			w.wsReject(slot, c, p)
			return
		}
	case zhttp.TypeCancel:
	default:
		w.violation(slot, c, "unexpected packet type")
		return
	}
	c.addr = w.dropAddr(c.addr) // no cancel back (§4.6)
	w.respondError(slot, c, 502, "Bad Gateway")
}

// wsAccept completes the handshake with the handler's 101.
func (w *Worker) wsAccept(slot int32, c *conn, p *zhttp.Packet) {
	if !http1.ValidHeaderValue(p.Reason) || !validHeaders(p.Headers) {
		w.badResponse(slot, c, "invalid header")
		return
	}
	if p.Credits == 0 {
		// Compatibility allowance for handlers that grant nothing (§3.4).
		c.credits = int64(w.opts.BufferSize)
	}
	c.state = stWsOpen
	c.flags |= fRespStarted
	w.head = websocket.AppendHandshakeResponseAccept(w.head[:0], p.Reason, p.Headers, c.wsAccept[:])
	w.iov = append(w.iov[:0], w.head)
	if !w.write(slot, c, 0) {
		return
	}
	w.touchStream(slot)
	if c.rstart < c.rend || c.has(fCanRead) || c.has(fPeerFin) {
		w.queue(slot, c)
	}
}

// wsReject writes a refusal as a plain HTTP response and closes (§6.5).
func (w *Worker) wsReject(slot int32, c *conn, p *zhttp.Packet) {
	code := p.Code
	if !p.HasCode || code < 200 || code > 999 || !http1.ValidHeaderValue(p.Reason) || !validHeaders(p.Headers) {
		w.badResponse(slot, c, "invalid rejection")
		return
	}
	hdrs := w.hdrs[:0]
	for _, h := range p.Headers {
		if !websocket.IsHandshakeHeader(h.Name) {
			hdrs = append(hdrs, h)
		}
	}
	w.hdrs = hdrs
	rh := http1.ResponseHead{Minor: int(c.minor), Code: code, Reason: p.Reason, Headers: hdrs,
		Framing: http1.FramingLength, ContentLength: int64(len(p.Body)), Close: true}
	c.addr = w.dropAddr(c.addr)
	w.head = http1.AppendResponseHead(w.head[:0], &rh)
	c.state = stSendBody
	c.flags |= fRespStarted | fCloseAfter | fLengthResp
	c.flags &^= fWS
	c.respLeft = int64(len(p.Body))
	w.writeBody(slot, c, w.head, p.Body, true)
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
func (w *Worker) wsFrame(slot int32, c *conn, op websocket.Opcode, fin bool, payload []byte) {
	if c.wstart < c.wend && (fin || op.IsControl()) {
		c.queued++
		if int(c.queued) > w.opts.MessagesMax {
			logging.Debug(targetConn, "worker %d: conn %d: over --messages-max queued messages", w.idx, slot)
			w.closeConn(slot, c, true)
			return
		}
	}
	w.frame = websocket.AppendFrameHeader(w.frame[:0], fin, op, len(payload))
	w.iov = append(w.iov[:0], w.frame, payload)
	if w.write(slot, c, int64(len(payload))) {
		w.touchStream(slot)
	}
}

// wsRead turns client frames into packets while credits allow (§6.3), and
// while the handler takes packets: otherwise the frames wait unread
// (gates.go). Ping and pong payloads use credits like data (Pushpin
// returns them), and packets that cost no credit are counted (wsCtlBudget).
func (w *Worker) wsRead(slot int32, c *conn) {
	for i := 0; i < readBudget; {
		if g := w.streamBlocked(c.addr); g != 0 {
			w.wait(slot, g)
			return
		}
		if c.rstart == c.rend {
			got, closed := w.fill(slot, c)
			if !got && !closed && inputEnded(c) {
				w.clientGone(slot, c, "client closed without a close frame")
				return
			}
			if closed || !got {
				return
			}
			i++
			continue
		}
		buf := w.bufs.bytes(c.rbuf)[c.rstart:c.rend]
		limit := int(min(c.credits, int64(w.opts.BufferSize)))
		before := c.reader
		ev, n, err := c.reader.Next(buf, limit)
		if err != nil {
			w.wsProtocolError(slot, c, err)
			return
		}
		if n == 0 {
			if limit <= 0 && len(buf) > 0 {
				return // waiting for credits; the buffered bytes stay
			}
			got, closed := w.fill(slot, c)
			if !got && !closed && inputEnded(c) {
				w.clientGone(slot, c, "client closed inside a frame")
				return
			}
			if closed || !got {
				return
			}
			i++
			continue
		}
		if ev.Kind == websocket.EvNone { // a frame header: the payload follows
			c.rstart += int32(n)
			continue
		}
		o := w.resetOut(slot, c)
		cost, ctl := int64(len(ev.Payload)), false
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
		if ctl && wsCtlSpent(c) || cost > c.credits {
			// The handler has not spoken since the last wsCtlBudget
			// control packets, or has no credit for this payload: the
			// frame stays unread until it does (wsPacket queues us).
			c.reader.Unread(buf, n, ev, before)
			return
		}
		w.pktBuf = zhttp.AppendPacket(w.pktBuf[:0], o)
		if g := w.sendTo(c.addr, w.pktBuf); g != 0 {
			c.reader.Unread(buf, n, ev, before) // the frame stays in the read buffer
			w.wait(slot, g)
			return
		}
		c.outSeq++
		c.rstart += int32(n)
		c.credits -= cost
		if ctl {
			c.flags += 1 << wsCtlShift
		}
		if ev.Kind == websocket.EvClose {
			w.releaseRead(c)
			if c.state == stWsClosing {
				c.state = stWsFinished
				w.timers.Schedule(slot*timersPerConn+timerStream, w.now+wsCloseWaitTicks)
				w.finishIfDone(slot, c)
				return
			}
			// Wait for the handler's close, 5 s at most (§12 #12).
			c.state = stWsPeerClosed
			w.timers.Schedule(slot*timersPerConn+timerStream, w.now+wsCloseWaitTicks)
			return
		}
	}
	w.queue(slot, c)
}

var (
	contentTypeText   = []byte("text")
	contentTypeBinary = []byte("binary")
)

// wsProtocolError closes a connection whose client broke RFC 6455: a close
// frame with the error's code, a cancel to the handler (§4.6), and the TCP
// connection closed once the frame is written.
func (w *Worker) wsProtocolError(slot int32, c *conn, err error) {
	code := websocket.CloseProtocolError
	if pe, ok := err.(*websocket.ProtocolError); ok {
		code = pe.Code
	}
	logging.Debug(targetConn, "worker %d: conn %d: websocket protocol error: %v", w.idx, slot, err)
	w.cancel(slot, c)
	c.addr = w.dropAddr(c.addr)
	c.state = stWsFinished
	c.flags |= fRespLast
	w.timers.Schedule(slot*timersPerConn+timerStream, w.now+wsCloseWaitTicks)
	w.frame = websocket.AppendCloseFrame(w.frame[:0], code, nil)
	w.iov = append(w.iov[:0], w.frame)
	if w.write(slot, c, 0) {
		w.finishIfDone(slot, c)
	}
}
