package server

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"time"

	"golang.org/x/sys/unix"

	"github.com/condure-go/condure/internal/logging"
	"github.com/condure-go/condure/reactor"
)

// TLS handshakes. Go's handshake runs in a goroutine of its own; what it
// costs is bounded so that no kind of stalling client can lock others out.
// A connection's handshake goes through these phases, all with the
// transport flag fHandshake and all within 10 s of accept:
//
//	hello    no session, no goroutine: the worker peeks at the socket until
//	         the whole first record (the ClientHello) has arrived; the bytes
//	         stay in the kernel. A silent client, or one sending a byte at a
//	         time, holds an fd and a slot, nothing else.
//	queued   there is input for the handshake but hs.max goroutines are
//	         running: the connection waits its turn (FIFO, fTLSQueued) with
//	         the bytes still in the kernel.
//	running  a goroutine doing work, one of at most hs.max per worker; the
//	         worker feeds it ciphertext, at most handshakeInputCap ahead of
//	         what it has consumed.
//	parked   the goroutine has sent its flight and waits for the client: it
//	         holds no running slot (input takes it back to running, or to
//	         the queue). At most hs.maxParked are parked per worker; past
//	         that the one parked longest is closed, so clients that stall
//	         after their ClientHello cannot keep ones that answer waiting
//	         either.

const (
	// Handshakes running (doing work) per worker, by default: bounds the
	// CPU they take at once; more wait in the queue.
	maxHandshakes = 512
	// Handshakes parked per worker, by default: bounds their memory (2000
	// parked added 86 MB of RSS, ~43 KiB each, more with garbage pending)
	// and, as a worker sends at most a few thousand server flights a
	// second, still gives a client half a second or more to answer before
	// it can be the longest waiting.
	maxParked = 2048
	// 10 s from accept to a finished handshake.
	handshakeTicks = 1000
	// The TLS record header: type, version, length (RFC 8446 §5.1).
	tlsRecordHeader = 5
	// The largest plaintext record (RFC 8446 §5.1): a first record claiming
	// more is refused with record_overflow.
	maxPlainRecord = 16384
	// Ciphertext buffered for a running handshake, two whole records: past
	// it the worker stops reading and the client's bytes wait in the kernel
	// until the handshake has consumed what it has.
	handshakeInputCap = 2 * (tlsRecordHeader + maxPlainRecord + 256)
	// A TLS handshake record (RFC 8446 §5.1 ContentType).
	recordTypeHandshake = 22
)

// alertRecordOverflow is the fatal record_overflow alert (RFC 8446 §6.2)
// sent to a client whose first record is too long.
var alertRecordOverflow = []byte{21, 3, 1, 0, 2, 2, 22}

// tlsEvent is what a handshake goroutine tells its worker.
type tlsEvent struct {
	slot int32
	gen  uint32
	sess *tlsSession
	kind tlsEventKind
	err  error // evDone: the handshake's failure
}

type tlsEventKind uint8

const (
	evFlush   tlsEventKind = iota // output is waiting
	evWaiting                     // the goroutine waits for input it does not have
	evDone                        // the handshake finished (err says how)
)

// handshakes is a worker's handshake accounting.
type handshakes struct {
	max       int      // running at most
	maxParked int      // parked at most
	running   int      // goroutines not parked
	waiting   refQueue // queued connections (fTLSQueued), oldest first
	parked    refQueue // parked sessions, longest parked first
	queueLog  *logging.Limiter
	evictLog  *logging.Limiter
}

// init sets the bounds: running and parked handshakes per worker (0 for
// the defaults).
func (h *handshakes) init(running, parked int) {
	h.max, h.maxParked = maxHandshakes, maxParked
	if running > 0 {
		h.max = running
	}
	if parked > 0 {
		h.maxParked = parked
	}
	h.queueLog = logging.NewLimiter(time.Second)
	h.evictLog = logging.NewLimiter(time.Second)
}

// slotRef names a connection (slot and generation) in a phase; seq tells
// one parking of a session from an earlier one.
type slotRef struct {
	slot     int32
	gen, seq uint32
}

// refQueue is a FIFO of connections in a phase. A connection that leaves
// the phase other than by pop leaves a stale entry, which the owner counts
// with drop; pop skips stale entries and push drops them when they
// outnumber the live ones, so the queue stays within twice its live size.
type refQueue struct {
	refs []slotRef
	head int
	live int // entries whose connection is still in the phase
}

// push appends r; valid tells live entries from stale ones.
func (q *refQueue) push(r slotRef, valid func(slotRef) bool) {
	if q.head > 0 && q.head >= len(q.refs)/2 { // reuse the array's front
		q.refs = q.refs[:copy(q.refs, q.refs[q.head:])]
		q.head = 0
	}
	if len(q.refs)-q.head > 2*q.live+64 {
		live := q.refs[:q.head]
		for _, e := range q.refs[q.head:] {
			if valid(e) {
				live = append(live, e)
			}
		}
		q.refs = live
	}
	q.refs = append(q.refs, r)
	q.live++
}

// pop returns the oldest live entry; its connection is still counted in
// live until the owner moves it on and calls drop.
func (q *refQueue) pop(valid func(slotRef) bool) (slotRef, bool) {
	for q.head < len(q.refs) {
		r := q.refs[q.head]
		q.head++
		if valid(r) {
			return r, true
		}
	}
	q.refs, q.head = q.refs[:0], 0
	return slotRef{}, false
}

// drop notes that a connection left the phase.
func (q *refQueue) drop() { q.live-- }

// post queues an event for the worker and wakes it; any goroutine.
func (w *Worker) post(ev tlsEvent) {
	w.evMu.Lock()
	w.events = append(w.events, ev)
	w.evMu.Unlock()
	w.waker.Wake()
}

// acceptTLS puts a connection accepted on a tls listener in the hello
// phase: the 10 s handshake limit (or a shorter --stream-timeout in stream
// mode, where condure 1.9.1 closes an unfinished handshake too) runs from now, and nothing else is spent on it until its
// first record has arrived.
func (w *Worker) acceptTLS(slot int32, c *conn) {
	c.flags |= fTLS | fHandshake
	d := uint64(handshakeTicks)
	if !c.has(fReqConn) {
		d = min(d, w.streamTicks())
	}
	w.timers.Schedule(connTimer(slot, timerIdle), w.now+d)
}

// handshakeInput handles client readiness during the handshake.
func (w *Worker) handshakeInput(slot int32, c *conn) {
	switch s := w.tlsSess[slot]; {
	case c.has(fTLSQueued):
		// the bytes wait in the kernel for the connection's turn
	case s == nil:
		w.helloInput(slot, c)
	case s.parked:
		if n, err := unix.IoctlGetInt(int(c.fd), unix.SIOCINQ); err == nil && n > 0 {
			w.runHandshake(slot, c)
		}
	default:
		w.feedHandshake(slot, c, s)
	}
}

// helloInput peeks at what a client sent before its handshake started,
// leaving it in the kernel. Once the first record is complete (or is no
// handshake record at all, which crypto/tls then names) the handshake
// runs, or queues. A first record longer than a plaintext record may be is
// refused with record_overflow.
func (w *Worker) helloInput(slot int32, c *conn) {
	hdr := w.tlsScratch[:tlsRecordHeader]
	n, _, err := unix.Recvfrom(int(c.fd), hdr, unix.MSG_PEEK|unix.MSG_DONTWAIT)
	if err == unix.EAGAIN {
		return
	}
	if err != nil || n == 0 {
		w.clientGone(slot, c, "client closed during tls handshake")
		return
	}
	complete := n == tlsRecordHeader
	if complete && hdr[0] == recordTypeHandshake && hdr[1] == 3 {
		size := int(binary.BigEndian.Uint16(hdr[3:]))
		if size > maxPlainRecord {
			logging.Debug(targetConn, "worker %d: conn %d: tls handshake: first record of %d bytes, over %d: refused", w.idx, slot, size, maxPlainRecord)
			unix.Write(int(c.fd), alertRecordOverflow) // 7 bytes: a fresh socket has room
			w.closeConn(slot, c, false, CauseTLSError)
			return
		}
		avail, err := unix.IoctlGetInt(int(c.fd), unix.SIOCINQ)
		complete = err != nil || avail >= tlsRecordHeader+size
	}
	if !complete {
		// The rest raises a new edge; after the client's FIN (connEvent
		// saw EPOLLRDHUP) none will come, and the connection ends now.
		if c.has(fPeerFin) {
			w.clientGone(slot, c, "client closed during tls handshake")
		}
		return
	}
	w.runHandshake(slot, c)
}

// runHandshake gives a connection with input for its handshake a running
// slot (starting its session and goroutine, or unparking it) and feeds it
// what the kernel holds; with no slot free it queues.
func (w *Worker) runHandshake(slot int32, c *conn) {
	if w.hs.running >= w.hs.max {
		w.hs.waiting.push(slotRef{slot: slot, gen: w.conns.Gen(slot)}, w.isQueued)
		c.flags |= fTLSQueued
		if w.hs.queueLog.Allow(time.Now()) {
			logging.Info(targetServer, "worker %d: %d TLS handshakes running, new ones wait their turn", w.idx, w.hs.max)
		}
		return
	}
	w.hs.running++
	s := w.tlsSess[slot]
	fresh, gen := s == nil, w.conns.Gen(slot) // gen: the feed may close the slot
	if fresh {
		s = w.newTLSSession(slot, gen, c)
	} else if s.parked {
		s.parked = false
		w.hs.parked.drop()
	}
	c.flags |= fCanRead // the input waits in the kernel; its edge is spent
	w.feedHandshake(slot, c, s)
	if fresh {
		// After the first feed, so that it takes what the kernel holds up
		// to the cap whatever the goroutine's scheduling (a goroutine
		// consuming each chunk as it is fed kept a 48 KiB ClientHello
		// under the cap). Also when the feed closed the connection: the
		// goroutine then reads EOF and its evDone counts it off.
		w.startGoroutine(slot, gen, s)
	}
}

// newTLSSession creates the TLS session of the connection in slot (of
// generation gen); startGoroutine runs its handshake.
func (w *Worker) newTLSSession(slot int32, gen uint32, c *conn) *tlsSession {
	s := &tlsSession{}
	s.tr = newMemTransport(
		func() { w.post(tlsEvent{slot: slot, gen: gen, sess: s, kind: evFlush}) },
		func() { w.post(tlsEvent{slot: slot, gen: gen, sess: s, kind: evWaiting}) })
	if recordLayerOn {
		s.tr.keys = &tlsKeys{}
	}
	s.conn = tls.Server(s.tr, w.listeners[c.listener].tls)
	w.tlsSess[slot] = s
	return s
}

// startGoroutine runs s's handshake (connection slot of generation gen)
// in a goroutine of its own, which posts evDone when it ends.
func (w *Worker) startGoroutine(slot int32, gen uint32, s *tlsSession) {
	go func() {
		err := s.conn.HandshakeContext(context.Background())
		handshakesDone.Add(1)
		w.post(tlsEvent{slot: slot, gen: gen, sess: s, kind: evDone, err: err})
	}()
}

// isQueued reports whether r's connection still waits in the queue.
func (w *Worker) isQueued(r slotRef) bool {
	return w.conns.InUse(r.slot) && w.conns.Gen(r.slot) == r.gen && w.conns.Get(r.slot).has(fTLSQueued)
}

// isParked reports whether r is the current parking of its session.
func (w *Worker) isParked(r slotRef) bool {
	if !w.conns.InUse(r.slot) || w.conns.Gen(r.slot) != r.gen {
		return false
	}
	s := w.tlsSess[r.slot]
	return s != nil && s.parked && s.parkSeq == r.seq
}

// startQueued runs queued handshakes, oldest first, while slots are free.
func (w *Worker) startQueued() {
	for w.hs.running < w.hs.max {
		r, ok := w.hs.waiting.pop(w.isQueued)
		if !ok {
			return
		}
		c := w.conns.Get(r.slot)
		c.flags &^= fTLSQueued
		w.hs.waiting.drop()
		w.runHandshake(r.slot, c)
	}
}

// park takes a session whose goroutine waits for the client off the
// running count; past the parked bound the longest parked is closed.
func (w *Worker) park(slot int32, s *tlsSession) {
	s.parked = true
	s.parkSeq++
	w.hs.running--
	if w.hs.parked.live >= w.hs.maxParked {
		if r, ok := w.hs.parked.pop(w.isParked); ok {
			if w.hs.evictLog.Allow(time.Now()) {
				logging.Info(targetServer, "worker %d: %d TLS handshakes waiting for their clients, closing the longest waiting", w.idx, w.hs.parked.live)
			}
			logging.Debug(targetConn, "worker %d: conn %d: tls handshake: client the slowest of %d, closed", w.idx, r.slot, w.hs.parked.live)
			w.closeConn(r.slot, w.conns.Get(r.slot), false, CauseTLSShed)
		}
	}
	w.hs.parked.push(slotRef{slot: slot, gen: w.conns.Gen(slot), seq: s.parkSeq}, w.isParked)
}

// leaveQueues takes a closing connection out of the handshake accounting
// (a running goroutine is counted off when its evDone arrives).
func (w *Worker) leaveQueues(c *conn, s *tlsSession) {
	if c.has(fTLSQueued) {
		c.flags &^= fTLSQueued
		w.hs.waiting.drop()
	}
	if s != nil && s.parked {
		w.hs.parked.drop() // s.parked stays set: evDone then counts nothing off
	}
}

// tlsEvents handles what handshake goroutines posted.
func (w *Worker) tlsEvents() {
	w.evMu.Lock()
	evs := w.events
	w.events = w.spare[:0]
	w.evMu.Unlock()
	for _, ev := range evs {
		if ev.kind == evDone && !ev.sess.parked {
			w.hs.running--
		}
		if !w.conns.InUse(ev.slot) || w.conns.Gen(ev.slot) != ev.gen {
			continue // the connection closed meanwhile
		}
		c := w.conns.Get(ev.slot)
		s := w.tlsSess[ev.slot]
		if s != ev.sess || !c.has(fHandshake) {
			continue
		}
		if !w.flushTLS(ev.slot, c, s) {
			continue
		}
		switch ev.kind {
		case evWaiting:
			w.handshakeWaits(ev.slot, c, s)
		case evDone:
			w.handshakeDone(ev.slot, c, s, ev.err)
		}
	}
	clear(evs) // the array is reused: its entries must not keep sessions alive
	w.spare = evs[:0]
	w.startQueued()
}

// handshakeWaits: the goroutine wants input. What the kernel holds is fed
// (reading paused at the cap resumes here); with nothing to feed the
// session parks.
func (w *Worker) handshakeWaits(slot int32, c *conn, s *tlsSession) {
	if s.parked {
		return // an older wait
	}
	if c.has(fCanRead) && !w.feedHandshake(slot, c, s) {
		return
	}
	if s.tr.idle() {
		w.park(slot, s)
	}
}

// handshakeDone ends the handshake phase: a failure closes the
// connection, success makes it a keep-alive connection waiting for its
// first request.
func (w *Worker) handshakeDone(slot int32, c *conn, s *tlsSession, err error) {
	w.mHandshake(slot, c, s, err)
	if err != nil {
		logging.Debug(targetConn, "worker %d: conn %d: tls handshake: %v", w.idx, slot, err)
		w.closeConn(slot, c, false, CauseTLSError)
		return
	}
	s.tr.mu.Lock()
	s.tr.blocking = false
	s.tr.paused = false
	s.tr.mu.Unlock()
	h2 := w.opts.HTTP2 && s.conn.ConnectionState().NegotiatedProtocol == "h2"
	w.switchRecords(slot, s)
	w.startIdle(slot, c)
	c.flags |= fCanRead // the client may have sent its request already
	if h2 {
		w.startH2(slot, c) // ALPN chose h2: the client preface comes first
		return
	}
	w.queue(slot, c)
}

// feedHandshake reads ciphertext for a running handshake until EAGAIN or
// until handshakeInputCap bytes wait unconsumed; then the rest stays in
// the kernel (TCP pushes back on the client) until the goroutine has used
// what it has and waits (evWaiting). False if the connection closed.
func (w *Worker) feedHandshake(slot int32, c *conn, s *tlsSession) bool {
	for c.has(fCanRead) {
		room, first := s.tr.room()
		if room == 0 {
			if first {
				logging.Debug(targetConn, "worker %d: conn %d: tls handshake input at %d bytes: reading paused", w.idx, slot, handshakeInputCap)
			}
			return true
		}
		n, err := reactor.Read(int(c.fd), w.tlsScratch[:min(room, len(w.tlsScratch))])
		if err == unix.EAGAIN {
			c.flags &^= fCanRead
			return true
		}
		if err == nil && n == 0 {
			// FIN: what came with it may finish the handshake and carry a
			// request (a TLS 1.3 client's Finished, request and
			// close_notify arrive together); the handshake reads EOF after
			// it, and fails if it needed more.
			logging.Debug(targetConn, "worker %d: conn %d: client closed during tls handshake (FIN)", w.idx, slot)
			c.flags |= fPeerFin
			c.flags &^= fCanRead
			s.tr.Close()
			return true
		}
		if err != nil {
			w.clientGone(slot, c, "client closed during tls handshake")
			return false
		}
		s.tr.feed(w.tlsScratch[:n])
	}
	return true
}
