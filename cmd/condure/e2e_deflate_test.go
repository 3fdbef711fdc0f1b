package main

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
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
				io.Copy(countingWriter{dst, n}, src)
				dst.(*net.TCPConn).CloseWrite()
			}
			p.wg.Add(2)
			go pipe(s, c, &p.up)
			go pipe(c, s, &p.down)
		}
	}()
	return p
}

// countingWriter counts the bytes as they are forwarded.
type countingWriter struct {
	w io.Writer
	n *atomic.Int64
}

func (c countingWriter) Write(p []byte) (int, error) {
	k, err := c.w.Write(p)
	c.n.Add(int64(k))
	return k, err
}

func runDeflateClient(t *testing.T, url string, anyAnswer, small bool) int64 {
	t.Helper()
	if err := exec.Command(python, "-c", "import websockets").Run(); err != nil {
		t.Skipf("python3-websockets is not installed: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	args := []string{filepath.Join("testdata", "ws_deflate_client.py"), url}
	if anyAnswer {
		args = append(args, "any") // the reference answers differently
	}
	if small {
		args = append(args, "small")
	}
	cmd := exec.CommandContext(ctx, python, args...)
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
	total := runDeflateClient(t, "ws://"+p.addr+"/echo", false, false)
	up, down := p.up.Load(), p.down.Load()
	t.Logf("payload %d bytes each way; on the wire %d up, %d down", total, up, down)
	if up < 5000 || down < 5000 || up > total/3 || down > total/3 {
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

// Headless Chromium negotiates permessage-deflate (it accepts the
// client_no_context_takeover it did not ask for) and has compressible text
// and binary messages larger than --buffer-size echoed, compressed on the
// wire both ways; the echo handler sends the large ones back in several
// packets, so they go out fragmented.
func TestDeflateChromium(t *testing.T) {
	if _, err := os.Stat(chromiumBin); err != nil {
		t.Skipf("chromium is not installed: %v", err)
	}
	page, err := os.ReadFile(filepath.Join("testdata", "ws_echo_page.html"))
	if err != nil {
		t.Fatal(err)
	}
	s := startServer(t, "--compression")
	e := startEchoHandler(t, s, page)
	p := startCountingProxy(t, s.addr)

	exited := startChromium(t, "http://"+p.addr+"/page")
	var v url.Values
	select {
	case q := <-e.results:
		v, err = url.ParseQuery(q)
		if err != nil || v.Get("status") != "ok" || v.Get("code") != "1000" ||
			v.Get("ext") != "permessage-deflate; server_no_context_takeover; client_no_context_takeover" {
			t.Fatalf("page reported %q", q)
		}
	case err := <-exited:
		t.Fatalf("chromium exited before the page reported: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("no result from the page within 30 s")
	}
	total, _ := strconv.ParseInt(v.Get("sent"), 10, 64)
	// The page and its fetches cross the proxy too (a few KB); the 390 KB
	// of messages must be well under a third on the wire. The client had
	// every echo before it reported, so all the bytes have been counted.
	up, down := p.up.Load(), p.down.Load()
	t.Logf("payload %d bytes each way; on the wire %d up, %d down (page included)", total, up, down)
	if total < 200000 || up < 5000 || down < 5000 || up > total/3 || down > total/3 {
		t.Fatalf("payload %d, wire %d up, %d down: not compressed", total, up, down)
	}
}

// wsOrigin is a Pushpin origin: /echo and /stream answer the readiness
// probes of startPushpin, /ws is a WebSocket echo (uncompressed: Pushpin
// and zurl speak plain WebSocket to it).
func wsOrigin(t *testing.T) *origin {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Origin-Test", "ok")
		io.WriteString(w, "ok")
	})
	mux.HandleFunc("/stream", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Grip-Hold", "stream")
		w.Header().Set("Grip-Channel", r.URL.Query().Get("ch"))
		io.WriteString(w, "initial\n")
	})
	mux.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		sum := sha1.Sum([]byte(r.Header.Get("Sec-WebSocket-Key") + "258EAFA5-E914-47DA-95CA-C5AB0DC11B0D"))
		conn, rw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		rw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " +
			base64.StdEncoding.EncodeToString(sum[:]) + "\r\n\r\n")
		rw.Flush()
		for { // echo frame by frame (fragments stay fragments)
			var h [2]byte
			if _, err := io.ReadFull(rw, h[:]); err != nil {
				return
			}
			n := uint64(h[1] & 0x7f)
			switch n {
			case 126:
				var b [2]byte
				io.ReadFull(rw, b[:])
				n = uint64(binary.BigEndian.Uint16(b[:]))
			case 127:
				var b [8]byte
				io.ReadFull(rw, b[:])
				n = binary.BigEndian.Uint64(b[:])
			}
			var mask [4]byte
			if h[1]&0x80 != 0 {
				io.ReadFull(rw, mask[:])
			}
			p := make([]byte, n)
			if _, err := io.ReadFull(rw, p); err != nil {
				return
			}
			for i := range p {
				p[i] ^= mask[i%4]
			}
			out := []byte{h[0]}
			switch {
			case n < 126:
				out = append(out, byte(n))
			case n < 65536:
				out = append(out, 126, byte(n>>8), byte(n))
			default:
				out = append(out, 127)
				out = binary.BigEndian.AppendUint64(out, n)
			}
			if h[0]&0x0f == 9 { // ping: pong
				out[0] = h[0]&0xf0 | 10
			}
			rw.Write(append(out, p...))
			rw.Flush()
			if h[0]&0x0f == 8 {
				return
			}
		}
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return &origin{addr: l.Addr().String()}
}

// Pushpin with our binary as condure_bin relays a compressed WebSocket.
// Pushpin 1.36 (installed here) has no allow_compression, which later
// versions turn into --compression on condure's command line, so
// condure_bin is a wrapper that adds the flag: the client negotiates
// permessage-deflate with our binary, Pushpin's proxy and the origin see
// uncompressed messages. (The client's check of the answer's
// Sec-WebSocket-Extensions shows the flag reached our binary.) Messages
// stay under 8 KB (--buffer-size, Pushpin's credits): past that, Pushpin
// 1.36's proxy was seen to stall on the last part of an echo although we
// had returned its credits: a 10 KB message with compression, 60 KB ones
// without it (the reference too). Not explained yet (see the report of
// this branch).
func TestDeflatePushpin(t *testing.T) {
	// CONDURE_BIN_UNDER_TEST=/usr/bin/condure runs it against the reference.
	ref := pushpinBinUnderTest() == "/usr/bin/condure"
	wrapper := filepath.Join(t.TempDir(), "condure-compression")
	if err := os.WriteFile(wrapper, []byte("#!/bin/sh\nexec "+pushpinBinUnderTest()+" --compression \"$@\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CONDURE_BIN_UNDER_TEST", wrapper)
	p := startPushpin(t, wsOrigin(t))
	proxy := startCountingProxy(t, p.httpAddr)
	total := runDeflateClient(t, "ws://"+proxy.addr+"/ws", ref, true)
	up, down := proxy.up.Load(), proxy.down.Load()
	t.Logf("payload %d bytes each way; on the wire %d up, %d down", total, up, down)
	if up < 5000 || down < 5000 || up > total/3 || down > total/3 {
		t.Fatalf("payload %d, wire %d up, %d down: not compressed", total, up, down)
	}
}
