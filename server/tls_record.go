package server

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"

	"github.com/condure-go/condure/internal/logging"
	"github.com/condure-go/condure/internal/tlsrecord"
)

// The record layer switch (docs/design.md "TLS memory and CPU"): the
// handshake runs in crypto/tls; when it succeeds with an AEAD suite whose
// secrets the handshake told (Config.KeyLogWriter; for a resumed TLS 1.2
// session, the ticket through Config.UnwrapSession), the tls.Conn and its
// transport are dropped and the worker runs internal/tlsrecord itself. An
// idle connection then holds its tlsSession (the 224-byte record state and
// a few words) and no buffer: ciphertext waits in a block lent while a
// record is incomplete, and the AEADs live in a small per-worker cache.

const (
	// A ciphertext block holds the longest record a client may send
	// (TLS 1.2: 2^14 + 2048 of body).
	tlsRecordBuf = tlsrecord.HeaderLen + tlsrecord.MaxPlaintext + 2048
	// Returned ciphertext blocks a worker keeps for reuse (~576 KiB): what a
	// burst of connections with partial records leaves resident is bounded;
	// past it, blocks go back to the GC (and the trimmer returns them).
	tlsFreeBlocks = 32
	// AEAD pairs kept per worker, indexed by slot (a power of two): busy
	// connections keep theirs, others rebuild (about a microsecond). 128
	// AES-GCM pairs are ~330 KB.
	tlsCipherCache = 128
)

// recordLayerOn is the switch: on unless CONDURE_TLS_RECORD=0 (then every
// connection stays on crypto/tls, as before).
var recordLayerOn = os.Getenv("CONDURE_TLS_RECORD") != "0"

// recState is a connection's record layer once it took over.
type recState struct {
	rec    tlsrecord.Conn
	cbuf   int32 // ciphertext block (w.tlsBufs), 0 = none
	cs, ce int32 // ciphertext not yet decrypted: cbuf[cs:ce]
	ps, pe int32 // plaintext decrypted but not yet read: cbuf[ps:pe]
	failed bool  // an alert was sent or received: no close_notify
	ended  bool  // the client's close_notify came: nothing after it is read
}

// tlsKeys collects a handshake's secrets; the handshake goroutine writes
// it, the worker reads it after evDone (ordered by the event queue).
type tlsKeys struct {
	client13, server13 []byte // TLS 1.3 application traffic secrets
	master12           []byte // TLS 1.2 master secret (full handshake)
	random12           []byte // the client random of master12's line
	resumed12          []byte // TLS 1.2 master secret of a resumed session
}

// Write takes one key log line (crypto/tls writes each whole).
func (k *tlsKeys) Write(p []byte) (int, error) {
	label, random, secret, err := tlsrecord.ParseKeyLogLine(string(p))
	if err != nil {
		return len(p), nil
	}
	switch label {
	case tlsrecord.LabelClientTraffic:
		k.client13 = secret
	case tlsrecord.LabelServerTraffic:
		k.server13 = secret
	case tlsrecord.LabelTLS12:
		k.master12, k.random12 = secret, random
	}
	return len(p), nil
}

// configFor is the GetConfigForClient answer for a connection whose
// transport collects secrets: a clone of base bound to them (nil: use
// base). Session tickets stay base's (crypto/tls takes ticket keys from
// the original config unless the clone sets its own), so they resume
// across connections and workers.
func (t *memTransport) configFor(base *tls.Config) *tls.Config {
	k := t.keys
	if k == nil {
		return nil
	}
	cfg := base.Clone()
	cfg.GetConfigForClient = nil
	cfg.KeyLogWriter = k
	cfg.UnwrapSession = func(identity []byte, cs tls.ConnectionState) (*tls.SessionState, error) {
		ss, err := base.DecryptTicket(identity, cs)
		if err != nil || ss == nil {
			return ss, err
		}
		if b, err := ss.Bytes(); err == nil {
			if v, _, secret, err := tlsrecord.SessionSecret(b); err == nil && v == tls.VersionTLS12 {
				k.resumed12 = bytes.Clone(secret)
			}
		}
		return ss, nil
	}
	return cfg
}

// perConnConfig is the listeners' GetConfigForClient hook.
func perConnConfig(base *tls.Config, hello *tls.ClientHelloInfo) (*tls.Config, error) {
	if t, ok := hello.Conn.(*memTransport); ok {
		return t.configFor(base), nil
	}
	return nil, nil
}

// recordConn builds the record state from what the handshake told.
func (k *tlsKeys) recordConn(st tls.ConnectionState, hsIn, hsOut []byte) (tlsrecord.Conn, error) {
	if !tlsrecord.Supported(st.CipherSuite) {
		return tlsrecord.Conn{}, fmt.Errorf("suite %#04x not supported", st.CipherSuite)
	}
	switch st.Version {
	case tls.VersionTLS13:
		if k.client13 == nil || k.server13 == nil {
			return tlsrecord.Conn{}, errors.New("no TLS 1.3 traffic secrets")
		}
		return tlsrecord.NewTLS13(st.CipherSuite, k.client13, k.server13, true)
	case tls.VersionTLS12:
		cr, err := tlsrecord.HelloRandom(hsIn)
		if err != nil {
			return tlsrecord.Conn{}, fmt.Errorf("client hello: %w", err)
		}
		sr, err := tlsrecord.HelloRandom(hsOut)
		if err != nil {
			return tlsrecord.Conn{}, fmt.Errorf("server hello: %w", err)
		}
		master := k.master12
		if master != nil && !bytes.Equal(k.random12, cr) {
			return tlsrecord.Conn{}, errors.New("key log line of another client random")
		}
		if master == nil && st.DidResume {
			master = k.resumed12
		}
		if master == nil {
			return tlsrecord.Conn{}, errors.New("no TLS 1.2 master secret")
		}
		return tlsrecord.NewTLS12(st.CipherSuite, master, cr, sr, true)
	}
	return tlsrecord.Conn{}, fmt.Errorf("version %#04x", st.Version)
}

// switchRecords hands a connection whose handshake just succeeded to the
// record layer, or leaves it on crypto/tls (logged at debug) when the suite
// or the secrets do not allow it.
func (w *Worker) switchRecords(slot int32, s *tlsSession) {
	t := s.tr
	if t.keys == nil {
		return
	}
	t.mu.Lock()
	hsIn, hsOut, rest := t.hsIn, t.hsOut, t.in
	t.hsIn, t.hsOut, t.in = nil, nil, nil
	t.mu.Unlock()
	rec, err := t.keys.recordConn(s.conn.ConnectionState(), hsIn, hsOut)
	if err == nil {
		if err = rec.SyncOut(hsOut); err == nil {
			err = rec.SyncIn(hsIn)
		}
	}
	if err != nil {
		logging.Debug(targetConn, "worker %d: conn %d: tls: staying on crypto/tls: %v", w.idx, slot, err)
		t.mu.Lock()
		t.in, t.keys = rest, nil
		t.mu.Unlock()
		return
	}
	if logging.Enabled(logging.LevelDebug) {
		how := "new session"
		if s.conn.ConnectionState().DidResume {
			how = "resumed"
		}
		logging.Debug(targetConn, "worker %d: conn %d: tls: record layer took over (%s, %s)", w.idx, slot, tls.CipherSuiteName(rec.Suite()), how)
	}
	// The session, its tls.Conn and transport are garbage now; the session
	// is cut from them, as a stale reference to it may remain.
	s.conn, s.tr = nil, nil
	w.tlsSess[slot] = nil
	r := w.recs.alloc(slot)
	*r = recState{rec: rec}
	if len(rest) > 0 { // the client's first records, sent behind its Finished
		r.cbuf = w.tlsBufs.get(len(rest))
		r.ce = int32(copy(w.tlsBufs.bytes(r.cbuf), rest))
	}
}

// ciphers is the AEAD cache entry of a slot (shared with other slots: a
// Ciphers rebuilds its AEAD when the keys differ).
func (w *Worker) ciphers(slot int32) *tlsrecord.Ciphers {
	return &w.tlsCiphers[slot&(tlsCipherCache-1)]
}

// readRecords is readTLS for the record layer: plaintext left from a
// record, else the next whole record's, reading ciphertext from the
// socket as needed. Errors: unix.EAGAIN, io.EOF (close_notify or FIN), or
// the alert that ends the connection (sent first if it is ours).
func (w *Worker) readRecords(slot int32, c *conn, r *recState, buf []byte) (int, error) {
	for {
		if r.ended {
			return 0, io.EOF
		}
		if r.ps < r.pe {
			n := copy(buf, w.tlsBufs.bytes(r.cbuf)[r.ps:r.pe])
			r.ps += int32(n)
			// Drained: back to the pool now, not at the next read (which
			// may wait for the handler's response), so that the pool
			// holds as many blocks as connections with bytes pending, not
			// as many as requests in progress.
			w.releaseCipherBuf(r)
			return n, nil
		}
		if r.cs < r.ce {
			cb := w.tlsBufs.bytes(r.cbuf)
			n, data, reply, err := r.rec.Read(w.ciphers(slot), cb[r.cs:r.ce], w.tlsReply[:0])
			w.tlsReply = reply
			if len(reply) > 0 && !w.sendOwn(c, reply) {
				return 0, errors.New("write error")
			}
			if err != nil {
				return 0, w.recordError(slot, c, r, err)
			}
			if n > 0 {
				r.cs += int32(n)
				if len(data) > 0 {
					r.ps = int32(cap(cb) - cap(data))
					r.pe = r.ps + int32(len(data))
				}
				continue
			}
		}
		if !c.has(fCanRead) {
			w.releaseCipherBuf(r)
			return 0, unix.EAGAIN
		}
		if r.cbuf == 0 {
			r.cbuf = w.tlsBufs.get(tlsRecordBuf)
		} else if r.cs > 0 {
			cb := w.tlsBufs.bytes(r.cbuf)
			r.ce = int32(copy(cb, cb[r.cs:r.ce]))
			r.cs = 0
		}
		cb := w.tlsBufs.bytes(r.cbuf)
		m, err := w.fx.read(int(c.fd), cb[r.ce:])
		if err == unix.EAGAIN {
			c.flags &^= fCanRead
			w.releaseCipherBuf(r)
			return 0, unix.EAGAIN
		}
		if err != nil || m == 0 {
			return 0, io.EOF
		}
		r.ce += int32(m)
	}
}

// recordError turns a record layer error into readRecords' answer: our
// alert is sent, close_notify is an end of input.
func (w *Worker) recordError(slot int32, c *conn, r *recState, err error) error {
	if errors.Is(err, tlsrecord.ErrCloseNotify) {
		r.ended = true
		r.cs = r.ce
		w.releaseCipherBuf(r)
		return io.EOF
	}
	r.failed = true
	var e *tlsrecord.Error
	if errors.As(err, &e) && !e.Remote {
		if out, serr := r.rec.SealAlert(w.ciphers(slot), w.tlsReply[:0], e.Alert); serr == nil {
			w.tlsReply = out
			w.sendOwn(c, out)
		}
	}
	return err
}

// releaseCipherBuf returns a drained ciphertext block: an idle connection
// holds none.
func (w *Worker) releaseCipherBuf(r *recState) {
	if r.cbuf != 0 && r.cs == r.ce && r.ps == r.pe {
		w.tlsBufs.put(r.cbuf)
		r.cbuf, r.cs, r.ce, r.ps, r.pe = 0, 0, 0, 0, 0
	}
}

// sealRecords is encryptTLS for the record layer: bufs sealed straight
// into the worker's ciphertext array.
func (w *Worker) sealRecords(slot int32, r *recState, bufs [][]byte) ([][]byte, error) {
	var err error
	w.cipher, err = r.rec.Seal(w.ciphers(slot), w.cipher[:0], tlsrecord.TypeApplicationData, bufs...)
	if err != nil {
		return nil, err
	}
	w.tlsIov = append(w.tlsIov[:0], w.cipher)
	return w.tlsIov, nil
}

// sendOwn writes a record of the server's own (a KeyUpdate answer, an
// alert, close_notify) behind any pending output, without the callbacks
// writeRaw makes; what the socket does not take waits in the write block
// (EPOLLOUT flushes it). False if the socket failed.
func (w *Worker) sendOwn(c *conn, b []byte) bool {
	if c.wstart == c.wend {
		w.tlsIov = append(w.tlsIov[:0], b)
		n, err := w.fx.writev(int(c.fd), w.tlsIov)
		if err != nil && err != unix.EAGAIN {
			return false
		}
		b = b[max(n, 0):]
	}
	if len(b) > 0 {
		w.tlsIov = append(w.tlsIov[:0], b)
		w.appendWrite(c, w.tlsIov, len(b))
	}
	return true
}

// closeNotify sends close_notify before the server closes a connection on
// the record layer whose output is all written (best effort: one
// non-blocking write).
func (w *Worker) closeNotify(slot int32, c *conn) {
	if w.tlsSess[slot] != nil || c.has(fHandshake) || c.wstart != c.wend {
		return // crypto/tls, a handshake, or output still pending
	}
	r := w.recs.get(slot)
	if r.failed {
		return
	}
	out, err := r.rec.SealAlert(w.ciphers(slot), w.tlsReply[:0], tlsrecord.AlertCloseNotify)
	if err != nil {
		return
	}
	w.tlsReply = out
	w.tlsIov = append(w.tlsIov[:0], out)
	w.fx.writev(int(c.fd), w.tlsIov)
}

// releaseRecords frees a closing record layer connection's ciphertext
// block and drops its AEADs from the cache.
func (w *Worker) releaseRecords(slot int32, r *recState) {
	if r.cbuf != 0 {
		w.tlsBufs.put(r.cbuf)
		r.cbuf = 0
	}
	w.ciphers(slot).Reset()
}
