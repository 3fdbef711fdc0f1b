package server

import (
	"github.com/condure-go/condure/http1"
	"github.com/condure-go/condure/internal/logging"
	"github.com/condure-go/condure/zhttp"
)

// The req-mode HTTP session (reference.md §4.3): the whole request, body
// included, goes to a handler as one packet over the DEALER, and the one
// reply packet is the whole response.
//
//	new ─ startReqRequest ─► req-body ─ readReqBody ─ sendReqRequest ─► req-await ─ reqReply ─► send-body ─ writeBody ─► finishIfDone
//
// (reqPhase, phases.go; a request without a body goes from new to
// req-await at once.)
//
// --req-timeout bounds each cycle (startIdle arms it); a body larger than
// --body-buffer-size is refused with 413 at once (§12 #21).

// wsOnReq is the reference's exact answer to a WebSocket request on a req
// port (§5.7); %d is the HTTP minor version.
const wsOnReqBody = "WebSockets not supported on req mode interface.\n"

// startReqRequest handles a parsed head on a req-mode connection.
func (w *Worker) startReqRequest(ss int32, s *session, c *conn, n int) {
	saved, savedC := *s, *c // restored when the DEALER has no room: the request stays unread
	req := &w.req
	s.minor = uint8(req.Minor)
	if req.Upgrade {
		w.rejectWebSocketOnReq(ss, s, c)
		return
	}
	if req.KeepAlive {
		s.flags |= fKeepAlive
	}
	if string(req.Method) == "HEAD" {
		s.flags |= fHead
	}
	if req.ContentLength > int64(w.opts.BodyBufferSize) {
		w.tooLarge(ss, s, c)
		return
	}
	if req.Expect100 {
		// req mode answers 100 Continue as soon as the head is parsed (§5.5).
		w.iov = append(w.iov[:0], continue100)
		if !w.write(s.conn, c, w.iov) {
			return
		}
	}
	if !req.Chunked && req.ContentLength <= 0 {
		// No body: the packet is built straight from the parsed head.
		if !w.sendReqRequest(ss, s, c, req, nil) {
			*s, *c = saved, savedC
			w.waitRequest(ss, c, gateReq)
			return
		}
		c.rstart += int32(n)
		w.releaseRead(c)
		return
	}
	// Keep the head beside the body until the whole request is here.
	s.bbuf = w.bodyBufs.get(w.opts.BufferSize + w.opts.BodyBufferSize)
	buf := w.bodyBufs.bytes(s.bbuf)
	s.hlen = int32(copy(buf, w.bufs.bytes(c.rbuf)[c.rstart:int(c.rstart)+n]))
	s.blen = s.hlen
	c.rstart += int32(n)
	if req.Chunked {
		s.flags |= fChunkedReq
		s.chunk.Reset()
	} else {
		s.bodyLeft = req.ContentLength
	}
	s.toReq(reqBody)
	w.readReqBody(ss, s, c)
}

// readReqBody gathers the request body into the body block.
func (w *Worker) readReqBody(ss int32, s *session, c *conn) {
	if s.has(fReqDone) { // whole, waiting for room in the DEALER
		w.sendReqBody(ss, s, c)
		return
	}
	for i := 0; i < readBudget; {
		if c.rstart == c.rend {
			got, closed := w.fill(s.conn, c)
			if !got && !closed && inputEnded(c) {
				w.closeConn(s.conn, c, false, CauseClientClose) // the body will not be complete
				return
			}
			if closed || !got {
				return
			}
			i++
			continue
		}
		in := w.bufs.bytes(c.rbuf)[c.rstart:c.rend]
		body := w.bodyBufs.bytes(s.bbuf)
		done := false
		if s.has(fChunkedReq) {
			for len(in) > 0 {
				n, data, end, err := s.chunk.Decode(in)
				if err != nil {
					w.reject(ss, s, c, err)
					return
				}
				if int(s.blen-s.hlen)+len(data) > w.opts.BodyBufferSize {
					w.tooLarge(ss, s, c)
					return
				}
				s.blen += int32(copy(body[s.blen:], data))
				c.rstart += int32(n)
				in = in[n:]
				if end {
					done = true
					break
				}
				if n == 0 {
					break
				}
			}
		} else {
			n := int32(min(int64(len(in)), s.bodyLeft))
			s.blen += int32(copy(body[s.blen:], in[:n]))
			c.rstart += n
			s.bodyLeft -= int64(n)
			done = s.bodyLeft == 0
		}
		if done {
			w.releaseRead(c)
			w.sendReqBody(ss, s, c)
			return
		}
	}
	w.queue(s.conn, c)
}

// sendReqBody sends a request whose head and whole body are in the body
// block. When the DEALER has no room the block is kept (fReqDone marks it
// whole) and the connection waits.
func (w *Worker) sendReqBody(ss int32, s *session, c *conn) {
	body := w.bodyBufs.bytes(s.bbuf)
	head := body[:s.hlen]
	if _, err := http1.ParseRequest(head, &w.req, len(head)); err != nil {
		w.reject(ss, s, c, err) // cannot happen: it parsed before
		return
	}
	saved := *s
	if !w.sendReqRequest(ss, s, c, &w.req, body[s.hlen:s.blen]) {
		*s = saved
		s.flags |= fReqDone
		w.waitRequest(ss, c, gateReq)
		return
	}
	if !w.sessions.InUse(ss) {
		return // answered and closed (closeConn returned the block)
	}
	w.bodyBufs.put(s.bbuf)
	s.bbuf, s.blen, s.hlen = 0, 0, 0
}

// sendReqRequest sends the request packet (§3.2: no from, no seq, no
// credits) on the DEALER with the empty delimiter frame (§2.2). It returns
// false, having sent nothing, when the DEALER has no room.
func (w *Worker) sendReqRequest(ss int32, s *session, c *conn, req *http1.Request, body []byte) bool {
	o, ok := w.requestOut(ss, s, c, req, w.listeners[c.listener].scheme)
	if !ok {
		return true // answered
	}
	o.From, o.NoSeq, o.Body = nil, true, body
	w.pktBuf = zhttp.AppendPacket(w.pktBuf[:0], o)
	if !w.sendReq(w.pktBuf) {
		return false
	}
	s.flags |= fReqDone
	s.toReq(reqAwait)
	w.mRequest(ss, c)
	return true
}

// reqReply applies a handler reply to a req session: only a data packet
// counts; everything else is ignored (§3.4), and seq is not checked.
func (w *Worker) reqReply(ss int32, s *session, c *conn, p *zhttp.Packet) {
	if p.Type != zhttp.TypeData {
		return
	}
	code := p.Code
	if !p.HasCode || code < 200 || code > 999 || !http1.ValidHeaderValue(p.Reason) {
		w.badResponse(ss, s, c, "invalid status line")
		return
	}
	if !validHeaders(p.Headers) {
		w.badResponse(ss, s, c, "invalid header")
		return
	}
	// Content-Length is always the body's (the handler's own framing
	// headers are dropped), except where a status forbids a body.
	rh := http1.ResponseHead{Minor: int(s.minor), Code: code, Reason: p.Reason, Headers: p.Headers,
		Framing: http1.FramingLength, ContentLength: int64(len(p.Body))}
	if code == 204 || code == 304 {
		rh.Framing = http1.FramingNone
	}
	rh.Close = !s.has(fKeepAlive) || w.draining
	if rh.Close {
		s.flags |= fCloseAfter
	}
	s.framing, s.respLeft = framingLength, rh.ContentLength
	if code == 204 || code == 304 || s.has(fHead) {
		s.framing = framingNone
		if len(p.Body) > 0 {
			// The body is dropped but counted as owed: the connection
			// closes after the response, as it always has here.
			s.flags |= fCloseAfter
		}
	}
	s.flags |= fRespStarted
	s.toReq(reqSendBody)
	w.mResponse(ss, c, code)
	w.head = http1.AppendResponseHead(w.head[:0], &rh)
	w.writeBody(ss, s, c, w.head, p.Body, true)
}

// rejectWebSocketOnReq answers a WebSocket request on a req port exactly as
// the reference does (§5.7) and closes.
func (w *Worker) rejectWebSocketOnReq(ss int32, s *session, c *conn) {
	w.head = append(w.head[:0], "HTTP/1.0"...)
	if s.minor == 1 {
		w.head = append(w.head[:0], "HTTP/1.1"...)
	}
	w.head = append(w.head, " 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: 48\r\n\r\n"+wsOnReqBody...)
	w.finishWith(ss, s, c, w.head)
}

// tooLarge answers 413 for a body over --body-buffer-size (§12 #21).
func (w *Worker) tooLarge(ss int32, s *session, c *conn) {
	logging.Debug(targetConn, "worker %d: conn %d: request body over %d bytes", w.idx, s.conn, w.opts.BodyBufferSize)
	w.respondError(ss, s, c, 413, "Payload Too Large")
}
