package server

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/condure-go/condure/internal/logging"
	"github.com/condure-go/condure/reactor"
)

// TLS stays inside the worker (DESIGN.md "I/O details"): crypto/tls runs
// over an in-memory transport that the worker feeds with ciphertext read
// from the socket and drains into the same write path as plain output, so
// an established TLS connection costs one fd and no goroutine. Go's
// handshake cannot resume after a would-block, so only the handshake runs
// in a short-lived goroutine, bounded in number per worker and in time;
// afterwards the worker calls Read and Write itself, and a would-block is a
// temporary net.Error, which crypto/tls does not make sticky.
//
// A connection's handshake goes through three phases, all in state
// stTLSHandshake and all under one 10 s limit counted from accept:
//
//	hello    no session, no goroutine: the worker peeks at the socket until
//	         the whole first record (the ClientHello) has arrived; the bytes
//	         stay in the kernel. A silent client or one sending a byte at a
//	         time holds an fd and a slot, nothing else.
//	queued   the first record is complete but maxHandshakes are running:
//	         the connection waits in a FIFO (fTLSQueued), bytes still in the
//	         kernel, and starts when a running handshake ends.
//	running  a session and a goroutine; the worker feeds it ciphertext, at
//	         most handshakeInputCap ahead of what it has consumed.
//
// So only clients that sent a whole ClientHello compete for the handshake
// goroutines, and a flood of idle or trickling connections cannot lock
// real clients out.

const (
	// Handshakes running per worker (default): each is a goroutine with
	// crypto/tls state, so the number bounds memory; connections past it
	// wait in the queue.
	maxHandshakes = 512
	// 10 s from accept to a finished handshake.
	handshakeTicks = 1000
	// Ciphertext read from the socket per call.
	tlsReadChunk = 16 * 1024
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

// errWouldBlock is what the transport returns when it has no input: a
// temporary net.Error, so crypto/tls keeps the connection usable.
var errWouldBlock error = wouldBlock{}

type wouldBlock struct{}

func (wouldBlock) Error() string   { return "would block" }
func (wouldBlock) Timeout() bool   { return true }
func (wouldBlock) Temporary() bool { return true }

// memTransport is the net.Conn under a tls.Conn. During the handshake the
// handshake goroutine reads (blocking until the worker feeds input) and
// writes (the worker is told to flush); after it only the worker uses it.
// Lock order: mu, then the worker's evMu (notify and resume post events).
type memTransport struct {
	mu       sync.Mutex
	cond     sync.Cond
	in       []byte // ciphertext from the client not yet consumed
	out      []byte // ciphertext for the client not yet taken by the worker
	blocking bool   // handshake phase: Read waits for input
	paused   bool   // handshake phase: the worker stopped reading at the input cap
	closed   bool
	notify   func() // handshake phase: output is waiting
	resume   func() // handshake phase: input drained while paused, read more
}

func newMemTransport(notify, resume func()) *memTransport {
	t := &memTransport{blocking: true, notify: notify, resume: resume}
	t.cond.L = &t.mu
	return t
}

func (t *memTransport) Read(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for len(t.in) == 0 {
		if t.closed {
			return 0, io.EOF
		}
		if !t.blocking {
			return 0, errWouldBlock
		}
		if t.paused {
			t.paused = false
			t.resume()
		}
		t.cond.Wait()
	}
	n := copy(p, t.in)
	t.in = t.in[n:]
	if len(t.in) == 0 {
		t.in = t.in[:0:0] // drop the array: an idle connection keeps no input buffer
	}
	return n, nil
}

// room is how much more input the handshake may have buffered; at 0 the
// transport is marked paused (first says it was not before), and the
// handshake goroutine asks for more (resume) once it has consumed it all.
func (t *memTransport) room() (n int, first bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if n = handshakeInputCap - len(t.in); n > 0 {
		return n, false
	}
	first = !t.paused
	t.paused = true
	return 0, first
}

func (t *memTransport) Write(p []byte) (int, error) {
	t.mu.Lock()
	t.out = append(t.out, p...)
	notify := t.blocking
	t.mu.Unlock()
	if notify && t.notify != nil {
		t.notify()
	}
	return len(p), nil
}

// feed adds ciphertext read from the socket.
func (t *memTransport) feed(b []byte) {
	t.mu.Lock()
	t.in = append(t.in, b...)
	t.mu.Unlock()
	t.cond.Signal()
}

// take removes and returns the pending output (valid until the next take).
func (t *memTransport) take(dst []byte) []byte {
	t.mu.Lock()
	dst = append(dst, t.out...)
	t.out = t.out[:0]
	t.mu.Unlock()
	return dst
}

func (t *memTransport) Close() error {
	t.mu.Lock()
	t.closed = true
	t.mu.Unlock()
	t.cond.Broadcast()
	return nil
}

func (t *memTransport) LocalAddr() net.Addr              { return tlsAddr{} }
func (t *memTransport) RemoteAddr() net.Addr             { return tlsAddr{} }
func (t *memTransport) SetDeadline(time.Time) error      { return nil }
func (t *memTransport) SetReadDeadline(time.Time) error  { return nil }
func (t *memTransport) SetWriteDeadline(time.Time) error { return nil }
func (tlsAddr) Network() string                          { return "tcp" }
func (tlsAddr) String() string                           { return "in-memory" }

type tlsAddr struct{}

// tlsSession is a connection's TLS state, kept beside the pointer-free slot.
type tlsSession struct {
	conn *tls.Conn
	tr   *memTransport
}

// tlsEvent is what a handshake goroutine tells its worker.
type tlsEvent struct {
	slot  int32
	gen   uint32
	flush bool  // output is waiting
	more  bool  // the input ran out while the worker had stopped reading
	done  bool  // the handshake finished (err says how)
	err   error // handshake failure
}

// handshakeQueue holds the connections whose first record is complete
// while the worker runs its maximum of handshakes, first come first
// served. An entry whose connection closed meanwhile is skipped when
// reached, and dropped early when such entries outnumber the live ones.
type handshakeQueue struct {
	max     int       // handshakes running at most per worker
	waiting []slotRef // FIFO from head
	head    int
	live    int // connections with fTLSQueued
	log     *logging.Limiter
}

type slotRef struct {
	slot int32
	gen  uint32
}

func (q *handshakeQueue) init(limit int) {
	q.max = maxHandshakes
	if limit > 0 {
		q.max = limit
	}
	q.log = logging.NewLimiter(time.Second)
}

// post queues an event for the worker and wakes it; any goroutine.
func (w *Worker) post(ev tlsEvent) {
	w.evMu.Lock()
	w.events = append(w.events, ev)
	w.evMu.Unlock()
	w.waker.Wake()
}

// acceptTLS puts a connection accepted on a tls listener in the hello
// phase: the 10 s handshake limit runs from now, and nothing else is spent
// on it until its first record has arrived.
func (w *Worker) acceptTLS(slot int32, c *conn) {
	c.flags |= fTLS
	c.state = stTLSHandshake
	w.timers.Schedule(slot*timersPerConn+timerSession, w.now+handshakeTicks)
}

// handshakeInput handles client readiness during the handshake: in the
// hello phase it checks for a whole first record, in the running phase it
// feeds the handshake; a queued connection's bytes wait in the kernel.
func (w *Worker) handshakeInput(slot int32, c *conn) {
	switch s := w.tlsSess[slot]; {
	case s != nil:
		w.feedHandshake(slot, c, s)
	case !c.has(fTLSQueued):
		w.helloInput(slot, c)
	}
}

// helloInput peeks at what a client sent before its handshake started,
// leaving it in the kernel. Once the first record is complete (or is no
// handshake record at all, which crypto/tls then names) the handshake
// starts, or queues when maxHandshakes are running. A first record longer
// than a plaintext record may be is refused with record_overflow.
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
	if n < tlsRecordHeader {
		return // the rest of the header raises a new edge
	}
	if hdr[0] == recordTypeHandshake && hdr[1] == 3 {
		size := int(binary.BigEndian.Uint16(hdr[3:]))
		if size > maxPlainRecord {
			logging.Debug(targetConn, "worker %d: conn %d: tls handshake: first record of %d bytes, over %d: refused", w.idx, slot, size, maxPlainRecord)
			unix.Write(int(c.fd), alertRecordOverflow) // 7 bytes: a fresh socket has room
			w.closeConn(slot, c, false)
			return
		}
		avail, err := unix.IoctlGetInt(int(c.fd), unix.SIOCINQ)
		if err == nil && avail < tlsRecordHeader+size {
			return // more of the record raises a new edge
		}
	}
	if w.handshakes < w.hs.max {
		w.startHandshake(slot, c)
		return
	}
	w.queueHandshake(slot, c)
}

// startHandshake gives a connection whose first record has arrived its
// session and handshake goroutine, and feeds it what the kernel holds.
func (w *Worker) startHandshake(slot int32, c *conn) {
	w.handshakes++
	gen := w.conns.Gen(slot)
	tr := newMemTransport(
		func() { w.post(tlsEvent{slot: slot, gen: gen, flush: true}) },
		func() { w.post(tlsEvent{slot: slot, gen: gen, more: true}) })
	s := &tlsSession{conn: tls.Server(tr, w.listeners[c.listener].tls), tr: tr}
	w.tlsSess[slot] = s
	go func() {
		err := s.conn.HandshakeContext(context.Background())
		w.post(tlsEvent{slot: slot, gen: gen, done: true, err: err})
	}()
	c.flags |= fCanRead // the first record waits in the kernel; its edge is spent
	w.feedHandshake(slot, c, s)
}

// queueHandshake makes a connection wait for a running handshake to end.
func (w *Worker) queueHandshake(slot int32, c *conn) {
	q := &w.hs
	if q.head > 0 && q.head >= len(q.waiting)/2 { // reuse the array's front
		q.waiting = q.waiting[:copy(q.waiting, q.waiting[q.head:])]
		q.head = 0
	}
	if len(q.waiting) > 2*q.live+64 { // mostly closed connections: drop them
		live := q.waiting[:0]
		for _, r := range q.waiting {
			if w.queuedConn(r) != nil {
				live = append(live, r)
			}
		}
		q.waiting = live
	}
	q.waiting = append(q.waiting, slotRef{slot, w.conns.Gen(slot)})
	q.live++
	c.flags |= fTLSQueued
	if q.log.Allow(time.Now()) {
		logging.Info(targetServer, "worker %d: %d TLS handshakes running, new ones wait their turn", w.idx, q.max)
	}
}

// queuedConn is r's connection if it still waits in the queue.
func (w *Worker) queuedConn(r slotRef) *conn {
	if !w.conns.InUse(r.slot) || w.conns.Gen(r.slot) != r.gen {
		return nil
	}
	if c := w.conns.Get(r.slot); c.has(fTLSQueued) {
		return c
	}
	return nil
}

// startQueued starts waiting handshakes, oldest first, while fewer than
// the maximum run.
func (w *Worker) startQueued() {
	q := &w.hs
	for w.handshakes < q.max && q.head < len(q.waiting) {
		r := q.waiting[q.head]
		q.head++
		if c := w.queuedConn(r); c != nil {
			c.flags &^= fTLSQueued
			q.live--
			w.startHandshake(r.slot, c)
		}
	}
	if q.head == len(q.waiting) {
		q.waiting, q.head = q.waiting[:0], 0
	}
}

// tlsEvents handles what handshake goroutines posted.
func (w *Worker) tlsEvents() {
	w.evMu.Lock()
	evs := w.events
	w.events = w.spare[:0]
	w.evMu.Unlock()
	for _, ev := range evs {
		if ev.done {
			w.handshakes--
		}
		if !w.conns.InUse(ev.slot) || w.conns.Gen(ev.slot) != ev.gen {
			continue // the connection closed meanwhile
		}
		c := w.conns.Get(ev.slot)
		s := w.tlsSess[ev.slot]
		if s == nil || c.state != stTLSHandshake {
			continue
		}
		if !w.flushTLS(ev.slot, c, s) {
			continue
		}
		if ev.more {
			w.feedHandshake(ev.slot, c, s)
			continue
		}
		if !ev.done {
			continue
		}
		if ev.err != nil {
			logging.Debug(targetConn, "worker %d: conn %d: tls handshake: %v", w.idx, ev.slot, ev.err)
			w.closeConn(ev.slot, c, false)
			continue
		}
		s.tr.mu.Lock()
		s.tr.blocking = false
		s.tr.paused = false
		s.tr.mu.Unlock()
		w.startIdle(ev.slot, c)
		c.flags |= fCanRead // the client may have sent its request already
		w.queue(ev.slot, c)
	}
	w.spare = evs[:0]
	w.startQueued()
}

// flushTLS writes the ciphertext the transport holds; false if the
// connection closed.
func (w *Worker) flushTLS(slot int32, c *conn, s *tlsSession) bool {
	w.cipher = s.tr.take(w.cipher[:0])
	if len(w.cipher) == 0 {
		return true
	}
	w.iov = append(w.iov[:0], w.cipher)
	return w.writeRaw(slot, c, 0)
}

// feedHandshake reads ciphertext for a running handshake until EAGAIN or
// until handshakeInputCap bytes wait unconsumed; then the rest stays in
// the kernel (TCP pushes back on the client) until the goroutine has used
// what it has and posts a more event.
func (w *Worker) feedHandshake(slot int32, c *conn, s *tlsSession) {
	for c.has(fCanRead) {
		room, first := s.tr.room()
		if room == 0 {
			if first {
				logging.Debug(targetConn, "worker %d: conn %d: tls handshake input at %d bytes: reading paused", w.idx, slot, handshakeInputCap)
			}
			return
		}
		n, err := reactor.Read(int(c.fd), w.tlsScratch[:min(room, len(w.tlsScratch))])
		if err == unix.EAGAIN {
			c.flags &^= fCanRead
			return
		}
		if err != nil || n == 0 {
			w.clientGone(slot, c, "client closed during tls handshake")
			return
		}
		s.tr.feed(w.tlsScratch[:n])
	}
}

// readTLS returns plaintext: what crypto/tls has buffered, else what the
// socket's ciphertext decrypts to. unix.EAGAIN when nothing is available.
func (w *Worker) readTLS(slot int32, c *conn, buf []byte) (int, error) {
	s := w.tlsSess[slot]
	for {
		n, err := s.conn.Read(buf)
		if n > 0 {
			return n, nil
		}
		if err != nil && !errors.Is(err, errWouldBlock) {
			return 0, err // close_notify (io.EOF) or a fatal alert
		}
		if !c.has(fCanRead) {
			return 0, unix.EAGAIN
		}
		m, rerr := reactor.Read(int(c.fd), w.tlsScratch)
		if rerr == unix.EAGAIN {
			c.flags &^= fCanRead
			return 0, unix.EAGAIN
		}
		if rerr != nil || m == 0 {
			return 0, io.EOF
		}
		s.tr.feed(w.tlsScratch[:m])
	}
}

// encryptTLS turns the plaintext in w.iov into one ciphertext buffer in
// w.iov (gathered first so small pieces share a record).
func (w *Worker) encryptTLS(slot int32) error {
	s := w.tlsSess[slot]
	w.plain = w.plain[:0]
	for _, b := range w.iov {
		w.plain = append(w.plain, b...)
	}
	if len(w.plain) > 0 {
		if _, err := s.conn.Write(w.plain); err != nil {
			return err
		}
	}
	w.cipher = s.tr.take(w.cipher[:0])
	w.iov = append(w.iov[:0], w.cipher)
	return nil
}

// closeTLS releases a connection's TLS state; a handshake still running
// sees EOF and ends.
func (w *Worker) closeTLS(slot int32) {
	if c := w.conns.Get(slot); c.has(fTLSQueued) {
		c.flags &^= fTLSQueued // its queue entry goes stale
		w.hs.live--
	}
	if s := w.tlsSess[slot]; s != nil {
		s.tr.Close()
		w.tlsSess[slot] = nil
	}
}
