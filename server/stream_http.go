package server

import (
	"bytes"

	"github.com/condure-go/condure/http1"
	"github.com/condure-go/condure/internal/logging"
	"github.com/condure-go/condure/zhttp"
)

// The stream-mode HTTP session (reference.md §4.1), phases streamPhase
// (phases.go). One function per step:
//
//	new ─ startRequest ─► await-handler ─ streamPacket ─► recv-body ─ forwardBody ─► await-response ─ startResponse ─► send-body ─ writeBody … ─► finishIfDone (h1conn.go)
//	                                                  └──────────── (no body) ─────┘
//
// Client input enters through advance (transport.go), handler packets
// through handlerPacket (session.go) then streamPacket, the handler-silence
// timer through sessionExpired (h1conn.go).

var continue100 = []byte("HTTP/1.1 100 Continue\r\n\r\n")

// startRequest turns a parsed head into the request packet (§3.2) and sends
// it through PUSH. When PUSH has no room the head stays unread in the read
// buffer and the connection waits (gates.go); it is parsed again then.
func (w *Worker) startRequest(ss int32, s *session, c *conn, n int) {
	req := &w.req
	if req.Upgrade {
		w.startWebSocket(ss, s, c, n)
		return
	}
	saved := *s // restored when PUSH has no room: the request stays unread
	o, ok := w.requestOut(ss, s, c, req, w.listeners[c.listener].scheme)
	if !ok {
		return
	}
	s.minor = uint8(req.Minor)
	if req.KeepAlive {
		s.flags |= fKeepAlive
	}
	if string(req.Method) == "HEAD" {
		s.flags |= fHead
	}
	hasBody := req.Chunked || req.ContentLength > 0
	if req.Chunked {
		s.flags |= fChunkedReq
		s.chunk.Reset()
	} else if req.ContentLength > 0 {
		s.bodyLeft = req.ContentLength
	}
	if !hasBody {
		s.flags |= fReqDone
	} else if req.Expect100 {
		s.flags |= fExpect100
	}

	o.Credits = w.opts.BufferSize
	o.More = hasBody
	o.Stream = true
	w.pktBuf = zhttp.AppendPacket(w.pktBuf[:0], o)
	if !w.sendRequest(w.pktBuf) {
		*s = saved
		w.waitRequest(ss, c, gateOut)
		return
	}
	s.outSeq = 1

	c.rstart += int32(n)
	w.releaseRead(c)
	s.toStream(streamAwaitHandler)
	w.requestSent(ss, c)
	w.touchStream(s.conn, c)
}

// requestOut starts a new session id for the parsed request and prepares
// w.out with what every request packet carries (§3.2): from, id, seq 0,
// method, uri (built with scheme), headers, and the peer address. It answers
// the client itself and returns false when the URI is too long.
func (w *Worker) requestOut(ss int32, s *session, c *conn, req *http1.Request, scheme string) (*zhttp.Out, bool) {
	uri, err := http1.AppendURI(w.uri[:0], scheme, req.Host, req.Target)
	if err != nil {
		w.reject(ss, s, c, err)
		return nil, false
	}
	w.uri = uri
	s.idCounter = w.idCounter
	w.idCounter++
	s.outSeq = 0
	o := w.resetOut(ss, s)
	o.Method = req.Method
	o.URI = uri
	o.Headers = req.Headers
	if c.has(fHasPeer) {
		w.peer = c.appendPeerIP(w.peer[:0])
		o.PeerAddress = w.peer
		o.PeerPort = int(c.peerPort)
	}
	if logging.Enabled(logging.LevelDebug) {
		logging.Debug(targetConn, "conn %s: request: %s %s", o.ID, req.Method, uri)
	}
	return o, true
}

// requestSent: the session's request went out: the handler's silence is
// timed now, not the connection's idleness.
func (w *Worker) requestSent(ss int32, c *conn) {
	w.mRequest(ss, c)
	s := w.sessions.Get(ss)
	w.timers.Cancel(connTimer(s.conn, timerIdle))
	w.timers.Schedule(w.sessTimer(ss), w.now+w.sessionTicks)
	w.touchStream(s.conn, c)
}

// resetOut prepares w.out for a packet of session ss with the next seq.
func (w *Worker) resetOut(ss int32, s *session) *zhttp.Out {
	o := &w.out
	*o = zhttp.Out{From: w.instance, ID: w.appendID(ss, s), Seq: s.outSeq}
	return o
}

// sendTyped sends a typed packet (credit, handoff-proceed) to the session's
// handler. It returns 0, or the gate that refused it (nothing sent).
func (w *Worker) sendTyped(ss int32, s *session, t zhttp.PacketType, credits int) int32 {
	if s.addr == 0 {
		return 0
	}
	if g := w.streamBlocked(s.addr); g != 0 {
		return g
	}
	o := w.resetOut(ss, s)
	o.Type = t
	o.Credits = credits
	w.pktBuf = zhttp.AppendPacket(w.pktBuf[:0], o)
	if g := w.sendTo(s.addr, w.pktBuf); g != 0 {
		return g
	}
	s.outSeq++
	return 0
}

// streamPacket applies a handler packet to a stream-mode session; the
// common checks are done (handlerPacket).
func (w *Worker) streamPacket(ss int32, s *session, c *conn, p *zhttp.Packet, id *zhttp.IDSeq) {
	if s.stream() == streamAwaitHandler {
		// First handler packet: the body may flow now (§5.5).
		if s.has(fReqDone) {
			s.toStream(streamAwaitResponse)
		} else {
			s.toStream(streamRecvBody)
			if s.has(fExpect100) && s.minor == 1 {
				s.flags &^= fExpect100
				w.iov = append(w.iov[:0], continue100)
				if !w.write(s.conn, c, w.iov) {
					return
				}
			}
		}
	}
	switch p.Type {
	case zhttp.TypeData:
		if s.stream() == streamSendBody {
			w.writeBody(ss, s, c, nil, p.Body, !p.More)
			return
		}
		w.startResponse(ss, s, c, p)
		return
	case zhttp.TypeCredit, zhttp.TypeKeepAlive:
	case zhttp.TypeCancel, zhttp.TypeError:
		logging.Debug(targetConn, "conn %s: handler %s", id.ID, typeLabel(p.Type))
		w.m.mCause(s.conn, CauseHandlerCancel)
		s.addr = w.dropAddr(s.addr) // no cancel back (§4.6)
		if !s.has(fRespStarted) {
			w.respondError(ss, s, c, 502, "Bad Gateway")
			return
		}
		w.closeConn(s.conn, c, false, CauseHandlerCancel)
		return
	case zhttp.TypeHandoffStart:
		s.flags |= fHandoffPending
		if c.wstart == c.wend {
			w.proceedHandoff(ss, s)
		}
		return
	default: // close, ping, pong, handoff-proceed: not valid on HTTP
		w.violation(ss, s, c, "unexpected packet type")
		return
	}
	if s.stream() == streamRecvBody {
		w.forwardBody(ss, s, c)
	}
}

func typeLabel(t zhttp.PacketType) string {
	if t == zhttp.TypeData {
		return "(data)"
	}
	return zhttp.TypeName(t)
}

// violation ends a session whose handler broke the protocol: the client
// connection is closed and no cancel is sent (§3.6). On HTTP/2 only the
// stream ends (RST_STREAM INTERNAL_ERROR): the connection's other streams
// belong to other sessions.
func (w *Worker) violation(ss int32, s *session, c *conn, why string) {
	if c.has(fH2) { // one stream of many: only it ends
		cs := s.conn
		w.h2Violation(ss, s, c, why)
		w.h2Flush(cs, c)
		return
	}
	logging.Debug(targetConn, "worker %d: conn %d: handler protocol violation: %s", w.idx, s.conn, why)
	s.addr = w.dropAddr(s.addr)
	w.closeConn(s.conn, c, false, CauseHandlerProtocol)
}

// proceedHandoff answers handoff-start once pending writes are flushed and
// pauses the session (§4.7).
func (w *Worker) proceedHandoff(ss int32, s *session) {
	if g := w.sendTyped(ss, s, zhttp.TypeHandoffProceed, 0); g != 0 {
		w.wait(ss, g) // still pending: the gate runs it again
		return
	}
	s.flags &^= fHandoffPending
	s.pause()
}

// forwardBody sends request body bytes to the handler while it has credits,
// at most --buffer-size per packet (§4.2), and while the handler takes
// packets: otherwise the body waits unread (gates.go).
func (w *Worker) forwardBody(ss int32, s *session, c *conn) {
	for i := 0; i < readBudget; {
		if s.credits <= 0 {
			return // no read at all without credits (condure ≥1.7)
		}
		if g := w.streamBlocked(s.addr); g != 0 {
			w.wait(ss, g)
			return
		}
		if c.rstart == c.rend {
			got, closed := w.fill(s.conn, c)
			if !got && !closed && inputEnded(c) {
				w.clientGone(s.conn, c, "client closed before the end of the request body")
				return
			}
			if closed || !got {
				return
			}
			i++
			continue
		}
		saved, savedC := *s, *c // undone if the handler does not take the packet
		limit := min(s.credits, int64(w.opts.BufferSize))
		buf := w.bufs.bytes(c.rbuf)
		var body []byte
		done := false
		if s.has(fChunkedReq) {
			w.scratch = w.scratch[:0]
			for int64(len(w.scratch)) < limit && c.rstart < c.rend {
				in := buf[c.rstart:c.rend]
				if room := limit - int64(len(w.scratch)); int64(len(in)) > room {
					in = in[:room] // data is a view of in, so it stays within credits
				}
				n, data, end, err := s.chunk.Decode(in)
				if err != nil {
					w.reject(ss, s, c, err)
					return
				}
				w.scratch = append(w.scratch, data...)
				c.rstart += int32(n)
				if end {
					done = true
					break
				}
				if n == 0 {
					break
				}
			}
			body = w.scratch
		} else {
			n := min(int64(c.rend-c.rstart), s.bodyLeft, limit)
			body = buf[c.rstart : int64(c.rstart)+n]
			c.rstart += int32(n)
			s.bodyLeft -= n
			done = s.bodyLeft == 0
		}
		if len(body) > 0 || done {
			o := w.resetOut(ss, s)
			o.Body = body
			o.More = !done
			w.pktBuf = zhttp.AppendPacket(w.pktBuf[:0], o)
			if g := w.sendTo(s.addr, w.pktBuf); g != 0 {
				*s, *c = saved, savedC // the bytes stay in the read buffer
				w.wait(ss, g)
				return
			}
			s.credits -= int64(len(body))
			s.outSeq++
		}
		if done {
			s.flags |= fReqDone
			s.toStream(streamAwaitResponse)
			w.releaseRead(c)
			return
		}
	}
	w.queue(s.conn, c)
}

// startResponse writes the response head and the first body part (§5.3).
func (w *Worker) startResponse(ss int32, s *session, c *conn, p *zhttp.Packet) {
	if !s.has(fReqDone) && !w.discardBody(s, c) {
		// Early response with request body still unread: the connection
		// cannot be reused (§12 #8).
		s.flags |= fCloseAfter
	}
	if s.stream() == streamRecvBody {
		s.toStream(streamAwaitResponse)
	}
	code := p.Code
	if !p.HasCode || code < 200 || code > 999 {
		w.badResponse(ss, s, c, "invalid status code")
		return
	}
	if !http1.ValidHeaderValue(p.Reason) {
		w.badResponse(ss, s, c, "invalid reason")
		return
	}
	cl := int64(-1)
	for _, h := range p.Headers {
		if !http1.ValidHeaderName(h.Name) || !http1.ValidHeaderValue(h.Value) {
			w.badResponse(ss, s, c, "invalid header")
			return
		}
		if len(h.Name) == len("Content-Length") && bytes.EqualFold(h.Name, []byte("Content-Length")) {
			v, ok := parseDecimal(h.Value)
			if !ok {
				w.badResponse(ss, s, c, "invalid content-length")
				return
			}
			// RFC 9110 §8.6: repeats must agree (condure: the last wins).
			if cl >= 0 && v != cl {
				w.badResponse(ss, s, c, "conflicting content-length")
				return
			}
			cl = v
		}
	}
	rh := http1.ResponseHead{Minor: int(s.minor), Code: code, Reason: p.Reason, Headers: p.Headers}
	noBody := s.has(fHead) || code == 204 || code == 304
	switch {
	case cl >= 0:
		rh.Framing, rh.ContentLength = http1.FramingLength, cl
		s.framing, s.respLeft = framingLength, cl
		if code == 204 || code == 304 {
			rh.Framing = http1.FramingNone
		}
	case noBody:
		rh.Framing = http1.FramingNone
	case !p.More:
		rh.Framing, rh.ContentLength = http1.FramingLength, int64(len(p.Body))
		s.framing, s.respLeft = framingLength, int64(len(p.Body))
	case s.minor >= 1:
		rh.Framing = http1.FramingChunked
		s.framing = framingChunked
	default:
		// HTTP/1.0 client, length unknown: the body ends at close (§12 #6).
		rh.Framing = http1.FramingNone
		s.framing = framingClose
		s.flags |= fCloseAfter
	}
	if noBody {
		s.framing, s.respLeft = framingNone, 0
	}
	rh.Close = s.has(fCloseAfter) || !s.has(fKeepAlive) || w.draining
	if rh.Close {
		s.flags |= fCloseAfter
	}
	s.toStream(streamSendBody)
	s.flags |= fRespStarted
	w.mResponse(ss, c, code)
	w.head = http1.AppendResponseHead(w.head[:0], &rh)
	w.writeBody(ss, s, c, w.head, p.Body, !p.More)
}

// discardBody drops a request body that is already buffered in full, so an
// early response can keep the connection alive. It reports success.
func (w *Worker) discardBody(s *session, c *conn) bool {
	if c.rbuf == 0 {
		return false
	}
	buf := w.bufs.bytes(c.rbuf)
	if s.has(fChunkedReq) {
		for c.rstart < c.rend {
			n, _, end, err := s.chunk.Decode(buf[c.rstart:c.rend])
			if err != nil {
				return false
			}
			c.rstart += int32(n)
			if end {
				s.flags |= fReqDone
				return true
			}
			if n == 0 {
				break
			}
		}
		return false
	}
	if int64(c.rend-c.rstart) >= s.bodyLeft {
		c.rstart += int32(s.bodyLeft)
		s.bodyLeft = 0
		s.flags |= fReqDone
		return true
	}
	return false
}

// badResponse handles a response the server refuses to pass on (§12 #10).
func (w *Worker) badResponse(ss int32, s *session, c *conn, why string) {
	w.m.mCause(s.conn, CauseHandlerProtocol)
	w.badResponseLog(s.conn, why)
	w.respondError(ss, s, c, 502, "Bad Gateway")
}

func parseDecimal(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 18 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// maxChunk is the largest chunk condure writes (§5.3).
const maxChunk = 0xffff

// coalesceMax: a body up to this long is copied after the response head, so
// the two go out as one buffer; copying it costs less than the kernel's
// handling of a second iovec.
const coalesceMax = 2048

// writeBody writes head (if any) and one body part with the response's
// framing; last ends the body.
func (w *Worker) writeBody(ss int32, s *session, c *conn, head, body []byte, last bool) {
	credit := len(body)
	switch s.framing {
	case framingNone:
		body = nil
	case framingLength:
		if int64(len(body)) > s.respLeft {
			body = body[:s.respLeft] // never more than the declared length (§12 #7)
		}
		s.respLeft -= int64(len(body))
	}
	w.iov = w.iov[:0]
	if len(head) > 0 {
		w.iov = append(w.iov, head)
	}
	if s.framing == framingChunked {
		need := (len(body)/maxChunk+1)*8 + len(http1.LastChunk)
		if cap(w.frame) < need {
			w.frame = make([]byte, 0, need)
		}
		w.frame = w.frame[:0]
		for len(body) > 0 {
			n := min(len(body), maxChunk)
			start := len(w.frame)
			w.frame = http1.AppendChunkHeader(w.frame, n)
			w.iov = append(w.iov, w.frame[start:], body[:n], http1.ChunkTrailer)
			body = body[n:]
		}
		if last {
			w.iov = append(w.iov, http1.LastChunk)
		}
	} else if len(body) > 0 {
		if len(head) > 0 && len(body) <= coalesceMax && len(body) <= cap(head)-len(head) {
			// One buffer: the socket write takes it without an iovec
			// array (reactor.Writer.Sendv).
			head = append(head, body...)
			w.iov[0] = head
		} else {
			w.iov = append(w.iov, body)
		}
	}
	if last {
		s.flags |= fRespLast
		credit = 0 // no credit follows the final write (§4.2)
		if s.framing == framingLength && s.respLeft > 0 {
			s.flags |= fCloseAfter // handler ended short of its Content-Length
		}
	}
	s.owed += int64(credit)
	if !w.write(s.conn, c, w.iov) {
		return
	}
	w.touchStream(s.conn, c)
	w.finishIfDone(s.conn, c)
}

// sessionWritten runs when all output so far has reached the socket: credits go
// back to the handler and a pending handoff proceeds. When the handler
// takes no packet now, the credits add up in s.owed until it does.
func (w *Worker) sessionWritten(ss int32, s *session) {
	s.queued = 0
	if s.owed > 0 && !s.has(fRespLast) {
		if g := w.sendTyped(ss, s, zhttp.TypeCredit, int(s.owed)); g != 0 {
			w.wait(ss, g)
			return
		}
	}
	s.owed = 0
	if s.has(fHandoffPending) {
		w.proceedHandoff(ss, s)
	}
}
