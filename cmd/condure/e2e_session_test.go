package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/condure-go/condure/zhttp/zhttptest"
)

// Session control (reference.md §3.6, §4, §8.5, §9): keep-alives, expiry,
// handoff, multi-id packets, validation, timeouts, shutdown.

// openStreams opens n client connections whose responses have started
// streaming (so their handler address is known); it returns the sessions.
func openStreams(t *testing.T, s *testServer, h *zhttptest.Handler, n int) []*session {
	t.Helper()
	var out []*session
	for i := 0; i < n; i++ {
		c := s.dial()
		fmt.Fprintf(c, "GET /stream/%d HTTP/1.1\r\nHost: x\r\n\r\n", i)
		ss := newSession(t, h, recv(t, h, ""))
		ss.respond(200, "OK", "start\n", true)
		br := bufio.NewReader(c)
		if line, _ := br.ReadString('\n'); line != "HTTP/1.1 200 OK\r\n" {
			t.Fatalf("status line %q", line)
		}
		out = append(out, ss)
	}
	return out
}

func TestKeepAlivesBatchedPerHandler(t *testing.T) {
	t.Setenv("CONDURE_TEST_KEEPALIVE_INTERVAL", "1s")
	s := startServer(t, "--workers", "1")
	h := s.handler("h1")
	sessions := openStreams(t, s, h, 5)
	want := map[string]bool{}
	for _, ss := range sessions {
		want[ss.id] = true
	}
	// Each session had seq 0 (request) and seq 1 (a credit) sent already.
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		p, err := h.Recv(time.Until(deadline))
		if err != nil {
			t.Fatal(err)
		}
		if str(p, "type") != "keep-alive" {
			continue
		}
		list, ok := p["id"].([]any)
		if !ok {
			t.Fatalf("keep-alive not in multi-id form: %v", p)
		}
		if len(list) != 5 {
			t.Fatalf("want the 5 sessions in one packet, got %d ids: %v", len(list), p)
		}
		for _, e := range list {
			m := e.(map[string]any)
			if !want[str(m, "id")] || num(m, "seq") != 2 {
				t.Fatalf("unexpected id/seq %v", m)
			}
		}
		if ext, _ := p["ext"].(map[string]any); ext["multi"] != true {
			t.Fatalf("ext.multi missing: %v", p)
		}
		return
	}
	t.Fatal("no keep-alive within 5 s")
}

func TestHandlerExpiry(t *testing.T) {
	t.Setenv("CONDURE_TEST_SESSION_TIMEOUT", "1s")
	s := startServer(t)
	h := s.handler("h1")
	// No answer at all: 504.
	c := s.dial()
	fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	recv(t, h, "")
	start := time.Now()
	all := readAllUntilClose(t, c)
	if !strings.HasPrefix(all, "HTTP/1.1 504 ") {
		t.Fatalf("got %q", all)
	}
	if d := time.Since(start); d < 800*time.Millisecond || d > 3*time.Second {
		t.Fatalf("expired after %v, want about 1 s", d)
	}
	// A response that started and then went silent: closed, body cut.
	c2 := s.dial()
	fmt.Fprintf(c2, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	newSession(t, h, recv(t, h, "")).respond(200, "OK", "part", true)
	all = readAllUntilClose(t, c2)
	if !strings.HasPrefix(all, "HTTP/1.1 200 OK") || strings.HasSuffix(all, "0\r\n\r\n") {
		t.Fatalf("got %q", all)
	}
	recv(t, h, "cancel") // in case the handler is alive after all
	// Keep-alives from the handler keep a session alive past the expiry:
	// the handler's silences (the subject) are well under the 1 s expiry,
	// and add up to well over it.
	c3 := s.dial()
	fmt.Fprintf(c3, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	ss := newSession(t, h, recv(t, h, ""))
	for i := 0; i < 4; i++ {
		time.Sleep(400 * time.Millisecond)
		ss.send(map[string]any{"type": "keep-alive"})
	}
	ss.respond(200, "OK", "still here", false)
	if _, body := readResponse(t, bufio.NewReader(c3), "GET"); body != "still here" {
		t.Fatalf("body %q", body)
	}
}

func TestIdleKeepAliveConnectionLimit(t *testing.T) {
	t.Setenv("CONDURE_TEST_SESSION_TIMEOUT", "1s")
	s := startServer(t)
	h := s.handler("h1")
	c := s.dial()
	fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	newSession(t, h, recv(t, h, "")).respond(200, "OK", "ok", false)
	br := bufio.NewReader(c)
	readResponse(t, br, "GET")
	start := time.Now()
	if _, err := br.ReadByte(); err != io.EOF {
		t.Fatalf("want EOF on the idle connection, got %v", err)
	}
	if d := time.Since(start); d < 800*time.Millisecond || d > 3*time.Second {
		t.Fatalf("idle connection closed after %v, want about 1 s", d)
	}
}

func TestStreamTimeoutClosesInactiveClient(t *testing.T) {
	s := startServer(t, "--stream-timeout", "1")
	h := s.handler("h1")
	c := s.dial()
	fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	ss := newSession(t, h, recv(t, h, ""))
	// Handler packets do not count as client activity (§4.5): the
	// handler speaks every 200 ms (the subject) while the client is silent
	// past --stream-timeout.
	for i := 0; i < 4; i++ {
		ss.send(map[string]any{"type": "keep-alive"})
		time.Sleep(200 * time.Millisecond)
	}
	if p := recv(t, h, "cancel"); str(p, "id") != ss.id {
		t.Fatalf("cancel %v", p)
	}
	if all := readAllUntilClose(t, c); all != "" {
		t.Fatalf("got %q", all)
	}
}

func TestStreamMaxConn(t *testing.T) {
	s := startServer(t, "--workers", "1", "--stream-maxconn", "2")
	h := s.handler("h1")
	c1, c2 := s.dial(), s.dial()
	for _, c := range []io.Writer{c1, c2} {
		fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	}
	first := []*session{newSession(t, h, recv(t, h, "")), newSession(t, h, recv(t, h, ""))}
	for _, ss := range first {
		ss.send(map[string]any{"type": "keep-alive"}) // handler address known
	}
	// A third client waits in the backlog: no request reaches the handler.
	c3 := s.dial()
	fmt.Fprintf(c3, "GET /third HTTP/1.1\r\nHost: x\r\n\r\n")
	expectNothing(t, h, 500*time.Millisecond)
	s.waitLog("at maxconn")
	// A client that leaves (a reset: a FIN alone is a half-close, and the
	// session waits for its response) frees a slot: the third is served.
	c1.(*net.TCPConn).SetLinger(0)
	c1.Close()
	// The cancel (ROUTER) and the third request (PUSH) travel on different
	// sockets, so either may arrive first.
	var req map[string]any
	for req == nil {
		p := recv(t, h, "*")
		switch str(p, "type") {
		case "":
			req = p
		case "cancel", "keep-alive", "credit":
		default:
			t.Fatalf("unexpected %v", p)
		}
	}
	_ = c2
	if !strings.HasSuffix(str(req, "uri"), "/third") {
		t.Fatalf("got %v", req)
	}
	newSession(t, h, req).respond(200, "OK", "third", false)
	if _, body := readResponse(t, bufio.NewReader(c3), "GET"); body != "third" {
		t.Fatal(body)
	}
	_ = first
}

func TestMultiIDPacketAcrossWorkers(t *testing.T) {
	s := startServer(t, "--workers", "2")
	h := s.handler("h1")
	var conns []*bufio.Reader
	var ids []any
	workers := map[string]bool{}
	for i := 0; i < 6; i++ {
		c := s.dial()
		fmt.Fprintf(c, "GET /%d HTTP/1.1\r\nHost: x\r\n\r\n", i)
		ss := newSession(t, h, recv(t, h, ""))
		ss.respond(200, "OK", "a", true)
		br := bufio.NewReader(c)
		conns = append(conns, br)
		ids = append(ids, map[string]any{"id": ss.id, "seq": int64(1)})
		workers[strings.SplitN(ss.id, "-", 2)[0]] = true
	}
	if len(workers) < 2 {
		t.Logf("sessions landed on workers %v only", workers)
	}
	// One packet, one body, every connection (each checks its own seq).
	h.Send(map[string]any{"id": ids, "body": "b", "more": true})
	h.Send(map[string]any{"id": ids[:3], "body": "c"}) // seq 2 missing for these...
	for i, br := range conns {
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 2)
		if _, err := io.ReadFull(resp.Body, buf); err != nil || string(buf) != "ab" {
			t.Fatalf("conn %d: %q %v", i, buf, err)
		}
	}
}

func TestHandlerPacketValidation(t *testing.T) {
	s := startServer(t)
	h := s.handler("h1")
	cases := []struct {
		name string
		pkt  map[string]any
	}{
		{"from_too_long", map[string]any{"from": strings.Repeat("x", 65), "type": "keep-alive"}},
		{"close_on_http_session", map[string]any{"type": "close", "code": 1000}},
		{"handoff_proceed_from_handler", map[string]any{"type": "handoff-proceed"}},
		{"unknown_type", map[string]any{"type": "bogus"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := s.dial()
			fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
			req := recv(t, h, "")
			tc.pkt["id"] = str(req, "id")
			tc.pkt["seq"] = 0
			h.Send(tc.pkt)
			if all := readAllUntilClose(t, c); all != "" {
				t.Fatalf("got %q", all)
			}
			expectNothing(t, h, 300*time.Millisecond) // closed without a cancel
		})
	}
	// Packets dropped without harm: the session goes on.
	c := s.dial()
	fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	req := recv(t, h, "")
	id := str(req, "id")
	h.Send(map[string]any{"id": id, "seq": 0, "more": "notabool"})
	h.Send(map[string]any{"id": id, "seq": 0, "headers": []any{[]any{"onlyname"}}})
	h.Send(map[string]any{"id": []any{map[string]any{"id": id, "seq": "x"}}, "type": "keep-alive"})
	h.SendRaw([]byte("other T12:2:id,3:0-0,}"))
	ss := newSession(t, h, req)
	ss.respond(200, "OK", "unharmed", false)
	if _, body := readResponse(t, bufio.NewReader(c), "GET"); body != "unharmed" {
		t.Fatal(body)
	}
	s.waitLog("zhttp parse error")
}

// ---- handoff with real handler processes ----

// handlerProcess runs in a re-executed test binary as a separate handler
// process. Mode "start": answer the first request with a streamed response,
// hand the session off, print "<id> <next seq>" and exit. Mode "resume":
// resume session $ID at seq $SEQ and finish the response. Either exits
// when its stdin closes (see startHandlerProcess).
func handlerProcess(mode string) int {
	base, id := os.Getenv("CONDURE_E2E_BASE"), os.Getenv("CONDURE_E2E_ID")
	h, err := zhttptest.DialHandler(base, id, "condure")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	defer h.Close()
	next := func(typ string) map[string]any {
		for {
			p, err := h.Recv(10 * time.Second)
			if err != nil {
				fmt.Fprintln(os.Stderr, "recv:", err)
				os.Exit(3)
			}
			if str(p, "type") == typ {
				return p
			}
		}
	}
	switch mode {
	case "start":
		req := next("")
		sid := str(req, "id")
		h.Send(map[string]any{"id": sid, "seq": 0, "code": 200, "reason": "OK", "body": "part1-", "more": true,
			"headers": []any{[]any{"Content-Type", "text/plain"}}})
		next("credit")
		h.Send(map[string]any{"id": sid, "seq": 1, "type": "handoff-start"})
		next("handoff-proceed")
		fmt.Printf("%s 2\n", sid)
	case "resume":
		sid := os.Getenv("CONDURE_E2E_SID")
		seq, _ := strconv.Atoi(os.Getenv("CONDURE_E2E_SEQ"))
		// Any packet resumes the session; it adopts our address.
		h.Send(map[string]any{"id": sid, "seq": seq, "type": "keep-alive"})
		h.Send(map[string]any{"id": sid, "seq": seq + 1, "body": "part2-", "more": true})
		cr := next("credit") // proves the server now sends to our address
		if str(cr, "id") != sid {
			return 4
		}
		h.Send(map[string]any{"id": sid, "seq": seq + 2, "body": "part3"})
	}
	// Closing drops what the PUB has not delivered yet: stay until the
	// parent, which sees the effect of our last packet, closes our stdin.
	io.Copy(io.Discard, os.Stdin)
	return 0
}

// startHandlerProcess starts a handler process (handlerProcess) in mode.
// finish closes its stdin, which lets it exit, waits for that and returns
// what it printed; call it once the effect of its last packet was seen.
func startHandlerProcess(t *testing.T, mode, base, id string, env ...string) (finish func() string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "CONDURE_E2E_HANDLER="+mode, "CONDURE_E2E_BASE="+base, "CONDURE_E2E_ID="+id)
	cmd.Env = append(cmd.Env, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	stdin, err := cmd.StdinPipe()
	if err == nil {
		err = cmd.Start()
	}
	if err != nil {
		t.Fatalf("handler process %s: %v", mode, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() { cmd.Process.Kill() })
	return func() string {
		t.Helper()
		stdin.Close()
		select {
		case err := <-exited:
			if err != nil {
				t.Fatalf("handler process %s: %v (%s)", mode, err, stderr.String())
			}
		case <-time.After(15 * time.Second):
			t.Fatalf("handler process %s did not exit", mode)
		}
		return strings.TrimSpace(stdout.String())
	}
}

func TestHandoffBetweenHandlerProcesses(t *testing.T) {
	for _, tc := range []struct{ name, idA, idB string }{
		{"new_handler", "hA", "hB"},
		{"restart_same_identity", "h1", "h1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startServer(t)
			c := s.dial()
			got := make(chan string, 1)
			go func() {
				resp, err := http.ReadResponse(bufio.NewReader(c), nil)
				if err != nil {
					got <- "error: " + err.Error()
					return
				}
				b, err := io.ReadAll(resp.Body)
				if err != nil {
					got <- "error: " + err.Error()
					return
				}
				got <- string(b)
			}()
			// The request waits in the server until A's PULL connects.
			finishA := startHandlerProcess(t, "start", s.base, tc.idA)
			fmt.Fprintf(c, "GET /live HTTP/1.1\r\nHost: x\r\n\r\n")
			// A's last packet was answered (handoff-proceed): it may go.
			fields := strings.Fields(finishA()) // A handed off and exited
			if len(fields) != 2 {
				t.Fatalf("handler A printed %v", fields)
			}
			// The session sits paused while B starts.
			finishB := startHandlerProcess(t, "resume", s.base, tc.idB, "CONDURE_E2E_SID="+fields[0], "CONDURE_E2E_SEQ="+fields[1])
			select {
			case body := <-got:
				if body != "part1-part2-part3" {
					t.Fatalf("client saw %q", body)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("response not finished")
			}
			finishB()
		})
	}
}

func TestNoKeepAlivesDuringHandoffPause(t *testing.T) {
	t.Setenv("CONDURE_TEST_KEEPALIVE_INTERVAL", "500ms")
	s := startServer(t, "--workers", "1")
	h := s.handler("h1")
	c := s.dial()
	fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	ss := newSession(t, h, recv(t, h, ""))
	ss.respond(200, "OK", "x", true)
	recv(t, h, "credit")
	ss.send(map[string]any{"type": "handoff-start"})
	p := recv(t, h, "handoff-proceed")
	if num(p, "seq") < 2 {
		t.Fatalf("proceed %v", p)
	}
	// Paused: nothing at all for 1.5 s (three keep-alive intervals).
	deadline := time.Now().Add(1500 * time.Millisecond)
	for time.Now().Before(deadline) {
		if p, err := h.Recv(time.Until(deadline)); err == nil {
			t.Fatalf("packet during handoff pause: %v", p)
		}
	}
	ss.send(map[string]any{"type": "keep-alive"}) // resume
	if p := recv(t, h, "keep-alive"); num(p, "seq") != 0 && fmt.Sprint(p["id"]) == "" {
		t.Fatalf("keep-alive %v", p)
	}
}

func TestShutdownCancelsEverySession(t *testing.T) {
	s := startServer(t, "--workers", "2")
	h := s.handler("h1")
	sessions := openStreams(t, s, h, 20)
	want := map[string]bool{}
	for _, ss := range sessions {
		want[ss.id] = true
	}
	start := time.Now()
	s.cmd.Process.Signal(syscall.SIGTERM)
	got := map[string]bool{}
	for len(got) < len(want) {
		p, err := h.Recv(4 * time.Second)
		if err != nil {
			break
		}
		if str(p, "type") != "cancel" {
			continue
		}
		if list, ok := p["id"].([]any); ok {
			for _, e := range list {
				got[str(e.(map[string]any), "id")] = true
			}
		} else {
			got[str(p, "id")] = true
		}
	}
	<-s.exited
	if d := time.Since(start); d > 4*time.Second {
		t.Fatalf("shutdown took %v", d)
	}
	if code := s.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("exit status %d", code)
	}
	for _, suffix := range []string{"-out", "-out-stream", "-in"} {
		if _, err := os.Stat(strings.TrimPrefix(s.base, "ipc://") + suffix); err == nil {
			t.Errorf("ipc socket file %s%s left behind", s.base, suffix)
		}
	}
	var missing []string
	for id := range want {
		if !got[id] {
			missing = append(missing, id)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Fatalf("no cancel for %v", missing)
	}
}
