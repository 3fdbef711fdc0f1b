package main

import (
	"bufio"
	"encoding/binary"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// wsEchoServer accepts WebSocket handshakes and echoes each message back
// unmasked, splitting it in two frames to exercise continuation parsing.
func wsEchoServer(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func(c net.Conn) {
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					if line == "\r\n" {
						break
					}
				}
				io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "+wsAccept+"\r\n\r\n")
				for {
					var h [2]byte
					if _, err := io.ReadFull(r, h[:]); err != nil {
						return
					}
					n := uint64(h[1] & 0x7f)
					switch n {
					case 126:
						var b [2]byte
						io.ReadFull(r, b[:])
						n = uint64(binary.BigEndian.Uint16(b[:]))
					case 127:
						var b [8]byte
						io.ReadFull(r, b[:])
						n = binary.BigEndian.Uint64(b[:])
					}
					var mask [4]byte
					io.ReadFull(r, mask[:])
					p := make([]byte, n)
					if _, err := io.ReadFull(r, p); err != nil {
						return
					}
					half := len(p) / 2
					out := append(frameBytes(0x01, p[:half]), frameBytes(0x80, p[half:])...)
					if _, err := c.Write(out); err != nil {
						return
					}
				}
			}(c)
		}
	}()
	return ln.Addr().String()
}

func frameBytes(b0 byte, p []byte) []byte {
	out := []byte{b0}
	switch n := len(p); {
	case n < 126:
		out = append(out, byte(n))
	case n < 65536:
		out = append(out, 126, byte(n>>8), byte(n))
	default:
		out = append(out, 127)
		out = binary.BigEndian.AppendUint64(out, uint64(n))
	}
	return append(out, p...)
}

func httpServer(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello world\n")
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

func engineFor(t *testing.T, m mode, ws bool, addr string, size int) (*engine, *config) {
	o := opts{addr: addr, path: "/"}
	cfg, err := o.config(m, ws)
	if err != nil {
		t.Fatal(err)
	}
	cfg.msgs[msgFrame] = wsFrame(size)
	cfg.size = int64(size)
	cfg.inflight = 16
	cfg.sources, _ = parseSources("127.0.0.2-127.0.0.4")
	e, err := startEngine(cfg, 2, 1000)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.stop)
	return e, cfg
}

func waitFor(t *testing.T, what string, f func() bool) {
	t.Helper()
	for t0 := time.Now(); !f(); time.Sleep(5 * time.Millisecond) {
		if time.Since(t0) > 10*time.Second {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func TestHoldHTTP(t *testing.T) {
	e, _ := engineFor(t, modeHold, false, httpServer(t), 0)
	est := func(c *counters) *atomic.Int64 { return &c.established }
	e.setTarget(50)
	waitFor(t, "50 established", func() bool { return e.sum(est) == 50 })
	e.setTarget(120)
	waitFor(t, "120 established", func() bool { return e.sum(est) == 120 })
	if f := e.sum(func(c *counters) *atomic.Int64 { return &c.failed }); f != 0 {
		t.Fatalf("%d failed: %s", f, e.lastErr())
	}
	if b := e.sum(func(c *counters) *atomic.Int64 { return &c.bad }); b != 0 {
		t.Fatalf("%d bad", b)
	}
	// The warm-up's rounds: one more exchange on every held connection.
	refreshed := func(c *counters) *atomic.Int64 { return &c.refreshed }
	e.redoAll()
	waitFor(t, "120 refreshed", func() bool { return e.sum(refreshed) == 120 })
	e.redoAll()
	waitFor(t, "240 refreshed", func() bool { return e.sum(refreshed) == 240 })
	if got := e.sum(est); got != 120 {
		t.Fatalf("%d established after the rounds, want 120", got)
	}
}

func TestLoadHTTPAndWS(t *testing.T) {
	for _, tc := range []struct {
		name string
		m    mode
		ws   bool
		addr string
		size int
	}{
		{"http", modeHTTP, false, httpServer(t), 0},
		{"ws-small", modeWS, true, wsEchoServer(t), 20},
		{"ws-large", modeWS, true, wsEchoServer(t), 200000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, _ := engineFor(t, tc.m, tc.ws, tc.addr, tc.size)
			e.setTarget(8)
			e.measure.Store(true)
			done := func(c *counters) *atomic.Int64 { return &c.done }
			waitFor(t, "100 exchanges", func() bool { return e.sum(done) >= 100 })
			e.stop()
			if b := e.sum(func(c *counters) *atomic.Int64 { return &c.bad }); b != 0 {
				t.Fatalf("%d bad (%s)", b, e.lastErr())
			}
			var n uint64
			for _, l := range e.loops {
				n += l.hist.Count()
			}
			if n < 100 || int64(n) != e.sum(done) {
				t.Fatalf("histogram has %d of %d", n, e.sum(done))
			}
		})
	}
}

func TestHoldWSRefused(t *testing.T) {
	e, _ := engineFor(t, modeHold, true, httpServer(t), 16)
	e.setTarget(10)
	waitFor(t, "10 failures", func() bool { return e.sum(func(c *counters) *atomic.Int64 { return &c.failed }) == 10 })
	if !strings.Contains(e.lastErr(), "status 200") {
		t.Fatalf("last error %q", e.lastErr())
	}
}

func TestParsePerfStat(t *testing.T) {
	out := []byte("Events enabled\n" +
		"worker-0-1234,120,,raw_syscalls:sys_enter,100,100.00,,\n" +
		"ZMQbg/IO/0-1240,30,,raw_syscalls:sys_enter,100,100.00,,\n" +
		"worker-0-1234,50,,syscalls:sys_enter_read,100,100.00,,\n" +
		"ZMQbg/IO/0-1240,7,,syscalls:sys_enter_read,100,100.00,,\n" +
		"condure-1230,<not counted>,,syscalls:sys_enter_read,0,100.00,,\n")
	kind, thread := parsePerfStat(out)
	if kind["total"] != 150 || kind["read"] != 57 || len(kind) != 2 {
		t.Errorf("by kind %v", kind)
	}
	if thread["worker"] != 120 || thread["ZMQbg/IO"] != 30 || len(thread) != 2 {
		t.Errorf("by thread %v", thread)
	}
}
