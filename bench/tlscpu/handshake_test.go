// Package tlscpu measures the server's CPU per TLS handshake with
// crypto/tls, by certificate, key exchange group and version, fresh and
// resumed (issue #18).
//
// Method: client and server run in one process over in-memory pipes; the
// server's handshake goroutine is locked to its OS thread and reads
// CLOCK_THREAD_CPUTIME_ID before and after Handshake, so only the
// server's own CPU counts (a goroutine blocked waiting for the client
// sleeps, and its thread with it). Not counted: the background GC
// workers' share of the garbage a handshake leaves (reported as B/op of
// the whole run, client included, for scale). Wall-clock figures
// (handshakes per second) would mostly measure the client and the other
// processes on a shared machine.
//
//	go test ./bench/tlscpu -run XXX -bench . -benchtime 200x
package tlscpu

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net"
	"runtime"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func BenchmarkServerHandshake(b *testing.B) {
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	certs := []struct {
		name string
		cert tls.Certificate
	}{{"ecdsa-p256", selfSigned(b, ecKey, &ecKey.PublicKey)}, {"rsa-2048", selfSigned(b, rsaKey, &rsaKey.PublicKey)}}
	groups := []struct {
		name  string
		curve tls.CurveID
	}{{"x25519", tls.X25519}, {"p256", tls.CurveP256}, {"x25519mlkem768", tls.X25519MLKEM768}}
	for _, c := range certs {
		for _, vers := range []uint16{tls.VersionTLS13, tls.VersionTLS12} {
			for _, g := range groups {
				if vers == tls.VersionTLS12 && g.curve == tls.X25519MLKEM768 {
					continue // TLS 1.3 only
				}
				for _, resume := range []bool{false, true} {
					name := c.name + "/" + map[uint16]string{tls.VersionTLS13: "tls13", tls.VersionTLS12: "tls12"}[vers] + "/" + g.name
					if resume {
						name += "/resumed"
					}
					b.Run(name, func(b *testing.B) {
						scfg := &tls.Config{Certificates: []tls.Certificate{c.cert}, MinVersion: tls.VersionTLS12}
						ccfg := &tls.Config{InsecureSkipVerify: true, MinVersion: vers, MaxVersion: vers, CurvePreferences: []tls.CurveID{g.curve}}
						if resume {
							ccfg.ClientSessionCache = tls.NewLRUClientSessionCache(1)
							handshakeCPU(b, scfg, ccfg, false) // the ticket
						}
						var total time.Duration
						b.ReportAllocs()
						for b.Loop() {
							total += handshakeCPU(b, scfg, ccfg, resume)
						}
						b.ReportMetric(float64(total.Microseconds())/float64(b.N), "server-cpu-us/op")
					})
				}
			}
		}
	}
}

// handshakeCPU runs one handshake and returns the server's CPU time.
func handshakeCPU(b *testing.B, scfg, ccfg *tls.Config, wantResume bool) time.Duration {
	c2s, s2c := newPipe(), newPipe()
	sc := tls.Server(&end{in: c2s, out: s2c}, scfg)
	cc := tls.Client(&end{in: s2c, out: c2s}, ccfg)
	type result struct {
		cpu time.Duration
		err error
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		t0 := threadCPU()
		err := sc.Handshake()
		done <- result{threadCPU() - t0, err}
	}()
	if err := cc.Handshake(); err != nil {
		b.Fatal("client: ", err)
	}
	r := <-done
	if r.err != nil {
		b.Fatal("server: ", r.err)
	}
	if cc.ConnectionState().DidResume != wantResume {
		b.Fatalf("resumed %v, want %v", cc.ConnectionState().DidResume, wantResume)
	}
	if ccfg.ClientSessionCache != nil && ccfg.MaxVersion == tls.VersionTLS13 {
		// the TLS 1.3 ticket comes after the handshake: let the client read it
		go sc.Write([]byte{0})
		if _, err := io.ReadFull(cc, make([]byte, 1)); err != nil {
			b.Fatal(err)
		}
	}
	return r.cpu
}

func threadCPU() time.Duration {
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts)
	return time.Duration(ts.Nano())
}

func selfSigned(b *testing.B, key, pub any) tls.Certificate {
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"},
		DNSNames: []string{"localhost"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, key)
	if err != nil {
		b.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// pipe is one direction: Write never blocks, Read waits for bytes.
type pipe struct {
	mu   sync.Mutex
	cond sync.Cond
	buf  []byte
}

func newPipe() *pipe { p := &pipe{}; p.cond.L = &p.mu; return p }

type end struct{ in, out *pipe }

func (e *end) Read(b []byte) (int, error) {
	p := e.in
	p.mu.Lock()
	defer p.mu.Unlock()
	for len(p.buf) == 0 {
		p.cond.Wait()
	}
	n := copy(b, p.buf)
	p.buf = p.buf[n:]
	return n, nil
}

func (e *end) Write(b []byte) (int, error) {
	p := e.out
	p.mu.Lock()
	p.buf = append(p.buf, b...)
	p.mu.Unlock()
	p.cond.Signal()
	return len(b), nil
}

func (e *end) Close() error                     { return nil }
func (e *end) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (e *end) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (e *end) SetDeadline(time.Time) error      { return nil }
func (e *end) SetReadDeadline(time.Time) error  { return nil }
func (e *end) SetWriteDeadline(time.Time) error { return nil }
