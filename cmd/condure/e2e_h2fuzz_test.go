package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/condure-go/condure/http2"
)

// Hostile HTTP/2 clients against the real binary (issue #17): a raw TCP
// client sends a few hundred random and mutated frame sequences
// (deterministic seed), each on its own h2c connection, while a
// well-behaved client keeps requesting on one connection of its own.

const (
	// h2fuzzConns: bad connections per run (CONDURE_LONG_TESTS=1: 2000).
	h2fuzzConns = 300
	// h2fuzzParallel: bad connections in flight at once.
	h2fuzzParallel = 8
	// h2fuzzBound: how long the server may take to close a bad connection
	// once its client sent everything and half-closed.
	h2fuzzBound = 5 * time.Second
)

// TestH2Hostile: every bad connection is closed by the server within
// h2fuzzBound of the client's half-close; the good client gets every
// answer right on the one connection it opened; the server (run with
// CONDURE_STRICT_PHASES=1, so a phase-table violation is a panic) stays up
// and logs no panic.
func TestH2Hostile(t *testing.T) {
	t.Setenv("CONDURE_STRICT_PHASES", "1")
	s, _, _ := h2Server(t)
	n := h2fuzzConns
	if os.Getenv("CONDURE_LONG_TESTS") == "1" {
		n = 2000
	}

	// The good client: sequential GETs on one h2c connection until the
	// bad ones are done.
	var conns atomic.Int32
	trace := &httptrace.ClientTrace{ConnectStart: func(string, string) { conns.Add(1) }}
	tr := &http.Transport{Protocols: new(http.Protocols)}
	tr.Protocols.SetUnencryptedHTTP2(true)
	cl := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	defer tr.CloseIdleConnections()
	stop := make(chan struct{})
	goodDone := make(chan struct{})
	var good atomic.Int32
	var goodErr error // read after goodDone
	var goodFailed atomic.Bool
	go func() {
		defer close(goodDone)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			k := 1 + i%5*3000
			url := fmt.Sprintf("http://%s/good?n=%d", s.addr, k)
			req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), "GET", url, nil)
			resp, err := cl.Do(req)
			if err != nil {
				goodErr = fmt.Errorf("GET %d: %w", i, err)
				goodFailed.Store(true)
				return
			}
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			want := fmt.Sprintf("GET http://%s/good?n=%d host=%s body=0\n", s.addr, k, s.addr) + h2pattern(k)
			if err != nil || resp.ProtoMajor != 2 || resp.StatusCode != 200 || string(b) != want {
				goodErr = fmt.Errorf("GET %d: %s %d %v: %.80q", i, resp.Proto, resp.StatusCode, err, b)
				goodFailed.Store(true)
				return
			}
			good.Add(1)
		}
	}()

	var wg sync.WaitGroup
	var mu sync.Mutex
	var slow []string
	codes := map[string]int{} // the GOAWAY code each bad connection got ("-": none)
	sem := make(chan struct{}, h2fuzzParallel)
	for i := 0; i < n; i++ {
		if i%30 == 0 {
			// The good client answers between every 30 bad connections.
			g := good.Load()
			if !eventually(t, 10*time.Second, func() bool { return good.Load() > g || goodFailed.Load() }) {
				t.Errorf("good client: no answer for 10 s (at bad connection %d)", i)
			}
		}
		sem <- struct{}{}
		wg.Add(1)
		go func(i int) {
			defer func() { <-sem; wg.Done() }()
			code, err := h2Hostile(s.addr, uint64(i))
			mu.Lock()
			defer mu.Unlock()
			codes[code]++
			if err != nil {
				slow = append(slow, fmt.Sprintf("conn %d: %v", i, err))
			}
		}(i)
	}
	wg.Wait()
	close(stop)
	<-goodDone

	select {
	case <-s.exited:
		t.Fatalf("the server exited")
	default:
	}
	// Connections that hold half a frame cost nothing while they wait
	// (they used to keep a worker spinning on its run queue).
	for i := 0; i < 4; i++ {
		c := dialH2(t, s.addr)
		c.write(http2.AppendHeaders(nil, 1, []byte{0x82, 0x86, 0x84}, true, 16384)[:http2.FrameHeaderLen+1])
	}
	if _, _, err := dialH2(t, s.addr).next(http2.FrameSettings); err != nil { // the server has read the others
		t.Fatal(err)
	}
	if cpu := cpuDuring(t, s.cmd.Process.Pid, time.Second); cpu > 300*time.Millisecond {
		t.Errorf("server used %v of CPU in 1 s with 4 connections holding half a frame", cpu)
	}
	if len(slow) > 0 {
		t.Errorf("%d bad connections not closed within %v:\n  %s", len(slow), h2fuzzBound, strings.Join(slow[:min(len(slow), 10)], "\n  "))
	}
	if goodErr != nil {
		t.Errorf("good client disturbed after %d answers: %v", good.Load(), goodErr)
	}
	if c := conns.Load(); c != 1 {
		t.Errorf("good client opened %d connections, want 1", c)
	}
	log := s.log.String()
	for _, bad := range []string{"panic", "goroutine "} {
		if strings.Contains(log, bad) {
			t.Errorf("server log has %q", bad)
		}
	}
	// Every kind of answer a peer can trigger is logged at a bounded rate.
	if k := strings.Count(log, "http/2 "); k > 200 {
		t.Errorf("%d http/2 error lines for %d connections: not rate-limited", k, n)
	}
	// The sequences reach the error paths, not only the happy one.
	if codes[http2.ErrProtocol.String()] < n/20 || codes[http2.ErrFrameSize.String()]+codes[http2.ErrCompression.String()]+codes[http2.ErrFlowControl.String()] == 0 {
		t.Errorf("GOAWAY codes seen: %v", codes)
	}
	t.Logf("%d bad connections, %d good answers, %d http/2 error lines; GOAWAY codes %v", n, good.Load(), strings.Count(log, "http/2 "), codes)
}

// h2Hostile runs bad connection i: a random frame sequence from seed i,
// mutated, then a half-close; the server must close within h2fuzzBound.
// It returns the code of the GOAWAY the server sent ("-": none).
func h2Hostile(addr string, i uint64) (string, error) {
	rng := rand.New(rand.NewPCG(17, i))
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return "-", err
	}
	defer c.Close()
	in := h2HostileBytes(rng)
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.SetWriteDeadline(time.Now().Add(h2fuzzBound))
		// Written in a few pieces, split at random points.
		for len(in) > 0 {
			k := min(len(in), 1+rng.IntN(len(in)+1))
			if _, err := c.Write(in[:k]); err != nil {
				return // the server closed first: fine
			}
			in = in[k:]
		}
		c.(*net.TCPConn).CloseWrite()
	}()
	c.SetReadDeadline(time.Now().Add(2 * h2fuzzBound))
	out, err := io.ReadAll(c)
	<-done
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return "-", fmt.Errorf("still open after %d bytes read", len(out))
	}
	// EOF or reset: closed. Which GOAWAY came last?
	code := "-"
	for len(out) >= http2.FrameHeaderLen {
		fh := http2.ParseFrameHeader(out)
		if len(out) < http2.FrameHeaderLen+int(fh.Length) {
			break
		}
		if fh.Type == http2.FrameGoAway {
			if _, c, _, err := http2.ParseGoAway(fh, out[http2.FrameHeaderLen:http2.FrameHeaderLen+int(fh.Length)]); err == nil {
				code = c.String()
			}
		}
		out = out[http2.FrameHeaderLen+int(fh.Length):]
	}
	return code, nil
}

// h2HostileBytes builds a sequence of valid-ish frames, then mutates it.
func h2HostileBytes(rng *rand.Rand) []byte {
	var b []byte
	if rng.IntN(10) != 0 {
		b = append(b, http2.ClientPreface...)
	}
	if rng.IntN(5) != 0 {
		b = http2.AppendSettings(b, http2.Setting{ID: http2.SettingInitialWindowSize, Val: uint32(rng.IntN(1 << 17))})
	}
	get := func(path string) []byte {
		var blk []byte
		for _, f := range [][2]string{{":method", "GET"}, {":scheme", "http"}, {":authority", "x"}, {":path", path}} {
			blk = http2.AppendField(blk, []byte(f[0]), []byte(f[1]))
		}
		return blk
	}
	id := uint32(1)
	for k := rng.IntN(20); k > 0; k-- {
		switch rng.IntN(12) {
		case 0, 1:
			b = http2.AppendHeaders(b, id, get("/bad?n="+strconv.Itoa(rng.IntN(40000))), rng.IntN(2) == 0, 16384)
			id += 2
		case 2:
			b = http2.AppendData(b, uint32(rng.IntN(int(id)+2)), make([]byte, rng.IntN(300)), rng.IntN(2) == 0)
		case 3:
			b = http2.AppendWindowUpdate(b, uint32(rng.IntN(int(id)+2)), uint32(rng.Int32()))
		case 4:
			b = http2.AppendRSTStream(b, uint32(rng.IntN(int(id)+2)), http2.ErrCode(rng.IntN(14)))
		case 5:
			b = http2.AppendPing(b, rng.IntN(4) == 0, [8]byte{byte(k)})
		case 6:
			b = http2.AppendSettings(b, http2.Setting{ID: http2.SettingID(1 + rng.IntN(8)), Val: rng.Uint32()})
		case 7:
			b = http2.AppendSettingsAck(b)
		case 8: // a frame header with random fields and a random payload
			p := make([]byte, rng.IntN(64))
			for j := range p {
				p[j] = byte(rng.Uint32())
			}
			b = http2.AppendFrameHeader(b, http2.FrameHeader{Length: uint32(len(p)), Type: http2.FrameType(rng.IntN(12)),
				Flags: http2.Flags(rng.Uint32()), StreamID: uint32(rng.IntN(int(id) + 2))})
			b = append(b, p...)
		case 9: // a header block split over CONTINUATION frames
			blk := get("/cont")
			h := len(blk) / 2
			b = http2.AppendFrameHeader(b, http2.FrameHeader{Length: uint32(h), Type: http2.FrameHeaders, Flags: http2.FlagEndStream, StreamID: id})
			b = append(b, blk[:h]...)
			b = http2.AppendFrameHeader(b, http2.FrameHeader{Length: uint32(len(blk) - h), Type: http2.FrameContinuation, Flags: http2.FlagEndHeaders, StreamID: id})
			b = append(b, blk[h:]...)
			id += 2
		case 10:
			b = http2.AppendGoAway(b, id, http2.ErrCode(rng.IntN(14)), nil)
		default: // garbage
			for j := rng.IntN(40); j > 0; j-- {
				b = append(b, byte(rng.Uint32()))
			}
		}
	}
	// Mutations: flip bytes, lie about a length, cut the tail.
	for k := rng.IntN(4); k > 0 && len(b) > 24; k-- {
		switch j := 24 + rng.IntN(len(b)-24); rng.IntN(3) {
		case 0:
			b[j] ^= byte(1 + rng.IntN(255))
		case 1:
			b = binary.BigEndian.AppendUint32(b[:j:j], rng.Uint32()) // truncates and appends junk
		default:
			b = b[:j]
		}
	}
	return b
}

// cpuDuring is the CPU time process pid uses during d (the wait is the
// measurement).
func cpuDuring(t *testing.T, pid int, d time.Duration) time.Duration {
	t.Helper()
	read := func() time.Duration {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			t.Fatal(err)
		}
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
		u, _ := strconv.Atoi(f[11]) // utime, stime: fields 14 and 15, in clock ticks (100/s)
		k, _ := strconv.Atoi(f[12])
		return time.Duration(u+k) * 10 * time.Millisecond
	}
	t0 := read()
	time.Sleep(d)
	return read() - t0
}
