package server

import (
	"bytes"
	"io"
	"net/netip"

	"golang.org/x/sys/unix"

	"github.com/condure-go/condure/http1"
	"github.com/condure-go/condure/internal/logging"
	"github.com/condure-go/condure/reactor"
	"github.com/condure-go/condure/zhttp"
)

// The stream-mode HTTP session (reference.md §4.1). One function per step:
//
//	recvHeader ─► startRequest ─► (first handler packet) ─► forwardBody ─► startResponse ─► writeBody … ─► finishResponse
//	                                                                                      └─ keep-alive: back to recvHeader with a new id
//
// Client readiness enters through connEvent, handler packets through
// handlerPacket, timers through sessionExpired and streamTimedOut.

// connFlags survive from one request to the next on a persistent connection.
const connFlags = fCanRead | fQueued | fPeerV6 | fHasPeer | fReq | fTLS | fPeerFin

var continue100 = []byte("HTTP/1.1 100 Continue\r\n\r\n")

// newConn takes an accepted socket into a slot.
func (w *Worker) newConn(fd int, peer netip.AddrPort, li int) {
	slot, gen, ok := w.conns.Alloc()
	if !ok {
		unix.Close(fd)
		return
	}
	c := w.conns.Get(slot)
	c.fd = int32(fd)
	c.listener = uint8(li)
	c.storePeer(peer)
	m := w.listeners[li].mode()
	if m == modeReq {
		c.flags |= fReq
	}
	w.open[m]++
	if err := w.poller.Add(fd, reactor.EvIn|reactor.EvOut|reactor.EvRdHup, connTag(slot, gen)); err != nil {
		w.epollAddError(err)
		unix.Close(fd)
		w.conns.Free(slot)
		w.released(m)
		return
	}
	if logging.Enabled(logging.LevelDebug) {
		logging.Debug(targetConn, "worker %d: conn %d: accepted fd %d", w.idx, slot, fd)
	}
	if w.listeners[li].tls != nil {
		w.acceptTLS(slot, c)
		return
	}
	w.startIdle(slot, c)
}

// startIdle puts a connection in stRecvHeader: a fresh session with no
// handler. While nothing of a head has arrived the connection is idle, and
// both the 60 s session timer (§12 #2) and --stream-timeout bound it
// (§4.5; condure 1.9.1 closes an idle connection after --stream-timeout
// when that is shorter): one timer, due at the sooner of the two, is all an
// idle connection costs. Bytes of a head arm the stream timer (fill), and
// sessionExpired then extends the session timer to the full 60 s.
func (w *Worker) startIdle(slot int32, c *conn) {
	w.unwait(slot)
	w.addrs.unref(c.addr)
	c.addr = 0
	c.state = stRecvHeader
	c.flags &= connFlags
	c.inSeq, c.outSeq, c.credits, c.bodyLeft, c.respLeft, c.owed = 0, 0, 0, 0, 0, 0
	c.queued, c.wsOutOp = 0, 0
	c.chunk.Reset()
	if c.has(fReq) {
		// req mode: --req-timeout bounds the whole cycle from here to the
		// written response (§4.3).
		w.timers.Schedule(slot*timersPerConn+timerSession, w.now+w.reqTicks)
	} else {
		w.timers.Schedule(slot*timersPerConn+timerSession, w.now+min(w.sessionTicks, w.streamTicks()))
	}
	w.timers.Cancel(slot*timersPerConn + timerStream)
}

// connEvent handles epoll readiness of a client socket.
func (w *Worker) connEvent(tag uint64, events uint32) {
	slot := int32(uint32(tag))
	if !w.conns.InUse(slot) || w.conns.Gen(slot)&0xffffff != uint32(tag>>32)&0xffffff {
		return // event for a connection closed earlier in this batch
	}
	c := w.conns.Get(slot)
	if events&(reactor.EvErr|reactor.EvHup) != 0 {
		// A reset (or a unix-socket peer's close): the client is gone,
		// noticed at once and the handler told (§12 #3).
		w.clientGone(slot, c, "client reset")
		return
	}
	if events&reactor.EvIn != 0 {
		c.flags |= fCanRead
	}
	if events&reactor.EvRdHup != 0 && !c.has(fPeerFin) {
		c.flags |= fPeerFin
		if logging.Enabled(logging.LevelDebug) {
			logging.Debug(targetConn, "worker %d: conn %d: client FIN", w.idx, slot)
		}
		if w.finIsAbort(c) {
			w.clientGone(slot, c, "client closed")
			return
		}
		if w.finWhileWaiting(slot, c) {
			return
		}
	}
	if c.state == stTLSHandshake {
		if events&reactor.EvOut != 0 && c.wstart < c.wend && !w.flush(slot, c) {
			return
		}
		if events&reactor.EvIn != 0 {
			w.handshakeInput(slot, c)
		}
		return
	}
	if events&reactor.EvOut != 0 && c.wstart < c.wend {
		if !w.flush(slot, c) {
			return
		}
	}
	w.advance(slot, c)
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

// finIsAbort reports whether a FIN arriving now ends the session at once: it
// does while the handler is still streaming a response, where a half-close
// is not how clients behave (they half-close right after the request) but a
// browser leaving an event stream is, and waiting for the next write could
// keep a dead session for as long as the handler stays quiet.
func (w *Worker) finIsAbort(c *conn) bool {
	return c.state == stSendBody && !c.has(fRespLast)
}

// inputEnded reports whether fill read the client's FIN: no more input.
func inputEnded(c *conn) bool { return c.has(fPeerFin) && !c.has(fCanRead) }

// advance does whatever the state allows with client input. A session
// waiting for room to send is not read (gates.go).
func (w *Worker) advance(slot int32, c *conn) {
	if w.waiting(slot) {
		return
	}
	switch c.state {
	case stRecvHeader:
		w.recvHeader(slot, c)
	case stRecvBody:
		w.forwardBody(slot, c)
	case stReqBody:
		w.readReqBody(slot, c)
	case stWsOpen, stWsClosing:
		w.wsRead(slot, c)
	}
}

// fill reads from the socket into the connection's read block. It returns
// false when nothing more can be read now (EAGAIN, buffer full, or the
// client's FIN: then inputEnded is true) and closes the connection on a read
// error (closed reports that).
func (w *Worker) fill(slot int32, c *conn) (got bool, closed bool) {
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
		n, err = w.readTLS(slot, c, buf[c.rend:])
	} else {
		n, err = reactor.Read(int(c.fd), buf[c.rend:])
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
			w.clientGone(slot, c, "tls: "+err.Error()) // a bad record or an alert
		} else {
			w.clientGone(slot, c, "read error")
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
	w.touchStream(slot)
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
func (w *Worker) touchStream(slot int32) {
	c := w.conns.Get(slot)
	if c.has(fReq) {
		return
	}
	if c.state == stWsPeerClosed || c.state == stWsFinished {
		return // the close handshake has its own 5 s bound
	}
	w.timers.Schedule(slot*timersPerConn+timerStream, w.now+w.streamTicks())
}

func (w *Worker) streamTicks() uint64 { return uint64(w.opts.StreamTimeout / tickDur) }

// recvHeader reads until a whole request head has arrived (§5.1).
func (w *Worker) recvHeader(slot int32, c *conn) {
	for i := 0; i < readBudget; i++ {
		if c.rstart < c.rend {
			buf := w.bufs.bytes(c.rbuf)[c.rstart:c.rend]
			n, err := http1.ParseRequest(buf, &w.req, w.opts.BufferSize)
			if err != nil {
				w.reject(slot, c, err)
				return
			}
			if n > 0 {
				if c.has(fReq) {
					w.startReqRequest(slot, c, n)
				} else {
					w.startRequest(slot, c, n)
				}
				return
			}
		}
		got, closed := w.fill(slot, c)
		if closed {
			return
		}
		if !got {
			if c.rend-c.rstart >= int32(w.opts.BufferSize) {
				w.reject(slot, c, http1.ErrHeadTooLarge)
			} else if inputEnded(c) {
				// Every whole request that came before the FIN is served.
				w.closeConn(slot, c, false)
			}
			return
		}
	}
	w.queue(slot, c)
}

// reject answers a request that cannot be served with the status its error
// maps to and closes (§12 #1).
func (w *Worker) reject(slot int32, c *conn, err error) {
	code, reason := http1.Status(err)
	logging.Debug(targetConn, "worker %d: conn %d: bad request: %v (%d)", w.idx, slot, err, code)
	w.respondError(slot, c, code, reason)
}

// respondError writes a response of the server's own and closes after it.
// A handler already involved is sent a cancel.
func (w *Worker) respondError(slot int32, c *conn, code int, reason string) {
	if c.addr != 0 && c.state != stRecvHeader {
		w.cancel(slot, c)
	}
	c.addr = w.dropAddr(c.addr)
	minor := int(c.minor)
	if c.state == stRecvHeader {
		minor = 1
	}
	w.finishWith(slot, c, http1.AppendErrorResponse(w.head[:0], minor, code, reason))
}

// finishWith writes a complete response of the server's own and closes
// after it.
func (w *Worker) finishWith(slot int32, c *conn, resp []byte) {
	c.state = stSendBody
	c.flags |= fRespStarted | fRespLast | fCloseAfter
	c.flags &^= fChunkedResp
	w.iov = append(w.iov[:0], resp)
	if w.write(slot, c, 0) {
		w.finishIfDone(slot, c)
	}
}

func (w *Worker) dropAddr(a int32) int32 {
	w.addrs.unref(a)
	return 0
}

// startRequest turns a parsed head into the request packet (§3.2) and sends
// it through PUSH. When PUSH has no room the head stays unread in the read
// buffer and the connection waits (gates.go); it is parsed again then.
func (w *Worker) startRequest(slot int32, c *conn, n int) {
	req := &w.req
	if req.Upgrade {
		w.startWebSocket(slot, c, n)
		return
	}
	saved := *c
	o, ok := w.requestOut(slot, c, req, w.listeners[c.listener].scheme)
	if !ok {
		return
	}
	c.minor = uint8(req.Minor)
	if req.KeepAlive {
		c.flags |= fKeepAlive
	}
	if string(req.Method) == "HEAD" {
		c.flags |= fHead
	}
	hasBody := req.Chunked || req.ContentLength > 0
	if req.Chunked {
		c.flags |= fChunkedReq
		c.chunk.Reset()
	} else if req.ContentLength > 0 {
		c.bodyLeft = req.ContentLength
	}
	if !hasBody {
		c.flags |= fReqDone
	} else if req.Expect100 {
		c.flags |= fExpect100
	}

	o.Credits = w.opts.BufferSize
	o.More = hasBody
	o.Stream = true
	w.pktBuf = zhttp.AppendPacket(w.pktBuf[:0], o)
	if !w.sendRequest(w.pktBuf) {
		*c = saved
		w.waitRequest(slot, c, gateOut)
		return
	}
	c.outSeq = 1

	c.rstart += int32(n)
	w.releaseRead(c)
	c.state = stAwaitHandler
	w.timers.Schedule(slot*timersPerConn+timerSession, w.now+w.sessionTicks)
	w.touchStream(slot)
}

// requestOut starts a new session id for the parsed request and prepares
// w.out with what every request packet carries (§3.2): from, id, seq 0,
// method, uri (built with scheme), headers, and the peer address. It answers
// the client itself and returns false when the URI is too long.
func (w *Worker) requestOut(slot int32, c *conn, req *http1.Request, scheme string) (*zhttp.Out, bool) {
	uri, err := http1.AppendURI(w.uri[:0], scheme, req.Host, req.Target)
	if err != nil {
		w.reject(slot, c, err)
		return nil, false
	}
	w.uri = uri
	c.idCounter = w.idCounter
	w.idCounter++
	c.outSeq = 0
	o := w.resetOut(slot, c)
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

// resetOut prepares w.out for a packet of session slot with the next seq.
func (w *Worker) resetOut(slot int32, c *conn) *zhttp.Out {
	o := &w.out
	*o = zhttp.Out{From: w.instance, ID: w.appendID(slot, c), Seq: c.outSeq}
	return o
}

// sendTyped sends a typed packet (credit, handoff-proceed) to the session's
// handler. It returns 0, or the gate that refused it (nothing sent).
func (w *Worker) sendTyped(c *conn, slot int32, t zhttp.PacketType, credits int) int32 {
	if c.addr == 0 {
		return 0
	}
	if g := w.streamBlocked(c.addr); g != 0 {
		return g
	}
	o := w.resetOut(slot, c)
	o.Type = t
	o.Credits = credits
	w.pktBuf = zhttp.AppendPacket(w.pktBuf[:0], o)
	if g := w.sendTo(c.addr, w.pktBuf); g != 0 {
		return g
	}
	c.outSeq++
	return 0
}

// handlerPacket applies one handler packet to the session it names (§3.4, §3.6).
func (w *Worker) handlerPacket(slot int32, c *conn, p *zhttp.Packet, id *zhttp.IDSeq) {
	if logging.Enabled(logging.LevelDebug) {
		logging.Debug(targetConn, "conn %s: handle packet: %s", id.ID, typeLabel(p.Type))
	}
	if c.has(fHandoffPending) {
		w.violation(slot, c, "packet during handoff")
		return
	}
	// Sequence: optional from handlers; when absent the expected value does
	// not advance (§3.5, §12 #13).
	if id.HasSeq {
		if id.Seq != c.inSeq {
			w.violation(slot, c, "bad seq")
			return
		}
		c.inSeq++
	}
	if len(p.From) > zhttp.MaxFromLen {
		w.violation(slot, c, "from too long")
		return
	}
	// Every accepted packet names the current handler (handoff, respond
	// from another process).
	if c.addr == 0 || !bytes.Equal(w.addrs.name(c.addr), p.From) {
		waited := w.bp.on[slot] >= gateAddr0
		w.unwait(slot)
		w.addrs.unref(c.addr)
		c.addr = w.addrs.ref(p.From)
		if waited { // what it waited to send now goes to the new address
			w.wait(slot, addrGate(c.addr))
		}
	}
	w.timers.Schedule(slot*timersPerConn+timerSession, w.now+w.sessionTicks)
	if c.state == stHandoff {
		c.state = c.resume
	}
	switch p.Type {
	case zhttp.TypeData, zhttp.TypeCredit, zhttp.TypePing, zhttp.TypePong:
		c.credits = addCredits(c.credits, p.Credits)
	}
	if c.has(fWS) {
		w.wsPacket(slot, c, p)
		return
	}
	if c.state == stAwaitHandler {
		// First handler packet: the body may flow now (§5.5).
		if c.has(fReqDone) {
			c.state = stAwaitResponse
		} else {
			c.state = stRecvBody
			if c.has(fExpect100) && c.minor == 1 {
				c.flags &^= fExpect100
				w.iov = append(w.iov[:0], continue100)
				if !w.write(slot, c, 0) {
					return
				}
			}
		}
	}
	switch p.Type {
	case zhttp.TypeData:
		if c.state == stSendBody {
			w.writeBody(slot, c, nil, p.Body, !p.More)
			return
		}
		w.startResponse(slot, c, p)
		return
	case zhttp.TypeCredit, zhttp.TypeKeepAlive:
	case zhttp.TypeCancel, zhttp.TypeError:
		logging.Debug(targetConn, "conn %s: handler %s", id.ID, typeLabel(p.Type))
		c.addr = w.dropAddr(c.addr) // no cancel back (§4.6)
		if !c.has(fRespStarted) {
			w.respondError(slot, c, 502, "Bad Gateway")
			return
		}
		w.closeConn(slot, c, false)
		return
	case zhttp.TypeHandoffStart:
		c.flags |= fHandoffPending
		if c.wstart == c.wend {
			w.proceedHandoff(slot, c)
		}
		return
	default: // close, ping, pong, handoff-proceed, unknown: not valid on HTTP
		w.violation(slot, c, "unexpected packet type")
		return
	}
	if c.state == stRecvBody {
		w.forwardBody(slot, c)
	}
}

func typeLabel(t zhttp.PacketType) string {
	if t == zhttp.TypeData {
		return "(data)"
	}
	return zhttp.TypeName(t)
}

// violation ends a session whose handler broke the protocol: the client
// connection is closed and no cancel is sent (§3.6).
func (w *Worker) violation(slot int32, c *conn, why string) {
	logging.Debug(targetConn, "worker %d: conn %d: handler protocol violation: %s", w.idx, slot, why)
	c.addr = w.dropAddr(c.addr)
	w.closeConn(slot, c, false)
}

// proceedHandoff answers handoff-start once pending writes are flushed and
// pauses the session (§4.7).
func (w *Worker) proceedHandoff(slot int32, c *conn) {
	if g := w.sendTyped(c, slot, zhttp.TypeHandoffProceed, 0); g != 0 {
		w.wait(slot, g) // still pending: the gate runs it again
		return
	}
	c.flags &^= fHandoffPending
	c.resume = c.state
	c.state = stHandoff
}

// forwardBody sends request body bytes to the handler while it has credits,
// at most --buffer-size per packet (§4.2), and while the handler takes
// packets: otherwise the body waits unread (gates.go).
func (w *Worker) forwardBody(slot int32, c *conn) {
	for i := 0; i < readBudget; {
		if c.credits <= 0 {
			return // no read at all without credits (condure ≥1.7)
		}
		if g := w.streamBlocked(c.addr); g != 0 {
			w.wait(slot, g)
			return
		}
		if c.rstart == c.rend {
			got, closed := w.fill(slot, c)
			if !got && !closed && inputEnded(c) {
				w.clientGone(slot, c, "client closed before the end of the request body")
				return
			}
			if closed || !got {
				return
			}
			i++
			continue
		}
		saved := *c // undone if the handler does not take the packet
		limit := min(c.credits, int64(w.opts.BufferSize))
		buf := w.bufs.bytes(c.rbuf)
		var body []byte
		done := false
		if c.has(fChunkedReq) {
			w.scratch = w.scratch[:0]
			for int64(len(w.scratch)) < limit && c.rstart < c.rend {
				in := buf[c.rstart:c.rend]
				if room := limit - int64(len(w.scratch)); int64(len(in)) > room {
					in = in[:room] // data is a view of in, so it stays within credits
				}
				n, data, end, err := c.chunk.Decode(in)
				if err != nil {
					w.reject(slot, c, err)
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
			n := min(int64(c.rend-c.rstart), c.bodyLeft, limit)
			body = buf[c.rstart : int64(c.rstart)+n]
			c.rstart += int32(n)
			c.bodyLeft -= n
			done = c.bodyLeft == 0
		}
		if len(body) > 0 || done {
			o := w.resetOut(slot, c)
			o.Body = body
			o.More = !done
			w.pktBuf = zhttp.AppendPacket(w.pktBuf[:0], o)
			if g := w.sendTo(c.addr, w.pktBuf); g != 0 {
				*c = saved // the bytes stay in the read buffer
				w.wait(slot, g)
				return
			}
			c.credits -= int64(len(body))
			c.outSeq++
		}
		if done {
			c.flags |= fReqDone
			c.state = stAwaitResponse
			w.releaseRead(c)
			return
		}
	}
	w.queue(slot, c)
}

// startResponse writes the response head and the first body part (§5.3).
func (w *Worker) startResponse(slot int32, c *conn, p *zhttp.Packet) {
	if !c.has(fReqDone) && !w.discardBody(c) {
		// Early response with request body still unread: the connection
		// cannot be reused (§12 #8).
		c.flags |= fCloseAfter
	}
	if c.state == stRecvBody {
		c.state = stAwaitResponse
	}
	code := p.Code
	if !p.HasCode || code < 200 || code > 999 {
		w.badResponse(slot, c, "invalid status code")
		return
	}
	if !http1.ValidHeaderValue(p.Reason) {
		w.badResponse(slot, c, "invalid reason")
		return
	}
	cl := int64(-1)
	for _, h := range p.Headers {
		if !http1.ValidHeaderName(h.Name) || !http1.ValidHeaderValue(h.Value) {
			w.badResponse(slot, c, "invalid header")
			return
		}
		if len(h.Name) == len("Content-Length") && bytes.EqualFold(h.Name, []byte("Content-Length")) {
			v, ok := parseDecimal(h.Value)
			if !ok {
				w.badResponse(slot, c, "invalid content-length")
				return
			}
			// RFC 9110 §8.6: repeats must agree (condure: the last wins).
			if cl >= 0 && v != cl {
				w.badResponse(slot, c, "conflicting content-length")
				return
			}
			cl = v
		}
	}
	rh := http1.ResponseHead{Minor: int(c.minor), Code: code, Reason: p.Reason, Headers: p.Headers}
	noBody := c.has(fHead) || code == 204 || code == 304
	switch {
	case cl >= 0:
		rh.Framing, rh.ContentLength = http1.FramingLength, cl
		c.flags |= fLengthResp
		c.respLeft = cl
		if code == 204 || code == 304 {
			rh.Framing = http1.FramingNone
		}
	case noBody:
		rh.Framing = http1.FramingNone
	case !p.More:
		rh.Framing, rh.ContentLength = http1.FramingLength, int64(len(p.Body))
		c.flags |= fLengthResp
		c.respLeft = int64(len(p.Body))
	case c.minor >= 1:
		rh.Framing = http1.FramingChunked
		c.flags |= fChunkedResp
	default:
		// HTTP/1.0 client, length unknown: the body ends at close (§12 #6).
		rh.Framing = http1.FramingNone
		c.flags |= fCloseAfter
	}
	if noBody {
		c.flags |= fNoBody
		c.respLeft = 0
	}
	rh.Close = c.has(fCloseAfter) || !c.has(fKeepAlive) || w.draining
	if rh.Close {
		c.flags |= fCloseAfter
	}
	c.state = stSendBody
	c.flags |= fRespStarted
	w.head = http1.AppendResponseHead(w.head[:0], &rh)
	w.writeBody(slot, c, w.head, p.Body, !p.More)
}

// discardBody drops a request body that is already buffered in full, so an
// early response can keep the connection alive. It reports success.
func (w *Worker) discardBody(c *conn) bool {
	if c.rbuf == 0 {
		return false
	}
	buf := w.bufs.bytes(c.rbuf)
	if c.has(fChunkedReq) {
		for c.rstart < c.rend {
			n, _, end, err := c.chunk.Decode(buf[c.rstart:c.rend])
			if err != nil {
				return false
			}
			c.rstart += int32(n)
			if end {
				c.flags |= fReqDone
				return true
			}
			if n == 0 {
				break
			}
		}
		return false
	}
	if int64(c.rend-c.rstart) >= c.bodyLeft {
		c.rstart += int32(c.bodyLeft)
		c.bodyLeft = 0
		c.flags |= fReqDone
		return true
	}
	return false
}

// badResponse handles a response the server refuses to pass on (§12 #10).
func (w *Worker) badResponse(slot int32, c *conn, why string) {
	w.badResponseLog(slot, why)
	w.respondError(slot, c, 502, "Bad Gateway")
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

// writeBody writes head (if any) and one body part with the response's
// framing; last ends the body.
func (w *Worker) writeBody(slot int32, c *conn, head, body []byte, last bool) {
	credit := len(body)
	if c.has(fNoBody) {
		body = nil
	}
	if c.has(fLengthResp) && int64(len(body)) > c.respLeft {
		body = body[:c.respLeft] // never more than the declared length (§12 #7)
	}
	if c.has(fLengthResp) {
		c.respLeft -= int64(len(body))
	}
	w.iov = w.iov[:0]
	if len(head) > 0 {
		w.iov = append(w.iov, head)
	}
	if c.has(fChunkedResp) {
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
		w.iov = append(w.iov, body)
	}
	if last {
		c.flags |= fRespLast
		credit = 0 // no credit follows the final write (§4.2)
		if c.has(fLengthResp) && c.respLeft > 0 {
			c.flags |= fCloseAfter // handler ended short of its Content-Length
		}
	}
	if !w.write(slot, c, int64(credit)) {
		return
	}
	w.touchStream(slot)
	w.finishIfDone(slot, c)
}

// write sends w.iov to the client: straight to the socket when nothing is
// pending, the rest copied into the connection's write block. credit is the
// number of body bytes to credit back to the handler once written. It
// returns false if the connection was closed.
func (w *Worker) write(slot int32, c *conn, credit int64) bool {
	if c.has(fTLS) {
		if err := w.encryptTLS(slot); err != nil {
			w.clientGone(slot, c, "tls write: "+err.Error())
			return false
		}
	}
	return w.writeRaw(slot, c, credit)
}

// writeRaw is write for bytes that go on the socket as they are.
func (w *Worker) writeRaw(slot int32, c *conn, credit int64) bool {
	c.owed += credit
	bufs := w.iov // not resliced in place: w.iov keeps its capacity
	if c.wstart == c.wend {
		n, err := w.writer.Writev(int(c.fd), bufs)
		if err != nil && err != unix.EAGAIN {
			w.clientGone(slot, c, "write error")
			return false
		}
		bufs = reactor.Advance(bufs, max(n, 0))
	}
	total := 0
	for _, b := range bufs {
		total += len(b)
	}
	if total == 0 {
		w.written(slot, c)
		return true
	}
	// Keep the rest: the handler may only send what the credits allow, so
	// the block holds the credits plus head and framing.
	if int(c.wend-c.wstart)+total > w.opts.BufferSize+writeSlack {
		logging.Debug(targetConn, "worker %d: conn %d: write buffer overflow (handler ignored credits)", w.idx, slot)
		w.closeConn(slot, c, true)
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
func (w *Worker) flush(slot int32, c *conn) bool {
	buf := w.bufs.bytes(c.wbuf)
	w.iov = append(w.iov[:0], buf[c.wstart:c.wend])
	n, err := w.writer.Writev(int(c.fd), w.iov)
	if err == unix.EAGAIN {
		return true
	}
	if err != nil {
		w.clientGone(slot, c, "write error")
		return false
	}
	c.wstart += int32(n)
	w.touchStream(slot)
	if c.wstart < c.wend {
		return true
	}
	w.bufs.put(c.wbuf)
	c.wbuf, c.wstart, c.wend = 0, 0, 0
	w.written(slot, c)
	return w.finishIfDone(slot, c)
}

// written runs when all output so far has reached the socket: credits go
// back to the handler and a pending handoff proceeds. When the handler
// takes no packet now, the credits add up in c.owed until it does.
func (w *Worker) written(slot int32, c *conn) {
	c.queued = 0
	if c.owed > 0 && !c.has(fRespLast) {
		if g := w.sendTyped(c, slot, zhttp.TypeCredit, int(c.owed)); g != 0 {
			w.wait(slot, g)
			return
		}
	}
	c.owed = 0
	if c.has(fHandoffPending) {
		w.proceedHandoff(slot, c)
	}
}

// finishIfDone ends the response once its last part is written: the
// connection closes or starts over with a new id (§4.8). It returns false if
// the connection was closed.
func (w *Worker) finishIfDone(slot int32, c *conn) bool {
	if c.state == stWsFinished && c.wstart == c.wend {
		c.addr = w.dropAddr(c.addr)
		w.closeConn(slot, c, false)
		return false
	}
	if !c.has(fRespLast) || c.wstart < c.wend || c.state != stSendBody {
		return true
	}
	if c.has(fCloseAfter) || !c.has(fReqDone) || w.draining {
		c.addr = w.dropAddr(c.addr)
		w.closeConn(slot, c, false)
		return false
	}
	w.startIdle(slot, c)
	if c.rstart < c.rend || c.has(fCanRead) || c.has(fTLS) || c.has(fPeerFin) {
		w.queue(slot, c) // pipelined request already here (or inside crypto/tls), or the FIN to act on
	}
	return true
}

// clientGone ends a session whose client went away; the handler, if known,
// gets a cancel (§4.6).
func (w *Worker) clientGone(slot int32, c *conn, why string) {
	if logging.Enabled(logging.LevelDebug) {
		logging.Debug(targetConn, "worker %d: conn %d: %s", w.idx, slot, why)
	}
	w.closeConn(slot, c, true)
}

// sessionExpired: the handler said nothing for 60 s, or an idle keep-alive
// connection reached its limit (§4.5, §12 #1, #2).
func (w *Worker) sessionExpired(slot int32, c *conn) {
	switch {
	case c.state == stTLSHandshake:
		logging.Debug(targetConn, "worker %d: conn %d: tls handshake timed out", w.idx, slot)
		w.closeConn(slot, c, false)
	case c.state == stReqAwait:
		logging.Debug(targetConn, "worker %d: conn %d: req timeout", w.idx, slot)
		w.respondError(slot, c, 504, "Gateway Timeout")
	case w.bp.on[slot] == gateOut || w.bp.on[slot] == gateReq:
		// A whole request, but no handler took it in all that time.
		logging.Debug(targetConn, "worker %d: conn %d: no handler took the request", w.idx, slot)
		w.unwait(slot)
		w.respondError(slot, c, 503, "Service Unavailable")
	case c.state == stRecvHeader && w.headArriving(slot, c):
		// The idle deadline was --stream-timeout, but a head is arriving:
		// the stream timer watches its pace now, and the session timer
		// runs on to 60 s after the connection became idle.
		c.flags |= fHeadExtended
		w.timers.Schedule(slot*timersPerConn+timerSession, w.now+w.sessionTicks-w.streamTicks())
	case c.state == stRecvHeader || c.state == stReqBody:
		w.closeConn(slot, c, false)
	case !c.has(fRespStarted):
		logging.Debug(targetConn, "worker %d: conn %d: handler timed out", w.idx, slot)
		w.respondError(slot, c, 504, "Gateway Timeout")
	default:
		w.closeConn(slot, c, true)
	}
}

// headArriving reports whether the session timer that fired was the
// shortened idle deadline of startIdle while bytes of a head have arrived
// since (they armed the stream timer).
func (w *Worker) headArriving(slot int32, c *conn) bool {
	return !c.has(fReq) && !c.has(fHeadExtended) && w.streamTicks() < w.sessionTicks &&
		w.timers.Armed(slot*timersPerConn+timerStream)
}

// streamTimedOut: no client I/O for --stream-timeout, or a WebSocket
// client's close not answered by the handler within 5 s.
func (w *Worker) streamTimedOut(slot int32, c *conn) {
	logging.Debug(targetConn, "worker %d: conn %d: stream timeout (%s)", w.idx, slot, c.state)
	w.closeConn(slot, c, true)
}

// closeConn closes the client socket and frees the slot; cancel sends a
// cancel to the handler if one is known.
func (w *Worker) closeConn(slot int32, c *conn, cancel bool) {
	w.unwait(slot)
	if cancel && c.addr != 0 && c.state != stRecvHeader {
		w.cancel(slot, c)
	}
	w.addrs.unref(c.addr)
	c.addr = 0
	unix.Close(int(c.fd))
	w.bufs.put(c.rbuf)
	w.bufs.put(c.wbuf)
	w.bodyBufs.put(c.bbuf)
	if c.has(fTLS) {
		w.closeTLS(slot)
	}
	w.timers.Cancel(slot*timersPerConn + timerSession)
	w.timers.Cancel(slot*timersPerConn + timerStream)
	w.conns.Free(slot)
	w.released(c.mode())
}
