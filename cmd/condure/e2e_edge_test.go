package main

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/condure-go/condure/zhttp"
	"github.com/condure-go/condure/zhttp/zhttptest"
)

// Edges of a session's life (project issue #13, items 1-3): idle
// connections and --stream-timeout, handlers answering clients that already
// left, and clients that half-close. The reference's behaviour quoted in the
// comments was observed with /usr/bin/condure 1.9.1 running these same
// scenarios (CONDURE_BIN_UNDER_TEST=/usr/bin/condure runs the tests that
// compare against it).

// underTest makes the servers this test starts run CONDURE_BIN_UNDER_TEST
// when it is set.
func underTest(t *testing.T) {
	if b := os.Getenv("CONDURE_BIN_UNDER_TEST"); b != "" {
		old := binPath
		binPath = b
		t.Cleanup(func() { binPath = old })
	}
}

// foreignSettle is how long a step takes in a binary under comparison
// whose log lines are not ours (see awaitLogSince): ample on a loaded machine.
const foreignSettle = 200 * time.Millisecond

// awaitLogSince waits until the server logged sub after mark. A binary
// under comparison (CONDURE_BIN_UNDER_TEST) writes other lines: for it
// this pauses foreignSettle, time for the step the line would show.
func (s *testServer) awaitLogSince(t *testing.T, mark int, sub string) {
	t.Helper()
	if binPath != builtBin {
		time.Sleep(foreignSettle)
		return
	}
	s.waitLogSince(t, mark, sub)
}

// edgeServer is startServer, run against CONDURE_BIN_UNDER_TEST when set.
func edgeServer(t *testing.T, extra ...string) *testServer {
	t.Helper()
	underTest(t)
	return startServer(t, extra...)
}

// closedWithin reads until the server closes c and returns what it sent and
// how long the close took; it fails if that is not between lo and hi.
func closedWithin(t *testing.T, c net.Conn, lo, hi time.Duration) string {
	t.Helper()
	start := time.Now()
	c.SetReadDeadline(start.Add(hi + 2*time.Second))
	b, err := io.ReadAll(c)
	d := time.Since(start)
	if err != nil && !strings.Contains(err.Error(), "reset") {
		t.Fatalf("not closed after %v: %v (got %q)", d, err, b)
	}
	if d < lo || d > hi {
		t.Fatalf("closed after %v, want between %v and %v (got %q)", d, lo, hi, b)
	}
	return string(b)
}

// stillOpen checks that the server neither sends nor closes for d.
func stillOpen(t *testing.T, c net.Conn, d time.Duration) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(d))
	var b [1]byte
	n, err := c.Read(b[:])
	if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
		t.Fatalf("want the connection open and quiet for %v, got %d bytes, %v", d, n, err)
	}
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
}

// ---- item 1: --stream-timeout and idle connections ----

// condure 1.9.1 with --stream-timeout 2 closes both a connection that never
// sends a byte and a keep-alive connection idle after its response at 2.0 s
// (reference.md §4.5: the 60 s session timer and --stream-timeout both bound an
// idle connection, the shorter wins).
func TestEdgeStreamTimeoutClosesIdleConnections(t *testing.T) {
	s := edgeServer(t, "--stream-timeout", "1")
	h := s.handler("h1")
	silent := s.dial()
	ka := s.dial()
	fmt.Fprintf(ka, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	newSession(t, h, recv(t, h, "")).respond(200, "OK", "ok", false)
	br := bufio.NewReader(ka)
	if _, body := readResponse(t, br, "GET"); body != "ok" {
		t.Fatalf("body %q", body)
	}
	done := make(chan error, 1)
	go func() {
		start := time.Now()
		_, err := br.ReadByte()
		if d := time.Since(start); err != io.EOF || d < 700*time.Millisecond || d > 2500*time.Millisecond {
			done <- fmt.Errorf("keep-alive connection: %v after %v, want EOF after about 1 s", err, d)
			return
		}
		done <- nil
	}()
	closedWithin(t, silent, 500*time.Millisecond, 2500*time.Millisecond)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	expectNothing(t, h, 200*time.Millisecond) // no session, nothing to cancel
}

// A head that trickles in is governed by --stream-timeout between its bytes
// (not cut at the idle deadline), and the session timer still bounds the
// whole wait for it (reference.md §4.5: "a client that takes more than 60 s to
// send its request header is cut off").
func TestEdgeStreamTimeoutSlowHead(t *testing.T) {
	t.Setenv("CONDURE_TEST_SESSION_TIMEOUT", "3s")
	s := startServer(t, "--stream-timeout", "1")
	h := s.handler("h1")
	t.Run("paced_head_is_served", func(t *testing.T) {
		c := s.dial()
		for _, part := range []string{"GET /slow HTTP/1.1\r\n", "Host: x\r\n", "\r\n"} {
			c.Write([]byte(part))
			time.Sleep(600 * time.Millisecond) // the subject: 1.2 s in all, under 1 s between bytes
		}
		req := recv(t, h, "")
		newSession(t, h, req).respond(200, "OK", "slow", false)
		if _, body := readResponse(t, bufio.NewReader(c), "GET"); body != "slow" {
			t.Fatalf("body %q", body)
		}
	})
	t.Run("stalled_head_is_cut", func(t *testing.T) {
		c := s.dial()
		// The subject: silent a while first, so the cut measured from the
		// byte shows the timer restarted on it.
		time.Sleep(300 * time.Millisecond)
		c.Write([]byte("GET /stall HTTP/1.1\r\n"))
		closedWithin(t, c, 700*time.Millisecond, 2*time.Second)
	})
	t.Run("endless_head_is_cut_by_the_session_timer", func(t *testing.T) {
		c := s.dial()
		start := time.Now()
		go func() {
			c.Write([]byte("GET /endless HTTP/1.1\r\n"))
			for i := 0; i < 30; i++ {
				time.Sleep(400 * time.Millisecond) // the subject: a line every 400 ms, under the stream timeout
				if _, err := c.Write([]byte("X-A: b\r\n")); err != nil {
					return
				}
			}
		}()
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		io.ReadAll(c)
		if d := time.Since(start); d < 2600*time.Millisecond || d > 4500*time.Millisecond {
			t.Fatalf("closed after %v, want about 3 s (the session timer)", d)
		}
	})
	expectNothing(t, h, 100*time.Millisecond)
}

// An idle WebSocket is client inactivity too (reference.md §4.5: the stream
// timer restarts on every frame read or written); condure 1.9.1 closes it
// at --stream-timeout.
func TestEdgeStreamTimeoutIdleWebSocket(t *testing.T) {
	s := edgeServer(t, "--stream-timeout", "1")
	h := s.handler("h1")
	_, br, _ := wsOpen(t, s, h)
	readHead(t, br)
	start := time.Now()
	if _, err := br.ReadByte(); err != io.EOF {
		t.Fatalf("want EOF, got %v", err)
	}
	if d := time.Since(start); d < 700*time.Millisecond || d > 2500*time.Millisecond {
		t.Fatalf("closed after %v, want about 1 s", d)
	}
}

// req mode has no client inactivity timer: --req-timeout bounds the whole
// cycle and the idle keep-alive connection (reference.md §4.3). condure 1.9.1
// with --stream-timeout 2 --req-timeout 6 answers a request its handler
// took 3 s over, and closes the idle connection 6.0 s after the response.
func TestEdgeReqModeIgnoresStreamTimeout(t *testing.T) {
	underTest(t)
	s := startReqServer(t, "--stream-timeout", "1", "--req-timeout", "3")
	h := reqHandler(t, s.reqSpec)
	c := s.dialReq()
	br := bufio.NewReader(c)
	fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	r := recvReq(t, h)
	time.Sleep(1500 * time.Millisecond) // the subject: the handler takes longer than --stream-timeout
	h.Reply(r, map[string]any{"code": 200, "reason": "OK", "body": "late"})
	if _, body := readResponse(t, br, "GET"); body != "late" {
		t.Fatalf("body %q", body)
	}
	stillOpen(t, c, 1500*time.Millisecond)
	closedWithin(t, c, 0, 2500*time.Millisecond) // 3 s after the response
}

// ---- item 2: a handler answering a client that already left ----

// condure 1.9.1 notices a client that left before the handler's first
// packet only when that packet comes, and answers it with `cancel`, seq 1.
// We free the slot at once, and answer the handler's first packet for the
// ended session the same way.
func TestEdgeHandlerToldOfEarlyAbort(t *testing.T) {
	s := edgeServer(t)
	h := s.handler("h1")
	for _, tc := range []struct {
		name  string
		req   string
		reset bool // SO_LINGER 0: the close sends RST
		first map[string]any
	}{
		{"http_reset", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", true,
			map[string]any{"code": 200, "reason": "OK", "body": "hello", "more": true}},
		{"http_reset_credit_first", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n", true,
			map[string]any{"type": "credit", "credits": 8192}},
		{"websocket_reset", wsUpgrade + "\r\n", true,
			map[string]any{"code": 101, "reason": "Switching Protocols", "credits": 1024}},
		// A plain close() is a FIN, which may be a half-close: the session
		// goes on, and the first write of the response draws the RST.
		{"http_close", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", false,
			map[string]any{"code": 200, "reason": "OK", "body": "hello", "more": true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := s.dial()
			fmt.Fprint(c, tc.req)
			req := recv(t, h, "")
			ss := newSession(t, h, req)
			seen := "client FIN"
			if tc.reset {
				c.(*net.TCPConn).SetLinger(0)
				seen = "client reset"
			}
			mark := s.logMark()
			c.Close()
			s.awaitLogSince(t, mark, seen) // the server has seen it
			ss.send(tc.first)
			p := recv(t, h, "cancel")
			if str(p, "id") != ss.id {
				t.Fatalf("cancel for %v, want %s", p, ss.id)
			}
			if tc.reset && num(p, "seq") != 1 {
				t.Fatalf("cancel seq %d, want 1 (after the request): %v", num(p, "seq"), p)
			}
			// Packets the handler sent before it got the cancel: no more.
			ss.send(map[string]any{"body": "more", "more": true})
			expectNothing(t, h, 300*time.Millisecond)
		})
	}
}

// Only a handler's first packet for a session of ours that ended is
// answered; everything else for dead or foreign ids stays unanswered, and a
// flood of them is answered within a per-worker budget.
func TestEdgeEndedSessionAnswersAreBounded(t *testing.T) {
	s := startServer(t, "--workers", "1")
	h := s.handler("h1")
	c := s.dial()
	fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	dead := str(recv(t, h, ""), "id") // 0-0-0
	c.(*net.TCPConn).SetLinger(0)
	c.Close()
	s.waitLog("client reset")
	for _, p := range []map[string]any{
		{"id": dead, "seq": 0, "type": "cancel"},
		{"id": dead, "seq": 0, "type": "error", "condition": "gone"},
		{"id": dead, "seq": 1, "type": "keep-alive"},             // not the handler's first packet
		{"id": "0-0-fffff", "seq": 0, "type": "keep-alive"},      // never issued
		{"id": "0-999999999-0", "seq": 0, "type": "keep-alive"},  // no such slot
		{"id": "0-x-0", "seq": 0, "type": "keep-alive"},          // malformed
		{"id": dead, "seq": 0, "type": "keep-alive", "from": ""}, // nowhere to answer
		{"id": dead, "seq": 0, "type": "keep-alive", "from": strings.Repeat("h", 65)},
	} {
		if err := h.Send(p); err != nil {
			t.Fatal(err)
		}
	}
	expectNothing(t, h, 300*time.Millisecond)

	// 20 packets of 128 ids each, all for the dead session.
	ids := make([]any, zhttp.MaxIDs)
	for i := range ids {
		ids[i] = map[string]any{"id": dead, "seq": 0}
	}
	const sent = 20 * zhttp.MaxIDs
	for i := 0; i < sent/zhttp.MaxIDs; i++ {
		h.Send(map[string]any{"id": ids, "type": "keep-alive"})
	}
	got := 0
	for {
		p, err := h.Recv(500 * time.Millisecond)
		if err == zhttptest.ErrTimeout {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if str(p, "type") != "cancel" || str(p, "id") != dead || num(p, "seq") != 1 {
			t.Fatalf("unexpected packet %v", p)
		}
		got++
	}
	if got == 0 || got > sent/2 {
		t.Fatalf("%d cancels for %d packets naming the dead session, want a budgeted few", got, sent)
	}
	s.waitLog("cancels for ended sessions over budget")
	// The worker is unharmed.
	c2 := s.dial()
	fmt.Fprintf(c2, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	newSession(t, h, recv(t, h, "")).respond(200, "OK", "alive", false)
	if _, body := readResponse(t, bufio.NewReader(c2), "GET"); body != "alive" {
		t.Fatalf("body %q", body)
	}
}

// ---- item 3: half-closed clients ----

// halfClose sends req and the client's FIN, as `printf ... | nc -N` does.
func halfClose(t *testing.T, s *testServer, req string) *net.TCPConn {
	t.Helper()
	c := s.dial().(*net.TCPConn)
	fmt.Fprint(c, req)
	if err := c.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	return c
}

// A request followed by the client's FIN is served, then the connection is
// closed. condure 1.9.1 writes the response head, then notices the EOF and
// cancels the session: the HTTP/1.0 client gets "HTTP/1.0 200 OK\r\n
// Content-Length: 5\r\n\r\n" without its body, and when the handler sent a
// keep-alive first, nothing at all; later pipelined responses are lost.
// condure-go serves it all.
func TestEdgeHalfClosedRequestIsServed(t *testing.T) {
	s := edgeServer(t)
	h := s.handler("h1")
	for _, tc := range []struct {
		name, req  string
		keepAlive  bool     // the handler sends a keep-alive before answering
		parts      []string // response body parts (more than one: streamed)
		pipelined  int      // further requests pipelined before the FIN
		wantPrefix string
	}{
		{"http10", "GET / HTTP/1.0\r\nHost: x\r\n\r\n", false, []string{"hello"}, 0, "HTTP/1.0 200 OK\r\n"},
		{"http11", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", false, []string{"hello"}, 0, "HTTP/1.1 200 OK\r\n"},
		{"http10_handler_keepalive_first", "GET / HTTP/1.0\r\nHost: x\r\n\r\n", true, []string{"hello"}, 0, "HTTP/1.0 200 OK\r\n"},
		{"http11_handler_keepalive_first", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", true, []string{"hello"}, 0, "HTTP/1.1 200 OK\r\n"},
		{"http10_streamed", "GET / HTTP/1.0\r\nHost: x\r\n\r\n", false, []string{"part1 ", "part2"}, 0, "HTTP/1.0 200 OK\r\n"},
		{"http11_streamed", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", false, []string{"part1 ", "part2"}, 0, "HTTP/1.1 200 OK\r\n"},
		{"pipelined", strings.Repeat("GET / HTTP/1.1\r\nHost: x\r\n\r\n", 3), false, []string{"hello"}, 2, "HTTP/1.1 200 OK\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mark := s.logMark()
			c := halfClose(t, s, tc.req)
			// The FIN is what this test is about, so the handler answers only
			// once the server has seen it: a FIN that only arrives while a
			// response streams ends the session (docs/differences.md), and on
			// a loaded machine the client's CloseWrite can trail a fast
			// handler's first part.
			s.awaitLogSince(t, mark, "client FIN")
			var want strings.Builder
			for i := 0; i <= tc.pipelined; i++ {
				ss := newSession(t, h, recv(t, h, ""))
				if tc.keepAlive {
					mark := s.logMark()
					ss.send(map[string]any{"type": "keep-alive"})
					s.awaitLogSince(t, mark, "conn "+ss.id+": handle packet: keep-alive")
				}
				for j, part := range tc.parts {
					if j == 0 {
						ss.respond(200, "OK", part, len(tc.parts) > 1)
					} else {
						recv(t, h, "credit")
						ss.send(map[string]any{"body": part, "more": j < len(tc.parts)-1})
					}
					want.WriteString(part)
				}
			}
			all := closedWithin(t, c, 0, 2*time.Second)
			if !strings.HasPrefix(all, tc.wantPrefix) || strings.Count(all, tc.wantPrefix) != tc.pipelined+1 {
				t.Fatalf("got %q", all)
			}
			var body strings.Builder
			br := bufio.NewReader(strings.NewReader(all))
			for i := 0; i <= tc.pipelined; i++ {
				resp, err := readResponseErr(br)
				if err != nil {
					t.Fatalf("response %d: %v in %q", i, err, all)
				}
				body.WriteString(resp)
			}
			if body.String() != want.String() {
				t.Fatalf("bodies %q, want %q (all: %q)", body.String(), want.String(), all)
			}
			expectNothing(t, h, 200*time.Millisecond) // no cancel: it was served
		})
	}
}

// readResponseErr reads one response and returns its body.
func readResponseErr(br *bufio.Reader) (string, error) {
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// A FIN before a request or its body is complete ends the connection: it
// cannot be served. A handler that knows the session is told.
func TestEdgeHalfCloseBeforeRequestComplete(t *testing.T) {
	s := startServer(t)
	h := s.handler("h1")
	t.Run("partial_head", func(t *testing.T) {
		c := halfClose(t, s, "GET / HTTP/1.1\r\nHost:")
		if all := closedWithin(t, c, 0, time.Second); all != "" {
			t.Fatalf("got %q", all)
		}
		expectNothing(t, h, 200*time.Millisecond)
	})
	t.Run("partial_body", func(t *testing.T) {
		c := halfClose(t, s, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nhello")
		ss := newSession(t, h, recv(t, h, ""))
		ss.send(map[string]any{"type": "credit", "credits": 100})
		if p := recv(t, h, ""); str(p, "body") != "hello" || p["more"] != true {
			t.Fatalf("body packet %v", p)
		}
		if p := recv(t, h, "cancel"); str(p, "id") != ss.id {
			t.Fatalf("cancel %v", p)
		}
		if all := closedWithin(t, c, 0, time.Second); all != "" {
			t.Fatalf("got %q", all)
		}
	})
	t.Run("whole_body", func(t *testing.T) {
		c := halfClose(t, s, "POST / HTTP/1.0\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello")
		ss := newSession(t, h, recv(t, h, ""))
		ss.send(map[string]any{"type": "credit", "credits": 100})
		if p := recv(t, h, ""); str(p, "body") != "hello" || p["more"] == true {
			t.Fatalf("body packet %v", p)
		}
		ss.respond(200, "OK", "got it", false)
		if all := closedWithin(t, c, 0, time.Second); !strings.HasSuffix(all, "\r\n\r\ngot it") {
			t.Fatalf("got %q", all)
		}
	})
}

// req mode serves a half-closed request the same way.
func TestEdgeHalfClosedReqRequest(t *testing.T) {
	s := startReqServer(t)
	h := reqHandler(t, s.reqSpec)
	for _, req := range []string{
		"GET / HTTP/1.0\r\nHost: x\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
	} {
		c, err := net.Dial("tcp", s.reqAddr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		fmt.Fprint(c, req)
		c.(*net.TCPConn).CloseWrite()
		r := recvReq(t, h)
		h.Reply(r, map[string]any{"code": 200, "reason": "OK", "body": "req " + str(r.Packet, "method")})
		all := closedWithin(t, c, 0, 2*time.Second)
		if !strings.Contains(all, " 200 OK\r\n") || !strings.HasSuffix(all, "req "+str(r.Packet, "method")) {
			t.Fatalf("got %q", all)
		}
	}
}

// A WebSocket close frame that arrives with the client's FIN is a close
// handshake like any other (reference.md §4.4): the handler gets the message
// and the close, its close is written, then TCP closes. A FIN without a
// close frame is the client leaving: cancel.
func TestEdgeWebSocketCloseWithFIN(t *testing.T) {
	s := startServer(t)
	h := s.handler("h1")
	t.Run("close_frame", func(t *testing.T) {
		c, br, ss := wsOpen(t, s, h)
		readHead(t, br)
		var b bytes.Buffer
		b.Write(clientFrame(true, 1, []byte("bye")))
		b.Write(clientFrame(true, 8, []byte{0x03, 0xe8}))
		c.Write(b.Bytes())
		c.(*net.TCPConn).CloseWrite()
		if p := recv(t, h, ""); str(p, "body") != "bye" {
			t.Fatalf("message %v", p)
		}
		if p := recv(t, h, "close"); num(p, "code") != 1000 {
			t.Fatalf("close %v", p)
		}
		ss.send(map[string]any{"type": "close", "code": 1000})
		if f := readFrame(t, br); f.op != 8 || !bytes.Equal(f.payload, []byte{0x03, 0xe8}) {
			t.Fatalf("frame %+v", f)
		}
		start := time.Now()
		if _, err := br.ReadByte(); err != io.EOF || time.Since(start) > time.Second {
			t.Fatalf("want EOF at once, got %v after %v", err, time.Since(start))
		}
		expectNothing(t, h, 200*time.Millisecond)
	})
	t.Run("no_close_frame", func(t *testing.T) {
		c, br, ss := wsOpen(t, s, h)
		readHead(t, br)
		c.Write(clientFrame(true, 1, []byte("last")))
		c.(*net.TCPConn).CloseWrite()
		if p := recv(t, h, ""); str(p, "body") != "last" {
			t.Fatalf("message %v", p)
		}
		if p := recv(t, h, "cancel"); str(p, "id") != ss.id {
			t.Fatalf("cancel %v", p)
		}
	})
}

// A TLS client that sends its request, close_notify and FIN at once (right
// after its side of the handshake) is served.
func TestEdgeTLSCloseNotifyWithRequest(t *testing.T) {
	env := newTLSEnv(t)
	s := startTLSServer(t, env)
	h := s.handler("h1")
	for _, v := range []uint16{tls.VersionTLS13, tls.VersionTLS12} {
		t.Run(tls.VersionName(v), func(t *testing.T) {
			cfg := env.clientConfig("localhost")
			cfg.MaxVersion = v
			raw, err := net.Dial("tcp", s.tlsAddr)
			if err != nil {
				t.Fatal(err)
			}
			defer raw.Close()
			raw.SetDeadline(time.Now().Add(10 * time.Second))
			c := tls.Client(raw, cfg)
			if err := c.Handshake(); err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(c, "GET /tls HTTP/1.1\r\nHost: localhost\r\n\r\n")
			c.CloseWrite() // close_notify
			raw.(*net.TCPConn).CloseWrite()
			ss := newSession(t, h, recv(t, h, ""))
			ss.respond(200, "OK", "secure", false)
			b, err := io.ReadAll(c)
			if err != nil || !strings.HasPrefix(string(b), "HTTP/1.1 200 OK\r\n") || !strings.HasSuffix(string(b), "secure") {
				t.Fatalf("got %q, %v", b, err)
			}
		})
	}
}

// A client that really leaves is noticed promptly and its handler told: a
// reset at once, a FIN while the response streams at once, and a close()
// before the response when the first response write draws the reset.
func TestEdgeClientAbortIsNoticed(t *testing.T) {
	s := startServer(t)
	h := s.handler("h1")
	get := func(t *testing.T) (net.Conn, *session) {
		c := s.dial()
		fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		return c, newSession(t, h, recv(t, h, ""))
	}
	// cancelSoon expects the handler to get ss's cancel within a second.
	cancelSoon := func(t *testing.T, ss *session) {
		t.Helper()
		start := time.Now()
		if p := recv(t, h, "cancel"); str(p, "id") != ss.id || time.Since(start) > time.Second {
			t.Fatalf("cancel %v after %v", p, time.Since(start))
		}
	}
	// handlerKnown sends a keep-alive and waits until the server took it:
	// the session has a handler address to send a cancel to.
	handlerKnown := func(t *testing.T, ss *session) {
		t.Helper()
		mark := s.logMark()
		ss.send(map[string]any{"type": "keep-alive"})
		s.waitLogSince(t, mark, "conn "+ss.id+": handle packet: keep-alive")
	}
	t.Run("reset_while_waiting", func(t *testing.T) {
		c, ss := get(t)
		handlerKnown(t, ss)
		c.(*net.TCPConn).SetLinger(0)
		c.Close()
		cancelSoon(t, ss)
	})
	t.Run("close_while_streaming", func(t *testing.T) {
		c, ss := get(t)
		ss.respond(200, "OK", "event 1\n", true)
		br := bufio.NewReader(c)
		readHead(t, br)
		c.Close() // FIN while the handler streams
		cancelSoon(t, ss)
	})
	t.Run("close_then_response_write", func(t *testing.T) {
		c, ss := get(t)
		handlerKnown(t, ss)
		mark := s.logMark()
		c.Close()
		// A FIN alone may be a half-close: the server saw it and told the
		// handler nothing (a cancel would have gone out with the line).
		s.waitLogSince(t, mark, "client FIN")
		expectNothing(t, h, 100*time.Millisecond)
		if strings.Contains(s.log.String()[mark:], "client closed") {
			t.Fatal("a FIN alone ended the session")
		}
		ss.respond(200, "OK", "anyone there?", true)
		cancelSoon(t, ss)
	})
}
