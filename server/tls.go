package server

import (
	"context"
	"crypto/tls"
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

const (
	// Handshakes in progress per worker; past it new TLS connections are
	// refused, so a flood of slow handshakes cannot exhaust memory.
	maxHandshakes = 512
	// 10 s to finish a handshake.
	handshakeTicks = 1000
	// Ciphertext read from the socket per call.
	tlsReadChunk = 16 * 1024
)

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
type memTransport struct {
	mu       sync.Mutex
	cond     sync.Cond
	in       []byte // ciphertext from the client not yet consumed
	out      []byte // ciphertext for the client not yet taken by the worker
	blocking bool   // handshake phase: Read waits for input
	closed   bool
	notify   func() // handshake phase: output is waiting
}

func newMemTransport(notify func()) *memTransport {
	t := &memTransport{blocking: true, notify: notify}
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
		t.cond.Wait()
	}
	n := copy(p, t.in)
	t.in = t.in[n:]
	if len(t.in) == 0 {
		t.in = t.in[:0:0] // drop the array: an idle connection keeps no input buffer
	}
	return n, nil
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
	done  bool  // the handshake finished (err says how)
	err   error // handshake failure
}

// post queues an event for the worker and wakes it; any goroutine.
func (w *Worker) post(ev tlsEvent) {
	w.evMu.Lock()
	w.events = append(w.events, ev)
	w.evMu.Unlock()
	w.waker.Wake()
}

// startTLS begins the handshake of a new connection on a tls listener.
func (w *Worker) startTLS(slot int32, c *conn, cfg *tls.Config) bool {
	if w.handshakes >= maxHandshakes {
		if w.fullLog.Allow(time.Now()) {
			logging.Warn(targetServer, "worker %d: %d TLS handshakes in progress, refusing more", w.idx, maxHandshakes)
		}
		return false
	}
	w.handshakes++
	gen := w.conns.Gen(slot)
	tr := newMemTransport(func() { w.post(tlsEvent{slot: slot, gen: gen, flush: true}) })
	s := &tlsSession{conn: tls.Server(tr, cfg), tr: tr}
	w.tlsSess[slot] = s
	c.flags |= fTLS
	c.state = stTLSHandshake
	w.timers.Schedule(slot*timersPerConn+timerSession, w.now+handshakeTicks)
	go func() {
		err := s.conn.HandshakeContext(context.Background())
		w.post(tlsEvent{slot: slot, gen: gen, done: true, err: err})
	}()
	return true
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
		s.tr.mu.Unlock()
		w.startIdle(ev.slot, c)
		c.flags |= fCanRead // the client may have sent its request already
		w.queue(ev.slot, c)
	}
	w.spare = evs[:0]
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

// handshakeInput feeds the handshake with what the client sent.
func (w *Worker) handshakeInput(slot int32, c *conn) {
	s := w.tlsSess[slot]
	for {
		n, err := reactor.Read(int(c.fd), w.tlsScratch)
		if err == unix.EAGAIN {
			return
		}
		if err == nil && n == 0 {
			// FIN: what came with it may finish the handshake and carry a
			// request (a TLS 1.3 client's Finished, request and
			// close_notify arrive together); the handshake reads EOF after
			// it, and fails if it needed more.
			logging.Debug(targetConn, "worker %d: conn %d: client closed during tls handshake (FIN)", w.idx, slot)
			c.flags |= fPeerFin
			s.tr.Close()
			return
		}
		if err != nil {
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
	if s := w.tlsSess[slot]; s != nil {
		s.tr.Close()
		w.tlsSess[slot] = nil
	}
}
