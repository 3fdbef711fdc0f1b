package server

import (
	"crypto/tls"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/condure-go/condure/reactor"
)

// TLS stays inside the worker (docs/design.md "Threads"): crypto/tls runs
// over an in-memory transport that the worker feeds with ciphertext read
// from the socket and drains into the same write path as plain output, so
// an established TLS connection costs one fd and no goroutine. Go's
// handshake cannot resume after a would-block, so only the handshake runs
// in a short-lived goroutine, bounded in number per worker and in time
// (tls_handshake.go); afterwards the worker calls Read and Write itself,
// and a would-block is a temporary net.Error, which crypto/tls does not
// make sticky.

// Ciphertext read from the socket per call.
const tlsReadChunk = 16 * 1024

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
// Lock order: mu, then the worker's evMu (notify and onWait post events).
type memTransport struct {
	mu       sync.Mutex
	cond     sync.Cond
	in       []byte // ciphertext from the client not yet consumed
	out      []byte // ciphertext for the client not yet taken by the worker
	blocking bool   // handshake phase: Read waits for input
	waiting  bool   // handshake phase: the goroutine is in Read, waiting
	paused   bool   // handshake phase: the worker stopped reading at the input cap
	closed   bool
	notify   func() // handshake phase: output is waiting
	onWait   func() // handshake phase: the goroutine needs input it does not have
	// Handshake phase: where the client's current record ends (Read stops
	// there, so crypto/tls never holds bytes sent after the Finished).
	hdr    [tlsRecordHeader]byte
	hdrN   int // header bytes read of the next record
	recEnd int // body bytes left of the current record
	// Record layer switch (tls_record.go): the handshake's secrets, and the
	// records it read and wrote (nil when the switch is off).
	keys        *tlsKeys
	hsIn, hsOut []byte
}

func newMemTransport(notify, onWait func()) *memTransport {
	t := &memTransport{blocking: true, notify: notify, onWait: onWait}
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
		t.paused = false
		t.waiting = true
		t.onWait()
		t.cond.Wait()
		t.waiting = false
	}
	lim := len(t.in)
	if t.blocking {
		lim = min(lim, t.recordLeft())
	}
	n := copy(p[:min(len(p), lim)], t.in)
	if t.blocking {
		t.consumed(t.in[:n])
	}
	t.in = t.in[n:]
	if len(t.in) == 0 {
		t.in = nil // drop the array: an idle connection keeps no input buffer
	}
	return n, nil
}

// recordLeft is how much of the client's current record (or the next
// record's header) is still to be read.
func (t *memTransport) recordLeft() int {
	if t.recEnd > 0 {
		return t.recEnd
	}
	return tlsRecordHeader - t.hdrN
}

// consumed notes handshake input crypto/tls read: record boundaries, and
// the bytes themselves for the record layer switch.
func (t *memTransport) consumed(b []byte) {
	if t.keys != nil {
		t.hsIn = append(t.hsIn, b...)
	}
	if t.recEnd > 0 {
		t.recEnd -= len(b)
		return
	}
	t.hdrN += copy(t.hdr[t.hdrN:], b)
	if t.hdrN == tlsRecordHeader {
		t.hdrN = 0
		t.recEnd = int(binary.BigEndian.Uint16(t.hdr[3:]))
	}
}

// idle reports whether the handshake goroutine is blocked waiting for
// input and has none (it cannot wake until the worker feeds or closes).
func (t *memTransport) idle() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.waiting && len(t.in) == 0
}

// room is how much more input the handshake may have buffered; at 0 the
// transport is marked paused (first says it was not before) until the
// goroutine has consumed it all and waits (onWait).
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
	if notify && t.keys != nil {
		t.hsOut = append(t.hsOut, p...)
	}
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

// take appends the pending output to dst and drops the transport's array:
// an idle connection keeps no output buffer.
func (t *memTransport) take(dst []byte) []byte {
	t.mu.Lock()
	dst = append(dst, t.out...)
	t.out = nil
	t.mu.Unlock()
	return dst
}

// lend makes buf the output array for the writes that follow, until take
// or reclaim; worker only, after the handshake (no other writer then).
func (t *memTransport) lend(buf []byte) {
	t.mu.Lock()
	t.out = append(buf[:0], t.out...)
	t.mu.Unlock()
}

// reclaim returns the output written since lend (in the lent array, or a
// grown one) and leaves the transport with none.
func (t *memTransport) reclaim() []byte {
	t.mu.Lock()
	out := t.out
	t.out = nil
	t.mu.Unlock()
	return out
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

// tlsSession is a connection's crypto/tls state, kept beside the
// pointer-free slot: during the handshake, and after it when the record
// layer cannot take over. When the record layer takes over it is dropped
// (w.tlsSess[slot] becomes nil) and the connection's state is in the
// worker's record store (tls_store.go).
type tlsSession struct {
	conn *tls.Conn
	tr   *memTransport
	// Handshake phase, worker-owned: the goroutine waits for the client
	// and holds no running slot; parkSeq tells its entry in the parked
	// queue from older ones.
	parked  bool
	parkSeq uint32
}

// flushTLS writes the ciphertext the transport holds; false if the
// connection closed.
func (w *Worker) flushTLS(slot int32, c *conn, s *tlsSession) bool {
	w.cipher = s.tr.take(w.cipher[:0])
	if len(w.cipher) == 0 {
		return true
	}
	w.iov = append(w.iov[:0], w.cipher)
	return w.writeRaw(slot, c, w.iov)
}

// readTLS returns plaintext: what crypto/tls has buffered, else what the
// socket's ciphertext decrypts to. unix.EAGAIN when nothing is available.
// The handshake is over: no tlsSession means the record layer.
func (w *Worker) readTLS(slot int32, c *conn, buf []byte) (int, error) {
	s := w.tlsSess[slot]
	if s == nil {
		return w.readRecords(slot, c, w.recs.get(slot), buf)
	}
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

// encryptTLS turns the plaintext in bufs into one ciphertext buffer,
// returned as the one element of w.tlsIov (bufs are gathered first so small
// pieces share a record).
func (w *Worker) encryptTLS(slot int32, bufs [][]byte) ([][]byte, error) {
	s := w.tlsSess[slot]
	if s == nil {
		return w.sealRecords(slot, w.recs.get(slot), bufs)
	}
	w.plain = w.plain[:0]
	for _, b := range bufs {
		w.plain = append(w.plain, b...)
	}
	s.tr.lend(w.cipher) // crypto/tls seals into the worker's array, not one kept per connection
	if len(w.plain) > 0 {
		if _, err := s.conn.Write(w.plain); err != nil {
			s.tr.reclaim()
			return nil, err
		}
	}
	w.cipher = s.tr.reclaim()
	w.tlsIov = append(w.tlsIov[:0], w.cipher)
	return w.tlsIov, nil
}

// closeTLS releases a connection's TLS state; a handshake still running
// sees EOF and ends.
func (w *Worker) closeTLS(slot int32) {
	c := w.conns.Get(slot)
	s := w.tlsSess[slot]
	w.leaveQueues(c, s)
	switch {
	case s != nil:
		s.tr.Close()
		w.tlsSess[slot] = nil
	case !c.has(fHandshake): // on the record layer
		w.releaseRecords(slot, w.recs.get(slot))
	}
}
