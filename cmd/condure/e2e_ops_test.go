package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/condure-go/condure/zhttp/zhttptest"
)

// Running it in production (#16): systemd socket activation, the SIGQUIT
// drain, --sizes.

// activatedServer runs the binary with files as systemd would pass them:
// fds 3.. with LISTEN_FDS, LISTEN_FDNAMES and LISTEN_PID set to the
// server's own pid (a shell sets it to $$, then execs the binary). The
// test keeps its copies of the sockets open, as systemd does.
func activatedServer(t *testing.T, files []*os.File, names []string, args ...string) *testServer {
	t.Helper()
	s := &testServer{t: t, base: "ipc://" + t.TempDir() + "/c", log: &syncBuffer{}, exited: make(chan struct{})}
	env := fmt.Sprintf("LISTEN_FDS=%d LISTEN_FDNAMES=%s", len(files), strings.Join(names, ":"))
	script := `LISTEN_PID=$$ ` + env + ` exec "$0" "$@"`
	all := append([]string{"-c", script, binPath, "--zclient-stream", s.base, "--workers", "2", "--log-level", "3"}, args...)
	s.cmd = exec.Command("/bin/sh", all...)
	s.cmd.ExtraFiles = files
	s.start()
	s.waitLog("started")
	return s
}

// tcpSocket opens a listening TCP socket as systemd would, returning the
// listener (kept open by the test) and the file to pass.
func tcpSocket(t *testing.T, addr string) (net.Listener, *os.File) {
	t.Helper()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	f, err := l.(*net.TCPListener).File()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close(); l.Close() })
	return l, f
}

// serveOne sends a GET on c, answers it from h with body, and checks
// that the client read exactly that.
func serveOne(t *testing.T, h *zhttptest.Handler, c net.Conn, br *bufio.Reader, path, body string) string {
	t.Helper()
	if _, err := c.Write([]byte("GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	req := recv(t, h, "")
	newSession(t, h, req).respond(200, "OK", body, false)
	resp, got := readResponse(t, br, "GET")
	if resp.StatusCode != 200 || got != body {
		t.Fatalf("response %d %q, want 200 %q", resp.StatusCode, got, body)
	}
	return got
}

func TestActivationTCP(t *testing.T) {
	l, f := tcpSocket(t, "127.0.0.1:0")
	addr := l.Addr().String()
	// The port is taken by the test's socket (no SO_REUSEPORT): a server
	// that bound its own instead of using fd 3 would fail to start.
	s := activatedServer(t, []*os.File{f}, []string{"web"}, "--listen", addr)
	s.waitLog("listening on " + addr + " (inherited fd 3)")
	h := s.handler("h")
	for i := 0; i < 4; i++ { // new connections, landing on either worker
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		serveOne(t, h, c, bufio.NewReader(c), "/"+strconv.Itoa(i), "hello")
		c.Close()
	}
	if os.Getenv("LISTEN_PID") != "" {
		t.Fatal("test environment polluted")
	}
}

func TestActivationByNameAndWildcard(t *testing.T) {
	// fdname= picks the socket whatever its address.
	l1, f1 := tcpSocket(t, "127.0.0.1:0")
	// --listen PORT (0.0.0.0) takes systemd's usual [::]:PORT.
	l2, f2 := tcpSocket(t, "[::]:0")
	port2 := l2.Addr().(*net.TCPAddr).Port
	s := activatedServer(t, []*os.File{f1, f2}, []string{"api", "other"},
		"--listen", "127.0.0.1:1,fdname=api", "--listen", strconv.Itoa(port2))
	s.waitLog("listening on 127.0.0.1:1 (inherited fd 3)")
	s.waitLog(fmt.Sprintf("listening on 0.0.0.0:%d (inherited fd 4)", port2))
	h := s.handler("h")
	for _, addr := range []string{l1.Addr().String(), fmt.Sprintf("127.0.0.1:%d", port2)} {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		serveOne(t, h, c, bufio.NewReader(c), "/x", "via "+addr)
		c.Close()
	}
}

func TestActivationUnix(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.sock")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	f, err := l.(*net.UnixListener).File()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close(); l.Close() })
	ino := inode(t, path)
	s := activatedServer(t, []*os.File{f}, nil, "--listen", path+",local")
	s.waitLog("listening on " + path + " (inherited fd 3)")
	if inode(t, path) != ino {
		t.Fatal("the server replaced the socket file instead of using fd 3")
	}
	h := s.handler("h")
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	serveOne(t, h, c, bufio.NewReader(c), "/u", "over unix")
}

func inode(t *testing.T, path string) uint64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t).Ino
}

// TestActivationSystemdSocketActivate uses systemd's own tool, which sets
// LISTEN_* exactly as the service manager does.
func TestActivationSystemdSocketActivate(t *testing.T) {
	tool, err := exec.LookPath("systemd-socket-activate")
	if err != nil {
		t.Skip("systemd-socket-activate not installed")
	}
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	s := &testServer{t: t, addr: addr, base: "ipc://" + t.TempDir() + "/c", log: &syncBuffer{}, exited: make(chan struct{})}
	s.cmd = exec.Command(tool, "-l", addr, "--fdname=web", binPath, "--listen", addr, "--zclient-stream", s.base, "--log-level", "3")
	s.start()
	// The tool listens at once and starts the server on the first
	// connection, which then waits in the backlog.
	s.waitLog("Listening on")
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	s.waitLog("(inherited fd 3)")
	h := s.handler("h")
	serveOne(t, h, c, bufio.NewReader(c), "/sd", "activated")
}

// TestDrainActivated: SIGQUIT lets an in-flight streamed response finish,
// closes an idle keep-alive connection, leaves new connections queued in
// the inherited socket, and exits 0; a second server on the same socket
// then serves the queued one.
func TestDrainActivated(t *testing.T) {
	l, f := tcpSocket(t, "127.0.0.1:0")
	addr := l.Addr().String()
	a := activatedServer(t, []*os.File{f}, nil, "--listen", addr)
	h := a.handler("drain-h")
	dial := func() (net.Conn, *bufio.Reader) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(15 * time.Second))
		t.Cleanup(func() { c.Close() })
		return c, bufio.NewReader(c)
	}

	// An idle keep-alive connection: one response done.
	idle, idleR := dial()
	idle.Write([]byte("GET /idle HTTP/1.1\r\nHost: x\r\n\r\n"))
	newSession(t, h, recv(t, h, "")).respond(200, "OK", "done", false)
	if _, body := readResponse(t, idleR, "GET"); body != "done" {
		t.Fatalf("idle body %q", body)
	}
	// An in-flight streamed response: head and a first chunk written.
	busy, busyR := dial()
	busy.Write([]byte("GET /stream HTTP/1.1\r\nHost: x\r\n\r\n"))
	st := newSession(t, h, recv(t, h, ""))
	st.respond(200, "OK", "part1,", true)
	if line, _ := busyR.ReadString('\n'); !strings.HasPrefix(line, "HTTP/1.1 200") {
		t.Fatalf("stream status line %q", line)
	}

	a.cmd.Process.Signal(syscall.SIGQUIT)
	a.waitLog("draining")
	// The idle connection is closed without a word.
	if n, err := idleR.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("idle connection: read %d, %v; want EOF", n, err)
	}
	// A new client connects (the kernel queues it) and asks; nobody in
	// the draining server accepts it.
	queued, queuedR := dial()
	queued.Write([]byte("GET /queued HTTP/1.1\r\nHost: x\r\n\r\n"))
	// The stream finishes; the connection then closes.
	st.send(map[string]any{"body": "part2"})
	rest, err := io.ReadAll(busyR)
	if err != nil {
		t.Fatalf("stream read: %v", err)
	}
	if !strings.Contains(string(rest), "part1,") || !strings.Contains(string(rest), "part2") || !strings.HasSuffix(string(rest), "0\r\n\r\n") {
		t.Fatalf("stream rest %q", rest)
	}
	a.waitDrained()

	// The next server takes over the socket and serves the queued client.
	b := activatedServer(t, []*os.File{f}, nil, "--listen", addr)
	hb := b.handler("next-h")
	req := recv(t, hb, "")
	if !strings.HasSuffix(str(req, "uri"), "/queued") {
		t.Fatalf("second server got %v", req)
	}
	newSession(t, hb, req).respond(200, "OK", "from b", false)
	if _, body := readResponse(t, queuedR, "GET"); body != "from b" {
		t.Fatalf("queued body %q", body)
	}
}

// TestDrainTimeout: a response still streaming at --drain-timeout is cut as
// in a fast stop (the handler gets a cancel), and the exit is 0.
func TestDrainTimeout(t *testing.T) {
	s := startServer(t, "--drain-timeout", "1")
	h := s.handler("h")
	c := s.dial()
	br := bufio.NewReader(c)
	c.Write([]byte("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"))
	st := newSession(t, h, recv(t, h, ""))
	st.respond(200, "OK", "x", true)
	if line, _ := br.ReadString('\n'); !strings.HasPrefix(line, "HTTP/1.1 200") {
		t.Fatalf("status line %q", line)
	}
	start := time.Now()
	s.cmd.Process.Signal(syscall.SIGQUIT)
	s.waitLog("draining")
	// Not accepting any more: this server opened its own sockets, which
	// a drain closes (a replacement may bind the port).
	waitRefused(t, s.addr)
	if p := recv(t, h, "cancel"); str(p, "id") != st.id {
		t.Fatalf("cancel for %q, want %q", str(p, "id"), st.id)
	}
	<-s.exited
	if d := time.Since(start); d < 900*time.Millisecond {
		t.Fatalf("stopped after %v, before the 1 s drain timeout", d)
	}
	if code := s.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("exit code %d, want 0", code)
	}
	if !strings.Contains(s.log.String(), "drain timeout") {
		t.Fatal("no drain timeout line")
	}
}

// waitRefused waits until connecting to addr is refused.
func waitRefused(t *testing.T, addr string) {
	t.Helper()
	if !eventually(t, 5*time.Second, func() bool {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			return false
		}
		if !errors.Is(err, syscall.ECONNREFUSED) {
			t.Fatalf("dial: %v", err)
		}
		return true
	}) {
		t.Fatal("still accepting connections while draining")
	}
}

// TestSizes: --sizes prints the per-connection costs, from the real types
// and the buffer flags, and exits 0 without starting anything.
func TestSizes(t *testing.T) {
	out, err := exec.Command(binPath, "--sizes", "--buffer-size", "4096", "--body-buffer-size", "1000").CombinedOutput()
	if err != nil {
		t.Fatalf("--sizes: %v\n%s", err, out)
	}
	for _, want := range []string{
		"connection_slot: 232 bytes (",
		"connection_timers: 72 bytes (", // 2 per connection, 1 per session (issue #14)
		"stream_connection_buffers: 8192 bytes (",
		"req_connection_buffers: 13288 bytes (",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("--sizes lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(string(out), "starting") {
		t.Errorf("--sizes started the server:\n%s", out)
	}
}

// TestDrainWebSocketAndPendingRequest: during a drain a WebSocket session
// carries messages both ways until it closes, a request waiting for its
// handler gets its response with Connection: close, new connections are
// refused (this server bound its own sockets), and the server exits 0 once
// both ended, without cancelling anything.
func TestDrainWebSocketAndPendingRequest(t *testing.T) {
	s := startServer(t)
	h := s.handler("h")
	ws, wsR, wss := wsOpen(t, s, h)
	readHead(t, wsR)
	c := s.dial()
	cR := bufio.NewReader(c)
	c.Write([]byte("GET /pending HTTP/1.1\r\nHost: x\r\n\r\n"))
	pending := newSession(t, h, recv(t, h, ""))

	s.cmd.Process.Signal(syscall.SIGQUIT)
	s.waitLog("draining")
	waitRefused(t, s.addr)

	ws.Write(clientFrame(true, 1, []byte("still here")))
	if p := recv(t, h, ""); str(p, "body") != "still here" {
		t.Fatalf("handler got %v", p)
	}
	wss.send(map[string]any{"content-type": "text", "body": "so am I"})
	if f := readFrame(t, wsR); string(f.payload) != "so am I" {
		t.Fatalf("client got %q", f.payload)
	}
	pending.respond(200, "OK", "late", false)
	resp, body := readResponse(t, cR, "GET")
	if body != "late" || !resp.Close {
		t.Fatalf("pending response %q, close %v; want \"late\" with Connection: close", body, resp.Close)
	}
	if n, err := cR.Read(make([]byte, 1)); err != io.EOF {
		t.Fatalf("after the response: read %d, %v; want EOF", n, err)
	}
	select {
	case <-s.exited:
		t.Fatal("exited while a WebSocket session was open")
	default:
	}
	wss.send(map[string]any{"type": "close", "code": 1000})
	readFrame(t, wsR)
	ws.Write(clientFrame(true, 8, []byte{3, 0xe8}))
	s.waitDrained()
	// No cancel: nothing was cut (credits for the message may arrive).
	for {
		p, err := h.Recv(200 * time.Millisecond)
		if err != nil {
			break
		}
		if typ := str(p, "type"); typ == "cancel" {
			t.Fatalf("handler got %v", p)
		}
	}
}

// TestDrainReqMode: a req-mode request waiting for its reply during a drain
// gets it, with Connection: close, and the server then exits 0.
func TestDrainReqMode(t *testing.T) {
	s := startReqServer(t)
	h := reqHandler(t, s.reqSpec)
	c := s.dialReq()
	br := bufio.NewReader(c)
	c.Write([]byte("GET /q HTTP/1.1\r\nHost: x\r\n\r\n"))
	r := recvReq(t, h)
	s.cmd.Process.Signal(syscall.SIGQUIT)
	s.waitLog("draining")
	h.Reply(r, map[string]any{"code": 200, "reason": "OK", "body": "answered"})
	resp, body := readResponse(t, br, "GET")
	if body != "answered" || !resp.Close {
		t.Fatalf("response %q, close %v", body, resp.Close)
	}
	s.waitDrained()
}

// waitDrained expects the server to exit within 5 s with code 0, having
// logged that it drained.
func (s *testServer) waitDrained() {
	s.t.Helper()
	select {
	case <-s.exited:
	case <-time.After(5 * time.Second):
		s.t.Fatal("server did not exit")
	}
	if code := s.cmd.ProcessState.ExitCode(); code != 0 || !strings.Contains(s.log.String(), "drained") {
		s.t.Fatalf("exit code %d (want 0), log (want a 'drained' line):\n%s", code, s.log.String())
	}
}
