package server

import (
	"github.com/condure-go/condure/http1"
	"github.com/condure-go/condure/internal/logging"
)

// The HTTP/1 connection cycle: an idle connection (no session) reads a
// request head; a parsed head (or a bad one) starts a session of the
// listener's kind; when its response is written the session is freed and
// the connection is idle again, or closes (§4.8).
//
//	idle ─► recvHeader ─► session (stream_http.go, req_http.go, ws.go) ─► finishIfDone ─► idle | close

// startIdle makes a connection idle: no session (any left is freed), no
// handler. While nothing of a head has arrived the connection is idle, and
// both the 60 s session timeout (§12 #2) and --stream-timeout bound it
// (§4.5; condure 1.9.1 closes an idle connection after --stream-timeout
// when that is shorter): one timer, due at the sooner of the two, is all an
// idle connection costs. Bytes of a head arm the inactivity timer (fill),
// and idleExpired then extends the idle timer to the full 60 s.
func (w *Worker) startIdle(cs int32, c *conn) {
	for c.sess != 0 {
		ss := c.sess - 1
		w.freeSession(c, ss, w.sessions.Get(ss))
	}
	c.flags &= connKeep
	if c.has(fReqConn) {
		// req mode: --req-timeout bounds the whole cycle from here to the
		// written response (§4.3).
		w.timers.Schedule(connTimer(cs, timerIdle), w.now+w.reqTicks)
	} else {
		w.timers.Schedule(connTimer(cs, timerIdle), w.now+min(w.sessionTicks, w.streamTicks()))
	}
	w.timers.Cancel(connTimer(cs, timerInact))
}

// recvHeader reads until a whole request head has arrived (§5.1), then
// starts its session.
func (w *Worker) recvHeader(cs int32, c *conn) {
	for i := 0; i < readBudget; i++ {
		if c.rstart < c.rend {
			buf := w.bufs.bytes(c.rbuf)[c.rstart:c.rend]
			if w.opts.HTTP2 && c.sess == 0 {
				if m, partial := isH2Preface(buf); m && !partial {
					w.startH2(cs, c)
					return
				} else if m {
					goto more // a prefix of the preface: it decides with more bytes
				}
			}
			n, err := http1.ParseRequest(buf, &w.req, w.opts.BufferSize)
			if err != nil || n > 0 {
				ss, s, ok := w.requestSession(cs, c)
				if !ok {
					w.closeConn(cs, c, false, CauseOther)
					return
				}
				switch {
				case err != nil:
					w.reject(ss, s, c, err)
				case s.kind == kindReq:
					w.startReqRequest(ss, s, c, n)
				default:
					w.startRequest(ss, s, c, n)
				}
				return
			}
		}
	more:
		got, closed := w.fill(cs, c)
		if closed {
			return
		}
		if !got {
			if c.rend-c.rstart >= int32(w.opts.BufferSize) {
				if ss, s, ok := w.requestSession(cs, c); ok {
					w.reject(ss, s, c, http1.ErrHeadTooLarge)
				} else {
					w.closeConn(cs, c, false, CauseOther)
				}
			} else if inputEnded(c) {
				// Every whole request that came before the FIN is served.
				w.closeConn(cs, c, false, CauseClientClose)
			}
			return
		}
	}
	w.queue(cs, c)
}

// requestSession returns the session for a request head just parsed: the
// one that waited for room to send it (gates.go), else a new one of the
// listener's kind. The session slab has a slot per connection, so it fails
// only if that is broken.
func (w *Worker) requestSession(cs int32, c *conn) (int32, *session, bool) {
	if ss, s, ok := w.connSession(c); ok {
		return ss, s, true
	}
	kind := kindStream
	if c.has(fReqConn) {
		kind = kindReq
	}
	return w.newSession(cs, c, kind)
}

// reject answers a request that cannot be served with the status its error
// maps to and closes (§12 #1).
func (w *Worker) reject(ss int32, s *session, c *conn, err error) {
	code, reason := http1.Status(err)
	logging.Debug(targetConn, "worker %d: conn %d: bad request: %v (%d)", w.idx, s.conn, err, code)
	w.respondError(ss, s, c, code, reason)
}

// respondError writes a response of the server's own and closes after it.
// A handler already involved is sent a cancel.
func (w *Worker) respondError(ss int32, s *session, c *conn, code int, reason string) {
	if s.addr != 0 && !s.isNew() {
		w.cancel(ss, s)
	}
	s.addr = w.dropAddr(s.addr)
	minor := int(s.minor)
	if s.isNew() {
		minor = 1
	}
	w.finishWith(ss, s, c, http1.AppendErrorResponse(w.head[:0], minor, code, reason))
}

// finishWith writes a complete response of the server's own and closes
// after it.
func (w *Worker) finishWith(ss int32, s *session, c *conn, resp []byte) {
	w.mOwnResponse(ss, s, c, resp)
	s.toRespond()
	s.flags |= fRespStarted | fRespLast | fCloseAfter
	s.framing = framingNone
	w.iov = append(w.iov[:0], resp)
	if w.write(s.conn, c, w.iov) {
		w.finishIfDone(s.conn, c)
	}
}

func (w *Worker) dropAddr(a int32) int32 {
	w.addrs.unref(a)
	return 0
}

// finishIfDone ends the session's response once its last part is written:
// the connection closes or is idle again (§4.8). It returns false if the
// connection was closed.
func (w *Worker) finishIfDone(cs int32, c *conn) bool {
	if c.has(fH2) {
		return w.conns.InUse(cs) // h2Written did what there was to do
	}
	_, s, ok := w.connSession(c)
	if !ok {
		return true
	}
	if s.kind == kindWS && s.ws() == wsFinished && c.wstart == c.wend {
		s.addr = w.dropAddr(s.addr)
		w.closeConn(cs, c, false, CauseDone)
		return false
	}
	if !s.has(fRespLast) || c.wstart < c.wend || !s.responding() {
		return true
	}
	if s.has(fCloseAfter) || !s.has(fReqDone) || w.draining {
		s.addr = w.dropAddr(s.addr)
		w.closeConn(cs, c, false, CauseDone)
		return false
	}
	w.startIdle(cs, c)
	if c.rstart < c.rend || c.has(fCanRead) || c.has(fTLS) || c.has(fPeerFin) {
		w.queue(cs, c) // pipelined request already here (or inside crypto/tls), or the FIN to act on
	}
	return true
}

// idleExpired: the connection's idle timer fired. Between requests that is
// the idle keep-alive limit (§4.5, §12 #1, #2); during a TLS handshake its
// 10 s; in req mode --req-timeout (§4.3).
func (w *Worker) idleExpired(cs int32, c *conn) {
	if c.has(fH2) {
		w.h2IdleExpired(cs, c)
		return
	}
	ss, s, has := w.connSession(c)
	switch {
	case c.has(fHandshake):
		logging.Debug(targetConn, "worker %d: conn %d: tls handshake timed out", w.idx, cs)
		w.closeConn(cs, c, false, CauseTLSTimeout)
	case has && s.kind == kindReq && s.req() == reqAwait:
		logging.Debug(targetConn, "worker %d: conn %d: req timeout", w.idx, cs)
		w.m.mCause(cs, CauseReqTimeout)
		w.respondError(ss, s, c, 504, "Gateway Timeout")
	case has && (w.bp.on[ss] == gateOut || w.bp.on[ss] == gateReq):
		// A whole request, but no handler took it in all that time.
		logging.Debug(targetConn, "worker %d: conn %d: no handler took the request", w.idx, cs)
		w.unwait(ss)
		w.respondError(ss, s, c, 503, "Service Unavailable")
	case !has && w.headArriving(cs, c):
		// The idle deadline was --stream-timeout, but a head is arriving:
		// the inactivity timer watches its pace now, and the idle timer
		// runs on to 60 s after the connection became idle.
		c.flags |= fHeadExtended
		w.timers.Schedule(connTimer(cs, timerIdle), w.now+w.sessionTicks-w.streamTicks())
	case !has || s.isNew() || (s.kind == kindReq && s.req() == reqBody):
		w.closeConn(cs, c, false, CauseIdleTimeout)
	case !s.has(fRespStarted):
		logging.Debug(targetConn, "worker %d: conn %d: handler timed out", w.idx, cs)
		w.respondError(ss, s, c, 504, "Gateway Timeout")
	default:
		w.closeConn(cs, c, true, CauseHandlerTimeout)
	}
}

// headArriving reports whether the idle timer that fired was the
// shortened idle deadline of startIdle while bytes of a head have arrived
// since (they armed the inactivity timer).
func (w *Worker) headArriving(cs int32, c *conn) bool {
	return !c.has(fReqConn) && !c.has(fHeadExtended) && w.streamTicks() < w.sessionTicks &&
		w.timers.Armed(connTimer(cs, timerInact))
}

// sessionExpired: the handler said nothing to the session for 60 s (§4.5).
func (w *Worker) sessionExpired(ss int32) {
	if !w.sessions.InUse(ss) {
		return
	}
	s := w.sessions.Get(ss)
	c := w.conns.Get(s.conn)
	if s.kind == kindH2 {
		w.h2SessionExpired(ss, s, c)
		return
	}
	if s.kind == kindWS && c.has(fH2) {
		w.h2wsExpired(ss, s, c)
		return
	}
	w.m.mCause(s.conn, CauseHandlerTimeout)
	if !s.has(fRespStarted) {
		logging.Debug(targetConn, "worker %d: conn %d: handler timed out", w.idx, s.conn)
		w.respondError(ss, s, c, 504, "Gateway Timeout")
		return
	}
	w.closeConn(s.conn, c, true, CauseHandlerTimeout)
}
