package main

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/condure-go/condure/zhttp/zhttptest"
)

// WebSocket with real clients: Python's `websockets` library and headless
// Chromium, both talking to a Go echo handler through the real binary.
// CI needs the Debian packages python3-websockets and chromium.

const chromiumBin = "/usr/bin/chromium"

// echoHandler is a stream-mode handler running in its own goroutine until
// the test ends. WebSocket requests (ws://) are accepted and every message,
// ping and close is echoed; plain HTTP serves GET /page and records
// GET /result?... (see serveHTTP).
type echoHandler struct {
	t        *testing.T
	h        *zhttptest.Handler
	page     []byte      // served at /page
	results  chan string // raw queries of GET /result
	sessions map[string]*echoSession

	mu      sync.Mutex
	log     syncBuffer // what happened, shown when the test fails
	opened  int        // WebSocket sessions accepted
	closed  int        // close handshakes completed (our close sent)
	cancels int        // cancel packets received
	offered []string   // Sec-WebSocket-Protocol offers seen
	keys    []string   // Sec-WebSocket-Key of each upgrade ("" over HTTP/2: e2e_h2ws_test.go)
}

// echoSession is the handler-side state of one session.
type echoSession struct {
	id       string
	seq      int64 // next outbound seq
	ws       bool
	credits  int64            // what we may still send (server → client bytes)
	consumed int64            // client bytes received and not yet granted back
	queue    []map[string]any // outgoing WebSocket packets, in order
}

const (
	echoInitialCredits = 65536
	echoCreditBatch    = 16384 // grant consumed bytes back in batches of at least this
)

func startEchoHandler(t *testing.T, s *testServer, page []byte) *echoHandler {
	t.Helper()
	e := &echoHandler{t: t, h: s.handler("echo"), page: page, results: make(chan string, 16), sessions: map[string]*echoSession{}}
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		e.run(stop)
	}()
	// Registered after s.handler, so it runs before the sockets close.
	t.Cleanup(func() {
		close(stop)
		<-done
		if t.Failed() {
			t.Logf("echo handler log:\n%s", e.log.String())
		}
	})
	return e
}

func (e *echoHandler) logf(format string, args ...any) {
	fmt.Fprintf(&e.log, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05.000")}, args...)...)
}

func (e *echoHandler) run(stop chan struct{}) {
	for {
		select {
		case <-stop:
			return
		default:
		}
		p, err := e.h.Recv(100 * time.Millisecond)
		if err == zhttptest.ErrTimeout {
			continue
		}
		if err != nil {
			e.t.Errorf("echo handler: recv: %v", err)
			return
		}
		if err := e.handle(p); err != nil {
			e.t.Errorf("echo handler: %v", err)
			return
		}
	}
}

func (e *echoHandler) send(ss *echoSession, p map[string]any) error {
	p["id"] = ss.id
	p["seq"] = ss.seq
	ss.seq++
	return e.h.Send(p)
}

func (e *echoHandler) handle(p map[string]any) error {
	typ := str(p, "type")
	if typ == "keep-alive" {
		return nil // possibly multi-id; nothing to do in a short test
	}
	id := str(p, "id")
	if _, isReq := p["method"]; isReq {
		if _, dup := e.sessions[id]; dup {
			return fmt.Errorf("second request packet for session %q", id)
		}
		ss := &echoSession{id: id, credits: num(p, "credits")}
		if num(p, "seq") != 0 {
			return fmt.Errorf("request packet with seq %d: %v", num(p, "seq"), p)
		}
		if strings.HasPrefix(str(p, "uri"), "ws://") || strings.HasPrefix(str(p, "uri"), "wss://") {
			return e.accept(ss, p)
		}
		return e.serveHTTP(ss, p)
	}
	ss := e.sessions[id]
	if ss == nil {
		// Body packets of finished HTTP sessions, late credits, ...
		e.logf("%s: %q packet for a finished session", id, typ)
		return nil
	}
	switch typ {
	case "":
		body := str(p, "body")
		e.logf("%s: data %s %d bytes more=%v", id, str(p, "content-type"), len(body), p["more"] == true)
		out := map[string]any{"content-type": str(p, "content-type"), "body": body}
		if p["more"] == true {
			out["more"] = true
		}
		ss.queue = append(ss.queue, out)
		ss.consumed += int64(len(body))
		if ss.consumed >= echoCreditBatch {
			if err := e.send(ss, map[string]any{"type": "credit", "credits": ss.consumed}); err != nil {
				return err
			}
			ss.consumed = 0
		}
	case "ping":
		e.logf("%s: ping %q", id, str(p, "body"))
		ss.queue = append(ss.queue, map[string]any{"type": "pong", "body": str(p, "body")})
	case "pong":
		e.logf("%s: pong %q", id, str(p, "body"))
	case "close":
		e.logf("%s: close %v %q", id, p["code"], str(p, "body"))
		out := map[string]any{"type": "close", "body": str(p, "body")}
		if c, ok := p["code"]; ok {
			out["code"] = c
		}
		ss.queue = append(ss.queue, out)
	case "credit":
		ss.credits += num(p, "credits")
	case "cancel":
		e.logf("%s: cancel", id)
		e.mu.Lock()
		e.cancels++
		e.mu.Unlock()
		delete(e.sessions, id)
		return nil
	default:
		e.logf("%s: unexpected %q packet: %v", id, typ, p)
		return nil
	}
	return e.flush(ss)
}

// accept answers a WebSocket request with 101, echoing the first offered
// subprotocol.
func (e *echoHandler) accept(ss *echoSession, req map[string]any) error {
	var offer, key string
	hdrs, _ := req["headers"].([]any)
	for _, h := range hdrs {
		kv, _ := h.([]any)
		if len(kv) == 2 && strings.EqualFold(fmt.Sprint(kv[0]), "Sec-WebSocket-Protocol") && offer == "" {
			offer = fmt.Sprint(kv[1])
		}
		if len(kv) == 2 && strings.EqualFold(fmt.Sprint(kv[0]), "Sec-WebSocket-Key") {
			key = fmt.Sprint(kv[1])
		}
	}
	var protocol string
	if offer != "" {
		protocol = strings.TrimSpace(strings.Split(offer, ",")[0])
	}
	e.mu.Lock()
	e.opened++
	e.offered = append(e.offered, offer)
	e.keys = append(e.keys, key)
	e.mu.Unlock()
	e.logf("%s: websocket %s offered protocols %q, credits %d", ss.id, str(req, "uri"), offer, ss.credits)
	ss.ws = true
	e.sessions[ss.id] = ss
	resp := map[string]any{"code": 101, "reason": "Switching Protocols", "credits": echoInitialCredits}
	if protocol != "" {
		resp["headers"] = []any{[]any{"Sec-WebSocket-Protocol", protocol}}
	}
	return e.send(ss, resp)
}

// flush sends queued WebSocket packets within the credits the server
// granted: data is split to fit (the parts keep the content type and say
// `more`), control packets wait until their body fits.
func (e *echoHandler) flush(ss *echoSession) error {
	for len(ss.queue) > 0 {
		p := ss.queue[0]
		body := p["body"].(string)
		if str(p, "type") != "" {
			if int64(len(body)) > ss.credits {
				return nil
			}
			if len(body) == 0 {
				delete(p, "body")
			}
			ss.credits -= int64(len(body))
			if err := e.send(ss, p); err != nil {
				return err
			}
			ss.queue = ss.queue[1:]
			if str(p, "type") == "close" {
				// The client closed first, so the session is over.
				e.logf("%s: close sent", ss.id)
				e.mu.Lock()
				e.closed++
				e.mu.Unlock()
				delete(e.sessions, ss.id)
				return nil
			}
			continue
		}
		if len(body) > 0 && ss.credits <= 0 {
			return nil
		}
		n := min(int64(len(body)), ss.credits)
		part := map[string]any{"content-type": p["content-type"], "body": body[:n]}
		if n < int64(len(body)) || p["more"] == true {
			part["more"] = true
		}
		if n == 0 {
			delete(part, "body")
		}
		ss.credits -= n
		if err := e.send(ss, part); err != nil {
			return err
		}
		if n < int64(len(body)) {
			p["body"] = body[n:]
		} else {
			ss.queue = ss.queue[1:]
		}
	}
	return nil
}

// serveHTTP answers GET /page with the test page and GET /result?... with
// 204 after recording the query; anything else gets 404.
func (e *echoHandler) serveHTTP(ss *echoSession, req map[string]any) error {
	u, err := url.Parse(str(req, "uri"))
	if err != nil {
		return fmt.Errorf("request uri: %v", err)
	}
	e.logf("%s: %s %s", ss.id, str(req, "method"), u.RequestURI())
	code, reason, body := 404, "Not Found", []byte("not found\n")
	hdrs := []any{[]any{"Content-Type", "text/plain"}}
	switch {
	case str(req, "method") == "GET" && u.Path == "/page" && e.page != nil:
		code, reason, body = 200, "OK", e.page
		hdrs = []any{[]any{"Content-Type", "text/html; charset=utf-8"}, []any{"Cache-Control", "no-store"}}
	case str(req, "method") == "GET" && u.Path == "/result":
		code, reason, body, hdrs = 204, "No Content", nil, []any{[]any{"Cache-Control", "no-store"}}
		select {
		case e.results <- u.RawQuery:
		default:
			e.logf("%s: result dropped: %s", ss.id, u.RawQuery)
		}
	}
	if int64(len(body)) > ss.credits {
		return fmt.Errorf("response body of %d bytes exceeds the %d credits", len(body), ss.credits)
	}
	resp := map[string]any{"code": code, "reason": reason, "headers": hdrs}
	if len(body) > 0 {
		resp["body"] = body
	}
	return e.send(ss, resp)
}

// stats returns the WebSocket counters.
func (e *echoHandler) stats() (opened, closed, cancels int, offered []string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.opened, e.closed, e.cancels, slices.Clone(e.offered)
}

// checkCleanSession asserts that exactly one WebSocket session was opened
// and ended with a close handshake, not a cancel.
func (e *echoHandler) checkCleanSession(t *testing.T, wantOffer string) {
	t.Helper()
	// A cancel, if the server wrongly sent one, went out when it closed the
	// connection, which the client saw before it finished: nothing to wait
	// for but its delivery to the handler's goroutine. This pause is the
	// "nothing came" window.
	time.Sleep(100 * time.Millisecond)
	opened, closed, cancels, offered := e.stats()
	if opened != 1 || closed != 1 || cancels != 0 {
		t.Errorf("handler saw %d WebSocket sessions, %d close handshakes, %d cancels; want 1, 1, 0", opened, closed, cancels)
	}
	if len(offered) != 1 || offered[0] != wantOffer {
		t.Errorf("Sec-WebSocket-Protocol offers %q, want [%q]", offered, wantOffer)
	}
}

func TestPythonWebSocketsClient(t *testing.T) {
	if err := exec.Command(python, "-c", "import websockets").Run(); err != nil {
		t.Skipf("python3-websockets is not installed: %v", err)
	}
	s := startServer(t)
	e := startEchoHandler(t, s, nil)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, filepath.Join("testdata", "ws_client.py"), "ws://"+s.addr+"/echo")
	cmd.WaitDelay = 2 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if out := strings.TrimSpace(stdout.String()); err != nil || out != "OK" {
		t.Fatalf("client: %v\nstdout: %s\nstderr: %s", err, out, stderr.String())
	}
	e.checkCleanSession(t, "chat, superchat")
}

func TestChromiumWebSocket(t *testing.T) {
	if _, err := os.Stat(chromiumBin); err != nil {
		t.Skipf("chromium is not installed: %v", err)
	}
	page, err := os.ReadFile(filepath.Join("testdata", "ws_page.html"))
	if err != nil {
		t.Fatal(err)
	}
	s := startServer(t)
	e := startEchoHandler(t, s, page)

	started := time.Now()
	exited := startChromium(t, "http://"+s.addr+"/page")

	select {
	case q := <-e.results:
		v, err := url.ParseQuery(q)
		if err != nil || v.Get("status") != "ok" || v.Get("code") != "1000" || v.Get("clean") != "true" {
			t.Fatalf("page reported %q", q)
		}
		t.Logf("page reported %s after %v", q, time.Since(started).Round(time.Millisecond))
	case err := <-exited:
		exited <- err
		t.Fatalf("chromium exited before the page reported: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("no result from the page within 30 s")
	}
	e.checkCleanSession(t, "chat, superchat")
}

// startChromium opens url in headless Chromium (the flags this machine
// needs: no sandbox as root, no background networking on a closed network)
// and kills its process group at cleanup, printing its output if the test
// failed. The channel gets Chromium's exit.
func startChromium(t *testing.T, url string, extra ...string) chan error {
	t.Helper()
	out := &syncBuffer{}
	cmd := exec.Command(chromiumBin, append(append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
		"--no-first-run", "--no-default-browser-check", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--disable-extensions", "--mute-audio",
		"--enable-logging=stderr", "--user-data-dir=" + t.TempDir()}, extra...), url)...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.Env = append(os.Environ(), "TMPDIR="+t.TempDir()) // Chromium's singleton socket dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // so that the cleanup reaches every child
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			t.Errorf("chromium did not exit after SIGKILL")
		}
		if t.Failed() {
			t.Logf("chromium output:\n%s", out.String())
		}
	})
	return exited
}
