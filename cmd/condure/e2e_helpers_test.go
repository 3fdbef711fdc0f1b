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
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/condure-go/condure/zhttp/zhttptest"
)

// End-to-end tests: the real binary, real ZeroMQ handlers (zhttptest.Handler)
// and real client sockets on 127.0.0.1.

var binPath string

// builtBin is this package's build of the server (binPath until a test
// points it at another binary).
var builtBin string

func TestMain(m *testing.M) {
	if mode := os.Getenv("CONDURE_E2E_HANDLER"); mode != "" {
		// Re-executed as a separate handler process (see startHandlerProcess).
		os.Exit(handlerProcess(mode))
	}
	dir, err := os.MkdirTemp("", "condure-e2e")
	if err != nil {
		panic(err)
	}
	binPath = filepath.Join(dir, "condure")
	builtBin = binPath
	args := []string{"build", "-o", binPath}
	if raceBuild {
		args = append(args, "-race")
	}
	out, err := exec.Command("go", append(args, ".")...).CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// syncBuffer collects the server's output.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type testServer struct {
	t      *testing.T
	cmd    *exec.Cmd
	addr   string // 127.0.0.1:port
	base   string // --zclient-stream
	log    *syncBuffer
	exited chan struct{}
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startServer runs the binary listening on a free port with a private ipc
// base; extra args are appended. It is stopped when the test ends.
func startServer(t *testing.T, extra ...string) *testServer {
	t.Helper()
	return startServerWith(t, "ipc://"+t.TempDir()+"/c", extra...)
}

// start runs s.cmd with its output in s.log and registers the cleanup
// that stops it with SIGTERM, failing the test if it does not exit within
// 5 s or if the race detector fired in it.
func (s *testServer) start() {
	t := s.t
	t.Helper()
	s.cmd.Stdout = s.log
	s.cmd.Stderr = s.log
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.cmd.Wait(); close(s.exited) }()
	t.Cleanup(func() {
		if !s.stop() {
			t.Errorf("server did not stop within 5 s")
		}
		if strings.Contains(s.log.String(), "DATA RACE") {
			t.Errorf("the race detector fired in the server")
		}
		if t.Failed() {
			t.Logf("server log:\n%s", s.log.String())
		}
	})
}

// defaultWorkers is the --workers of servers started without one: 2, or
// CONDURE_TEST_WORKERS (1 runs the bind-mode tests without the hub).
func defaultWorkers() string {
	if n := os.Getenv("CONDURE_TEST_WORKERS"); n != "" {
		return n
	}
	return "2"
}

// workersOf is the number of workers a server started with args runs.
func workersOf(args []string) int {
	n := defaultWorkers()
	if i := slices.Index(args, "--workers"); i >= 0 && i+1 < len(args) {
		n = args[i+1]
	}
	w, _ := strconv.Atoi(n)
	return w
}

// startServerWith is startServer with a given --zclient-stream base.
// stop sends SIGTERM and waits at most 5 s for the server to exit, killing
// it then; it reports whether the server exited in time.
func (s *testServer) stop() bool {
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
		return true
	case <-time.After(5 * time.Second):
		s.cmd.Process.Kill()
		return false
	}
}

func startServerWith(t *testing.T, base string, extra ...string) *testServer {
	t.Helper()
	return startServerEnv(t, base, nil, extra...)
}

// startServerEnv is startServerWith with env added to the server's
// environment.
func startServerEnv(t *testing.T, base string, env []string, extra ...string) *testServer {
	t.Helper()
	port := freePort(t)
	s := &testServer{t: t, addr: fmt.Sprintf("127.0.0.1:%d", port), base: base, log: &syncBuffer{}, exited: make(chan struct{})}
	args := []string{"--listen", s.addr, "--zclient-stream", s.base}
	for _, d := range [][2]string{{"--workers", defaultWorkers()}, {"--log-level", "3"}} {
		if !slices.Contains(extra, d[0]) {
			args = append(args, d[0], d[1])
		}
	}
	args = append(args, extra...)
	s.cmd = exec.Command(binPath, args...)
	if env != nil {
		s.cmd.Env = append(os.Environ(), env...)
	}
	s.start()
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.Dial("tcp", s.addr)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("server did not start: %v\n%s", err, s.log.String())
		}
		select {
		case <-s.exited:
			t.Fatalf("server exited: %s", s.log.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	return s
}

func (s *testServer) handler(id string) *zhttptest.Handler {
	s.t.Helper()
	h, err := zhttptest.DialHandler(s.base, id, "condure")
	if err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(h.Close)
	return h
}

func (s *testServer) dial() net.Conn {
	s.t.Helper()
	c, err := net.Dial("tcp", s.addr)
	if err != nil {
		s.t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(20 * time.Second))
	s.t.Cleanup(func() { c.Close() })
	return c
}

// recv waits for the next packet of the given type ("" = data; "*" = any).
func recv(t *testing.T, h *zhttptest.Handler, typ string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		p, err := h.Recv(time.Until(deadline))
		if err != nil {
			t.Fatalf("handler recv (want %q): %v", typ, err)
		}
		pt, _ := p["type"].(string)
		if typ == "*" || pt == typ {
			return p
		}
		if pt == "keep-alive" || pt == "credit" {
			continue
		}
		t.Fatalf("handler got %q packet, want %q: %v", pt, typ, p)
	}
	t.Fatalf("no %q packet", typ)
	return nil
}

// expectNothing checks that no packet other than keep-alives arrives for d.
func expectNothing(t *testing.T, h *zhttptest.Handler, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		p, err := h.Recv(time.Until(deadline))
		if err == zhttptest.ErrTimeout {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		if p["type"] != "keep-alive" {
			t.Fatalf("unexpected packet: %v", p)
		}
	}
}

func str(p map[string]any, k string) string { s, _ := p[k].(string); return s }
func num(p map[string]any, k string) int64  { n, _ := p[k].(int64); return n }

// reply sends a packet for request p, filling id and the next seq.
type session struct {
	t   *testing.T
	h   *zhttptest.Handler
	id  string
	seq int64
}

func newSession(t *testing.T, h *zhttptest.Handler, req map[string]any) *session {
	return &session{t: t, h: h, id: str(req, "id")}
}

func (s *session) send(p map[string]any) {
	s.t.Helper()
	p["id"] = s.id
	p["seq"] = s.seq
	s.seq++
	if err := s.h.Send(p); err != nil {
		s.t.Fatal(err)
	}
}

func (s *session) respond(code int, reason, body string, more bool, headers ...string) {
	hdrs := []any{}
	for i := 0; i+1 < len(headers); i += 2 {
		hdrs = append(hdrs, []any{headers[i], headers[i+1]})
	}
	p := map[string]any{"code": code, "reason": reason, "headers": hdrs, "body": body}
	if more {
		p["more"] = true
	}
	s.send(p)
}

func readResponse(t *testing.T, br *bufio.Reader, method string) (*http.Response, string) {
	t.Helper()
	resp, err := http.ReadResponse(br, &http.Request{Method: method})
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	resp.Body.Close()
	return resp, string(body)
}

// readAllUntilClose returns everything the server sends until it closes.
func readAllUntilClose(t *testing.T, c net.Conn) string {
	t.Helper()
	b, err := io.ReadAll(c)
	if err != nil && !strings.Contains(err.Error(), "reset") {
		t.Fatalf("read: %v", err)
	}
	return string(b)
}

// pollInterval is how often eventually looks: short next to any deadline,
// long enough not to load a shared machine.
const pollInterval = 20 * time.Millisecond

// eventually polls cond until it holds, at most timeout, and reports
// whether it did. It is the wait for a state that announces itself by no
// event the test can block on (a log line in a buffer, a /proc reading, a
// counter); it does not fail the test itself, so the caller says what was
// missing.
func eventually(t *testing.T, timeout time.Duration, cond func() bool) bool {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(pollInterval)
	}
	return true
}

// waitLog waits until the server's output contains s.
func (s *testServer) waitLog(sub string) {
	s.t.Helper()
	if !eventually(s.t, 5*time.Second, func() bool { return strings.Contains(s.log.String(), sub) }) {
		s.t.Fatalf("log line %q not found", sub)
	}
}

// startConnectMode binds a handler "h1" at a fresh base, starts the server
// with --zclient-connect and extra, and waits until the server's SUB has
// subscribed to the handler.
func startConnectMode(t *testing.T, extra ...string) (*testServer, *zhttptest.Handler, string) {
	t.Helper()
	base := "ipc://" + t.TempDir() + "/h"
	h, err := zhttptest.BindHandler(base, "h1", "condure")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	s := startServerWith(t, base, append([]string{"--zclient-connect"}, extra...)...)
	if !h.WaitSubscribed(5 * time.Second) {
		t.Fatal("the server's SUB did not subscribe")
	}
	return s, h, base
}

// runUntilStopped calls step in a goroutine of its own, over and over, until
// step returns false or stop is called; stop returns once the goroutine
// ended. step should return within ~100 ms (a receive with a timeout).
func runUntilStopped(step func() bool) (stop func()) {
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-quit:
				return
			default:
			}
			if !step() {
				return
			}
		}
	}()
	return func() { close(quit); <-done }
}
