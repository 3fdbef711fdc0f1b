package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/condure-go/condure/zhttp/zhttptest"
)

// TLS termination (reference.md §7) and unix-socket listeners (§8.2, local)
// end to end: certificates made here with crypto/x509, the real binary,
// real handlers, and Go, curl, openssl and Python clients.

// ---- certificates ----

// tlsIdentity is one NAME.crt / NAME.key pair in PEM.
type tlsIdentity struct {
	crt, key []byte
	serial   *big.Int
}

type tlsTestPKI struct {
	caPEM []byte
	ca    *x509.Certificate
	caKey *ecdsa.PrivateKey
	// localhost (ECDSA P-256), *.wild.test (RSA-2048, file _.wild.test,
	// chain with the CA after the leaf), default.test (ECDSA, file default).
	localhost, wild, deflt tlsIdentity
}

var (
	tlsPKIOnce sync.Once
	tlsPKIVal  *tlsTestPKI
	tlsPKIErr  error
)

// getTestPKI returns the CA and the standard identities, made once per run.
func getTestPKI(t *testing.T) *tlsTestPKI {
	t.Helper()
	tlsPKIOnce.Do(func() { tlsPKIVal, tlsPKIErr = newTestPKI() })
	if tlsPKIErr != nil {
		t.Fatal(tlsPKIErr)
	}
	return tlsPKIVal
}

func newTestPKI() (*tlsTestPKI, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "condure-go test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(48 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	ca, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	p := &tlsTestPKI{caPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), ca: ca, caKey: key}
	if p.localhost, err = p.issue("localhost", false); err != nil {
		return nil, err
	}
	if p.wild, err = p.issue("*.wild.test", true); err != nil {
		return nil, err
	}
	p.wild.crt = append(p.wild.crt, p.caPEM...) // a chain file, leaf first
	if p.deflt, err = p.issue("default.test", false); err != nil {
		return nil, err
	}
	return p, nil
}

// issue makes a leaf for name (CN and DNS SAN) with a fresh key and a
// random serial: ECDSA P-256 in SEC 1 form, or RSA-2048 in PKCS #8.
func (p *tlsTestPKI) issue(name string, useRSA bool) (tlsIdentity, error) {
	var signer crypto.Signer
	var keyBlock *pem.Block
	usage := x509.KeyUsageDigitalSignature
	if useRSA {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return tlsIdentity{}, err
		}
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			return tlsIdentity{}, err
		}
		signer, keyBlock = k, &pem.Block{Type: "PRIVATE KEY", Bytes: der}
		usage |= x509.KeyUsageKeyEncipherment
	} else {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return tlsIdentity{}, err
		}
		der, err := x509.MarshalECPrivateKey(k)
		if err != nil {
			return tlsIdentity{}, err
		}
		signer, keyBlock = k, &pem.Block{Type: "EC PRIVATE KEY", Bytes: der}
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return tlsIdentity{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: name},
		DNSNames:     []string{name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     usage,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca, signer.Public(), p.caKey)
	if err != nil {
		return tlsIdentity{}, err
	}
	return tlsIdentity{
		crt:    pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		key:    pem.EncodeToMemory(keyBlock),
		serial: serial,
	}, nil
}

// tlsEnv is a test's --tls-identities-dir plus the CA clients trust.
type tlsEnv struct {
	pki    *tlsTestPKI
	dir    string // identities
	caFile string // ca.pem, outside dir
	pool   *x509.CertPool
}

func newTLSEnv(t *testing.T) *tlsEnv {
	t.Helper()
	p := getTestPKI(t)
	e := &tlsEnv{pki: p, dir: t.TempDir(), caFile: filepath.Join(t.TempDir(), "ca.pem"), pool: x509.NewCertPool()}
	e.pool.AddCert(p.ca)
	if err := os.WriteFile(e.caFile, p.caPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	e.write(t, "localhost", p.localhost.crt, p.localhost.key)
	e.write(t, "_.wild.test", p.wild.crt, p.wild.key)
	e.write(t, "default", p.deflt.crt, p.deflt.key)
	return e
}

// write stores NAME.crt and NAME.key.
func (e *tlsEnv) write(t *testing.T, name string, crt, key []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(e.dir, name+".crt"), crt, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(e.dir, name+".key"), key, 0o600); err != nil {
		t.Fatal(err)
	}
}

// clientConfig verifies the server against the test CA for name (also the
// SNI name).
func (e *tlsEnv) clientConfig(name string) *tls.Config {
	return &tls.Config{RootCAs: e.pool, ServerName: name}
}

// sniConfig sends sni ("" = no SNI) and checks only that the chain leads
// to the test CA, not the name, so that the chosen certificate can be
// inspected whatever it is.
func (e *tlsEnv) sniConfig(sni string) *tls.Config {
	return &tls.Config{
		ServerName:         sni, // empty: tls.Dial uses the IP, which is never sent as SNI
		InsecureSkipVerify: true,
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			var certs []*x509.Certificate
			for _, r := range raw {
				c, err := x509.ParseCertificate(r)
				if err != nil {
					return err
				}
				certs = append(certs, c)
			}
			inter := x509.NewCertPool()
			for _, c := range certs[1:] {
				inter.AddCert(c)
			}
			_, err := certs[0].Verify(x509.VerifyOptions{Roots: e.pool, Intermediates: inter})
			return err
		},
	}
}

// ---- server and client helpers ----

type tlsServer struct {
	*testServer
	env      *tlsEnv
	tlsAddr  string // ",tls,default-cert=default"
	bareAddr string // ",tls" without a default identity
}

// startTLSServer runs the binary with its plain listener plus two TLS
// listeners on env's identities.
func startTLSServer(t *testing.T, env *tlsEnv, extra ...string) *tlsServer {
	t.Helper()
	p1 := freePort(t)
	p2 := freePort(t)
	for p2 == p1 {
		p2 = freePort(t)
	}
	ts := &tlsServer{env: env, tlsAddr: fmt.Sprintf("127.0.0.1:%d", p1), bareAddr: fmt.Sprintf("127.0.0.1:%d", p2)}
	args := append([]string{
		"--listen", ts.tlsAddr + ",tls,default-cert=default",
		"--listen", ts.bareAddr + ",tls",
		"--tls-identities-dir", env.dir,
	}, extra...)
	ts.testServer = startServer(t, args...)
	ts.waitLog("[condure] started")
	return ts
}

func (s *tlsServer) port() string {
	_, p, _ := net.SplitHostPort(s.tlsAddr)
	return p
}

// logMark is where the next log check starts.
func (s *testServer) logMark() int { return len(s.log.String()) }

// waitLogSince waits until the output after mark contains every sub; t is
// the (sub)test that fails otherwise.
func (s *testServer) waitLogSince(t *testing.T, mark int, subs ...string) {
	t.Helper()
	missing := ""
	if !eventually(t, 5*time.Second, func() bool {
		tail := s.log.String()[mark:]
		for _, sub := range subs {
			if !strings.Contains(tail, sub) {
				missing = sub
				return false
			}
		}
		return true
	}) {
		t.Fatalf("log line %q not found in:\n%s", missing, s.log.String()[mark:])
	}
}

// tlsDial connects and completes the handshake within 5 s.
func tlsDial(t *testing.T, addr string, cfg *tls.Config) (*tls.Conn, error) {
	t.Helper()
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, cfg)
	if err != nil {
		return nil, err
	}
	c.SetDeadline(time.Now().Add(20 * time.Second))
	t.Cleanup(func() { c.Close() })
	return c, nil
}

func tlsMustDial(t *testing.T, addr string, cfg *tls.Config) *tls.Conn {
	t.Helper()
	c, err := tlsDial(t, addr, cfg)
	if err != nil {
		t.Fatalf("tls handshake with %s: %v", addr, err)
	}
	return c
}

// tlsLeaf returns the server's certificate after a handshake with sni on
// addr.
func tlsLeaf(t *testing.T, env *tlsEnv, addr, sni string, maxVersion uint16) (*x509.Certificate, error) {
	t.Helper()
	cfg := env.sniConfig(sni)
	cfg.MaxVersion = maxVersion
	c, err := tlsDial(t, addr, cfg)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0], nil
}

// tlsRoundTrip sends GET path on c and has h answer with body; it returns the
// request packet.
func tlsRoundTrip(t *testing.T, c net.Conn, br *bufio.Reader, h *zhttptest.Handler, host, path, body string) map[string]any {
	t.Helper()
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", path, host)
	req := recv(t, h, "")
	newSession(t, h, req).respond(200, "OK", body, false, "Content-Type", "text/plain")
	resp, got := readResponse(t, br, "GET")
	if resp.StatusCode != 200 || got != body {
		t.Fatalf("response %d %q, want 200 %q", resp.StatusCode, got, body)
	}
	return req
}

// goodClient checks that the TLS listener still serves a verified client.
func (s *tlsServer) goodClient(t *testing.T, h *zhttptest.Handler) {
	t.Helper()
	c := tlsMustDial(t, s.tlsAddr, s.env.clientConfig("localhost"))
	defer c.Close()
	req := tlsRoundTrip(t, c, bufio.NewReader(c), h, "localhost", "/still-ok", "still ok")
	if str(req, "uri") != "https://localhost/still-ok" {
		t.Fatalf("uri %q", str(req, "uri"))
	}
}

func tlsLocalPort(c net.Conn) int64 { return int64(c.LocalAddr().(*net.TCPAddr).Port) }

// ---- 1. GET, request fields, versions, ALPN, keep-alive ----

func TestTLSGetVersionsALPNKeepAlive(t *testing.T) {
	env := newTLSEnv(t)
	s := startTLSServer(t, env, "--no-http2") // HTTP/1 over TLS; h2 by ALPN is e2e_h2_test.go
	h := s.handler("h1")
	for _, tc := range []struct {
		name      string
		max       uint16
		alpn      []string
		wantVer   uint16
		wantProto string
	}{
		{"tls13_alpn_http11", 0, []string{"http/1.1"}, tls.VersionTLS13, "http/1.1"},
		{"tls13_alpn_h2_http11", 0, []string{"h2", "http/1.1"}, tls.VersionTLS13, "http/1.1"},
		{"tls13_no_alpn", 0, nil, tls.VersionTLS13, ""},
		{"tls12_alpn_http11", tls.VersionTLS12, []string{"http/1.1"}, tls.VersionTLS12, "http/1.1"},
		{"tls12_no_alpn", tls.VersionTLS12, nil, tls.VersionTLS12, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := env.clientConfig("localhost")
			cfg.MaxVersion = tc.max
			cfg.NextProtos = tc.alpn
			c := tlsMustDial(t, s.tlsAddr, cfg)
			st := c.ConnectionState()
			if st.Version != tc.wantVer || st.NegotiatedProtocol != tc.wantProto {
				t.Fatalf("negotiated %s ALPN %q, want %s %q", tls.VersionName(st.Version), st.NegotiatedProtocol, tls.VersionName(tc.wantVer), tc.wantProto)
			}
			leaf := st.PeerCertificates[0]
			if leaf.Subject.CommonName != "localhost" || leaf.SerialNumber.Cmp(env.pki.localhost.serial) != 0 || leaf.PublicKeyAlgorithm != x509.ECDSA {
				t.Fatalf("certificate %s serial %s %s", leaf.Subject, leaf.SerialNumber, leaf.PublicKeyAlgorithm)
			}
			br := bufio.NewReader(c)
			ids := map[string]bool{}
			for i := 0; i < 3; i++ {
				path := fmt.Sprintf("/r%d?q=%d", i, i)
				req := tlsRoundTrip(t, c, br, h, "localhost", path, fmt.Sprintf("reply %d over %s", i, tc.name))
				if got := str(req, "uri"); got != "https://localhost"+path {
					t.Errorf("uri %q", got)
				}
				if str(req, "peer-address") != "127.0.0.1" || num(req, "peer-port") != tlsLocalPort(c) {
					t.Errorf("peer %q:%d, want 127.0.0.1:%d", str(req, "peer-address"), num(req, "peer-port"), tlsLocalPort(c))
				}
				if str(req, "method") != "GET" || req["stream"] != true {
					t.Errorf("request packet %v", req)
				}
				ids[str(req, "id")] = true
			}
			if len(ids) != 3 {
				t.Errorf("ids %v", ids)
			}
			// Three pipelined requests in one write (one TLS record).
			fmt.Fprintf(c, "GET /p1 HTTP/1.1\r\nHost: localhost\r\n\r\nGET /p2 HTTP/1.1\r\nHost: localhost\r\n\r\nGET /p3 HTTP/1.1\r\nHost: localhost\r\n\r\n")
			for _, want := range []string{"/p1", "/p2", "/p3"} {
				req := recv(t, h, "")
				if str(req, "uri") != "https://localhost"+want {
					t.Fatalf("uri %q, want %s", str(req, "uri"), want)
				}
				newSession(t, h, req).respond(200, "OK", want, false)
				if _, body := readResponse(t, br, "GET"); body != want {
					t.Fatalf("body %q want %q", body, want)
				}
			}
		})
	}

	// net/http offering h2 and http/1.1 gets HTTP/1.1 and reuses the
	// connection.
	t.Run("net_http_client", func(t *testing.T) {
		cfg := env.clientConfig("localhost")
		tr := &http.Transport{
			TLSClientConfig:   cfg,
			ForceAttemptHTTP2: true,
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, "tcp", s.tlsAddr)
			},
		}
		defer tr.CloseIdleConnections()
		client := &http.Client{Transport: tr, Timeout: 15 * time.Second}
		type result struct {
			proto, body string
			status      int
			err         error
		}
		results := make(chan result, 2)
		go func() {
			for i := 0; i < 2; i++ {
				resp, err := client.Get(fmt.Sprintf("https://localhost:%s/nethttp%d", s.port(), i))
				if err != nil {
					results <- result{err: err}
					return
				}
				b, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				results <- result{proto: resp.Proto, body: string(b), status: resp.StatusCode, err: err}
			}
		}()
		var ports []int64
		for i := 0; i < 2; i++ {
			req := recv(t, h, "")
			if want := fmt.Sprintf("https://localhost:%s/nethttp%d", s.port(), i); str(req, "uri") != want {
				t.Errorf("uri %q, want %q", str(req, "uri"), want)
			}
			ports = append(ports, num(req, "peer-port"))
			newSession(t, h, req).respond(200, "OK", fmt.Sprintf("net/http %d", i), false)
			r := <-results
			if r.err != nil || r.status != 200 || r.proto != "HTTP/1.1" || r.body != fmt.Sprintf("net/http %d", i) {
				t.Fatalf("client: %+v", r)
			}
		}
		if ports[0] != ports[1] {
			t.Errorf("net/http did not reuse its connection: peer ports %v", ports)
		}
	})
}

// ---- 2. SNI ----

func TestTLSSNISelection(t *testing.T) {
	env := newTLSEnv(t)
	// A pair outside the identities dir must not be reachable by SNI.
	outside := filepath.Dir(env.dir)
	os.WriteFile(filepath.Join(outside, "outside.crt"), env.pki.localhost.crt, 0o644)
	os.WriteFile(filepath.Join(outside, "outside.key"), env.pki.localhost.key, 0o600)
	s := startTLSServer(t, env)
	const (
		local = "localhost"
		wild  = "*.wild.test"
		def   = "default.test"
		none  = ""
	)
	for _, tc := range []struct {
		bare bool // the listener without default-cert
		sni  string
		max  uint16
		want string // CN, or none for an unrecognized_name failure
	}{
		{false, "localhost", 0, local},
		{false, "LOCALHOST", 0, local},
		{false, "LocalHost", tls.VersionTLS12, local},
		{false, "a.wild.test", 0, wild},
		{false, "A.WILD.Test", 0, wild},
		{false, "a.wild.test", tls.VersionTLS12, wild},
		{false, "b.a.wild.test", 0, def},
		{false, "wild.test", 0, def},
		{false, "", 0, def},
		{false, "", tls.VersionTLS12, def},
		{false, "nosuch.test", 0, def},
		{false, "../outside", 0, def},
		{true, "localhost", 0, local},
		{true, "Localhost", 0, local},
		{true, "a.wild.test", 0, wild},
		{true, "zz.wild.test", tls.VersionTLS12, wild},
		{true, "b.a.wild.test", 0, none},
		{true, "b.a.wild.test", tls.VersionTLS12, none},
		{true, "", 0, none},
		{true, "", tls.VersionTLS12, none},
		{true, "nosuch.test", 0, none},
		{true, "../outside", 0, none},
		{true, "default", 0, def}, // the identity's file name is a name like any other
	} {
		addr, lname := s.tlsAddr, "default-cert"
		if tc.bare {
			addr, lname = s.bareAddr, "no-default"
		}
		name := fmt.Sprintf("%s/sni=%q/max=%s", lname, tc.sni, tls.VersionName(tc.max))
		t.Run(name, func(t *testing.T) {
			leaf, err := tlsLeaf(t, env, addr, tc.sni, tc.max)
			if tc.want == none {
				if err == nil {
					t.Fatalf("handshake succeeded with %s, want unrecognized_name", leaf.Subject)
				}
				if !strings.Contains(err.Error(), "unrecognized name") {
					t.Fatalf("error %q, want an unrecognized_name alert", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("handshake: %v", err)
			}
			if leaf.Subject.CommonName != tc.want {
				t.Fatalf("got certificate %q, want %q", leaf.Subject.CommonName, tc.want)
			}
		})
	}
	// Full name verification works for the wildcard certificate, and the
	// RSA key gives an ECDHE-RSA suite on TLS 1.2.
	cfg := env.clientConfig("a.wild.test")
	cfg.MaxVersion = tls.VersionTLS12
	c := tlsMustDial(t, s.bareAddr, cfg)
	st := c.ConnectionState()
	if st.PeerCertificates[0].PublicKeyAlgorithm != x509.RSA || !strings.Contains(tls.CipherSuiteName(st.CipherSuite), "ECDHE_RSA") ||
		len(st.PeerCertificates) != 2 {
		t.Errorf("wildcard: %s, %s, chain of %d", st.PeerCertificates[0].PublicKeyAlgorithm, tls.CipherSuiteName(st.CipherSuite), len(st.PeerCertificates))
	}
	s.waitLog(`no certificate for "b.a.wild.test"`)
}

// ---- 3. reload ----

func TestTLSCertReload(t *testing.T) {
	env := newTLSEnv(t)
	s := startTLSServer(t, env)
	h := s.handler("h1")
	leaf, err := tlsLeaf(t, env, s.tlsAddr, "localhost", 0)
	if err != nil || leaf.SerialNumber.Cmp(env.pki.localhost.serial) != 0 {
		t.Fatalf("before reload: %v %v", leaf, err)
	}
	old := tlsMustDial(t, s.tlsAddr, env.clientConfig("localhost"))
	oldBr := bufio.NewReader(old)
	tlsRoundTrip(t, old, oldBr, h, "localhost", "/before", "before")

	for i, useRSA := range []bool{true, false} {
		next, err := env.pki.issue("localhost", useRSA)
		if err != nil {
			t.Fatal(err)
		}
		env.write(t, "localhost", next.crt, next.key)
		future := time.Now().Add(time.Duration(i+1) * time.Hour)
		for _, ext := range []string{".crt", ".key"} {
			if err := os.Chtimes(filepath.Join(env.dir, "localhost"+ext), future, future); err != nil {
				t.Fatal(err)
			}
		}
		for j := 0; j < 2; j++ { // and the reloaded copy is then cached
			c := tlsMustDial(t, s.tlsAddr, env.clientConfig("localhost"))
			leaf := c.ConnectionState().PeerCertificates[0]
			if leaf.SerialNumber.Cmp(next.serial) != 0 {
				t.Fatalf("reload %d: serial %s, want %s", i, leaf.SerialNumber, next.serial)
			}
			if (leaf.PublicKeyAlgorithm == x509.RSA) != useRSA {
				t.Fatalf("reload %d: key %s", i, leaf.PublicKeyAlgorithm)
			}
			tlsRoundTrip(t, c, bufio.NewReader(c), h, "localhost", "/after", "after")
			c.Close()
		}
	}
	// The connection made before the reloads is unaffected.
	tlsRoundTrip(t, old, oldBr, h, "localhost", "/old-conn", "old conn")
	// Other identities were not disturbed.
	if leaf, err := tlsLeaf(t, env, s.tlsAddr, "a.wild.test", 0); err != nil || leaf.SerialNumber.Cmp(env.pki.wild.serial) != 0 {
		t.Fatalf("wildcard after reload: %v", err)
	}
}

// ---- 4. large bodies ----

// tlsRecvBody collects a request body, granting credits back in batches.
func tlsRecvBody(t *testing.T, h *zhttptest.Handler, ss *session, req map[string]any) []byte {
	t.Helper()
	got := []byte(str(req, "body"))
	if req["more"] != true {
		return got
	}
	ss.send(map[string]any{"type": "credit", "credits": 65536})
	owed := 0
	for {
		p := recv(t, h, "")
		b := []byte(str(p, "body"))
		got = append(got, b...)
		if p["more"] != true {
			return got
		}
		if owed += len(b); owed >= 16384 {
			ss.send(map[string]any{"type": "credit", "credits": owed})
			owed = 0
		}
	}
}

func TestTLSLargeBodies(t *testing.T) {
	env := newTLSEnv(t)
	s := startTLSServer(t, env)
	h := s.handler("h1")
	data := make([]byte, 1<<20)
	rand.Read(data)

	upload := func(t *testing.T, chunked bool) {
		c := tlsMustDial(t, s.tlsAddr, env.clientConfig("localhost"))
		werr := make(chan error, 1)
		go func() {
			bw := bufio.NewWriterSize(c, 32*1024)
			if chunked {
				fmt.Fprintf(bw, "POST /up HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n")
				for off := 0; off < len(data); {
					n := min(len(data)-off, 1000+off%7777)
					fmt.Fprintf(bw, "%x\r\n", n)
					bw.Write(data[off : off+n])
					bw.WriteString("\r\n")
					off += n
				}
				bw.WriteString("0\r\n\r\n")
			} else {
				fmt.Fprintf(bw, "POST /up HTTP/1.1\r\nHost: localhost\r\nContent-Length: %d\r\n\r\n", len(data))
				bw.Write(data)
			}
			werr <- bw.Flush()
		}()
		req := recv(t, h, "")
		if str(req, "uri") != "https://localhost/up" {
			t.Fatalf("uri %q", str(req, "uri"))
		}
		ss := newSession(t, h, req)
		got := tlsRecvBody(t, h, ss, req)
		if !bytes.Equal(got, data) {
			t.Fatalf("1 MB body differs: got %d bytes", len(got))
		}
		if err := <-werr; err != nil {
			t.Fatalf("client write: %v", err)
		}
		ss.respond(200, "OK", "stored", false)
		if resp, body := readResponse(t, bufio.NewReader(c), "POST"); resp.StatusCode != 200 || body != "stored" {
			t.Fatalf("%d %q", resp.StatusCode, body)
		}
	}
	t.Run("content_length_body", func(t *testing.T) { upload(t, false) })
	t.Run("chunked_body", func(t *testing.T) { upload(t, true) })
	t.Run("streamed_response", func(t *testing.T) {
		c := tlsMustDial(t, s.tlsAddr, env.clientConfig("localhost"))
		fmt.Fprintf(c, "GET /big HTTP/1.1\r\nHost: localhost\r\n\r\n")
		req := recv(t, h, "")
		done := make(chan []byte, 1)
		go func() {
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				done <- nil
				return
			}
			b, _ := io.ReadAll(resp.Body)
			done <- b
		}()
		streamResponse(t, h, newSession(t, h, req), data, num(req, "credits"))
		if got := <-done; !bytes.Equal(got, data) {
			t.Fatalf("1 MB response differs: got %d bytes", len(got))
		}
	})
}

// ---- 5. curl and openssl ----

func TestTLSCurlAndOpenSSL(t *testing.T) {
	env := newTLSEnv(t)
	s := startTLSServer(t, env, "--no-http2") // curl would pick h2 by ALPN otherwise
	h := s.handler("h1")

	t.Run("curl", func(t *testing.T) {
		if _, err := exec.LookPath("curl"); err != nil {
			t.Skip("curl is not installed")
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		base := "https://localhost:" + s.port()
		cmd := exec.CommandContext(ctx, "curl", "-sS", "-v", "--max-time", "15", "--cacert", env.caFile,
			"--resolve", "localhost:"+s.port()+":127.0.0.1", base+"/one", base+"/two")
		cmd.WaitDelay = 2 * time.Second
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() {
			if t.Failed() {
				t.Logf("curl stderr:\n%s", stderr.String())
			}
		}()
		var ports []int64
		for _, p := range []string{"/one", "/two"} {
			req := recv(t, h, "")
			if str(req, "uri") != base+p {
				t.Errorf("uri %q, want %q", str(req, "uri"), base+p)
			}
			ports = append(ports, num(req, "peer-port"))
			newSession(t, h, req).respond(200, "OK", "curl "+p+"\n", false)
		}
		if err := cmd.Wait(); err != nil {
			t.Fatalf("curl: %v", err)
		}
		if got := stdout.String(); got != "curl /one\ncurl /two\n" {
			t.Fatalf("curl output %q", got)
		}
		if ports[0] != ports[1] {
			t.Errorf("curl did not reuse its connection: %v", ports)
		}
		for _, want := range []string{"ALPN: server accepted http/1.1", "SSL certificate verify ok", "subject: CN=localhost"} {
			if !strings.Contains(stderr.String(), want) {
				t.Errorf("curl -v output lacks %q", want)
			}
		}
	})

	openssl := func(t *testing.T, stdin string, args ...string) (string, error) {
		t.Helper()
		if _, err := exec.LookPath("openssl"); err != nil {
			t.Skip("openssl is not installed")
		}
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, "openssl", append([]string{"s_client"}, args...)...)
		cmd.WaitDelay = 2 * time.Second
		cmd.Stdin = strings.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	// openssl runs in a goroutine while the handler answers here.
	opensslAsync := func(t *testing.T, stdin string, args ...string) chan string {
		ch := make(chan string, 1)
		go func() {
			out, err := openssl(t, stdin, args...)
			if err != nil {
				out += fmt.Sprintf("\n[exit: %v]", err)
			}
			ch <- out
		}()
		return ch
	}
	request := "GET /ossl HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"

	t.Run("openssl_tls13", func(t *testing.T) {
		ch := opensslAsync(t, request, "-connect", s.tlsAddr, "-servername", "localhost", "-CAfile", env.caFile,
			"-verify_return_error", "-alpn", "http/1.1", "-ign_eof")
		req := recv(t, h, "")
		if str(req, "uri") != "https://localhost/ossl" {
			t.Errorf("uri %q", str(req, "uri"))
		}
		newSession(t, h, req).respond(200, "OK", "hello openssl\n", false)
		out := <-ch
		for _, want := range []string{"subject=CN = localhost", "issuer=CN = condure-go test CA", "Verify return code: 0 (ok)",
			"New, TLSv1.3", "ALPN protocol: http/1.1", "HTTP/1.1 200 OK", "hello openssl"} {
			if !strings.Contains(out, want) {
				t.Errorf("openssl output lacks %q:\n%s", want, out)
			}
		}
	})
	t.Run("openssl_tls12_wildcard", func(t *testing.T) {
		ch := opensslAsync(t, request, "-connect", s.bareAddr, "-servername", "a.wild.test", "-CAfile", env.caFile,
			"-verify_return_error", "-verify_hostname", "a.wild.test", "-tls1_2", "-ign_eof")
		req := recv(t, h, "")
		newSession(t, h, req).respond(200, "OK", "hello openssl 1.2\n", false)
		out := <-ch
		for _, want := range []string{"subject=CN = *.wild.test", "Verify return code: 0 (ok)", "New, TLSv1.2, Cipher is ECDHE-RSA-",
			"No ALPN negotiated", "hello openssl 1.2"} {
			if !strings.Contains(out, want) {
				t.Errorf("openssl output lacks %q:\n%s", want, out)
			}
		}
	})
	t.Run("openssl_no_sni_no_default", func(t *testing.T) {
		out, err := openssl(t, "", "-connect", s.bareAddr, "-noservername", "-CAfile", env.caFile)
		if err == nil || !strings.Contains(out, "unrecognized name") {
			t.Errorf("want a failed handshake with unrecognized name, got %v:\n%s", err, out)
		}
	})
	t.Run("openssl_no_sni_default", func(t *testing.T) {
		out, err := openssl(t, "", "-connect", s.tlsAddr, "-noservername", "-CAfile", env.caFile)
		if err != nil || !strings.Contains(out, "subject=CN = default.test") || !strings.Contains(out, "Verify return code: 0 (ok)") {
			t.Errorf("exit %v:\n%s", err, out)
		}
	})
	t.Run("openssl_tls11_refused", func(t *testing.T) {
		out, err := openssl(t, "", "-connect", s.tlsAddr, "-servername", "localhost", "-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0")
		if err == nil || !strings.Contains(out, "alert protocol version") || !strings.Contains(out, "no peer certificate available") {
			t.Errorf("TLS 1.1 must be refused, got exit %v:\n%s", err, out)
		}
	})
}

// ---- 6. wss ----

func TestTLSWebSocket(t *testing.T) {
	env := newTLSEnv(t)
	// A 100 kB message goes out in one packet below: handler messages are
	// bounded by --buffer-size (ZMQ_MAXMSGSIZE, zmqio/limits.go).
	s := startTLSServer(t, env, "--buffer-size", "131072")
	h := s.handler("h1")

	t.Run("raw_frames", func(t *testing.T) {
		c := tlsMustDial(t, s.tlsAddr, env.clientConfig("localhost"))
		fmt.Fprintf(c, "%s\r\n", wsUpgrade)
		req := recv(t, h, "")
		if str(req, "uri") != "wss://ws.example/chat" || req["stream"] != nil || num(req, "peer-port") != tlsLocalPort(c) {
			t.Fatalf("websocket request packet %v", req)
		}
		ss := newSession(t, h, req)
		ss.send(map[string]any{"code": 101, "reason": "Switching Protocols", "credits": 1 << 20})
		br := bufio.NewReader(c)
		if head := readHead(t, br); !strings.HasPrefix(head, "HTTP/1.1 101 ") || !strings.Contains(head, "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") {
			t.Fatalf("handshake response %q", head)
		}
		c.Write(clientFrame(true, 1, []byte("hello over tls")))
		p := recv(t, h, "")
		if str(p, "content-type") != "text" || str(p, "body") != "hello over tls" {
			t.Fatalf("data packet %v", p)
		}
		ss.send(map[string]any{"content-type": "text", "body": "hello over tls"})
		if f := readFrame(t, br); !f.fin || f.op != 1 || string(f.payload) != "hello over tls" {
			t.Fatalf("frame %+v", f)
		}
		// 100 kB binary out in one packet: several TLS records.
		blob := make([]byte, 100*1024)
		rand.Read(blob)
		ss.send(map[string]any{"content-type": "binary", "body": blob})
		if f := readFrame(t, br); f.op != 2 || !bytes.Equal(f.payload, blob) {
			t.Fatalf("binary frame op %d, %d bytes", f.op, len(f.payload))
		}
		c.Write([]byte{0x88, 0x82, 0x37, 0xfa, 0x21, 0x3d, 0x34, 0x12}) // close 1000
		if cl := recv(t, h, "close"); num(cl, "code") != 1000 {
			t.Fatalf("close packet %v", cl)
		}
		ss.send(map[string]any{"type": "close", "code": 1000})
		if f := readFrame(t, br); f.op != 8 || !bytes.Equal(f.payload, []byte{3, 0xe8}) {
			t.Fatalf("close frame %+v", f)
		}
		if _, err := br.ReadByte(); err != io.EOF && !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("want the connection closed, got %v", err)
		}
	})

	t.Run("python_websockets", func(t *testing.T) {
		if err := exec.Command(python, "-c", "import websockets").Run(); err != nil {
			t.Skipf("python3-websockets is not installed: %v", err)
		}
		const script = `
import asyncio, ssl, sys
import websockets

async def main(url, cafile):
    ctx = ssl.create_default_context(cafile=cafile)
    async with websockets.connect(url, ssl=ctx, open_timeout=10, close_timeout=10, ping_interval=None) as ws:
        await ws.send("hello wss")
        print("ECHO", await asyncio.wait_for(ws.recv(), 10), flush=True)
    print("CLOSED", ws.close_code, flush=True)

asyncio.run(asyncio.wait_for(main(sys.argv[1], sys.argv[2]), 25))
`
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		url := "wss://localhost:" + s.port() + "/echo"
		cmd := exec.CommandContext(ctx, python, "-c", script, url, env.caFile)
		cmd.WaitDelay = 2 * time.Second
		out := &syncBuffer{}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		waited := false
		defer func() {
			if !waited {
				cmd.Process.Kill()
				cmd.Wait()
			}
			if t.Failed() {
				t.Logf("python output:\n%s", out.String())
			}
		}()
		req := recv(t, h, "")
		if str(req, "uri") != url {
			t.Fatalf("uri %q, want %q", str(req, "uri"), url)
		}
		ss := newSession(t, h, req)
		ss.send(map[string]any{"code": 101, "reason": "Switching Protocols", "credits": 65536})
		p := recv(t, h, "")
		if str(p, "body") != "hello wss" {
			t.Fatalf("data packet %v", p)
		}
		ss.send(map[string]any{"content-type": "text", "body": "echo: " + str(p, "body")})
		cl := recv(t, h, "close")
		ss.send(map[string]any{"type": "close", "code": num(cl, "code")})
		err := cmd.Wait()
		waited = true
		if got := out.String(); err != nil || got != "ECHO echo: hello wss\nCLOSED 1000\n" {
			t.Fatalf("python: %v, output %q", err, got)
		}
	})
}

// ---- 7. bad input ----

// tlsClientHello returns the first record a Go client sends for sni.
func tlsClientHello(t *testing.T, sni string) []byte {
	t.Helper()
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	go tls.Client(a, &tls.Config{ServerName: sni, InsecureSkipVerify: true}).Handshake()
	b.SetDeadline(time.Now().Add(5 * time.Second))
	hdr := make([]byte, 5)
	if _, err := io.ReadFull(b, hdr); err != nil {
		t.Fatal(err)
	}
	body := make([]byte, binary.BigEndian.Uint16(hdr[3:]))
	if _, err := io.ReadFull(b, body); err != nil {
		t.Fatal(err)
	}
	return append(hdr, body...)
}

// tlsClosedWithin reads until the server closes c and returns what it sent
// and how long that took; it fails if c is still open after limit.
func tlsClosedWithin(t *testing.T, c net.Conn, limit time.Duration) ([]byte, time.Duration) {
	t.Helper()
	start := time.Now()
	c.SetReadDeadline(start.Add(limit))
	b, err := io.ReadAll(c)
	d := time.Since(start)
	if err != nil && !strings.Contains(err.Error(), "reset") {
		t.Fatalf("connection not closed by the server within %v (read %q): %v", limit, b, err)
	}
	return b, d
}

func TestTLSBadInput(t *testing.T) {
	env := newTLSEnv(t)
	p := env.pki
	env.write(t, "badkey", p.localhost.crt, []byte("this is not a PEM key\n"))
	env.write(t, "mismatch", p.localhost.crt, p.deflt.key)
	env.write(t, "dirkey", p.localhost.crt, nil)
	os.Remove(filepath.Join(env.dir, "dirkey.key"))
	os.Mkdir(filepath.Join(env.dir, "dirkey.key"), 0o700) // a key that cannot be read (tests run as root)
	s := startTLSServer(t, env)
	h := s.handler("h1")
	hello := tlsClientHello(t, "localhost")

	dial := func(t *testing.T, addr string) net.Conn {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}

	t.Run("plaintext_http", func(t *testing.T) {
		m := s.logMark()
		c := dial(t, s.tlsAddr)
		fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
		got, d := tlsClosedWithin(t, c, 5*time.Second)
		t.Logf("server sent %q and closed after %v", got, d.Round(time.Millisecond))
		s.waitLogSince(t, m, "tls handshake: ", "first record does not look like a TLS handshake")
		s.goodClient(t, h)
	})
	t.Run("truncated_client_hello", func(t *testing.T) {
		m := s.logMark()
		c := dial(t, s.tlsAddr)
		c.Write(hello[:20])
		c.Close()
		s.waitLogSince(t, m, "client closed")
		s.goodClient(t, h)
	})
	t.Run("truncated_client_hello_half_close", func(t *testing.T) {
		m := s.logMark()
		c := dial(t, s.tlsAddr)
		c.Write(hello[:20])
		c.(*net.TCPConn).CloseWrite()
		got, _ := tlsClosedWithin(t, c, 5*time.Second)
		t.Logf("server sent %q", got)
		s.waitLogSince(t, m, "client closed")
		s.goodClient(t, h)
	})
	t.Run("stalled_handshake", func(t *testing.T) {
		m := s.logMark()
		partial := dial(t, s.tlsAddr)
		partial.Write(hello[:len(hello)/2])
		silent := dial(t, s.bareAddr) // connects and says nothing
		trickle := dial(t, s.tlsAddr) // a byte every 200 ms: progress does not extend the limit
		go func() {
			for i := 0; i < len(hello); i++ {
				if _, err := trickle.Write(hello[i : i+1]); err != nil {
					return
				}
				time.Sleep(200 * time.Millisecond) // the subject: progress too slow to finish in time
			}
		}()
		type res struct {
			what string
			d    time.Duration
		}
		ch := make(chan res, 3)
		var wg sync.WaitGroup
		for what, c := range map[string]net.Conn{"partial ClientHello": partial, "silent client": silent, "trickling client": trickle} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				start := time.Now()
				c.SetReadDeadline(start.Add(15 * time.Second))
				io.ReadAll(c)
				ch <- res{what, time.Since(start)}
			}()
		}
		// Meanwhile other clients are served.
		s.goodClient(t, h)
		wg.Wait()
		close(ch)
		for r := range ch {
			t.Logf("%s closed after %v", r.what, r.d.Round(time.Millisecond))
			if r.d < 8*time.Second || r.d > 13*time.Second {
				t.Errorf("%s: closed after %v, want about 10 s", r.what, r.d)
			}
		}
		s.waitLogSince(t, m, "tls handshake timed out")
		// The three expire within one timer tick of each other; the lines
		// may land a moment after the clients saw their connections close.
		n := 0
		eventually(t, 3*time.Second, func() bool {
			n = strings.Count(s.log.String()[m:], "tls handshake timed out")
			return n >= 3
		})
		if n != 3 {
			t.Errorf("%d handshake time-outs logged, want 3", n)
		}
		s.goodClient(t, h)
	})
	t.Run("unknown_sni", func(t *testing.T) {
		m := s.logMark()
		_, err := tlsLeaf(t, env, s.bareAddr, "nosuch.test", 0)
		if err == nil || !strings.Contains(err.Error(), "unrecognized name") {
			t.Fatalf("handshake error %v, want unrecognized name", err)
		}
		// The "tls handshake: ..." line may not come: the client, having
		// the alert, can close first ("client closed").
		s.waitLogSince(t, m, `no certificate for "nosuch.test"`)
		s.goodClient(t, h)
	})
	t.Run("garbage_after_handshake", func(t *testing.T) {
		m := s.logMark()
		raw := dial(t, s.tlsAddr)
		tc := tls.Client(raw, env.clientConfig("localhost"))
		raw.SetDeadline(time.Now().Add(10 * time.Second))
		if err := tc.Handshake(); err != nil {
			t.Fatal(err)
		}
		// A session the handler knows, waiting for more body.
		fmt.Fprintf(tc, "POST /x HTTP/1.1\r\nHost: localhost\r\nContent-Length: 10\r\n\r\nabc")
		req := recv(t, h, "")
		ss := newSession(t, h, req)
		ss.send(map[string]any{"type": "credit", "credits": 100})
		if p := recv(t, h, ""); str(p, "body") != "abc" {
			t.Fatalf("body packet %v", p)
		}
		// An application-data record that does not decrypt.
		junk := make([]byte, 37)
		rand.Read(junk)
		raw.Write(append([]byte{0x17, 0x03, 0x03, 0x00, byte(len(junk))}, junk...))
		got, d := tlsClosedWithin(t, raw, 5*time.Second)
		t.Logf("server sent %d bytes (% x) and closed after %v", len(got), got, d.Round(time.Millisecond))
		if cl := recv(t, h, "cancel"); str(cl, "id") != ss.id {
			t.Fatalf("cancel %v", cl)
		}
		// The cause is named: a record that fails to decrypt.
		s.waitLogSince(t, m, "bad record MAC")
		s.goodClient(t, h)
	})
	for _, tc := range []struct{ name, why string }{
		{"badkey", "failed to find any PEM data in key input"},
		{"mismatch", "private key does not match public key"},
		{"dirkey", "is a directory"},
	} {
		for _, addr := range []string{s.bareAddr, s.tlsAddr} {
			lname := "no-default"
			if addr == s.tlsAddr {
				lname = "default-cert"
			}
			t.Run("identity_"+tc.name+"/"+lname, func(t *testing.T) {
				m := s.logMark()
				_, err := tlsLeaf(t, env, addr, tc.name, 0)
				if err == nil {
					t.Fatalf("handshake with the broken identity %s succeeded", tc.name)
				}
				t.Logf("client error: %v", err)
				s.waitLogSince(t, m, "[ERR]", "tls: identity "+tc.name+": ", tc.why)
				s.goodClient(t, h)
			})
		}
	}
}

func TestTLSIdentitiesDirMissing(t *testing.T) {
	dir := t.TempDir()
	notDir := filepath.Join(dir, "file")
	os.WriteFile(notDir, []byte("x"), 0o644)
	for _, tc := range []struct{ name, ids, want string }{
		{"missing", filepath.Join(dir, "nope"), "no such file or directory"},
		{"not_a_directory", notDir, "not a directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ipc := t.TempDir()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, binPath, "--listen", fmt.Sprintf("127.0.0.1:%d,tls", freePort(t)),
				"--tls-identities-dir", tc.ids, "--zclient-stream", "ipc://"+ipc+"/c")
			out, err := cmd.CombinedOutput()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 1 {
				t.Fatalf("exit %v, want status 1; output:\n%s", err, out)
			}
			if !strings.Contains(string(out), "[ERR]") || !strings.Contains(string(out), tc.ids) || !strings.Contains(string(out), tc.want) {
				t.Fatalf("output lacks a clear error naming %s (%s):\n%s", tc.ids, tc.want, out)
			}
		})
	}
}

// ---- 8. unix sockets ----

// packetHasPeer reports whether a request packet names a peer.
func packetHasPeer(p map[string]any) bool {
	_, a := p["peer-address"]
	_, b := p["peer-port"]
	return a || b
}

func TestUnixSocketListeners(t *testing.T) {
	dir := t.TempDir()
	sSock := filepath.Join(dir, "s.sock") // stream, over a stale socket file
	rSock := filepath.Join(dir, "r.sock") // req
	mSock := filepath.Join(dir, "m.sock") // mode=600
	tSock := filepath.Join(dir, "t.sock") // tls, ignored
	reqSpec := "ipc://" + filepath.Join(dir, "req")

	stale, err := net.Listen("unix", sSock)
	if err != nil {
		t.Fatal(err)
	}
	stale.(*net.UnixListener).SetUnlinkOnClose(false)
	stale.Close()
	if fi, err := os.Lstat(sSock); err != nil || fi.Mode()&os.ModeSocket == 0 {
		t.Fatalf("stale socket not in place: %v", err)
	}
	if c, err := net.Dial("unix", sSock); err == nil {
		c.Close()
		t.Fatal("stale socket accepts connections")
	}

	s := startServerWith(t, "ipc://"+filepath.Join(dir, "c"),
		"--listen", sSock+",local",
		"--listen", rSock+",local,req", "--zclient-req", reqSpec,
		"--listen", mSock+",local,stream,mode=600",
		"--listen", tSock+",local,tls,default-cert=nope")
	s.waitLog("[condure] started")
	for _, p := range []string{sSock, rSock, mSock, tSock} {
		s.waitLog("listening on " + p)
	}
	h := s.handler("h1")
	rh := reqHandler(t, reqSpec)

	dialUnix := func(t *testing.T, path string) net.Conn {
		c, err := net.Dial("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(20 * time.Second))
		t.Cleanup(func() { c.Close() })
		return c
	}
	curl := func(t *testing.T, sock, url string) chan string {
		if _, err := exec.LookPath("curl"); err != nil {
			t.Skip("curl is not installed")
		}
		ch := make(chan string, 1)
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			out, err := exec.CommandContext(ctx, "curl", "-sS", "--max-time", "10", "--unix-socket", sock, url).CombinedOutput()
			if err != nil {
				out = append(out, fmt.Sprintf("[curl: %v]", err)...)
			}
			ch <- string(out)
		}()
		return ch
	}

	for _, tc := range []struct{ name, sock string }{{"stream", sSock}, {"mode600", mSock}, {"tls_ignored", tSock}} {
		t.Run(tc.name+"/go_client", func(t *testing.T) {
			c := dialUnix(t, tc.sock)
			br := bufio.NewReader(c)
			for i := 0; i < 2; i++ {
				req := tlsRoundTrip(t, c, br, h, "unix.test", fmt.Sprintf("/u%d", i), "over unix")
				if str(req, "uri") != fmt.Sprintf("http://unix.test/u%d", i) || packetHasPeer(req) {
					t.Fatalf("request packet %v (want http://, no peer)", req)
				}
			}
		})
		t.Run(tc.name+"/curl", func(t *testing.T) {
			ch := curl(t, tc.sock, "http://localhost/curl")
			req := recv(t, h, "")
			if str(req, "uri") != "http://localhost/curl" || packetHasPeer(req) {
				t.Errorf("request packet %v", req)
			}
			newSession(t, h, req).respond(200, "OK", "curl over unix\n", false)
			if out := <-ch; out != "curl over unix\n" {
				t.Fatalf("curl: %q", out)
			}
		})
	}
	t.Run("stream/websocket", func(t *testing.T) {
		c := dialUnix(t, sSock)
		fmt.Fprintf(c, "%s\r\n", wsUpgrade)
		req := recv(t, h, "")
		if str(req, "uri") != "ws://ws.example/chat" || packetHasPeer(req) {
			t.Fatalf("request packet %v", req)
		}
		ss := newSession(t, h, req)
		ss.send(map[string]any{"code": 101, "reason": "Switching Protocols", "credits": 1024})
		br := bufio.NewReader(c)
		readHead(t, br)
		c.Write(clientFrame(true, 1, []byte("unix ws")))
		if p := recv(t, h, ""); str(p, "body") != "unix ws" {
			t.Fatalf("data %v", p)
		}
		ss.send(map[string]any{"content-type": "text", "body": "back"})
		if f := readFrame(t, br); string(f.payload) != "back" {
			t.Fatalf("frame %+v", f)
		}
	})
	t.Run("req/go_client", func(t *testing.T) {
		c := dialUnix(t, rSock)
		fmt.Fprintf(c, "POST /r HTTP/1.1\r\nHost: unix.test\r\nContent-Length: 3\r\n\r\nabc")
		r := recvReq(t, rh)
		if str(r.Packet, "uri") != "http://unix.test/r" || str(r.Packet, "body") != "abc" || packetHasPeer(r.Packet) {
			t.Fatalf("req packet %v", r.Packet)
		}
		rh.Reply(r, map[string]any{"code": 200, "reason": "OK", "body": "req over unix"})
		if _, body := readResponse(t, bufio.NewReader(c), "POST"); body != "req over unix" {
			t.Fatalf("%q", body)
		}
	})
	t.Run("req/curl", func(t *testing.T) {
		ch := curl(t, rSock, "http://localhost/rcurl")
		r := recvReq(t, rh)
		if str(r.Packet, "uri") != "http://localhost/rcurl" || packetHasPeer(r.Packet) {
			t.Errorf("req packet %v", r.Packet)
		}
		rh.Reply(r, map[string]any{"code": 200, "reason": "OK", "body": "req curl\n"})
		if out := <-ch; out != "req curl\n" {
			t.Fatalf("curl: %q", out)
		}
	})
	t.Run("file_modes", func(t *testing.T) {
		fi, err := os.Stat(mSock)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want a socket with 0600", mSock, fi.Mode())
		}
		for _, p := range []string{sSock, rSock, tSock} {
			if fi, err := os.Stat(p); err != nil || fi.Mode()&os.ModeSocket == 0 {
				t.Errorf("%s: %v %v", p, fi.Mode(), err)
			}
		}
	})
	if strings.Contains(s.log.String(), "[ERR]") || strings.Contains(s.log.String(), "[WARN]") {
		t.Errorf("errors logged:\n%s", s.log.String())
	}
}

// A regular file at the socket path is not a stale socket: it is kept and
// the bind fails, exiting 1 with a clear error.
func TestUnixSocketPathIsRegularFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "plain-file")
	if err := os.WriteFile(path, []byte("keep me"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, binPath, "--listen", path+",local", "--zclient-stream", "ipc://"+dir+"/c").CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("exit %v, want 1:\n%s", err, out)
	}
	if !strings.Contains(string(out), "failed to bind "+path) {
		t.Errorf("output:\n%s", out)
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != "keep me" {
		t.Errorf("the regular file was touched: %q %v", b, err)
	}
}

// ---- more: plaintext buffered inside crypto/tls, concurrency, limits, req ----

// Data that crypto/tls has decrypted but the worker has not read yet must
// not wait for another socket event: one 16 kB record carries a request
// head and a body that the handler takes 1000 bytes at a time, and
// pipelined requests whose total exceeds the 8 kB read buffer.
func TestTLSPlaintextHeldInsideTLS(t *testing.T) {
	env := newTLSEnv(t)
	s := startTLSServer(t, env)
	h := s.handler("h1")
	cfg := env.clientConfig("localhost")
	cfg.DynamicRecordSizingDisabled = true // full-size records from the start

	t.Run("body_with_small_credits", func(t *testing.T) {
		c := tlsMustDial(t, s.tlsAddr, cfg)
		body := bytes.Repeat([]byte("0123456789abcdef"), 15000/16)
		var msg bytes.Buffer
		fmt.Fprintf(&msg, "POST /held HTTP/1.1\r\nHost: localhost\r\nContent-Length: %d\r\n\r\n", len(body))
		msg.Write(body)
		if msg.Len() > 16384 {
			t.Fatalf("request of %d bytes does not fit one record", msg.Len())
		}
		c.Write(msg.Bytes())
		req := recv(t, h, "")
		ss := newSession(t, h, req)
		got := []byte(str(req, "body"))
		for len(got) < len(body) {
			ss.send(map[string]any{"type": "credit", "credits": 1000})
			p := recv(t, h, "")
			if b := str(p, "body"); len(b) > 1000 {
				t.Fatalf("packet of %d bytes for 1000 credits", len(b))
			}
			got = append(got, str(p, "body")...)
			if p["more"] != true {
				break
			}
		}
		if !bytes.Equal(got, body) {
			t.Fatalf("body: got %d bytes, want %d", len(got), len(body))
		}
		ss.respond(200, "OK", "held ok", false)
		if _, b := readResponse(t, bufio.NewReader(c), "POST"); b != "held ok" {
			t.Fatalf("%q", b)
		}
	})
	t.Run("pipelined_beyond_read_buffer", func(t *testing.T) {
		c := tlsMustDial(t, s.tlsAddr, cfg)
		pad := strings.Repeat("p", 3000)
		var msg bytes.Buffer
		for i := 0; i < 5; i++ {
			fmt.Fprintf(&msg, "GET /pipe%d HTTP/1.1\r\nHost: localhost\r\nX-Pad: %s\r\n\r\n", i, pad)
		}
		c.Write(msg.Bytes())
		br := bufio.NewReader(c)
		for i := 0; i < 5; i++ {
			req := recv(t, h, "")
			if want := fmt.Sprintf("https://localhost/pipe%d", i); str(req, "uri") != want {
				t.Fatalf("uri %q, want %q", str(req, "uri"), want)
			}
			newSession(t, h, req).respond(200, "OK", fmt.Sprint(i), false)
			if _, b := readResponse(t, br, "GET"); b != fmt.Sprint(i) {
				t.Fatalf("body %q", b)
			}
		}
	})
	t.Run("websocket_message_with_small_credits", func(t *testing.T) {
		c := tlsMustDial(t, s.tlsAddr, cfg)
		fmt.Fprintf(c, "%s\r\n", wsUpgrade)
		req := recv(t, h, "")
		ss := newSession(t, h, req)
		ss.send(map[string]any{"code": 101, "reason": "Switching Protocols", "credits": 1024})
		br := bufio.NewReader(c)
		readHead(t, br)
		msg := bytes.Repeat([]byte("w"), 15000)
		c.Write(clientFrame(true, 2, msg)) // one record
		var got []byte
		first := true
		for len(got) < len(msg) {
			if !first {
				ss.send(map[string]any{"type": "credit", "credits": 1000})
			}
			first = false
			p := recv(t, h, "")
			got = append(got, str(p, "body")...)
		}
		if !bytes.Equal(got, msg) {
			t.Fatalf("message: got %d bytes", len(got))
		}
	})
}

// Many clients at once, with both versions and both key types.
func TestTLSConcurrentClients(t *testing.T) {
	env := newTLSEnv(t)
	s := startTLSServer(t, env)
	answerAll(t, s.handler("h1"))

	const clients = 64
	errs := make(chan error, clients)
	for i := 0; i < clients; i++ {
		go func() {
			errs <- func() error {
				name := []string{"localhost", "a.wild.test"}[i%2]
				cfg := env.clientConfig(name)
				if i%4 >= 2 {
					cfg.MaxVersion = tls.VersionTLS12
				}
				c, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", s.tlsAddr, cfg)
				if err != nil {
					return fmt.Errorf("client %d: %v", i, err)
				}
				defer c.Close()
				c.SetDeadline(time.Now().Add(20 * time.Second))
				br := bufio.NewReader(c)
				for j := 0; j < 3; j++ {
					path := fmt.Sprintf("/c%d-%d", i, j)
					fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", path, name)
					resp, err := http.ReadResponse(br, nil)
					if err != nil {
						return fmt.Errorf("client %d: %v", i, err)
					}
					b, err := io.ReadAll(resp.Body)
					if err != nil || string(b) != path {
						return fmt.Errorf("client %d: body %q (%v), want %q", i, b, err, path)
					}
				}
				return nil
			}()
		}()
	}
	for i := 0; i < clients; i++ {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// A req-mode TLS listener: https URIs in req packets.
func TestTLSReqMode(t *testing.T) {
	env := newTLSEnv(t)
	dir := t.TempDir()
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	spec := "ipc://" + filepath.Join(dir, "req")
	s := startServerWith(t, "ipc://"+filepath.Join(dir, "c"), "--listen", addr+",req,tls,default-cert=default",
		"--zclient-req", spec, "--tls-identities-dir", env.dir)
	s.waitLog("[condure] started")
	rh := reqHandler(t, spec)
	c := tlsMustDial(t, addr, env.clientConfig("localhost"))
	br := bufio.NewReader(c)
	fmt.Fprintf(c, "GET /status HTTP/1.1\r\nHost: localhost\r\n\r\n")
	r := recvReq(t, rh)
	if str(r.Packet, "uri") != "https://localhost/status" || str(r.Packet, "peer-address") != "127.0.0.1" || num(r.Packet, "peer-port") != tlsLocalPort(c) {
		t.Fatalf("req packet %v", r.Packet)
	}
	rh.Reply(r, map[string]any{"code": 200, "reason": "OK", "body": "req over tls"})
	if _, b := readResponse(t, br, "GET"); b != "req over tls" {
		t.Fatalf("%q", b)
	}
	data := make([]byte, 50000)
	rand.Read(data)
	fmt.Fprintf(c, "POST /up HTTP/1.1\r\nHost: localhost\r\nContent-Length: %d\r\n\r\n", len(data))
	c.Write(data)
	r = recvReq(t, rh)
	if str(r.Packet, "body") != string(data) {
		t.Fatalf("body of %d bytes arrived as %d", len(data), len(str(r.Packet, "body")))
	}
	rh.Reply(r, map[string]any{"code": 201, "reason": "Created", "body": "stored"})
	if resp, b := readResponse(t, br, "POST"); resp.StatusCode != 201 || b != "stored" {
		t.Fatalf("%d %q", resp.StatusCode, b)
	}
}

// Session resumption (tickets, both versions) works and resumed
// connections carry requests. Each worker has its own tls.Config and so
// its own ticket keys: a ticket only resumes on the worker that issued it,
// so about half the attempts resume (logged, not asserted).
func TestTLSSessionResumption(t *testing.T) {
	env := newTLSEnv(t)
	s := startTLSServer(t, env)
	h := s.handler("h1")
	for _, v := range []uint16{tls.VersionTLS13, tls.VersionTLS12} {
		cfg := env.clientConfig("localhost")
		cfg.MaxVersion = v
		cfg.ClientSessionCache = tls.NewLRUClientSessionCache(4)
		resumed := 0
		for i := 0; i < 20; i++ {
			c := tlsMustDial(t, s.tlsAddr, cfg)
			// The round trip also reads TLS 1.3's post-handshake ticket.
			tlsRoundTrip(t, c, bufio.NewReader(c), h, "localhost", fmt.Sprintf("/resume%d", i), "x")
			if c.ConnectionState().DidResume {
				resumed++
			}
			c.Close()
		}
		t.Logf("%s: %d of 20 connections resumed", tls.VersionName(v), resumed)
		if resumed == 0 {
			t.Errorf("%s: no session resumed", tls.VersionName(v))
		}
	}
}
