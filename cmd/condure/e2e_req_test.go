package main

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/condure-go/condure/zhttp/zhttptest"
)

// req mode (reference.md §2.2, §4.3): whole requests over a DEALER.

type reqServer struct {
	*testServer
	reqAddr string
	reqSpec string
}

// startReqServer runs the binary with a req listener (and a stream one, as
// Pushpin-less deployments mix them) and extra args.
func startReqServer(t *testing.T, extra ...string) *reqServer {
	t.Helper()
	dir := t.TempDir()
	r := &reqServer{reqAddr: fmt.Sprintf("127.0.0.1:%d", freePort(t)), reqSpec: "ipc://" + dir + "/req"}
	args := append([]string{"--listen", r.reqAddr + ",req", "--zclient-req", r.reqSpec}, extra...)
	r.testServer = startServerWith(t, "ipc://"+dir+"/c", args...)
	return r
}

func (r *reqServer) dialReq() net.Conn {
	r.t.Helper()
	c, err := net.Dial("tcp", r.reqAddr)
	if err != nil {
		r.t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(20 * time.Second))
	r.t.Cleanup(func() { c.Close() })
	return c
}

func reqHandler(t *testing.T, spec string) *zhttptest.ReqHandler {
	t.Helper()
	h, err := zhttptest.DialReqHandler(spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	return h
}

func recvReq(t *testing.T, h *zhttptest.ReqHandler) *zhttptest.ReqRequest {
	t.Helper()
	r, err := h.Recv(10 * time.Second)
	if err != nil {
		t.Fatalf("req handler: %v", err)
	}
	return r
}

func TestReqGetAndPostWithKeepAlive(t *testing.T) {
	s := startReqServer(t)
	h := reqHandler(t, s.reqSpec)
	c := s.dialReq()
	br := bufio.NewReader(c)
	fmt.Fprintf(c, "GET /status HTTP/1.1\r\nHost: api.example\r\n\r\n")
	r := recvReq(t, h)
	p := r.Packet
	if p["from"] != nil || p["seq"] != nil || p["credits"] != nil || p["stream"] != nil {
		t.Errorf("req packets carry no from/seq/credits/stream: %v", p)
	}
	if str(p, "method") != "GET" || str(p, "uri") != "http://api.example/status" || str(p, "peer-address") != "127.0.0.1" {
		t.Errorf("request %v", p)
	}
	// The handler's own framing headers are ignored: Content-Length is the body's.
	h.Reply(r, map[string]any{"code": 200, "reason": "OK", "body": `{"ok":true}`, "more": true,
		"headers": []any{[]any{"Content-Type", "application/json"}, []any{"Content-Length", "999"}, []any{"Transfer-Encoding", "chunked"}}})
	resp, body := readResponse(t, br, "GET")
	if resp.StatusCode != 200 || body != `{"ok":true}` || resp.ContentLength != 11 || resp.TransferEncoding != nil {
		t.Fatalf("response %v %q", resp, body)
	}
	// A body in one packet, on the same connection.
	data := make([]byte, 50000)
	rand.Read(data)
	fmt.Fprintf(c, "POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", len(data))
	c.Write(data)
	r = recvReq(t, h)
	if got := str(r.Packet, "body"); got != string(data) {
		t.Fatalf("body of %d bytes arrived as %d", len(data), len(got))
	}
	h.Reply(r, map[string]any{"code": 201, "reason": "Created", "body": "stored"})
	if resp, body := readResponse(t, br, "POST"); resp.StatusCode != 201 || body != "stored" {
		t.Fatalf("%v %q", resp.Status, body)
	}
	// Chunked body, and pipelined requests answered in order.
	fmt.Fprintf(c, "POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\nGET /after HTTP/1.1\r\nHost: x\r\n\r\n")
	r = recvReq(t, h)
	if str(r.Packet, "body") != "abcde" {
		t.Fatalf("chunked body %v", r.Packet)
	}
	h.Reply(r, map[string]any{"code": 200, "reason": "OK", "body": "one"})
	r = recvReq(t, h)
	if !strings.HasSuffix(str(r.Packet, "uri"), "/after") {
		t.Fatalf("pipelined %v", r.Packet)
	}
	h.Reply(r, map[string]any{"code": 200, "reason": "OK", "body": "two"})
	for _, want := range []string{"one", "two"} {
		if _, body := readResponse(t, br, "GET"); body != want {
			t.Fatalf("got %q want %q", body, want)
		}
	}
}

func TestReqBodyTooLarge(t *testing.T) {
	s := startReqServer(t, "--body-buffer-size", "1000")
	reqHandler(t, s.reqSpec)
	for _, req := range []string{
		"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1001\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3e9\r\n" + strings.Repeat("a", 1001) + "\r\n0\r\n\r\n",
	} {
		c := s.dialReq()
		start := time.Now()
		c.Write([]byte(req))
		all := readAllUntilClose(t, c)
		if !strings.HasPrefix(all, "HTTP/1.1 413 ") || time.Since(start) > 2*time.Second {
			t.Fatalf("got %q after %v", all, time.Since(start))
		}
	}
}

func TestReqTimeout(t *testing.T) {
	s := startReqServer(t, "--req-timeout", "1")
	h := reqHandler(t, s.reqSpec)
	c := s.dialReq()
	fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	recvReq(t, h) // and never answer
	start := time.Now()
	all := readAllUntilClose(t, c)
	if !strings.HasPrefix(all, "HTTP/1.1 504 ") {
		t.Fatalf("got %q", all)
	}
	if d := time.Since(start); d < 800*time.Millisecond || d > 3*time.Second {
		t.Fatalf("timed out after %v", d)
	}
}

func TestReqWebSocketUpgradeRefused(t *testing.T) {
	s := startReqServer(t)
	reqHandler(t, s.reqSpec)
	c := s.dialReq()
	fmt.Fprintf(c, "GET /chat HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
	want := "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: 48\r\n\r\nWebSockets not supported on req mode interface.\n"
	if all := readAllUntilClose(t, c); all != want {
		t.Fatalf("got %q", all)
	}
}

func TestReqUnknownAndStaleIDs(t *testing.T) {
	s := startReqServer(t)
	h := reqHandler(t, s.reqSpec)
	c := s.dialReq()
	br := bufio.NewReader(c)
	fmt.Fprintf(c, "GET /1 HTTP/1.1\r\nHost: x\r\n\r\n")
	r1 := recvReq(t, h)
	h.Reply(r1, map[string]any{"code": 200, "reason": "OK", "body": "first"})
	readResponse(t, br, "GET")
	fmt.Fprintf(c, "GET /2 HTTP/1.1\r\nHost: x\r\n\r\n")
	r2 := recvReq(t, h)
	// Replies to the previous (stale) id and to an unknown one are dropped,
	// as are non-data packets; the real reply then goes through. One
	// connection keeps them in order: the server has handled the others
	// before it sees the real reply.
	h.Reply(r2, map[string]any{"id": r1.Packet["id"], "code": 200, "reason": "OK", "body": "stale"})
	h.Reply(r2, map[string]any{"id": "0-9999-ff", "code": 200, "reason": "OK", "body": "unknown"})
	h.Reply(r2, map[string]any{"type": "keep-alive"})
	h.Reply(r2, map[string]any{"type": "cancel"})
	h.Reply(r2, map[string]any{"code": 200, "reason": "OK", "body": "second"})
	if _, body := readResponse(t, br, "GET"); body != "second" {
		t.Fatalf("got %q", body)
	}
}

func TestReqAndStreamListenersTogether(t *testing.T) {
	s := startReqServer(t)
	rh := reqHandler(t, s.reqSpec)
	sh := s.handler("h1")
	cs, cr := s.dial(), s.dialReq()
	fmt.Fprintf(cs, "GET /s HTTP/1.1\r\nHost: x\r\n\r\n")
	fmt.Fprintf(cr, "GET /r HTTP/1.1\r\nHost: x\r\n\r\n")
	sreq := recv(t, sh, "")
	rreq := recvReq(t, rh)
	if !strings.HasSuffix(str(sreq, "uri"), "/s") || !strings.HasSuffix(str(rreq.Packet, "uri"), "/r") {
		t.Fatalf("requests crossed: %v %v", sreq, rreq.Packet)
	}
	newSession(t, sh, sreq).respond(200, "OK", "stream", false)
	rh.Reply(rreq, map[string]any{"code": 200, "reason": "OK", "body": "req"})
	if _, b := readResponse(t, bufio.NewReader(cs), "GET"); b != "stream" {
		t.Fatal(b)
	}
	if _, b := readResponse(t, bufio.NewReader(cr), "GET"); b != "req" {
		t.Fatal(b)
	}
}

func TestReqConnectMode(t *testing.T) {
	dir := t.TempDir()
	spec := "ipc://" + dir + "/r"
	h, err := zhttptest.BindReqHandler(spec)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	s := startServerWith(t, "ipc://"+dir+"/c", "--listen", addr+",req", "--zclient-req", spec, "--zclient-connect")
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = s
	fmt.Fprintf(c, "GET /x HTTP/1.1\r\nHost: x\r\n\r\n")
	r := recvReq(t, h)
	h.Reply(r, map[string]any{"code": 200, "reason": "OK", "body": "connected"})
	if _, b := readResponse(t, bufio.NewReader(c), "GET"); b != "connected" {
		t.Fatal(b)
	}
}

// The bundled req handlers: Python (basichandler.py --req, a REP socket)
// and Go (examples/reqhandler).
func TestReqExampleHandlers(t *testing.T) {
	goHandler := filepath.Join(t.TempDir(), "reqhandler")
	if out, err := exec.Command("go", "build", "-o", goHandler, "../../examples/reqhandler").CombinedOutput(); err != nil {
		t.Fatalf("build: %v %s", err, out)
	}
	for _, tc := range []struct {
		name  string
		cmd   func(spec string) *exec.Cmd
		ready string // what the handler logs once its socket is connecting
	}{
		{"python", func(spec string) *exec.Cmd {
			return exec.Command(python, filepath.Join(examplesDir(t), "basichandler.py"), "--req", "--spec", spec)
		}, "req mode: REP connected"},
		{"go", func(spec string) *exec.Cmd { return exec.Command(goHandler, "--spec", spec) }, "req handler connected"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := startReqServer(t)
			cmd := tc.cmd(s.reqSpec)
			stderr := &syncBuffer{}
			cmd.Stderr = stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
			// Up; a request sent before its connection completes waits
			// in the server for it.
			waitOutput(t, stderr, tc.ready)
			c := s.dialReq()
			br := bufio.NewReader(c)
			data := bytes.Repeat([]byte("x"), 5000)
			fmt.Fprintf(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s", len(data), data)
			resp, body := readResponse(t, br, "POST")
			if resp.StatusCode != 200 || body != "hello world\n" {
				t.Fatalf("%d %q", resp.StatusCode, body)
			}
			fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
			if _, body = readResponse(t, br, "GET"); body != "hello world\n" {
				t.Fatalf("%q", body)
			}
		})
	}
	_ = io.EOF
}
