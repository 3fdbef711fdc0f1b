package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// permessage-deflate (--compression, issue #15) with real clients through
// the binary and the echo handler of e2e_realclients_test.go.

// countingProxy forwards TCP connections to target and counts the bytes
// each way, so a test can see that messages crossed the wire compressed.
type countingProxy struct {
	addr     string
	up, down atomic.Int64 // client→server, server→client
	wg       sync.WaitGroup
}

func startCountingProxy(t *testing.T, target string) *countingProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &countingProxy{addr: ln.Addr().String()}
	t.Cleanup(func() { ln.Close(); p.wg.Wait() })
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			pipe := func(dst, src net.Conn, n *atomic.Int64) {
				defer p.wg.Done()
				k, _ := io.Copy(dst, src)
				n.Add(k)
				dst.(*net.TCPConn).CloseWrite()
			}
			p.wg.Add(2)
			go pipe(s, c, &p.up)
			go pipe(c, s, &p.down)
		}
	}()
	return p
}

func runDeflateClient(t *testing.T, url string) int64 {
	t.Helper()
	if err := exec.Command(python, "-c", "import websockets").Run(); err != nil {
		t.Skipf("python3-websockets is not installed: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, filepath.Join("testdata", "ws_deflate_client.py"), url)
	cmd.WaitDelay = 2 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	out := strings.TrimSpace(stdout.String())
	total, perr := strconv.ParseInt(strings.TrimPrefix(out, "OK "), 10, 64)
	if err != nil || !strings.HasPrefix(out, "OK ") || perr != nil {
		t.Fatalf("client: %v\nstdout: %s\nstderr: %s", err, out, stderr.String())
	}
	return total
}

// Python's websockets offers permessage-deflate by default and accepts the
// client_no_context_takeover the server adds; text and binary messages,
// small, larger than --buffer-size and fragmented, are echoed, and cross
// the wire compressed both ways (the proxy counts under a third of the
// payload each way).
func TestDeflatePythonWebSockets(t *testing.T) {
	s := startServer(t, "--compression", "--buffer-size", "8192")
	startEchoHandler(t, s, nil)
	p := startCountingProxy(t, s.addr)
	total := runDeflateClient(t, "ws://"+p.addr+"/echo")
	deadline := time.Now().Add(5 * time.Second)
	for (p.down.Load() == 0 || p.up.Load() == 0) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	up, down := p.up.Load(), p.down.Load()
	t.Logf("payload %d bytes each way; on the wire %d up, %d down", total, up, down)
	if up == 0 || down == 0 || up > total/3 || down > total/3 {
		t.Fatalf("payload %d bytes each way, wire %d up, %d down: not compressed", total, up, down)
	}
}

// Without --compression the same client gets no extension and its offer
// changes nothing: the script's check of the answer fails.
func TestDeflatePythonWithoutCompression(t *testing.T) {
	s := startServer(t)
	startEchoHandler(t, s, nil)
	if err := exec.Command(python, "-c", "import websockets").Run(); err != nil {
		t.Skipf("python3-websockets is not installed: %v", err)
	}
	out, _ := exec.Command(python, filepath.Join("testdata", "ws_deflate_client.py"), "ws://"+s.addr+"/echo").Output()
	if !strings.HasPrefix(string(out), "FAIL: Sec-WebSocket-Extensions None") {
		t.Fatalf("client said %q", out)
	}
}
