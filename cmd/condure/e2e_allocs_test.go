package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// The whole server process allocates nothing per request or WebSocket
// message once warmed up: it reports its heap allocations (tiny ones
// included) before and after a few thousand exchanges through the real
// binary and bench/echohandler. The unit tests in server/alloc_test.go
// cover parsing and packet building; this one covers everything between
// the sockets, ZeroMQ sends and receives included (zmq4 allocated a byte
// per empty delimiter frame, one per WebSocket message, and the GC never
// ran in a 10 s benchmark to show it).
func TestSteadyStateAllocatesNothing(t *testing.T) { steadyStateAllocs(t) }

// steadyStateAllocs runs the check with extra server flags.
func steadyStateAllocs(t *testing.T, extra ...string) {
	echo := filepath.Join(t.TempDir(), "echohandler")
	if out, err := exec.Command("go", "build", "-o", echo, "../../bench/echohandler").CombinedOutput(); err != nil {
		t.Fatalf("build: %v %s", err, out)
	}
	t.Setenv("CONDURE_TEST_MALLOCS", "1")
	s := startServer(t, append([]string{"--log-level", "2"}, extra...)...) // debug logging formats a line per request
	h := exec.Command(echo, "-spec", s.base, "-keepalive", "0")
	if err := h.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Process.Kill(); h.Wait() })

	const conns = 8
	type client struct {
		c  net.Conn
		br *bufio.Reader
	}
	// The handler may still be joining: the first requests are retried
	// until it answers.
	open := func(ws bool) client {
		var cl client
		var head string
		if !eventually(t, 5*time.Second, func() bool {
			c := s.dial()
			br := bufio.NewReader(c)
			req := "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"
			if ws {
				req = wsUpgrade + "\r\n"
			}
			io.WriteString(c, req)
			head = readHead(t, br)
			if (ws && bytes.HasPrefix([]byte(head), []byte("HTTP/1.1 101"))) || (!ws && bytes.HasPrefix([]byte(head), []byte("HTTP/1.1 200"))) {
				if !ws {
					readBody(t, br, head)
				}
				cl = client{c, br}
				return true
			}
			c.Close()
			return false
		}) {
			t.Fatalf("no answer through the handler: %q", head)
		}
		return cl
	}
	var wss, https []client
	for i := 0; i < conns; i++ {
		wss, https = append(wss, open(true)), append(https, open(false))
	}
	msg := bytes.Repeat([]byte("m"), 64)
	frame := clientFrame(true, 0x1, msg)
	get := []byte("GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
	exchange := func(rounds int) {
		for r := 0; r < rounds; r++ {
			for _, c := range wss {
				c.c.Write(frame)
			}
			for _, c := range https {
				c.c.Write(get)
			}
			for _, c := range wss {
				if f := readFrame(t, c.br); !bytes.Equal(f.payload, msg) {
					t.Fatalf("echo %q", f.payload)
				}
			}
			for _, c := range https {
				readBody(t, c.br, readHead(t, c.br))
			}
		}
	}
	exchange(100) // warm-up: buffers grow to their working size
	before := s.mallocs()
	const rounds = 500
	exchange(rounds)
	after := s.mallocs()
	// Slack for the signal delivery and the report itself.
	if n := after - before; n > 50 {
		t.Fatalf("the server allocated %d heap objects over %d WebSocket messages and %d HTTP requests",
			n, rounds*conns, rounds*conns)
	}
}

var mallocsLine = regexp.MustCompile(`test: mallocs (\d+)`)

// mallocs asks the server for its allocation count (CONDURE_TEST_MALLOCS).
func (s *testServer) mallocs() int64 {
	s.t.Helper()
	seen := len(mallocsLine.FindAllString(s.log.String(), -1))
	s.cmd.Process.Signal(syscall.SIGUSR1)
	var n int64
	if !eventually(s.t, 5*time.Second, func() bool {
		m := mallocsLine.FindAllStringSubmatch(s.log.String(), -1)
		if len(m) <= seen {
			return false
		}
		n, _ = strconv.ParseInt(m[len(m)-1][1], 10, 64)
		return true
	}) {
		s.t.Fatal("no allocation report from the server")
	}
	return n
}

// readBody reads a Content-Length body after head.
func readBody(t *testing.T, br *bufio.Reader, head string) {
	t.Helper()
	m := regexp.MustCompile(`(?i)content-length: *(\d+)`).FindStringSubmatch(head)
	if m == nil {
		t.Fatalf("no Content-Length in %q", head)
	}
	n, _ := strconv.Atoi(m[1])
	if _, err := io.CopyN(io.Discard, br, int64(n)); err != nil {
		t.Fatal(fmt.Errorf("body: %v", err))
	}
}
