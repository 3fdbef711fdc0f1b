package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
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

	"github.com/condure-go/condure/http2"
	"github.com/condure-go/condure/zhttp/zhttptest"
)

// HTTP/2 (issue #17) with real clients through the real binary: curl
// (--http2-prior-knowledge, --http2 over TLS with ALPN), nghttp, Go's
// net/http (h2c and h2), and h2spec when installed. CI needs the Debian
// package nghttp2-client and `go install
// github.com/summerwind/h2spec/cmd/h2spec@latest`.

// h2Handler answers every request in stream mode, within credits: it
// grants 1 MiB of request-body credits, counts the body, then answers 200
// with "METHOD URI host=HOST body=N\n" followed by the n bytes of ?n=N (a
// repeating pattern), sent as the server's credits allow.
type h2Handler struct {
	t  *testing.T
	h  *zhttptest.Handler
	mu sync.Mutex
	// per session
	sess    map[string]*h2Sess
	cancels int
}

type h2Sess struct {
	seq      int64
	credits  int64
	body     int
	head     string
	left     int // response body bytes not sent yet
	sent     int
	answered bool
}

const h2BodyCredits = 1 << 20

func startH2Handler(t *testing.T, s *testServer) *h2Handler {
	hh := &h2Handler{t: t, h: s.handler("h2-handler"), sess: map[string]*h2Sess{}}
	done := make(chan struct{})
	stopped := make(chan struct{})
	t.Cleanup(func() { close(done); <-stopped })
	go func() {
		defer close(stopped)
		for {
			select {
			case <-done:
				return
			default:
			}
			p, err := hh.h.Recv(50 * time.Millisecond)
			if err != nil {
				continue
			}
			hh.packet(p)
		}
	}()
	return hh
}

func (hh *h2Handler) send(id string, s *h2Sess, p map[string]any) {
	p["id"] = id
	p["seq"] = s.seq
	s.seq++
	if err := hh.h.Send(p); err != nil {
		hh.t.Errorf("handler send: %v", err)
	}
}

func (hh *h2Handler) packet(p map[string]any) {
	hh.mu.Lock()
	defer hh.mu.Unlock()
	id := str(p, "id")
	typ := str(p, "type")
	s := hh.sess[id]
	if s == nil {
		if typ != "" || str(p, "method") == "" {
			return
		}
		s = &h2Sess{credits: num(p, "credits")}
		hh.sess[id] = s
		host := ""
		if hs, ok := p["headers"].([]any); ok && len(hs) > 0 {
			if kv, ok := hs[0].([]any); ok && fmt.Sprint(kv[0]) == "Host" {
				host = fmt.Sprint(kv[1])
			}
		}
		s.head = fmt.Sprintf("%s %s host=%s", str(p, "method"), str(p, "uri"), host)
		if m := regexp.MustCompile(`[?&]n=(\d+)`).FindStringSubmatch(str(p, "uri")); m != nil {
			s.left, _ = strconv.Atoi(m[1])
		}
		if p["more"] == true {
			hh.send(id, s, map[string]any{"type": "credit", "credits": h2BodyCredits})
			return
		}
		hh.answer(id, s)
		return
	}
	switch typ {
	case "":
		s.body += len(str(p, "body"))
		if p["more"] != true {
			hh.answer(id, s)
		}
	case "credit":
		s.credits += num(p, "credits")
		hh.more(id, s)
	case "cancel":
		hh.cancels++
		delete(hh.sess, id)
	}
}

func (hh *h2Handler) answer(id string, s *h2Sess) {
	s.answered = true
	first := fmt.Sprintf("%s body=%d\n", s.head, s.body)
	s.credits -= int64(len(first))
	hh.send(id, s, map[string]any{"code": 200, "reason": "OK", "more": true,
		"headers": []any{[]any{"Content-Type", "text/plain"}, []any{"Connection", "keep-alive"}}, "body": first})
	hh.more(id, s)
}

// more sends what the credits allow of the rest of the body.
func (hh *h2Handler) more(id string, s *h2Sess) {
	if !s.answered {
		return
	}
	for s.left > 0 && s.credits > 0 {
		n := int(min(int64(s.left), s.credits, 16384))
		b := make([]byte, n)
		for i := range b {
			b[i] = byte('a' + (s.sent+i)%26)
		}
		s.sent += n
		s.left -= n
		s.credits -= int64(n)
		hh.send(id, s, map[string]any{"body": string(b), "more": s.left > 0})
	}
	if s.left == 0 && s.sent >= 0 {
		if s.sent == 0 {
			hh.send(id, s, map[string]any{"body": ""})
		}
		s.sent = -1 // done
		delete(hh.sess, id)
	}
}

// h2pattern is the response body the handler sends for ?n=N.
func h2pattern(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('a' + i%26)
	}
	return string(b)
}

// h2Server starts the binary with --http2 on a plain and a tls listener.
func h2Server(t *testing.T, extra ...string) (*testServer, *h2Handler, string) {
	t.Helper()
	env := newTLSEnv(t)
	tlsAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	s := startServer(t, append([]string{"--http2", "--listen", tlsAddr + ",tls,default-cert=default",
		"--tls-identities-dir", env.dir}, extra...)...)
	s.waitLog("[condure] started")
	return s, startH2Handler(t, s), tlsAddr
}

func TestH2RealClients(t *testing.T) {
	s, hh, tlsAddr := h2Server(t)
	_, tlsPort, _ := net.SplitHostPort(tlsAddr)
	plain := "http://" + s.addr
	secure := "https://localhost:" + tlsPort

	t.Run("curl prior knowledge GET and POST", func(t *testing.T) {
		h2need(t, "curl")
		out := h2run(t, "curl", "-sS", "-v", "--http2-prior-knowledge", plain+"/a?n=10")
		if !strings.Contains(out, "< HTTP/2 200") || !strings.Contains(out, "GET http://"+s.addr+"/a?n=10 host="+s.addr+" body=0\n"+h2pattern(10)) {
			t.Fatalf("curl output:\n%s", out)
		}
		if strings.Contains(strings.ToLower(out), "< connection:") {
			t.Fatalf("connection-specific header passed on:\n%s", out)
		}
		body := strings.Repeat("x", 100000)
		out = h2run(t, "curl", "-sS", "--http2-prior-knowledge", "--data-binary", body, plain+"/post")
		if out != "POST http://"+s.addr+"/post host="+s.addr+" body=100000\n" {
			t.Fatalf("curl POST output %q", out)
		}
	})
	t.Run("curl over TLS: ALPN h2", func(t *testing.T) {
		h2need(t, "curl")
		out := h2run(t, "curl", "-sS", "-v", "-k", "--http2", secure+"/s?n=3")
		if !strings.Contains(out, "ALPN: server accepted h2") || !strings.Contains(out, "GET https://localhost:"+tlsPort+"/s?n=3 host=localhost:"+tlsPort+" body=0\nabc") {
			t.Fatalf("curl output:\n%s", out)
		}
		out = h2run(t, "curl", "-sS", "-v", "-k", "--http1.1", secure+"/h1")
		if !strings.Contains(out, "ALPN: server accepted http/1.1") || !strings.Contains(out, "< HTTP/1.1 200 OK") {
			t.Fatalf("curl --http1.1 output:\n%s", out)
		}
	})
	t.Run("nghttp", func(t *testing.T) {
		h2need(t, "nghttp")
		out := h2run(t, "nghttp", "-v", plain+"/ng?n=5")
		for _, want := range []string{":status: 200", "SETTINGS_INITIAL_WINDOW_SIZE(0x04):0", "END_STREAM"} {
			if !strings.Contains(out, want) {
				t.Fatalf("nghttp output lacks %q:\n%s", want, out)
			}
		}
		if out = h2run(t, "nghttp", plain+"/ng?n=5"); out != "GET http://"+s.addr+"/ng?n=5 host="+s.addr+" body=0\nabcde" {
			t.Fatalf("nghttp body %q", out)
		}
	})
	t.Run("Go net/http h2c and h2, concurrent streams on one connection", func(t *testing.T) {
		var dials int
		var mu sync.Mutex
		tr := &http.Transport{Protocols: new(http.Protocols)}
		tr.Protocols.SetUnencryptedHTTP2(true)
		tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			mu.Lock()
			dials++
			mu.Unlock()
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		}
		tlsTr := &http.Transport{ForceAttemptHTTP2: true, TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
		for _, c := range []struct {
			name string
			cl   *http.Client
			base string
		}{{"h2c", &http.Client{Transport: tr, Timeout: 20 * time.Second}, plain}, {"h2", &http.Client{Transport: tlsTr, Timeout: 20 * time.Second}, secure}} {
			t.Run(c.name, func(t *testing.T) {
				// Warm up one connection, then 40 streams at once on it.
				getBody(t, c.cl, c.base+"/warm", 2)
				var wg sync.WaitGroup
				for i := 0; i < 40; i++ {
					wg.Add(1)
					go func(i int) {
						defer wg.Done()
						n := 1000 * i
						b := getBody(t, c.cl, fmt.Sprintf("%s/c%d?n=%d", c.base, i, n), 2)
						if !strings.HasSuffix(b, "body=0\n"+h2pattern(n)) {
							t.Errorf("stream %d: body of %d bytes, want the pattern of %d", i, len(b), n)
						}
					}(i)
				}
				wg.Wait()
				// A response far beyond every window: 3 MB.
				if b := getBody(t, c.cl, c.base+"/big?n=3000000", 2); !strings.HasSuffix(b, h2pattern(3000000)) {
					t.Errorf("big response: %d bytes", len(b))
				}
				// A request body beyond the handler's credits batch: 300 KB.
				resp, err := c.cl.Post(c.base+"/up", "application/octet-stream", bytes.NewReader(make([]byte, 300000)))
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.ProtoMajor != 2 || !strings.HasSuffix(string(b), "body=300000\n") {
					t.Fatalf("POST: proto %s, body %q", resp.Proto, b)
				}
			})
		}
		if dials != 1 {
			t.Errorf("h2c client dialled %d connections, want 1 (all streams on one)", dials)
		}
	})
	_ = hh
}

func getBody(t *testing.T, cl *http.Client, url string, major int) string {
	t.Helper()
	resp, err := cl.Get(url)
	if err != nil {
		t.Errorf("GET %s: %v", url, err)
		return ""
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Errorf("GET %s body: %v", url, err)
	}
	if resp.ProtoMajor != major || resp.StatusCode != 200 {
		t.Errorf("GET %s: %s %d", url, resp.Proto, resp.StatusCode)
	}
	return string(b)
}

func h2need(t *testing.T, bin string) {
	if _, err := exec.LookPath(bin); err != nil {
		t.Skipf("%s is not installed", bin)
	}
}

// h2run runs a client command (bounded in time) and returns its output.
func h2run(t *testing.T, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", name, err, out)
	}
	return string(out)
}

// h2specBin is where `go install` puts h2spec; PATH is tried first.
func h2specBin(t *testing.T) string {
	if p, err := exec.LookPath("h2spec"); err == nil {
		return p
	}
	home, _ := os.UserHomeDir()
	p := filepath.Join(home, "go", "bin", "h2spec")
	if _, err := os.Stat(p); err != nil {
		t.Skip("h2spec is not installed (go install github.com/summerwind/h2spec/cmd/h2spec@latest)")
	}
	return p
}

// TestH2Spec runs h2spec's generic, http2 and hpack cases over h2c and over
// TLS. Over TLS all pass. Over h2c one cannot: "3.5/2 Sends invalid
// connection preface" expects the connection closed, but on a port that
// serves HTTP/1 as well, bytes that are not the preface are an HTTP/1
// request and get HTTP/1's 400 (docs/differences.md).
func TestH2Spec(t *testing.T) {
	bin := h2specBin(t)
	s, _, tlsAddr := h2Server(t, "--log-level", "2")
	summary := regexp.MustCompile(`(\d+) tests, (\d+) passed, (\d+) skipped, (\d+) failed`)
	for _, tc := range []struct {
		name      string
		addr      string
		args      []string
		maxFailed int
	}{{"h2c", s.addr, nil, 1}, {"tls", tlsAddr, []string{"-t", "-k"}, 0}} {
		t.Run(tc.name, func(t *testing.T) {
			host, port, _ := net.SplitHostPort(tc.addr)
			ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
			defer cancel()
			out, _ := exec.CommandContext(ctx, bin, append([]string{"-h", host, "-p", port, "-o", "3"}, tc.args...)...).CombinedOutput()
			m := summary.FindStringSubmatch(string(out))
			if m == nil {
				t.Fatalf("no h2spec summary:\n%s", out)
			}
			total, _ := strconv.Atoi(m[1])
			failed, _ := strconv.Atoi(m[4])
			t.Logf("h2spec %s: %s", tc.name, m[0])
			if total < 140 || failed > tc.maxFailed {
				t.Fatalf("h2spec %s: %s\n%s", tc.name, m[0], out)
			}
			if failed == 1 && !strings.Contains(string(out), "× 2: Sends invalid connection preface") {
				t.Fatalf("h2spec %s: an unexpected case failed:\n%s", tc.name, out)
			}
		})
	}
}

// Req mode over HTTP/2: curl's POST through a req listener, the whole body
// in one request packet, the reply as the response.
func TestH2ReqMode(t *testing.T) {
	h2need(t, "curl")
	s := startReqServer(t, "--http2")
	h := reqHandler(t, s.reqSpec)
	out := make(chan string, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		b, err := exec.CommandContext(ctx, "curl", "-sS", "--http2-prior-knowledge", "--data-binary", strings.Repeat("z", 5000),
			"http://"+s.reqAddr+"/req").CombinedOutput()
		if err != nil {
			b = append(b, err.Error()...)
		}
		out <- string(b)
	}()
	r := recvReq(t, h)
	if str(r.Packet, "method") != "POST" || len(str(r.Packet, "body")) != 5000 || str(r.Packet, "uri") != "http://"+s.reqAddr+"/req" {
		t.Fatalf("req packet %v", r.Packet)
	}
	if err := h.Reply(r, map[string]any{"code": 201, "reason": "Created", "headers": []any{[]any{"X-R", "1"}}, "body": "made\n"}); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-out:
		if got != "made\n" {
			t.Fatalf("curl output %q", got)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("curl did not finish")
	}
}

// h2raw is a bare HTTP/2 client connection for tests that look at frames.
type h2raw struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
}

func dialH2(t *testing.T, addr string) *h2raw {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(20 * time.Second))
	t.Cleanup(func() { c.Close() })
	h := &h2raw{t: t, c: c, r: bufio.NewReader(c)}
	h.write(append([]byte(http2.ClientPreface), http2.AppendSettingsAck(http2.AppendSettings(nil))...))
	return h
}

func (h *h2raw) write(b []byte) {
	if _, err := h.c.Write(b); err != nil {
		h.t.Fatal(err)
	}
}

func (h *h2raw) get(id uint32, path string) {
	var blk []byte
	for _, f := range [][2]string{{":method", "GET"}, {":scheme", "http"}, {":authority", "x"}, {":path", path}} {
		blk = http2.AppendField(blk, []byte(f[0]), []byte(f[1]))
	}
	h.write(http2.AppendHeaders(nil, id, blk, true, 16384))
}

// next reads frames until one of type typ (SETTINGS and WINDOW_UPDATE are
// skipped, HEADERS too when looking for DATA, everything when looking for
// GOAWAY) and returns its header and payload; io.EOF when the server
// closed.
func (h *h2raw) next(typ http2.FrameType) (http2.FrameHeader, []byte, error) {
	for {
		var hdr [http2.FrameHeaderLen]byte
		if _, err := io.ReadFull(h.r, hdr[:]); err != nil {
			return http2.FrameHeader{}, nil, err
		}
		fh := http2.ParseFrameHeader(hdr[:])
		p := make([]byte, fh.Length)
		if _, err := io.ReadFull(h.r, p); err != nil {
			return fh, nil, err
		}
		if fh.Type == typ {
			return fh, p, nil
		}
		if fh.Type != http2.FrameSettings && fh.Type != http2.FrameWindowUpdate && (typ != http2.FrameData || fh.Type != http2.FrameHeaders) &&
			typ != http2.FrameGoAway {
			h.t.Fatalf("got %s frame, want %s", fh.Type, typ)
		}
	}
}

// TestH2GoAway: a drain (SIGQUIT) sends GOAWAY with the last stream id and
// lets that stream finish, then closes; SIGTERM sends GOAWAY and closes at
// once, the handler told with a cancel.
func TestH2GoAway(t *testing.T) {
	t.Run("drain", func(t *testing.T) {
		s := startServer(t, "--http2")
		h := s.handler("h2-drain")
		c := dialH2(t, s.addr)
		c.get(1, "/slow")
		req := recv(t, h, "")
		s.cmd.Process.Signal(syscall.SIGQUIT)
		fh, p, err := c.next(http2.FrameGoAway)
		if err != nil {
			t.Fatalf("no GOAWAY: %v", err)
		}
		if last, code, _, _ := http2.ParseGoAway(fh, p); last != 1 || code != http2.ErrNo {
			t.Fatalf("GOAWAY last %d code %s", last, code)
		}
		newSession(t, h, req).respond(200, "OK", "done", false)
		if fh, p, err = c.next(http2.FrameHeaders); err != nil || fh.StreamID != 1 {
			t.Fatalf("response HEADERS: %v %v", fh, err)
		}
		if fh, p, err = c.next(http2.FrameData); err != nil || string(p) != "done" || !fh.Flags.Has(http2.FlagEndStream) {
			t.Fatalf("response DATA: %v %q %v", fh, p, err)
		}
		if _, _, err = c.next(http2.FrameData); err != io.EOF {
			t.Fatalf("connection not closed after its last stream: %v", err)
		}
	})
	t.Run("SIGTERM", func(t *testing.T) {
		s := startServer(t, "--http2")
		h := s.handler("h2-term")
		c := dialH2(t, s.addr)
		c.get(1, "/a")
		c.get(3, "/b")
		r1 := recv(t, h, "")
		recv(t, h, "")
		newSession(t, h, r1).respond(200, "OK", "part", true) // a handler known to the server
		if _, p, err := c.next(http2.FrameData); err != nil || string(p) != "part" {
			t.Fatalf("first part: %q %v", p, err)
		}
		s.cmd.Process.Signal(syscall.SIGTERM)
		fh, p, err := c.next(http2.FrameGoAway)
		if err != nil {
			t.Fatalf("no GOAWAY: %v", err)
		}
		if last, code, _, _ := http2.ParseGoAway(fh, p); last != 3 || code != http2.ErrNo {
			t.Fatalf("GOAWAY last %d code %s", last, code)
		}
		if p := recv(t, h, "cancel"); str(p, "id") != str(r1, "id") {
			t.Fatalf("cancel for %v", p)
		}
	})
}

// TestH2RapidReset: a client opening and resetting streams as fast as it
// can (CVE-2023-44487) gets GOAWAY ENHANCE_YOUR_CALM, the server logs it
// (rate-limited) and goes on serving others.
func TestH2RapidReset(t *testing.T) {
	s, _, _ := h2Server(t)
	c := dialH2(t, s.addr)
	var in []byte
	for i := 0; i < 1000; i++ {
		id := uint32(2*i + 1)
		var blk []byte
		for _, f := range [][2]string{{":method", "GET"}, {":scheme", "http"}, {":authority", "x"}, {":path", "/r"}} {
			blk = http2.AppendField(blk, []byte(f[0]), []byte(f[1]))
		}
		in = http2.AppendRSTStream(http2.AppendHeaders(in, id, blk, true, 16384), id, http2.ErrCancel)
	}
	go c.c.Write(in) // the server may close before reading it all
	for {
		fh, p, err := c.next(http2.FrameGoAway)
		if err != nil {
			t.Fatalf("no GOAWAY: %v", err)
		}
		if _, code, _, _ := http2.ParseGoAway(fh, p); code != http2.ErrEnhanceYourCalm {
			t.Fatalf("GOAWAY %s", code)
		}
		break
	}
	s.waitLog("ENHANCE_YOUR_CALM: rapid reset")
	cl := &http.Client{Transport: &http.Transport{Protocols: new(http.Protocols)}, Timeout: 10 * time.Second}
	cl.Transport.(*http.Transport).Protocols.SetUnencryptedHTTP2(true)
	if b := getBody(t, cl, "http://"+s.addr+"/after", 2); !strings.HasPrefix(b, "GET ") {
		t.Fatalf("after the flood: %q", b)
	}
}

// TestH2SlowStream: a stream whose client does not open its window holds
// its own handler (no credits) and nothing else: another stream on the
// same connection gets its whole response meanwhile.
func TestH2SlowStream(t *testing.T) {
	s, _, _ := h2Server(t)
	c, err := net.Dial("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	h := &h2raw{t: t, c: c, r: bufio.NewReader(c)}
	// A stream window of 1000 bytes, a connection window of 16 MB.
	hello := append([]byte(http2.ClientPreface), http2.AppendSettings(nil, http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1000})...)
	hello = http2.AppendWindowUpdate(http2.AppendSettingsAck(hello), 0, 16<<20)
	h.write(hello)
	h.get(1, "/slow?n=1000000")
	var got1 int
	for got1 < 1000 { // what the window allows, then nothing
		fh, p, err := h.next(http2.FrameData)
		if err != nil {
			t.Fatal(err)
		}
		if fh.StreamID == 1 {
			got1 += len(p)
		}
	}
	h.get(3, "/fast?n=200000")
	h.write(http2.AppendWindowUpdate(nil, 3, 16<<20)) // this one reads
	var got3 int
	for {
		fh, p, err := h.next(http2.FrameData)
		if err != nil {
			t.Fatalf("stream 3 after %d bytes: %v", got3, err)
		}
		if fh.StreamID == 1 {
			t.Fatalf("stream 1 sent past its window")
		}
		got3 += len(p)
		if fh.Flags.Has(http2.FlagEndStream) {
			break
		}
	}
	if want := len("GET http://x/fast?n=200000 host=x body=0\n") + 200000; got3 != want {
		t.Fatalf("stream 3: %d bytes, want %d", got3, want)
	}
	// Stream 1 goes on once its window opens.
	h.write(http2.AppendWindowUpdate(nil, 1, 16<<20))
	for {
		fh, p, err := h.next(http2.FrameData)
		if err != nil {
			t.Fatalf("stream 1 after %d bytes: %v", got1, err)
		}
		got1 += len(p)
		if fh.Flags.Has(http2.FlagEndStream) {
			break
		}
	}
	if want := len("GET http://x/slow?n=1000000 host=x body=0\n") + 1000000; got1 != want {
		t.Fatalf("stream 1: %d bytes, want %d", got1, want)
	}
}
