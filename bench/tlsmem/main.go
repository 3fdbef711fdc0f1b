// Command tlsmem measures what an established, idle server-side *tls.Conn
// retains, the way server/tls.go runs it: crypto/tls over an in-memory
// transport whose output slice keeps its capacity between takes and whose
// input slice is dropped when empty. It opens N connections in process
// (real crypto/tls clients), does the handshake and one request/response on
// each, reads once more until would-block (as the worker does), drops the
// clients, collects garbage and reports the heap still in use per server
// connection, by allocation site (runtime.MemProfileRate = 1).
//
// For comparison it also prints what this package's replacement keeps: a
// tlsrecord.Conn (pointer-free, in a slab) and no AEAD while idle.
//
//	go run ./bench/tlsmem -n 500 [-req 16384]
package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/condure-go/condure/internal/tlsrecord"
)

// A request and a response of typical size.
var (
	request  = []byte("GET / HTTP/1.1\r\nHost: localhost\r\nUser-Agent: tlsmem\r\nAccept: */*\r\n\r\n")
	response = []byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 12\r\n\r\nhello world\n")
)

func main() {
	runtime.MemProfileRate = 1
	n := flag.Int("n", 500, "connections per variant")
	top := flag.Int("top", 12, "allocation sites listed per variant")
	only := flag.String("only", "", "run only variants whose name contains this")
	reqSize := flag.Int("req", 0, "request size in bytes (0: a 70-byte GET; more: an upload, e.g. 16384)")
	flag.Parse()
	if *reqSize > len(request) {
		request = append(request, make([]byte, *reqSize-len(request))...)
	}
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	certs := map[string]tls.Certificate{"ecdsa": selfSigned(ecKey), "rsa": selfSigned(rsaKey)}
	type variant struct {
		name  string
		cert  string
		vers  uint16
		suite uint16 // TLS 1.2 only; 0: server's choice
	}
	var vs []variant
	for _, cert := range []string{"ecdsa", "rsa"} {
		vs = append(vs,
			variant{cert + " tls1.3 aes128gcm", cert, tls.VersionTLS13, 0},
			variant{cert + " tls1.2 aes128gcm", cert, tls.VersionTLS12, pick12(cert, false)},
			variant{cert + " tls1.2 chacha20", cert, tls.VersionTLS12, pick12(cert, true)},
		)
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "variant\theap B/conn\tobjects/conn\n")
	var details strings.Builder
	for _, v := range vs {
		if *only != "" && !strings.Contains(v.name, *only) {
			continue
		}
		cfg := &tls.Config{Certificates: []tls.Certificate{certs[v.cert]}, MinVersion: tls.VersionTLS12, MaxVersion: v.vers, NextProtos: []string{"http/1.1"}}
		ccfg := &tls.Config{InsecureSkipVerify: true, MinVersion: v.vers, MaxVersion: v.vers, NextProtos: []string{"http/1.1"}}
		if v.suite != 0 {
			ccfg.CipherSuites = []uint16{v.suite}
		}
		perConn, objs, sites := measure(*n, cfg, ccfg)
		fmt.Fprintf(w, "%s\t%.0f\t%.1f\n", v.name, perConn, objs)
		fmt.Fprintf(&details, "\n== %s: retained per connection by allocation site\n", v.name)
		for i, s := range sites {
			if i == *top {
				break
			}
			fmt.Fprintf(&details, "%8.0f B %5.2f obj  %s\n", float64(s.bytes)/float64(*n), float64(s.objs)/float64(*n), s.where)
		}
	}
	fmt.Fprintf(w, "tlsrecord.Conn (any suite)\t%d\t0 (slab)\n", tlsrecord.ConnSize)
	w.Flush()
	fmt.Print(details.String())
}

func pick12(cert string, chacha bool) uint16 {
	switch {
	case cert == "ecdsa" && chacha:
		return tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305
	case cert == "ecdsa":
		return tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
	case chacha:
		return tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305
	}
	return tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
}

type site struct {
	where       string
	bytes, objs int64
}

// measure opens n connections and returns the heap retained per server
// connection, objects per connection, and the retaining allocation sites.
func measure(n int, cfg, ccfg *tls.Config) (float64, float64, []site) {
	before := inuse()
	var ms0, ms1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms0)
	servers := make([]*tls.Conn, n)
	transports := make([]*memTransport, n)
	buf := make([]byte, 16*1024) // the worker's read buffer: not per connection
	for i := range servers {
		st := newMemTransport()
		sc := tls.Server(st, cfg)
		cc := tls.Client(&clientEnd{peer: st}, ccfg)
		st.peer = cc.NetConn().(*clientEnd)
		errc := make(chan error, 1)
		go func() { errc <- sc.Handshake() }()
		if err := cc.Handshake(); err != nil {
			log.Fatal("client handshake: ", err)
		}
		if err := <-errc; err != nil {
			log.Fatal("server handshake: ", err)
		}
		st.setBlocking(false)
		if _, err := cc.Write(request); err != nil {
			log.Fatal(err)
		}
		// the worker reads until would-block, then answers
		got := 0
		for {
			m, err := sc.Read(buf)
			got += m
			if err != nil {
				if !errors.Is(err, errWouldBlock) {
					log.Fatal("server read: ", err)
				}
				break
			}
		}
		if got != len(request) {
			log.Fatalf("server read %d bytes, want %d", got, len(request))
		}
		if _, err := sc.Write(response); err != nil {
			log.Fatal(err)
		}
		st.flush()
		resp := make([]byte, len(response))
		if _, err := io.ReadFull(cc, resp); err != nil || !bytes.Equal(resp, response) {
			log.Fatalf("client read: %v %q", err, resp)
		}
		st.peer = nil // the client and its buffers become garbage
		servers[i], transports[i] = sc, st
	}
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms1)
	after := inuse()
	var sites []site
	var total, objs int64
	for k, a := range after {
		b := before[k]
		d := site{where: k, bytes: a.bytes - b.bytes, objs: a.objs - b.objs}
		if d.bytes > int64(n)/2 {
			sites = append(sites, d)
			total += d.bytes
			objs += d.objs
		}
	}
	sort.Slice(sites, func(i, j int) bool { return sites[i].bytes > sites[j].bytes })
	runtime.KeepAlive(servers)
	runtime.KeepAlive(transports)
	_ = ms0
	_ = total
	return float64(ms1.HeapAlloc-ms0.HeapAlloc) / float64(n), float64(objs) / float64(n), sites
}

// inuse sums the heap profile's in-use bytes by allocation site, named by
// the first frames outside the runtime.
func inuse() map[string]site {
	runtime.GC()
	runtime.GC()
	var recs []runtime.MemProfileRecord
	n, _ := runtime.MemProfile(nil, true)
	for {
		recs = make([]runtime.MemProfileRecord, n+100)
		var ok bool
		if n, ok = runtime.MemProfile(recs, true); ok {
			recs = recs[:n]
			break
		}
	}
	out := map[string]site{}
	for _, r := range recs {
		k := where(r.Stack())
		if k == "" {
			continue // this program's own bookkeeping
		}
		s := out[k]
		s.where = k
		s.bytes += r.InUseBytes()
		s.objs += r.InUseObjects()
		out[k] = s
	}
	return out
}

func where(stk []uintptr) string {
	frames := runtime.CallersFrames(stk)
	var parts []string
	for {
		f, more := frames.Next()
		name := f.Function
		if strings.HasPrefix(name, "main.inuse") || strings.HasPrefix(name, "main.where") {
			return "" // this program's own bookkeeping
		}
		if len(parts) < 4 && !strings.HasPrefix(name, "runtime.") && !strings.HasPrefix(name, "bytes.") &&
			!strings.HasPrefix(name, "slices.") && !strings.HasPrefix(name, "strings.") && !strings.HasPrefix(name, "internal/bytealg.") {
			parts = append(parts, fmt.Sprintf("%s:%d", strings.TrimPrefix(name, "crypto/"), f.Line))
		}
		if !more {
			break
		}
	}
	return strings.Join(parts, " < ")
}

var errWouldBlock error = wouldBlock{}

type wouldBlock struct{}

func (wouldBlock) Error() string   { return "would block" }
func (wouldBlock) Timeout() bool   { return true }
func (wouldBlock) Temporary() bool { return true }

// memTransport is server/tls.go's transport, reduced: in is dropped when
// empty, out keeps its capacity after flush (as take does).
type memTransport struct {
	mu       sync.Mutex
	cond     sync.Cond
	in, out  []byte
	blocking bool
	peer     *clientEnd
}

func newMemTransport() *memTransport {
	t := &memTransport{blocking: true}
	t.cond.L = &t.mu
	return t
}

func (t *memTransport) setBlocking(b bool) { t.mu.Lock(); t.blocking = b; t.mu.Unlock() }

func (t *memTransport) Read(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for len(t.in) == 0 {
		if !t.blocking {
			return 0, errWouldBlock
		}
		t.cond.Wait()
	}
	n := copy(p, t.in)
	t.in = t.in[n:]
	if len(t.in) == 0 {
		t.in = t.in[:0:0]
	}
	return n, nil
}

func (t *memTransport) Write(p []byte) (int, error) {
	t.mu.Lock()
	t.out = append(t.out, p...)
	blocking := t.blocking
	t.mu.Unlock()
	if blocking {
		t.flush()
	}
	return len(p), nil
}

// flush moves the output to the client, keeping the array (as take does).
func (t *memTransport) flush() {
	t.mu.Lock()
	b := append([]byte(nil), t.out...)
	t.out = t.out[:0]
	p := t.peer
	t.mu.Unlock()
	if p != nil {
		p.feed(b)
	}
}

func (t *memTransport) feed(b []byte) {
	t.mu.Lock()
	t.in = append(t.in, b...)
	t.mu.Unlock()
	t.cond.Signal()
}

func (t *memTransport) Close() error                     { return nil }
func (t *memTransport) LocalAddr() net.Addr              { return addr{} }
func (t *memTransport) RemoteAddr() net.Addr             { return addr{} }
func (t *memTransport) SetDeadline(time.Time) error      { return nil }
func (t *memTransport) SetReadDeadline(time.Time) error  { return nil }
func (t *memTransport) SetWriteDeadline(time.Time) error { return nil }
func (c *clientEnd) Close() error                        { return nil }
func (c *clientEnd) LocalAddr() net.Addr                 { return addr{} }
func (c *clientEnd) RemoteAddr() net.Addr                { return addr{} }
func (c *clientEnd) SetDeadline(time.Time) error         { return nil }
func (c *clientEnd) SetReadDeadline(time.Time) error     { return nil }
func (c *clientEnd) SetWriteDeadline(time.Time) error    { return nil }
func (addr) Network() string                             { return "tcp" }
func (addr) String() string                              { return "in-memory" }
func (c *clientEnd) Write(p []byte) (n int, err error) {
	c.peer.feed(append([]byte(nil), p...))
	return len(p), nil
}
func (c *clientEnd) feed(b []byte) {
	c.mu.Lock()
	c.in = append(c.in, b...)
	c.mu.Unlock()
	c.cond().Signal()
}
func (c *clientEnd) cond() *sync.Cond           { c.once.Do(func() { c.c.L = &c.mu }); return &c.c }
func (c *clientEnd) Read(p []byte) (int, error) { return c.read(p) }
func (c *clientEnd) read(p []byte) (int, error) {
	c.cond()
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(c.in) == 0 {
		c.c.Wait()
	}
	n := copy(p, c.in)
	c.in = c.in[n:]
	return n, nil
}

type addr struct{}

// clientEnd is the client's side: blocking, fed by the server's flush.
type clientEnd struct {
	mu   sync.Mutex
	c    sync.Cond
	once sync.Once
	in   []byte
	peer *memTransport
}

func selfSigned(key any) tls.Certificate {
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"}, DNSNames: []string{"localhost"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
	}
	var pub any
	switch k := key.(type) {
	case *ecdsa.PrivateKey:
		pub = &k.PublicKey
	case *rsa.PrivateKey:
		pub = &k.PublicKey
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, key)
	if err != nil {
		log.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}
