package tlsrecord

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"io"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// pipe is one direction of an in-memory connection: Write never blocks,
// Read blocks until there are bytes or the pipe is closed.
type pipe struct {
	mu     sync.Mutex
	cond   sync.Cond
	buf    []byte
	closed bool
}

func newPipe() *pipe { p := &pipe{}; p.cond.L = &p.mu; return p }

func (p *pipe) write(b []byte) {
	p.mu.Lock()
	p.buf = append(p.buf, b...)
	p.mu.Unlock()
	p.cond.Broadcast()
}

// read blocks for input; limit > 0 caps what one call returns.
func (p *pipe) read(b []byte, limit func([]byte) int) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.buf) == 0 {
		if p.closed {
			return 0, io.EOF
		}
		p.cond.Wait()
	}
	m := len(p.buf)
	if limit != nil {
		m = limit(p.buf)
	}
	n := copy(b, p.buf[:m])
	p.buf = p.buf[n:]
	return n, nil
}

// take removes everything buffered, without waiting.
func (p *pipe) take() []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	b := p.buf
	p.buf = nil
	return b
}

// waitFor waits until at least n bytes are buffered.
func (p *pipe) waitFor(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		p.mu.Lock()
		l := len(p.buf)
		p.mu.Unlock()
		if l >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited 5 s for %d bytes, have %d", n, l)
		}
		time.Sleep(time.Millisecond)
	}
}

func (p *pipe) close() { p.mu.Lock(); p.closed = true; p.mu.Unlock(); p.cond.Broadcast() }

// recordBound caps a read at the end of the record at the front of b, as
// the server's transport must, so that crypto/tls never holds input past
// the handshake's last record.
func recordBound(b []byte) int {
	if len(b) < HeaderLen {
		return len(b)
	}
	return min(len(b), HeaderLen+int(binary.BigEndian.Uint16(b[3:])))
}

// end is a net.Conn over two pipes; a server end records what crypto/tls
// read and wrote (the inputs of SyncIn and SyncOut).
type end struct {
	in, out        *pipe
	server         bool
	discard        bool // drop writes (benchmarks)
	mu             sync.Mutex
	consumed, sent []byte
}

func (e *end) Read(b []byte) (int, error) {
	var limit func([]byte) int
	if e.server {
		limit = recordBound
	}
	n, err := e.in.read(b, limit)
	if e.server {
		e.mu.Lock()
		e.consumed = append(e.consumed, b[:n]...)
		e.mu.Unlock()
	}
	return n, err
}

func (e *end) Write(b []byte) (int, error) {
	if e.discard {
		return len(b), nil
	}
	if e.server {
		e.mu.Lock()
		e.sent = append(e.sent, b...)
		e.mu.Unlock()
	}
	e.out.write(b)
	return len(b), nil
}

func (e *end) Close() error                     { e.out.close(); return nil }
func (e *end) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (e *end) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (e *end) SetDeadline(time.Time) error      { return nil }
func (e *end) SetReadDeadline(time.Time) error  { return nil }
func (e *end) SetWriteDeadline(time.Time) error { return nil }

// keyLog collects a server's key log lines.
type keyLog struct {
	mu      sync.Mutex
	lines   []string
	resumed []byte // TLS 1.2 master secret of a resumed session
}

func (k *keyLog) Write(b []byte) (int, error) {
	k.mu.Lock()
	k.lines = append(k.lines, string(b))
	k.mu.Unlock()
	return len(b), nil
}

func (k *keyLog) secret(t testing.TB, label string) []byte {
	t.Helper()
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, l := range k.lines {
		if strings.HasPrefix(l, label+" ") {
			_, _, s, err := ParseKeyLogLine(l)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
	}
	t.Fatalf("no %s in the key log", label)
	return nil
}

var (
	certOnce sync.Once
	testCert tls.Certificate
)

func cert(t testing.TB) tls.Certificate {
	certOnce.Do(func() {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"},
			DNSNames: []string{"localhost"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			t.Fatal(err)
		}
		testCert = tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	})
	return testCert
}

// session is a real crypto/tls client connected to a server whose
// handshake crypto/tls did, and whose records this package now runs.
type session struct {
	client *tls.Conn
	server *tls.Conn // done with after the handshake, but for benchmarks
	se     *end
	c2s    *pipe
	s2c    *pipe
	rc     Conn
	cs     Ciphers
	rest   []byte // client bytes not yet read by the server
}

// handshake runs a crypto/tls handshake over in-memory pipes with the
// client limited to vers and suite (0: its default) and hands the server
// side to a Conn built from the key log.
func handshake(t testing.TB, vers, suite uint16, ccfg *tls.Config) *session {
	t.Helper()
	return handshakeWith(t, serverConfig(t), vers, suite, ccfg)
}

// serverConfig is a server configuration with a key log (see handshakeWith).
func serverConfig(t testing.TB) *tls.Config {
	kl := &keyLog{}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert(t)}, MinVersion: tls.VersionTLS12, KeyLogWriter: kl}
	// A resumed TLS 1.2 session is not in the key log: its master secret
	// is the ticket's.
	cfg.UnwrapSession = func(identity []byte, cs tls.ConnectionState) (*tls.SessionState, error) {
		ss, err := cfg.DecryptTicket(identity, cs)
		if err != nil || ss == nil {
			return ss, err
		}
		b, err := ss.Bytes()
		if err != nil {
			return nil, err
		}
		if v, _, secret, err := SessionSecret(b); err == nil && v == tls.VersionTLS12 {
			kl.mu.Lock()
			kl.resumed = append([]byte(nil), secret...)
			kl.mu.Unlock()
		}
		return ss, nil
	}
	return cfg
}

// handshakeWith is handshake with a server configuration, whose key log
// it empties first: shared, it lets a client resume.
func handshakeWith(t testing.TB, scfg *tls.Config, vers, suite uint16, ccfg *tls.Config) *session {
	t.Helper()
	kl := scfg.KeyLogWriter.(*keyLog)
	kl.mu.Lock()
	kl.lines, kl.resumed = nil, nil
	kl.mu.Unlock()
	if ccfg == nil {
		ccfg = &tls.Config{}
	}
	ccfg.InsecureSkipVerify = true
	ccfg.MinVersion, ccfg.MaxVersion = vers, vers
	if suite != 0 {
		ccfg.CipherSuites = []uint16{suite}
	}
	c2s, s2c := newPipe(), newPipe()
	se := &end{in: c2s, out: s2c, server: true}
	sc := tls.Server(se, scfg)
	cc := tls.Client(&end{in: s2c, out: c2s}, ccfg)
	errc := make(chan error, 1)
	go func() { errc <- sc.Handshake() }()
	if err := cc.Handshake(); err != nil {
		t.Fatal("client handshake: ", err)
	}
	if err := <-errc; err != nil {
		t.Fatal("server handshake: ", err)
	}
	st := sc.ConnectionState()
	if st.Version != vers || (suite != 0 && st.CipherSuite != suite) {
		t.Fatalf("negotiated %#x %#x, want %#x %#x", st.Version, st.CipherSuite, vers, suite)
	}
	s := &session{client: cc, server: sc, se: se, c2s: c2s, s2c: s2c}
	var err error
	se.mu.Lock()
	defer se.mu.Unlock()
	if vers == tls.VersionTLS13 {
		s.rc, err = NewTLS13(st.CipherSuite, kl.secret(t, LabelClientTraffic), kl.secret(t, LabelServerTraffic), true)
	} else {
		var sr, cr []byte
		if sr, err = HelloRandom(se.sent); err != nil {
			t.Fatal(err)
		}
		if cr, err = HelloRandom(se.consumed); err != nil {
			t.Fatal(err)
		}
		master := kl.resumed
		if !st.DidResume {
			master = kl.secret(t, LabelTLS12)
		}
		s.rc, err = NewTLS12(st.CipherSuite, master, cr, sr, true)
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := s.rc.SyncOut(se.sent); err != nil {
		t.Fatal(err)
	}
	if err := s.rc.SyncIn(se.consumed); err != nil {
		t.Fatal(err)
	}
	return s
}

// serverRead reads from the client until it has want bytes of application
// data (or an error), as a worker would: ciphertext appended to rest,
// records opened in place.
func (s *session) serverRead(t *testing.T, want int) ([]byte, error) {
	t.Helper()
	var got []byte
	deadline := time.Now().Add(5 * time.Second)
	for len(got) < want {
		if len(s.rest) == 0 || func() bool { n, _ := s.rc.RecordLen(s.rest); return n == 0 || n > len(s.rest) }() {
			s.rest = append(s.rest, s.c2s.take()...)
		}
		n, data, reply, err := s.rc.Read(&s.cs, s.rest, nil)
		if len(reply) > 0 {
			s.s2c.write(reply)
		}
		if err != nil {
			return got, err
		}
		if n == 0 {
			if time.Now().After(deadline) {
				t.Fatalf("server read: waited 5 s, have %d of %d bytes", len(got), want)
			}
			time.Sleep(time.Millisecond)
			continue
		}
		got = append(got, data...)
		s.rest = s.rest[n:]
	}
	return got, nil
}

func (s *session) serverWrite(t *testing.T, parts ...[]byte) {
	t.Helper()
	out, err := s.rc.Seal(&s.cs, nil, TypeApplicationData, parts...)
	if err != nil {
		t.Fatal(err)
	}
	s.s2c.write(out)
}
