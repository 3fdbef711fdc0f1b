package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/condure-go/condure/zhttp/zhttptest"
)

// HTTP/2 (issue #17) with real clients against the real binary run with
// --http2: curl (h2c prior knowledge and ALPN h2 over TLS), nghttp, Go's
// net/http and x/net/http2 clients, headless Chromium, and a raw frame
// client (x/net/http2's Framer) where a test must see or withhold frames
// (flow control, a slow reader, HEAD/204/304, connection-specific fields).

// h2Backend is a stream-mode handler run in its own goroutine until the
// test ends; what it does depends on the request path:
//
//	/info            200, JSON {method, uri, headers} of the request packet
//	/stream?parts=N&size=S
//	                 200 with more, then N body packets of S bytes (pattern),
//	                 each within the credits the server granted
//	/upload          reads the body, granting credits 16 KiB at a time as it
//	                 consumes them; 200 "LEN SHA256"
//	/code?c=N        N with no body (HEAD: 200 with content-length 11, no body)
//	/connhdrs        200 with every connection-specific header and X-Kept
//	anything else    200 "hello world\n"
type h2Backend struct {
	t        *testing.T
	h        *zhttptest.Handler
	sessions map[string]*h2bSession

	mu      sync.Mutex
	reqs    []map[string]any // request packets seen
	cancels int
	overrun int // body bytes sent beyond the credits (must stay 0: the handler never does)
	log     syncBuffer
}

type h2bSession struct {
	id       string
	seq      int64
	credits  int64  // server → client bytes we may still send
	out      []byte // response body still to send
	done     bool   // the last body packet is queued in out
	upload   bool
	consumed int64 // request body bytes received, not yet granted back
	got      int64
	sum      hash.Hash
}

const h2bGrant = 16384 // request-body credits the backend grants at a time

func startH2Backend(t *testing.T, s *testServer) *h2Backend {
	t.Helper()
	b := &h2Backend{t: t, h: s.handler("h2b"), sessions: map[string]*h2bSession{}}
	stop := runUntilStopped(func() bool {
		p, err := b.h.Recv(100 * time.Millisecond)
		if err == zhttptest.ErrTimeout {
			return true
		}
		if err != nil {
			t.Errorf("h2 backend: recv: %v", err)
			return false
		}
		if err := b.handle(p); err != nil {
			t.Errorf("h2 backend: %v", err)
			return false
		}
		return true
	})
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			t.Logf("h2 backend log:\n%s", b.log.String())
		}
	})
	return b
}

func (b *h2Backend) logf(format string, args ...any) {
	fmt.Fprintf(&b.log, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05.000")}, args...)...)
}

func (b *h2Backend) send(ss *h2bSession, p map[string]any) error {
	p["id"] = ss.id
	p["seq"] = ss.seq
	ss.seq++
	return b.h.Send(p)
}

// requests returns a copy of the request packets seen so far.
func (b *h2Backend) requests() []map[string]any {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]map[string]any(nil), b.reqs...)
}

func (b *h2Backend) handle(p map[string]any) error {
	typ := str(p, "type")
	id := str(p, "id")
	if typ == "keep-alive" {
		return nil
	}
	if _, isReq := p["method"]; isReq {
		b.mu.Lock()
		b.reqs = append(b.reqs, p)
		b.mu.Unlock()
		ss := &h2bSession{id: id, credits: num(p, "credits")}
		b.sessions[id] = ss
		b.logf("%s: %s %s more=%v credits=%d", id, str(p, "method"), str(p, "uri"), p["more"] == true, ss.credits)
		return b.start(ss, p)
	}
	ss := b.sessions[id]
	if ss == nil {
		b.logf("%s: %q packet for a finished session", id, typ)
		return nil
	}
	switch typ {
	case "":
		body := str(p, "body")
		ss.got += int64(len(body))
		ss.sum.Write([]byte(body))
		ss.consumed += int64(len(body))
		b.logf("%s: body %d bytes more=%v", id, len(body), p["more"] == true)
		if p["more"] != true {
			sum := ss.sum.Sum(nil)
			ss.out = []byte(fmt.Sprintf("%d %x", ss.got, sum))
			ss.done = true
			return b.respond(ss, 200, nil)
		}
		if ss.consumed >= h2bGrant/2 {
			if err := b.send(ss, map[string]any{"type": "credit", "credits": ss.consumed}); err != nil {
				return err
			}
			ss.consumed = 0
		}
		return nil
	case "credit":
		ss.credits += num(p, "credits")
		return b.flush(ss)
	case "cancel", "error":
		b.logf("%s: %s", id, typ)
		b.mu.Lock()
		b.cancels++
		b.mu.Unlock()
		delete(b.sessions, id)
		return nil
	}
	b.logf("%s: unexpected %q packet: %v", id, typ, p)
	return nil
}

// start answers a request packet (or, for an upload, grants the first
// credits and waits for the body).
func (b *h2Backend) start(ss *h2bSession, req map[string]any) error {
	u, err := url.Parse(str(req, "uri"))
	if err != nil {
		return err
	}
	q := u.Query()
	switch u.Path {
	case "/info":
		hdrs := [][2]string{}
		l, _ := req["headers"].([]any)
		for _, h := range l {
			kv, _ := h.([]any)
			if len(kv) == 2 {
				hdrs = append(hdrs, [2]string{fmt.Sprint(kv[0]), fmt.Sprint(kv[1])})
			}
		}
		body, _ := json.Marshal(map[string]any{"method": str(req, "method"), "uri": str(req, "uri"), "headers": hdrs})
		ss.out, ss.done = body, true
		return b.respond(ss, 200, []any{[]any{"Content-Type", "application/json"}})
	case "/stream":
		parts, _ := strconv.Atoi(q.Get("parts"))
		size, _ := strconv.Atoi(q.Get("size"))
		// Headers first, then the parts as credits allow: each part is its
		// own packet (several packets even when credits would allow one).
		if err := b.send(ss, map[string]any{"code": 200, "reason": "OK", "more": true,
			"headers": []any{[]any{"Content-Type", "application/octet-stream"}}}); err != nil {
			return err
		}
		ss.out, ss.done = pattern(parts*size), true
		return b.flushParts(ss, size)
	case "/upload":
		ss.upload = true
		ss.sum = sha256.New()
		if req["more"] != true {
			ss.out, ss.done = []byte("0 "+hex.EncodeToString(sha256.New().Sum(nil))), true
			return b.respond(ss, 200, nil)
		}
		return b.send(ss, map[string]any{"type": "credit", "credits": h2bGrant})
	case "/code":
		code, _ := strconv.Atoi(q.Get("c"))
		delete(b.sessions, ss.id)
		return b.send(ss, map[string]any{"code": code, "reason": http.StatusText(code),
			"headers": []any{[]any{"ETag", `"x1"`}}})
	case "/connhdrs":
		ss.out, ss.done = []byte("kept\n"), true
		return b.respond(ss, 200, []any{
			[]any{"Connection", "close"}, []any{"Keep-Alive", "timeout=5"}, []any{"Transfer-Encoding", "chunked"},
			[]any{"Upgrade", "websocket"}, []any{"Proxy-Connection", "keep-alive"}, []any{"X-Kept", "yes"},
			[]any{"Content-Type", "text/plain"},
		})
	}
	if str(req, "method") == "HEAD" {
		delete(b.sessions, ss.id)
		return b.send(ss, map[string]any{"code": 200, "reason": "OK",
			"headers": []any{[]any{"Content-Type", "text/plain"}, []any{"Content-Length", "12"}}})
	}
	ss.out, ss.done = []byte("hello world\n"), true
	return b.respond(ss, 200, []any{[]any{"Content-Type", "text/plain"}})
}

// respond sends the response head with as much of ss.out as the credits
// allow, the rest as credits come.
func (b *h2Backend) respond(ss *h2bSession, code int, hdrs []any) error {
	n := min(int64(len(ss.out)), ss.credits)
	p := map[string]any{"code": code, "reason": http.StatusText(code)}
	if hdrs != nil {
		p["headers"] = hdrs
	}
	if n > 0 {
		p["body"] = ss.out[:n]
	}
	ss.out = ss.out[n:]
	ss.credits -= n
	if len(ss.out) > 0 {
		p["more"] = true
	} else {
		delete(b.sessions, ss.id)
	}
	return b.send(ss, p)
}

func (b *h2Backend) flush(ss *h2bSession) error { return b.flushParts(ss, 1<<30) }

// flushParts sends ss.out in packets of at most size bytes within the
// credits; the last one ends the response.
func (b *h2Backend) flushParts(ss *h2bSession, size int) error {
	for len(ss.out) > 0 && ss.credits > 0 {
		n := min(int64(len(ss.out)), ss.credits, int64(size))
		p := map[string]any{"body": ss.out[:n]}
		ss.out = ss.out[n:]
		ss.credits -= n
		if len(ss.out) > 0 {
			p["more"] = true
		}
		if err := b.send(ss, p); err != nil {
			return err
		}
	}
	if len(ss.out) == 0 {
		delete(b.sessions, ss.id)
	}
	return nil
}

// startH2 runs the binary with --http2 and the backend.
func startH2(t *testing.T, extra ...string) (*testServer, *h2Backend) {
	t.Helper()
	s := startServer(t, append([]string{"--http2"}, extra...)...)
	s.waitLog("[condure] started")
	return s, startH2Backend(t, s)
}

// runClient runs a client command bounded in time and returns its stdout
// (stderr is in the failure message).
func runClient(t *testing.T, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %q: %v\nstdout: %s\nstderr: %s", name, args, err, out.String(), errb.String())
	}
	return out.String()
}

func needBin(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		t.Skipf("%s is not installed: %v", path, err)
	}
}

// headerOf returns the first value of name (case-insensitive) in an /info
// answer's header list.
func headerOf(hdrs [][2]string, name string) (string, bool) {
	for _, h := range hdrs {
		if strings.EqualFold(h[0], name) {
			return h[1], true
		}
	}
	return "", false
}

type infoAnswer struct {
	Method  string      `json:"method"`
	URI     string      `json:"uri"`
	Headers [][2]string `json:"headers"`
}

// curl over h2c (prior knowledge) and over TLS (ALPN h2): the protocol is
// 2, the handler sees the method, the uri with the connection's scheme, a
// Host header first, the client's fields; HTTP/1 on the same port still
// works; a HEAD, 204 and 304 carry no body; connection-specific response
// fields are dropped (curl's nghttp2 rejects a response that has them, so
// a 200 with X-Kept proves the server dropped them).
func TestH2Curl(t *testing.T) {
	needBin(t, "/usr/bin/curl")
	env := newTLSEnv(t)
	ts := startTLSServer(t, env, "--http2")
	b := startH2Backend(t, ts.testServer)
	_, tlsPort, _ := net.SplitHostPort(ts.tlsAddr)
	bases := map[string][]string{
		"h2c": {"http://" + ts.addr, "--http2-prior-knowledge"},
		"tls": {"https://localhost:" + tlsPort, "--http2", "--cacert", env.caFile, "--resolve", "localhost:" + tlsPort + ":127.0.0.1"},
	}
	for _, name := range []string{"h2c", "tls"} {
		base, opts := bases[name][0], bases[name][1:]
		t.Run(name, func(t *testing.T) {
			curl := func(path string, more ...string) string {
				return runClient(t, "curl", append(append([]string{"-sS", "--max-time", "20"}, opts...), append(more, base+path)...)...)
			}
			out := curl("/info?a=1", "-H", "X-Test: one", "-H", "Cookie: a=1", "-H", "Cookie: b=2", "-w", "\n%{http_version}")
			body, ver, _ := strings.Cut(out, "\n")
			if ver != "2" {
				t.Fatalf("curl says http_version %q, want 2 (output %q)", ver, out)
			}
			var info infoAnswer
			if err := json.Unmarshal([]byte(body), &info); err != nil {
				t.Fatalf("info %q: %v", body, err)
			}
			u, _ := url.Parse(base)
			if info.Method != "GET" || info.URI != base+"/info?a=1" {
				t.Errorf("handler saw %s %s, want GET %s/info?a=1", info.Method, info.URI, base)
			}
			if len(info.Headers) == 0 || !strings.EqualFold(info.Headers[0][0], "Host") || info.Headers[0][1] != u.Host {
				t.Errorf("first header %v, want Host: %s", info.Headers, u.Host)
			}
			if v, _ := headerOf(info.Headers, "x-test"); v != "one" {
				t.Errorf("x-test %q in %v", v, info.Headers)
			}
			if v, _ := headerOf(info.Headers, "cookie"); v != "a=1; b=2" {
				t.Errorf("cookie %q, want the fields joined with \"; \"", v)
			}
			for _, h := range info.Headers {
				if strings.HasPrefix(h[0], ":") {
					t.Errorf("pseudo-header %q reached the handler", h[0])
				}
			}

			// HEAD, 204, 304: the head only; curl -w size_download 0.
			for _, c := range []struct{ path, method, code string }{{"/", "HEAD", "200"}, {"/code?c=204", "GET", "204"}, {"/code?c=304", "GET", "304"}} {
				args := []string{"-o", "/dev/null", "-D", "-", "-w", "%{http_version} %{http_code} %{size_download}"}
				if c.method == "HEAD" {
					args = append(args, "-I")
				}
				out := curl(c.path, args...)
				if !strings.HasSuffix(out, "2 "+c.code+" 0") {
					t.Errorf("%s %s: %q, want version 2, %s, no body", c.method, c.path, out, c.code)
				}
				if c.method == "HEAD" && !strings.Contains(out, "content-length: 12") {
					t.Errorf("HEAD lost the handler's content-length: %q", out)
				}
			}

			out = curl("/connhdrs", "-D", "-")
			for _, h := range []string{"connection:", "keep-alive:", "transfer-encoding:", "upgrade:", "proxy-connection:"} {
				if strings.Contains(strings.ToLower(out), "\n"+h) {
					t.Errorf("response has %s: %q", h, out)
				}
			}
			if !strings.Contains(out, "x-kept: yes") || !strings.HasSuffix(out, "kept\n") {
				t.Errorf("response lost the other fields or the body: %q", out)
			}
		})
	}
	// HTTP/1 on the same plain port is unchanged.
	out := runClient(t, "curl", "-sS", "--max-time", "20", "-w", " %{http_version}", "http://"+ts.addr+"/")
	if out != "hello world\n 1.1" {
		t.Errorf("HTTP/1.1 next to h2c: %q", out)
	}
	if n := len(b.requests()); n != 2*5+1 {
		t.Errorf("handler saw %d requests, want %d", n, 2*5+1)
	}
}

// nghttp: 100 concurrent streams on one h2c connection (-m 100), all
// answered; the frames say one connection, a HEADERS and a DATA with
// END_STREAM per stream.
func TestH2Nghttp(t *testing.T) {
	needBin(t, "/usr/bin/nghttp")
	s, b := startH2(t)
	const n = 100
	out := runClient(t, "nghttp", "-n", "-v", "-m", strconv.Itoa(n), "http://"+s.addr+"/hello")
	if c := strings.Count(out, "] Connected"); c != 1 {
		t.Errorf("%d connections, want 1", c)
	}
	if c := strings.Count(out, ":status: 200"); c != n {
		t.Errorf("%d responses with :status 200, want %d", c, n)
	}
	re := regexp.MustCompile(`recv DATA frame <length=12, flags=0x01, stream_id=(\d+)>`)
	ids := map[string]bool{}
	for _, m := range re.FindAllStringSubmatch(out, -1) {
		ids[m[1]] = true
	}
	if len(ids) != n {
		t.Errorf("%d streams got a 12-byte DATA frame with END_STREAM, want %d", len(ids), n)
	}
	if strings.Contains(out, "recv RST_STREAM") || strings.Contains(out, "recv GOAWAY") {
		t.Errorf("resets or GOAWAY in a clean run:\n%s", out)
	}
	if got := len(b.requests()); got != n {
		t.Errorf("handler saw %d requests, want %d", got, n)
	}
	// nghttp sent 100 streams before reading our SETTINGS (its default is
	// 100 concurrent); the server's answer says so too.
	if !strings.Contains(out, "SETTINGS_MAX_CONCURRENT_STREAMS(0x03):100") {
		t.Errorf("server SETTINGS without max concurrent streams 100:\n%.2000s", out)
	}
}

// goH2Clients returns Go's clients for the server: net/http over TLS
// negotiating h2 (ForceAttemptHTTP2), and x/net/http2's Transport over
// plain TCP (h2c prior knowledge).
func goH2Clients(env *tlsEnv, ts *tlsServer) map[string]struct {
	c    *http.Client
	base string
} {
	_, tlsPort, _ := net.SplitHostPort(ts.tlsAddr)
	tlsTr := &http.Transport{TLSClientConfig: env.clientConfig("localhost"), ForceAttemptHTTP2: true,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, "127.0.0.1:"+tlsPort)
		}}
	h2c := &http2.Transport{AllowHTTP: true, DialTLSContext: func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}}
	return map[string]struct {
		c    *http.Client
		base string
	}{
		"tls": {&http.Client{Transport: tlsTr, Timeout: 30 * time.Second}, "https://localhost:" + tlsPort},
		"h2c": {&http.Client{Transport: h2c, Timeout: 30 * time.Second}, "http://" + ts.addr},
	}
}

// Go's clients: protocol HTTP/2.0; 20 concurrent GETs on one connection;
// a streamed 1 MiB response (the handler sends 64 parts of 16 KiB, each
// within the credits the server grants as bytes reach the client); a
// 1 MiB POST whose body the handler reads under its own credits (16 KiB
// at a time), answered with its length and digest.
func TestH2GoClients(t *testing.T) {
	env := newTLSEnv(t)
	ts := startTLSServer(t, env, "--http2")
	b := startH2Backend(t, ts.testServer)
	for name, cl := range goH2Clients(env, ts) {
		t.Run(name, func(t *testing.T) {
			var wg sync.WaitGroup
			for i := 0; i < 20; i++ {
				wg.Add(1)
				go func(i int) {
					defer wg.Done()
					resp, err := cl.c.Get(fmt.Sprintf("%s/hello?i=%d", cl.base, i))
					if err != nil {
						t.Errorf("GET %d: %v", i, err)
						return
					}
					body, err := io.ReadAll(resp.Body)
					resp.Body.Close()
					if err != nil || resp.ProtoMajor != 2 || resp.StatusCode != 200 || string(body) != "hello world\n" {
						t.Errorf("GET %d: %s %d %q %v", i, resp.Proto, resp.StatusCode, body, err)
					}
				}(i)
			}
			wg.Wait()

			resp, err := cl.c.Get(cl.base + "/stream?parts=64&size=16384")
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || resp.ProtoMajor != 2 || !bytes.Equal(body, pattern(64*16384)) {
				t.Fatalf("streamed response: %s, %d bytes, equal %v, %v", resp.Proto, len(body), bytes.Equal(body, pattern(64*16384)), err)
			}
			if cl := resp.Header.Get("Content-Length"); cl != "" {
				t.Errorf("streamed response has content-length %q", cl)
			}

			up := pattern(1 << 20)
			resp, err = cl.c.Post(cl.base+"/upload", "application/octet-stream", bytes.NewReader(up))
			if err != nil {
				t.Fatal(err)
			}
			body, err = io.ReadAll(resp.Body)
			resp.Body.Close()
			sum := sha256.Sum256(up)
			if want := fmt.Sprintf("%d %x", len(up), sum); err != nil || string(body) != want {
				t.Fatalf("upload answer %q (%v), want %q", body, err, want)
			}
		})
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cancels != 0 {
		t.Errorf("%d cancels in clean runs", b.cancels)
	}
}

// Headless Chromium loads a page over https; the page reports the protocol
// its navigation used (performance.getEntries()[0].nextHopProtocol), which
// must be h2, and the report itself is a second request on the connection.
func TestH2Chromium(t *testing.T) {
	needBin(t, chromiumBin)
	env := newTLSEnv(t)
	ts := startTLSServer(t, env, "--http2")
	page := []byte(`<!doctype html><html><body><script>
const e = performance.getEntriesByType("navigation")[0] || performance.getEntries()[0];
fetch("/result?proto=" + encodeURIComponent(e.nextHopProtocol), {cache: "no-store"});
</script></body></html>`)
	e := startEchoHandler(t, ts.testServer, page)
	_, tlsPort, _ := net.SplitHostPort(ts.tlsAddr)
	out := &syncBuffer{}
	cmd := exec.Command(chromiumBin, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
		"--no-first-run", "--no-default-browser-check", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--disable-extensions", "--mute-audio",
		"--ignore-certificate-errors", "--host-resolver-rules=MAP localhost 127.0.0.1",
		"--user-data-dir="+t.TempDir(), "https://localhost:"+tlsPort+"/page")
	cmd.Stdout, cmd.Stderr = out, out
	cmd.Env = append(os.Environ(), "TMPDIR="+t.TempDir())
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
		if t.Failed() {
			t.Logf("chromium output:\n%s", out.String())
		}
	})
	select {
	case q := <-e.results:
		if q != "proto=h2" {
			t.Fatalf("page reported %q, want proto=h2", q)
		}
	case err := <-exited:
		t.Fatalf("chromium exited before the page reported: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("no result from the page within 30 s")
	}
}

// ---- raw frame client ----

// h2fc is a client speaking frames itself (x/net/http2's Framer and
// hpack), for tests that must withhold or inspect frames.
type h2fc struct {
	t    *testing.T
	c    net.Conn
	fr   *http2.Framer
	enc  *hpack.Encoder
	eb   bytes.Buffer
	dec  *hpack.Decoder
	hdrs map[uint32][]hpack.HeaderField
}

// dialH2FC connects, sends the preface and settings, and reads frames
// until the server's SETTINGS arrived.
func dialH2FC(t *testing.T, addr string, settings ...http2.Setting) *h2fc {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	r := &h2fc{t: t, c: c, fr: http2.NewFramer(c, c), hdrs: map[uint32][]hpack.HeaderField{}}
	r.enc = hpack.NewEncoder(&r.eb)
	r.dec = hpack.NewDecoder(4096, nil)
	r.fr.MaxHeaderListSize = 1 << 20
	if _, err := io.WriteString(c, http2.ClientPreface); err != nil {
		t.Fatal(err)
	}
	if err := r.fr.WriteSettings(settings...); err != nil {
		t.Fatal(err)
	}
	for {
		f := r.next()
		if sf, ok := f.(*http2.SettingsFrame); ok && !sf.IsAck() {
			r.fr.WriteSettingsAck()
			return r
		}
	}
}

// next reads one frame within 10 s; HEADERS are decoded into r.hdrs.
func (r *h2fc) next() http2.Frame {
	r.t.Helper()
	r.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	f, err := r.fr.ReadFrame()
	if err != nil {
		r.t.Fatalf("read frame: %v", err)
	}
	if hf, ok := f.(*http2.HeadersFrame); ok {
		fields, err := r.dec.DecodeFull(hf.HeaderBlockFragment())
		if err != nil {
			r.t.Fatalf("hpack: %v", err)
		}
		r.hdrs[hf.StreamID] = fields
	}
	return f
}

// request sends a HEADERS frame for stream id.
func (r *h2fc) request(id uint32, method, path string, end bool, extra ...string) {
	r.t.Helper()
	r.eb.Reset()
	for _, f := range [][2]string{{":method", method}, {":scheme", "http"}, {":authority", "example.test"}, {":path", path}} {
		r.enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
	}
	for i := 0; i+1 < len(extra); i += 2 {
		r.enc.WriteField(hpack.HeaderField{Name: extra[i], Value: extra[i+1]})
	}
	if err := r.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: r.eb.Bytes(), EndHeaders: true, EndStream: end}); err != nil {
		r.t.Fatal(err)
	}
}

// field returns the value of a decoded response field of stream id.
func (r *h2fc) field(id uint32, name string) (string, bool) {
	for _, f := range r.hdrs[id] {
		if f.Name == name {
			return f.Value, true
		}
	}
	return "", false
}

// A POST's body over h2 flows only as the handler grants credits: the
// server advertises an initial stream window of 0, and each credit packet
// opens the stream's window by exactly its amount (one WINDOW_UPDATE); the
// handler receives exactly the bytes the client sent, in order.
func TestH2UploadWindowFollowsCredits(t *testing.T) {
	s := startServer(t, "--http2")
	h := s.handler("h1")
	r := dialH2FC(t, s.addr)
	r.request(1, "POST", "/up", false, "content-type", "application/octet-stream")
	req := recv(t, h, "")
	if req["more"] != true || num(req, "credits") == 0 {
		t.Fatalf("request packet %v", req)
	}
	ss := newSession(t, h, req)
	up := pattern(3 * 10000)
	var got []byte
	sent := 0
	for _, grant := range []int{10000, 10000, 10000} {
		ss.send(map[string]any{"type": "credit", "credits": grant})
		// Exactly one WINDOW_UPDATE of grant for stream 1 (connection-level
		// updates may come too).
		for {
			f := r.next()
			if wu, ok := f.(*http2.WindowUpdateFrame); ok && wu.StreamID == 1 {
				if int(wu.Increment) != grant {
					t.Fatalf("stream window opened by %d after a grant of %d", wu.Increment, grant)
				}
				break
			}
		}
		// Send what the window allows, in frames of the default max size.
		for off := sent; off < sent+grant; off += 16384 {
			end := min(off+16384, sent+grant)
			if err := r.fr.WriteData(1, end == len(up), up[off:end]); err != nil {
				t.Fatal(err)
			}
		}
		sent += grant
		for len(got) < sent {
			p := recv(t, h, "")
			got = append(got, str(p, "body")...)
			if len(got) > sent {
				t.Fatalf("handler got %d bytes, only %d granted", len(got), sent)
			}
		}
	}
	if !bytes.Equal(got, up) {
		t.Fatalf("handler got %d bytes, different from the %d sent", len(got), len(up))
	}
	// The server has not opened the window any further: a WINDOW_UPDATE for
	// stream 1 now would be a grant nobody made.
	ss.respond(200, "OK", "done", false)
	for {
		f := r.next()
		if wu, ok := f.(*http2.WindowUpdateFrame); ok && wu.StreamID == 1 {
			t.Fatalf("stream window opened by %d without a grant", wu.Increment)
		}
		if df, ok := f.(*http2.DataFrame); ok && df.StreamID == 1 && df.StreamEnded() {
			if string(df.Data()) != "done" {
				t.Fatalf("response body %q", df.Data())
			}
			break
		}
	}
}

// h2frame is a frame read by frameReader: DATA with its payload copied,
// any other frame as its type.
type h2frame struct {
	typ    http2.FrameType
	stream uint32
	data   []byte
	end    bool
	err    error // the read failed (then the reader stopped)
}

// frameReader reads r's frames in a goroutine of its own, without a read
// deadline, until the test ends. A test that polls the client with short
// read deadlines cannot call ReadFrame directly: a deadline that expires
// inside a frame leaves the Framer out of step (the part it read is gone),
// so it takes payload bytes for the next frame header and, the pattern
// bodies making a plausible length, swallows the frames after it without
// an error (seen under load and -race: the stream stalls once its window
// went into frames the client never counted).
func (r *h2fc) frameReader() <-chan h2frame {
	r.c.SetReadDeadline(time.Time{})
	out, done := make(chan h2frame, 64), make(chan struct{})
	r.t.Cleanup(func() { close(done) }) // before the connection's Close (cleanups run last-first)
	go func() {
		for {
			f, err := r.fr.ReadFrame()
			var hf h2frame
			if err != nil {
				hf.err = err
			} else {
				hf.typ, hf.stream = f.Header().Type, f.Header().StreamID
				if df, ok := f.(*http2.DataFrame); ok {
					hf.data, hf.end = bytes.Clone(df.Data()), df.StreamEnded()
				}
			}
			select {
			case out <- hf:
			case <-done:
				return
			}
			if err != nil {
				return
			}
		}
	}()
	return out
}

// nextFrame is the next frame from frames, or ok false after wait.
func nextFrame(t *testing.T, frames <-chan h2frame, wait time.Duration) (f h2frame, ok bool) {
	t.Helper()
	select {
	case f = <-frames:
	case <-time.After(wait):
		return f, false
	}
	if f.err != nil {
		t.Fatalf("read frame: %v", f.err)
	}
	return f, true
}

// A client that stops reading one stream (it gives that stream no window)
// does not hold up another stream of the same connection; the slow
// stream's handler gets no credits beyond what reached the client, and
// the stream finishes once the client opens its window.
func TestH2SlowStreamDoesNotBlockOthers(t *testing.T) {
	s := startServer(t, "--http2")
	h := s.handler("h1")
	const win = 16384
	r := dialH2FC(t, s.addr, http2.Setting{ID: http2.SettingInitialWindowSize, Val: win})
	r.fr.WriteWindowUpdate(0, 10<<20) // the connection window never limits

	r.request(1, "GET", "/slow", true)
	slowReq := recv(t, h, "")
	slow := newSession(t, h, slowReq)
	credits := num(slowReq, "credits")
	const slowSize = 256 << 10
	slow.send(map[string]any{"code": 200, "reason": "OK", "more": true})
	sentSlow := int64(0)
	sendSlow := func() { // as much as the credits allow
		for credits > 0 && sentSlow < slowSize {
			n := min(credits, slowSize-sentSlow)
			p := map[string]any{"body": pattern(int(sentSlow + n))[sentSlow:]}
			if sentSlow+n < slowSize {
				p["more"] = true
			}
			slow.send(p)
			sentSlow += n
			credits -= n
		}
	}
	sendSlow()

	// Stream 3 wants 128 KiB: the client opens its window as it reads.
	r.request(3, "GET", "/fast", true)
	frames := r.frameReader()
	var fast *session
	fastCredits := int64(0)
	const fastSize = 128 << 10
	fastSent := int64(0)
	slowGot, fastGot := 0, 0
	var slowData, fastData []byte
	fastDone := false
	deadline := time.Now().Add(15 * time.Second)
	for !fastDone {
		if time.Now().After(deadline) {
			// The handler-side counts say which side stalled.
			t.Fatalf("stream 3 got %d of %d bytes; its handler sent %d and has %d credits left", fastGot, fastSize, fastSent, fastCredits)
		}
		// Handler side: drain packets without blocking long.
		for {
			p, err := h.Recv(5 * time.Millisecond)
			if err != nil {
				break
			}
			switch {
			case p["method"] != nil:
				fast = newSession(t, h, p)
				fastCredits = num(p, "credits")
				fast.send(map[string]any{"code": 200, "reason": "OK", "more": true})
			case str(p, "type") == "credit" && fast != nil && str(p, "id") == fast.id:
				fastCredits += num(p, "credits")
			case str(p, "type") == "credit" && str(p, "id") == slow.id:
				credits += num(p, "credits")
				sendSlow()
			}
		}
		for fast != nil && fastCredits > 0 && fastSent < fastSize {
			n := min(fastCredits, fastSize-fastSent)
			p := map[string]any{"body": pattern(int(fastSent + n))[fastSent:]}
			if fastSent+n < fastSize {
				p["more"] = true
			}
			fast.send(p)
			fastSent += n
			fastCredits -= n
		}
		// Client side: take what is there.
		f, ok := nextFrame(t, frames, 20*time.Millisecond)
		if !ok {
			continue
		}
		switch f.typ {
		case http2.FrameData:
			switch f.stream {
			case 1:
				slowGot += len(f.data)
				slowData = append(slowData, f.data...)
			case 3:
				fastGot += len(f.data)
				fastData = append(fastData, f.data...)
				if len(f.data) > 0 {
					if err := r.fr.WriteWindowUpdate(3, uint32(len(f.data))); err != nil {
						t.Fatal(err)
					}
				}
				fastDone = f.end
			}
		case http2.FrameRSTStream, http2.FrameGoAway:
			t.Fatalf("unexpected %v on stream %d", f.typ, f.stream)
		}
	}
	if fastGot != fastSize {
		t.Fatalf("stream 3 got %d bytes, want %d", fastGot, fastSize)
	}
	if slowGot > win {
		t.Fatalf("stream 1 got %d bytes beyond its %d window", slowGot, win)
	}
	// The slow stream's handler was not given credits for bytes that did
	// not reach the client: it sent at most its first credits plus what
	// the client took.
	first := num(slowReq, "credits")
	if sentSlow > first+int64(win) {
		t.Errorf("slow handler was let send %d bytes; the client took at most %d, first credits %d", sentSlow, win, first)
	}
	// Now the client reads stream 1 to the end.
	r.fr.WriteWindowUpdate(1, slowSize)
	deadline = time.Now().Add(15 * time.Second)
	for slowGot < slowSize {
		if time.Now().After(deadline) {
			t.Fatalf("stream 1 got %d of %d bytes after its window opened", slowGot, slowSize)
		}
		for {
			p, err := h.Recv(5 * time.Millisecond)
			if err != nil {
				break
			}
			if str(p, "type") == "credit" && str(p, "id") == slow.id {
				credits += num(p, "credits")
			}
		}
		sendSlow()
		f, ok := nextFrame(t, frames, 20*time.Millisecond)
		if !ok {
			continue
		}
		if f.typ == http2.FrameData && f.stream == 1 {
			slowGot += len(f.data)
			slowData = append(slowData, f.data...)
		}
	}
	// Each byte once, in order (held bytes were once sent twice).
	if !bytes.Equal(slowData, pattern(slowSize)) || !bytes.Equal(fastData, pattern(fastSize)) {
		t.Fatalf("bodies differ from what the handlers sent (slow %d bytes, fast %d)", len(slowData), len(fastData))
	}
}

// HEAD, 204 and 304 end with the HEADERS frame (END_STREAM on it, no DATA
// frame) even when the handler sends a body; connection-specific fields
// from the handler are not in the HEADERS.
func TestH2NoBodyAndConnHeaders(t *testing.T) {
	s := startServer(t, "--http2")
	h := s.handler("h1")
	r := dialH2FC(t, s.addr)
	cases := []struct {
		method string
		code   int
	}{{"HEAD", 200}, {"GET", 204}, {"GET", 304}, {"GET", 200}}
	for i, c := range cases {
		id := uint32(2*i + 1)
		r.request(id, c.method, "/x", true)
		ss := newSession(t, h, recv(t, h, ""))
		body := "body!"
		if c.code == 204 || c.code == 304 {
			body = ""
		}
		ss.respond(c.code, "X", body, false, "Content-Length", "5", "Connection", "close", "Keep-Alive", "timeout=1",
			"Transfer-Encoding", "identity", "Upgrade", "h2c", "Proxy-Connection", "close", "X-Kept", "1")
		var data []byte
		for {
			f := r.next()
			if f.Header().StreamID != id {
				continue
			}
			if hf, ok := f.(*http2.HeadersFrame); ok {
				if st, _ := r.field(id, ":status"); st != strconv.Itoa(c.code) {
					t.Errorf("%s %d: :status %q", c.method, c.code, st)
				}
				for _, n := range []string{"connection", "keep-alive", "transfer-encoding", "upgrade", "proxy-connection"} {
					if v, ok := r.field(id, n); ok {
						t.Errorf("%s %d: %s: %s sent", c.method, c.code, n, v)
					}
				}
				if v, _ := r.field(id, "x-kept"); v != "1" {
					t.Errorf("%s %d: x-kept %q", c.method, c.code, v)
				}
				if hf.StreamEnded() {
					break
				}
				if c.code != 200 || c.method == "HEAD" {
					t.Errorf("%s %d: HEADERS without END_STREAM", c.method, c.code)
				}
				continue
			}
			if df, ok := f.(*http2.DataFrame); ok {
				data = append(data, df.Data()...)
				if df.StreamEnded() {
					break
				}
			}
			if _, ok := f.(*http2.RSTStreamFrame); ok {
				t.Fatalf("%s %d: RST_STREAM", c.method, c.code)
			}
		}
		want := ""
		if c.method == "GET" && c.code == 200 {
			want = "body!"
		}
		if string(data) != want {
			t.Errorf("%s %d: body %q, want %q", c.method, c.code, data, want)
		}
	}
}

// ---- Pushpin ----

// Pushpin 1.36 with our binary as condure_bin, unchanged:
// curl over h2c gets the origin's answer through Pushpin's proxy (GET, and
// a 200 KB POST whose digest the origin checks), and Go's h2c client holds
// two GRIP streams on ONE connection, each getting what is published on its
// own channel.
func TestH2Pushpin(t *testing.T) {
	needBin(t, "/usr/bin/curl")
	if pushpinBinUnderTest() == "/usr/bin/condure" {
		t.Skip("the reference has no HTTP/2")
	}
	// condure_bin is our binary as it is: HTTP/2 is on by default, with
	// no flag Pushpin would have to pass.
	org := startOrigin(t)
	p := startPushpin(t, org)
	base := "http://" + p.httpAddr

	curl := func(args ...string) string {
		return runClient(t, "curl", append([]string{"-sS", "--max-time", "20", "--http2-prior-knowledge",
			"-H", "X-Req-Test: over h2", "-w", "\n%{http_version} %{http_code}"}, args...)...)
	}
	checkEcho := func(out, method, uri string, body []byte, code string) {
		t.Helper()
		js, tail, _ := strings.Cut(out, "\n")
		if tail != "2 "+code {
			t.Fatalf("curl: %q, want HTTP/2 %s", tail, code)
		}
		var got map[string]any
		if err := json.Unmarshal([]byte(js), &got); err != nil {
			t.Fatalf("origin body %q: %v", js, err)
		}
		sum := sha256.Sum256(body)
		want := map[string]any{"method": method, "uri": uri, "len": float64(len(body)),
			"sha256": hex.EncodeToString(sum[:]), "x-req": "over h2"}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("origin saw %s=%v, want %v", k, got[k], v)
			}
		}
	}
	checkEcho(curl(base+"/echo?a=1"), "GET", "/echo?a=1", nil, "200")
	up := pattern(200_000)
	f := filepath.Join(t.TempDir(), "up")
	if err := os.WriteFile(f, up, 0o644); err != nil {
		t.Fatal(err)
	}
	checkEcho(curl("--data-binary", "@"+f, "-H", "Content-Type: application/x-test", base+"/echo"), "POST", "/echo", up, "201")

	// Two GRIP streams multiplexed on one h2c connection.
	var dials int
	var dmu sync.Mutex
	tr := &http2.Transport{AllowHTTP: true, DialTLSContext: func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
		dmu.Lock()
		dials++
		dmu.Unlock()
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}}
	defer tr.CloseIdleConnections()
	cl := &http.Client{Transport: tr}
	type held struct {
		mu   sync.Mutex
		got  strings.Builder
		err  error
		resp *http.Response
	}
	open := func(ch string) *held {
		ctx, cancel := context.WithCancel(context.Background())
		t.Cleanup(cancel)
		req, _ := http.NewRequestWithContext(ctx, "GET", base+"/stream?ch="+ch, nil)
		resp, err := cl.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if resp.ProtoMajor != 2 || resp.StatusCode != 200 {
			t.Fatalf("stream: %s %d", resp.Proto, resp.StatusCode)
		}
		if resp.Header.Get("Grip-Hold") != "" {
			t.Errorf("GRIP header leaked: %v", resp.Header)
		}
		h := &held{resp: resp}
		go func() {
			b := make([]byte, 4096)
			for {
				n, err := resp.Body.Read(b)
				h.mu.Lock()
				h.got.Write(b[:n])
				h.err = err
				h.mu.Unlock()
				if err != nil {
					return
				}
			}
		}()
		return h
	}
	wait := func(h *held, want string) {
		t.Helper()
		var got string
		var err error
		eventually(t, 5*time.Second, func() bool {
			h.mu.Lock()
			got, err = h.got.String(), h.err
			h.mu.Unlock()
			return got == want || err != nil || !strings.HasPrefix(want, got)
		})
		if got != want {
			t.Fatalf("stream body %q (error %v), want %q", got, err, want)
		}
	}
	a, b := open("h2a"), open("h2b")
	wait(a, "initial\n")
	wait(b, "initial\n")
	p.publish(t, "h2a", "to a\n")
	wait(a, "initial\nto a\n")
	p.publish(t, "h2b", "to b\n")
	wait(b, "initial\nto b\n")
	wait(a, "initial\nto a\n") // nothing of b's on a
	dmu.Lock()
	defer dmu.Unlock()
	if dials != 1 {
		t.Errorf("%d connections for two streams, want 1", dials)
	}
}

// While no handler can take a request (here: none is connected yet, and
// an HTTP/1 request already found the PUSH socket without room), new h2
// streams wait unread, as HTTP/1 requests do, rather than being refused
// with RST_STREAM REFUSED_STREAM (which h2load, curl and Go's client
// report as failures: h2load -c10 -m100 lost thousands of requests when
// the handler fell behind); once a handler connects, every one is served.
func TestH2StreamsWaitForHandlerRoom(t *testing.T) {
	s := startServer(t, "--http2", "--workers", "1")
	s.waitLog("[condure] started")
	h1 := s.dial()
	if _, err := io.WriteString(h1, "GET /h1 HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	r := dialH2FC(t, s.addr)
	const n = 5
	for i := 0; i < n; i++ {
		r.request(uint32(2*i+1), "GET", "/h2", true)
	}
	// The client's frames reached the server (its PING ack comes after
	// they were read... or not read, if they wait: so ping on a second
	// connection, which shares the worker).
	r2 := dialH2FC(t, s.addr)
	r2.fr.WritePing(false, [8]byte{1})
	for {
		if pf, ok := r2.next().(*http2.PingFrame); ok && pf.IsAck() {
			break
		}
	}
	b := startH2Backend(t, s) // answers whatever comes
	got := 0
	for got < n {
		switch f := r.next().(type) {
		case *http2.RSTStreamFrame:
			t.Fatalf("stream %d reset: %v", f.StreamID, f.ErrCode)
		case *http2.GoAwayFrame:
			t.Fatalf("GOAWAY %v", f.ErrCode)
		case *http2.DataFrame:
			if f.StreamEnded() {
				got++
			}
		}
	}
	h1.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 512)
	if k, err := h1.Read(buf); err != nil || !strings.HasPrefix(string(buf[:k]), "HTTP/1.1 200") {
		t.Fatalf("HTTP/1 answer %q %v", buf[:k], err)
	}
	if k := len(b.requests()); k != n+1 {
		t.Errorf("handler saw %d requests, want %d", k, n+1)
	}
}
