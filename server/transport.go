package server

import (
	"io"
	"net/netip"

	"golang.org/x/sys/unix"

	"github.com/condure-go/condure/http2"
	"github.com/condure-go/condure/internal/logging"
	"github.com/condure-go/condure/reactor"
)

// The transport: a client connection's socket, its readiness, its read
// and write buffers, TLS and its two timers. Sessions call it with what
// they write; it calls them back when output is written (sessionWritten)
// and when input may be read (advance).

// newConn takes an accepted socket into a slot.
func (w *Worker) newConn(fd int, peer netip.AddrPort, li int) {
	cs, gen, ok := w.conns.Alloc()
	if !ok {
		w.fx.closeFd(fd)
		return
	}
	c := w.conns.Get(cs)
	c.fd = int32(fd)
	c.listener = uint8(li)
	c.storePeer(peer)
	m := w.listeners[li].mode()
	if m == modeReq {
		c.flags |= fReqConn
	}
	w.open[m]++
	if err := w.fx.watch(fd, connTag(cs, gen)); err != nil {
		w.epollAddError(err)
		w.fx.closeFd(fd)
		w.conns.Free(cs)
		w.released(m)
		return
	}
	w.mAccepted(cs, li)
	if logging.Enabled(logging.LevelDebug) {
		logging.Debug(targetConn, "worker %d: conn %d: accepted fd %d", w.idx, cs, fd)
	}
	if w.listeners[li].tls != nil {
		w.acceptTLS(cs, c)
		return
	}
	w.startIdle(cs, c)
}

// connEvent handles epoll readiness of a client socket.
func (w *Worker) connEvent(tag uint64, events uint32) {
	cs := int32(uint32(tag))
	if !w.conns.InUse(cs) || w.conns.Gen(cs)&0xffffff != uint32(tag>>32)&0xffffff {
		return // event for a connection closed earlier in this batch
	}
	c := w.conns.Get(cs)
	if events&(reactor.EvErr|reactor.EvHup) != 0 {
		// A reset (or a unix-socket peer's close): the client is gone,
		// noticed at once and the handler told (§12 #3).
		w.clientGone(cs, c, "client reset")
		return
	}
	if events&reactor.EvIn != 0 {
		c.flags |= fCanRead
	}
	if events&reactor.EvRdHup != 0 && !c.has(fPeerFin) {
		c.flags |= fPeerFin
		if logging.Enabled(logging.LevelDebug) {
			logging.Debug(targetConn, "worker %d: conn %d: client FIN", w.idx, cs)
		}
		if w.finIsAbort(c) {
			w.clientGone(cs, c, "client closed")
			return
		}
		if w.finWhileWaiting(c) {
			return
		}
	}
	if c.has(fHandshake) {
		if events&reactor.EvOut != 0 && c.wstart < c.wend && !w.flush(cs, c) {
			return
		}
		if events&reactor.EvIn != 0 {
			w.handshakeInput(cs, c)
		}
		return
	}
	if events&reactor.EvOut != 0 && c.wstart < c.wend {
		if !w.flush(cs, c) {
			return
		}
	}
	w.advance(cs, c)
}

// A FIN from the client (EPOLLRDHUP, or a read of 0) says it will send
// nothing more, not that it stopped reading: scripts, `nc -N` and HTTP/1.0
// tools send a request and half-close at once. So the bytes that came with
// the FIN are read and served (pipelined requests included), the response
// is written, and the connection closes when the input is used up; a FIN
// before a request or a body is complete ends the connection (with a
// cancel if the handler is known). A client that really left is noticed
// when the kernel says so (RST: EPOLLERR/EPOLLHUP) or a write fails, which
// the first response write after a close() brings about.

// finIsAbort reports whether a FIN arriving now ends the connection at
// once: it does while a handler is still streaming a response, where a
// half-close is not how clients behave (they half-close right after the
// request) but a browser leaving an event stream is, and waiting for the
// next write could keep a dead session for as long as the handler stays
// quiet.
func (w *Worker) finIsAbort(c *conn) bool {
	if c.has(fH2) {
		return true // HTTP/2 clients close with GOAWAY; a FIN mid-stream is a client gone
	}
	_, s, ok := w.connSession(c)
	return ok && s.responding() && !s.has(fRespLast)
}

// inputEnded reports whether fill read the client's FIN: no more input.
func inputEnded(c *conn) bool { return c.has(fPeerFin) && !c.has(fCanRead) }

// advance lets the connection's session do whatever its phase allows with
// client input; with no session, a request head is read. A session
// waiting for room to send is not read (gates.go).
func (w *Worker) advance(cs int32, c *conn) {
	if c.has(fHandshake) {
		return // the handshake reads for itself (tls_handshake.go)
	}
	if c.has(fH2) {
		w.h2(c).flags &^= h2fBlocked // what held it may have moved: h2Read says again
		if !w.h2wsPump(cs, c) {
			return
		}
		w.h2Read(cs, c)
		return
	}
	ss, s, ok := w.connSession(c)
	if !ok {
		w.recvHeader(cs, c)
		return
	}
	if w.waiting(ss) {
		return
	}
	switch {
	case s.isNew(): // its request waited for room to send: parsed again
		w.recvHeader(cs, c)
	case s.kind == kindStream && s.stream() == streamRecvBody:
		w.forwardBody(ss, s, c)
	case s.kind == kindReq && s.req() == reqBody:
		w.readReqBody(ss, s, c)
	case s.kind == kindWS && (s.ws() == wsOpen || s.ws() == wsClosing):
		w.wsRead(ss, s, c)
	}
}

// fill reads from the socket into the connection's read block. It returns
// false when nothing more can be read now (EAGAIN, buffer full, or the
// client's FIN: then inputEnded is true) and closes the connection on a read
// error (closed reports that).
func (w *Worker) fill(cs int32, c *conn) (got bool, closed bool) {
	if !c.has(fCanRead) && !c.has(fTLS) { // crypto/tls may hold plaintext
		w.releaseRead(c) // nothing to read: an idle connection keeps no buffer
		return false, false
	}
	if c.rbuf == 0 {
		c.rbuf = w.bufs.get(w.opts.BufferSize)
		c.rstart, c.rend = 0, 0
	}
	buf := w.bufs.bytes(c.rbuf)
	if c.rstart > 0 && c.rstart == c.rend {
		c.rstart, c.rend = 0, 0
	} else if c.rstart > 0 && int(c.rend) == len(buf) {
		n := copy(buf, buf[c.rstart:c.rend])
		c.rstart, c.rend = 0, int32(n)
	}
	if int(c.rend) == len(buf) {
		return false, false
	}
	var n int
	var err error
	if c.has(fTLS) {
		n, err = w.readTLS(cs, c, buf[c.rend:])
	} else {
		n, err = w.fx.read(int(c.fd), buf[c.rend:])
	}
	if err == unix.EAGAIN {
		c.flags &^= fCanRead
		w.releaseRead(c)
		return false, false
	}
	if (err == nil && n == 0) || err == io.EOF || (err == io.ErrUnexpectedEOF && c.has(fTLS)) {
		// FIN, or TLS close_notify (a FIN without it is fine for HTTP).
		c.flags |= fPeerFin
		c.flags &^= fCanRead
		w.releaseRead(c)
		return false, false
	}
	if err != nil {
		if c.has(fTLS) {
			w.clientGone(cs, c, "tls: "+err.Error()) // a bad record or an alert
		} else {
			w.clientGone(cs, c, "read error")
		}
		return false, true
	}
	c.rend += int32(n)
	if int(c.rend) < len(buf) && !c.has(fTLS) && !c.has(fPeerFin) {
		// A short read drained the socket: data arriving later raises a new
		// edge, so the EAGAIN read that would confirm it is skipped (after
		// a FIN no edge would come: the read of 0 is still to be done).
		c.flags &^= fCanRead
	}
	w.touchStream(cs, c)
	return true, false
}

// releaseRead returns an empty read block to the pool.
func (w *Worker) releaseRead(c *conn) {
	if c.rbuf != 0 && c.rstart == c.rend {
		w.bufs.put(c.rbuf)
		c.rbuf, c.rstart, c.rend = 0, 0, 0
	}
}

// touchStream restarts the client inactivity timer (--stream-timeout,
// §4.5). req mode has none: --req-timeout bounds its whole cycle (§4.3;
// condure 1.9.1 answers a req-mode request after more than --stream-timeout).
func (w *Worker) touchStream(cs int32, c *conn) {
	if c.has(fReqConn) {
		return
	}
	if c.has(fCloseWait) {
		return // the close handshake has its own 5 s bound
	}
	w.timers.Schedule(connTimer(cs, timerInact), w.now+w.streamTicks())
}

func (w *Worker) streamTicks() uint64 { return uint64(w.opts.StreamTimeout / tickDur) }

// write sends bufs to the client: straight to the socket when nothing is
// pending, the rest copied into the connection's write block. It returns
// false if the connection was closed.
func (w *Worker) write(cs int32, c *conn, bufs [][]byte) bool {
	if c.has(fTLS) {
		var err error
		if bufs, err = w.encryptTLS(cs, bufs); err != nil {
			w.clientGone(cs, c, "tls write: "+err.Error())
			return false
		}
	}
	return w.writeRaw(cs, c, bufs)
}

// writeRaw is write for bytes that go on the socket as they are.
func (w *Worker) writeRaw(cs int32, c *conn, bufs [][]byte) bool {
	if c.wstart == c.wend {
		n, err := w.fx.writev(int(c.fd), bufs)
		if err != nil && err != unix.EAGAIN {
			w.clientGone(cs, c, "write error")
			return false
		}
		bufs = reactor.Advance(bufs, max(n, 0)) // a new slice header: the caller's keeps its capacity
	}
	total := 0
	for _, b := range bufs {
		total += len(b)
	}
	if total == 0 {
		w.written(cs, c)
		return true
	}
	// Keep the rest: the handler may only send what the credits allow, so
	// the block holds the credits plus their framing plus the head.
	if int(c.wend-c.wstart)+total > w.opts.BufferSize*(1+maxFramingPerByte)+writeSlack {
		if c.has(fH2) {
			// HTTP/2: the streams' response HEADERS are not bound by
			// credits; many of them to a client that does not read.
			w.h2BadPeerLog(cs, http2.ErrEnhanceYourCalm, "client does not read its responses")
			w.closeConn(cs, c, true, CauseMessagesMax)
			return false
		}
		logging.Debug(targetConn, "worker %d: conn %d: write buffer overflow (handler ignored credits)", w.idx, cs)
		w.closeConn(cs, c, true, CauseHandlerProtocol)
		return false
	}
	w.appendWrite(c, bufs, total)
	return true
}

// appendWrite copies bufs (total bytes) after the pending output.
func (w *Worker) appendWrite(c *conn, bufs [][]byte, total int) {
	pending := int(c.wend - c.wstart)
	if c.wbuf == 0 {
		c.wbuf = w.bufs.get(total)
		c.wstart, c.wend = 0, 0
	}
	buf := w.bufs.bytes(c.wbuf)
	if int(c.wend)+total > len(buf) {
		if pending+total > len(buf) {
			nb := w.bufs.get(pending + total)
			copy(w.bufs.bytes(nb), buf[c.wstart:c.wend])
			w.bufs.put(c.wbuf)
			c.wbuf = nb
			buf = w.bufs.bytes(nb)
		} else {
			copy(buf, buf[c.wstart:c.wend])
		}
		c.wstart, c.wend = 0, int32(pending)
	}
	for _, b := range bufs {
		c.wend += int32(copy(buf[c.wend:], b))
	}
}

// flush writes pending output on EPOLLOUT. It returns false if the
// connection was closed.
func (w *Worker) flush(cs int32, c *conn) bool {
	buf := w.bufs.bytes(c.wbuf)
	w.iov = append(w.iov[:0], buf[c.wstart:c.wend])
	n, err := w.fx.writev(int(c.fd), w.iov)
	if err == unix.EAGAIN {
		return true
	}
	if err != nil {
		w.clientGone(cs, c, "write error")
		return false
	}
	c.wstart += int32(n)
	w.touchStream(cs, c)
	if c.wstart < c.wend {
		return true
	}
	w.bufs.put(c.wbuf)
	c.wbuf, c.wstart, c.wend = 0, 0, 0
	w.written(cs, c)
	return w.finishIfDone(cs, c)
}

// written runs when all output so far has reached the socket: each
// session of the connection is told (sessionWritten).
func (w *Worker) written(cs int32, c *conn) {
	if c.has(fH2) {
		w.h2Written(cs, c)
		return
	}
	if ss, s, ok := w.connSession(c); ok {
		w.sessionWritten(ss, s)
	}
}

// clientGone ends a connection whose client went away; the handlers of its
// sessions, where known, get a cancel (§4.6).
func (w *Worker) clientGone(cs int32, c *conn, why string) {
	if logging.Enabled(logging.LevelDebug) {
		logging.Debug(targetConn, "worker %d: conn %d: %s", w.idx, cs, why)
	}
	w.closeConn(cs, c, true, CauseClientClose)
}

// closeConn closes the client socket and frees the slot and its sessions;
// cancel sends a cancel to each session's handler where one is known. The
// one place a connection ends. cause (a Cause, metrics.go) is why; a cause
// recorded earlier for the connection (w.m.mCause: a 504, a handler cancel
// answered with 502 ...) takes precedence in the metrics.
func (w *Worker) closeConn(cs int32, c *conn, cancel bool, cause uint8) {
	if logging.Enabled(logging.LevelDebug) {
		logging.Debug(targetConn, "worker %d: conn %d: closed (%s)", w.idx, cs, CauseNames[cause])
	}
	w.m.mCause(cs, cause)
	w.mClosed(cs, c)
	for c.sess != 0 {
		ss := c.sess - 1
		s := w.sessions.Get(ss)
		w.unwait(ss)
		if cancel && s.addr != 0 && !s.isNew() {
			w.cancel(ss, s)
		}
		w.freeSession(c, ss, s)
	}
	if c.has(fTLS) {
		w.closeNotify(cs, c)
	}
	w.fx.closeFd(int(c.fd))
	w.bufs.put(c.rbuf)
	w.bufs.put(c.wbuf)
	if c.has(fTLS) {
		w.closeTLS(cs)
	}
	if c.has(fH2) {
		w.h2Release(c)
	}
	w.timers.Cancel(connTimer(cs, timerIdle))
	w.timers.Cancel(connTimer(cs, timerInact))
	w.conns.Free(cs)
	w.released(c.mode())
}

// connTimerFired: a connection's idle deadline (no session; or the
// req-mode cycle; or the TLS handshake) or its client inactivity timer.
func (w *Worker) connTimerFired(cs int32, kind int32) {
	if !w.conns.InUse(cs) {
		return
	}
	c := w.conns.Get(cs)
	if kind == timerInact {
		w.streamTimedOut(cs, c)
		return
	}
	w.idleExpired(cs, c)
}

// streamTimedOut: no client I/O for --stream-timeout, or a WebSocket
// client's close not answered by the handler within 5 s.
func (w *Worker) streamTimedOut(cs int32, c *conn) {
	if logging.Enabled(logging.LevelDebug) {
		what := "recv-header" // no session: between requests
		if _, s, ok := w.connSession(c); ok {
			what = s.phaseName()
		}
		logging.Debug(targetConn, "worker %d: conn %d: stream timeout (%s)", w.idx, cs, what)
	}
	w.closeConn(cs, c, true, CauseStreamTimeout)
}
