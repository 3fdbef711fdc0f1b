package main

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/condure-go/condure/zhttp/zhttptest"
)

// TLS handshakes under a flood (issue #12, items 4 and 5): connections that
// have not sent a whole ClientHello hold no handshake goroutine, and a
// handshake waiting for its client holds no running slot, so idle,
// trickling or stalling clients cannot lock real clients out; handshakes
// past the cap wait in a queue instead of being reset; a handshake's
// buffered input is capped. The per-worker cap is lowered with
// CONDURE_TEST_TLS_HANDSHAKES so the short tests need few descriptors.

// answerAll has h answer every request with 200 and the request's path,
// until the test ends.
func answerAll(t *testing.T, h *zhttptest.Handler) {
	t.Cleanup(runUntilStopped(func() bool {
		p, err := h.Recv(100 * time.Millisecond)
		if err != nil {
			return true
		}
		if _, isReq := p["method"]; !isReq {
			return true
		}
		u := str(p, "uri")
		h.Send(map[string]any{"id": str(p, "id"), "seq": int64(0), "code": 200, "reason": "OK", "body": u[strings.Index(u[len("https://"):], "/")+len("https://"):]})
		return true
	}))
}

// realClient does a verified handshake and one request on addr; it returns
// how long the handshake took.
func realClient(env *tlsEnv, addr, path string) (time.Duration, error) {
	start := time.Now()
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 15 * time.Second}, "tcp", addr, env.clientConfig("localhost"))
	if err != nil {
		return time.Since(start), err
	}
	hs := time.Since(start)
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: localhost\r\n\r\n", path)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return hs, fmt.Errorf("after the handshake: %w", err)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil || string(b) != path {
		return hs, fmt.Errorf("response body %q (%v), want %q", b, err, path)
	}
	return hs, nil
}

// flood keeps n connections open to addr that each send pre and then
// nothing; when the server closes one it is opened again (renewed) until
// stop. It records how long the server kept each one.
type flood struct {
	addr  string
	pre   []byte
	renew time.Duration // pause before a closed connection is opened again
	stop  chan struct{}
	wg    sync.WaitGroup

	mu       sync.Mutex
	lives    []time.Duration // accept-to-close of connections the server closed
	errors   []error
	conns    map[net.Conn]bool
	answered int           // connections the server sent something (its flight)
	answer   chan struct{} // a token each time answered grows
}

// startFlood opens the n connections (at most 64 dials at a time, so the
// accept backlog does not overflow) and returns once all are open.
func startFlood(t *testing.T, addr string, n int, pre []byte, renew time.Duration) *flood {
	t.Helper()
	f := &flood{addr: addr, pre: pre, renew: renew, stop: make(chan struct{}), conns: map[net.Conn]bool{}, answer: make(chan struct{}, 1)}
	opened := make(chan error, n)
	gate := make(chan struct{}, 64)
	for i := 0; i < n; i++ {
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			first := true
			for {
				gate <- struct{}{}
				c, err := net.DialTimeout("tcp", addr, 10*time.Second)
				if err == nil && len(pre) > 0 {
					_, err = c.Write(pre)
				}
				<-gate
				if first {
					opened <- err
					first = false
				}
				if err != nil {
					f.fail(err)
					return
				}
				if !f.hold(c) {
					return
				}
				select {
				case <-f.stop:
					return
				case <-time.After(f.renew):
				}
			}
		}()
	}
	for i := 0; i < n; i++ {
		if err := <-opened; err != nil {
			t.Fatalf("flood connection %d: %v", i, err)
		}
	}
	t.Cleanup(f.close)
	return f
}

// hold waits until the server closes c (true) or the flood stops (false).
func (f *flood) hold(c net.Conn) bool {
	f.mu.Lock()
	select {
	case <-f.stop:
		// Dialed after close went through conns: held, it would keep
		// close waiting until the server's 10 s limit.
		f.mu.Unlock()
		c.Close()
		return false
	default:
	}
	f.conns[c] = true
	f.mu.Unlock()
	start := time.Now()
	c.SetReadDeadline(start.Add(40 * time.Second))
	n, err := c.Read(make([]byte, 1))
	if n > 0 {
		f.mu.Lock()
		f.answered++
		f.mu.Unlock()
		select {
		case f.answer <- struct{}{}:
		default:
		}
		_, err = io.Copy(io.Discard, c)
	} else if err == io.EOF {
		err = nil // as io.Copy reports it
	}
	life := time.Since(start)
	c.Close()
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.conns, c)
	select {
	case <-f.stop:
		return false
	default:
	}
	if err != nil && !strings.Contains(err.Error(), "reset") {
		f.errors = append(f.errors, err)
		return false
	}
	f.lives = append(f.lives, life)
	return true
}

// waitAnswered waits until the server has sent something (a handshake
// flight) to n of the flood's connections, at most within timeout; it
// returns how long that took.
func (f *flood) waitAnswered(t *testing.T, n int, timeout time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		f.mu.Lock()
		got := f.answered
		f.mu.Unlock()
		if got >= n {
			return time.Since(start)
		}
		select {
		case <-f.answer:
		case <-deadline.C:
			t.Fatalf("the server answered %d flood connections within %v, want %d", got, timeout, n)
		}
	}
}

func (f *flood) fail(err error) {
	f.mu.Lock()
	f.errors = append(f.errors, err)
	f.mu.Unlock()
}

// close stops renewing and closes every connection.
func (f *flood) close() {
	select {
	case <-f.stop:
		return
	default:
	}
	f.mu.Lock()
	close(f.stop)
	for c := range f.conns {
		c.Close()
	}
	f.mu.Unlock()
	f.wg.Wait()
}

// results returns the lifetimes and errors seen so far.
func (f *flood) results() ([]time.Duration, []error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Duration(nil), f.lives...), append([]error(nil), f.errors...)
}

// floodCase runs real clients on a TLS listener held under a flood of
// idle, one-byte, half-ClientHello and (with whole) whole-ClientHello
// connections (the last never answer the server's flight), each kind twice
// the handshake cap per worker strong, renewed as the server closes them,
// for dur.
func floodCase(t *testing.T, hsCap, workers int, dur time.Duration, whole bool) {
	env := newTLSEnv(t)
	if hsCap > 0 {
		t.Setenv("CONDURE_TEST_TLS_HANDSHAKES", fmt.Sprint(hsCap))
	} else {
		hsCap = 512
	}
	s := startTLSServer(t, env, "--workers", fmt.Sprint(workers), "--stream-maxconn", "100000")
	answerAll(t, s.handler("h1"))
	hello := tlsClientHello(t, "localhost")
	n := 2 * hsCap * workers
	mark := s.logMark()
	start := time.Now()
	floods := map[string]*flood{
		"idle":               startFlood(t, s.tlsAddr, n, nil, 0),
		"one byte":           startFlood(t, s.tlsAddr, n, hello[:1], 0),
		"half a ClientHello": startFlood(t, s.tlsAddr, n, hello[:len(hello)/2], 0),
	}
	if whole {
		floods["whole ClientHello"] = startFlood(t, s.tlsAddr, n, hello, 0)
	}
	t.Logf("%d connections of each kind open after %v", n, time.Since(start).Round(time.Millisecond))
	if whole {
		// The probes begin once every whole ClientHello has had its flight:
		// the stalled handshakes are all parked then. The first probe sent
		// along with them queued behind their CPU burst (and, on a fresh
		// server, the identity's loading), up to 0.7 s under -race and
		// more on a loaded box: time the cap's queue is meant to cost, not
		// a lockout. Well before the 10 s limit, or the test proves nothing.
		d := floods["whole ClientHello"].waitAnswered(t, n, 5*time.Second)
		t.Logf("the whole ClientHellos all answered after %v more", d.Round(time.Millisecond))
	}
	// Real clients, one after another, through at least one renewal of the
	// whole flood (at 10 s).
	var worst time.Duration
	probes := 0
	for i := 0; time.Since(start) < dur; i++ {
		hs, err := realClient(env, s.tlsAddr, fmt.Sprintf("/probe%d", i))
		if err != nil {
			t.Fatalf("real client %d at %v into the flood: %v", i, time.Since(start).Round(time.Millisecond), err)
		}
		if hs > time.Second {
			t.Errorf("real client %d at %v into the flood: handshake took %v, want < 1 s", i, time.Since(start).Round(time.Millisecond), hs)
		}
		worst = max(worst, hs)
		probes++
		time.Sleep(200 * time.Millisecond) // the probes' pace through the flood's duration (the subject)
	}
	t.Logf("%d real clients served during the flood; slowest handshake %v", probes, worst.Round(time.Millisecond))
	for what, f := range floods {
		f.close()
		lives, errs := f.results()
		if len(errs) > 0 {
			t.Errorf("%s flood: %d errors, first %v", what, len(errs), errs[0])
		}
		// Every connection of the first round was closed by the server at
		// the handshake limit, 10 s after its accept.
		if len(lives) < n {
			t.Errorf("%s flood: the server closed %d connections, want at least %d", what, len(lives), n)
		}
		lo, hi := time.Hour, time.Duration(0)
		for _, d := range lives {
			lo, hi = min(lo, d), max(hi, d)
		}
		t.Logf("%s flood: %d closed by the server after %v to %v", what, len(lives), lo.Round(time.Millisecond), hi.Round(time.Millisecond))
		if len(lives) > 0 && (lo < 8500*time.Millisecond || hi > 13*time.Second) {
			t.Errorf("%s flood: closed after %v to %v, want about 10 s", what, lo, hi)
		}
	}
	s.waitLogSince(t, mark, "tls handshake timed out")
	if strings.Contains(s.log.String()[mark:], "closing the longest waiting") {
		t.Errorf("stalled handshakes under the parked bound were closed early")
	}
}

// 2x the cap of idle, one-byte, half- and whole-ClientHello connections
// per worker, renewed as the server closes them at 10 s: real clients
// complete their handshake within 1 s throughout, and no stalled
// connection took a running slot for long (nothing queued).
func TestTLSFloodDoesNotLockOut(t *testing.T) {
	floodCase(t, 8, 2, 13*time.Second, true)
}

// The same at the real cap (512 per worker, 2048 connections of each kind
// on 2 workers) for 30 s, without the whole ClientHellos: 2048 of those
// renewed at once cost the server 2048 handshakes every 10 s, a CPU burst
// that on 2 shared cores kept real clients queued up to 0.7 s (measured).
func TestTLSFloodDoesNotLockOutLong(t *testing.T) {
	if os.Getenv("CONDURE_LONG_TESTS") == "" {
		t.Skip("set CONDURE_LONG_TESTS=1 (takes about 40 s and 8k descriptors a side)")
	}
	floodCase(t, 0, 2, 30*time.Second, false)
}

// Past the cap, handshakes wait their turn instead of being reset: a
// burst of 40 clients on RSA certificates with one handshake running per
// worker all complete.
func TestTLSHandshakeQueue(t *testing.T) {
	env := newTLSEnv(t)
	t.Setenv("CONDURE_TEST_TLS_HANDSHAKES", "1")
	s := startTLSServer(t, env)
	answerAll(t, s.handler("h1"))
	mark := s.logMark()
	const clients = 40
	errs := make(chan error, clients)
	startGun := make(chan struct{})
	for i := range clients {
		go func() {
			<-startGun
			c, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", s.tlsAddr, env.clientConfig("a.wild.test"))
			if err != nil {
				errs <- fmt.Errorf("client %d: %w", i, err)
				return
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			path := fmt.Sprintf("/q%d", i)
			fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: a.wild.test\r\n\r\n", path)
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				errs <- fmt.Errorf("client %d: %w", i, err)
				return
			}
			b, _ := io.ReadAll(resp.Body)
			if string(b) != path {
				errs <- fmt.Errorf("client %d: body %q", i, b)
				return
			}
			errs <- nil
		}()
	}
	close(startGun)
	for range clients {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	s.waitLogSince(t, mark, "1 TLS handshakes running, new ones wait their turn")
}

// A handshake waiting for its client holds no running slot, so clients
// that send a ClientHello and never answer (more than the running cap on
// each worker) do not keep real clients waiting; they are closed 10 s
// after accept like any unfinished handshake.
func TestTLSStalledAfterClientHello(t *testing.T) {
	env := newTLSEnv(t)
	t.Setenv("CONDURE_TEST_TLS_HANDSHAKES", "2")
	s := startTLSServer(t, env)
	answerAll(t, s.handler("h1"))
	hello := tlsClientHello(t, "localhost")
	mark := s.logMark()
	stallers := make([]net.Conn, 0, 8)
	for range 8 { // 4 per worker on average: more than the running cap
		c, err := net.Dial("tcp", s.tlsAddr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.Write(hello)
		stallers = append(stallers, c)
	}
	// Each staller gets the server's flight: its handshake ran.
	for i, c := range stallers {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.ReadFull(c, make([]byte, 6)); err != nil {
			t.Fatalf("staller %d: no ServerHello: %v", i, err)
		}
	}
	start := time.Now()
	for i := range 5 {
		hs, err := realClient(env, s.tlsAddr, fmt.Sprintf("/r%d", i))
		if err != nil || hs > time.Second {
			t.Fatalf("real client %d among stalled handshakes: %v after %v", i, err, hs)
		}
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var lo, hi time.Duration = time.Hour, 0
	for _, c := range stallers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.SetReadDeadline(time.Now().Add(15 * time.Second))
			_, err := io.Copy(io.Discard, c)
			d := time.Since(start)
			if errors.Is(err, os.ErrDeadlineExceeded) {
				d = time.Hour
			}
			mu.Lock()
			lo, hi = min(lo, d), max(hi, d)
			mu.Unlock()
		}()
	}
	wg.Wait()
	t.Logf("stallers closed %v to %v after the real clients began", lo.Round(time.Millisecond), hi.Round(time.Millisecond))
	if lo < 8*time.Second || hi > 12*time.Second {
		t.Errorf("stallers closed after %v to %v, want all at about 10 s from accept", lo, hi)
	}
	s.waitLogSince(t, mark, "tls handshake timed out")
}

// Past the bound of handshakes waiting for their clients on a worker
// (lowered to 8 here), the one waiting longest is closed: stallers renewing after
// each close cannot keep real clients out, and the parked handshakes stay
// bounded in number.
func TestTLSParkedHandshakesBounded(t *testing.T) {
	env := newTLSEnv(t)
	t.Setenv("CONDURE_TEST_TLS_HANDSHAKES", "2")
	t.Setenv("CONDURE_TEST_TLS_PARKED", "8")
	s := startTLSServer(t, env)
	answerAll(t, s.handler("h1"))
	hello := tlsClientHello(t, "localhost")
	mark := s.logMark()
	// 40 stallers, 20 a worker, renewed 200 ms after the server closes
	// each (an attacker renewing at once makes every renewal cost the
	// server a full handshake: a CPU flood, which this does not address).
	f := startFlood(t, s.tlsAddr, 40, hello, 200*time.Millisecond)
	s.waitLogSince(t, mark, "TLS handshakes waiting for their clients, closing the longest waiting")
	start := time.Now()
	var worst time.Duration
	retried, probes := 0, 0
	for i := 0; time.Since(start) < 3*time.Second; i++ {
		probes++
		hs, err := realClient(env, s.tlsAddr, fmt.Sprintf("/p%d", i))
		if err != nil {
			// A real client waiting for its own second flight is parked like
			// a staller; on a loaded machine it can be the longest parked
			// when the bound is hit and be closed, as a browser would see
			// and retry. Once: the retry must get through.
			retried++
			t.Logf("real client %d: %v; retrying", i, err)
			if hs, err = realClient(env, s.tlsAddr, fmt.Sprintf("/p%d", i)); err != nil {
				t.Fatalf("real client %d, retried: %v", i, err)
			}
		}
		if hs > time.Second {
			t.Errorf("real client %d: handshake took %v, want < 1 s", i, hs)
		}
		worst = max(worst, hs)
		time.Sleep(100 * time.Millisecond) // the probes' pace through the 3 s of renewals (the subject)
	}
	f.close()
	if retried*4 > probes {
		t.Errorf("%d of %d real clients needed a retry, want at most a quarter", retried, probes)
	}
	lives, errs := f.results()
	if len(errs) > 0 {
		t.Errorf("%d flood errors, first %v", len(errs), errs[0])
	}
	lo := time.Hour
	for _, d := range lives {
		lo = min(lo, d)
	}
	t.Logf("slowest real handshake %v; %d stallers closed early, the first after %v", worst.Round(time.Millisecond), len(lives), lo.Round(time.Millisecond))
	if len(lives) < 24 || lo > 5*time.Second {
		t.Errorf("%d stallers closed, the first after %v: want at least the 24 over the bound, early", len(lives), lo)
	}
}

// A first record longer than any plaintext record is refused at once with
// a record_overflow alert, without waiting for its 18 KiB to arrive.
func TestTLSFirstRecordTooLong(t *testing.T) {
	env := newTLSEnv(t)
	s := startTLSServer(t, env)
	h := s.handler("h1")
	mark := s.logMark()
	c, err := net.Dial("tcp", s.tlsAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	hdr := []byte{22, 3, 1, 0, 0}
	binary.BigEndian.PutUint16(hdr[3:], 18432)
	c.Write(append(hdr, 1, 0, 0x47, 0xfc)) // the start of an 18 KiB ClientHello
	got, d := tlsClosedWithin(t, c, 2*time.Second)
	t.Logf("server sent % x and closed after %v", got, d.Round(time.Millisecond))
	if !bytes.Equal(got, []byte{21, 3, 1, 0, 2, 2, 22}) {
		t.Errorf("server sent % x, want a fatal record_overflow alert", got)
	}
	s.waitLogSince(t, mark, "tls handshake: first record of 18432 bytes, over 16384: refused")
	s.goodClient(t, h)
}

// paddedClientHello returns hello (one record) with a padding extension
// making the handshake message size bytes long, split into records of at
// most 16384 bytes.
func paddedClientHello(t *testing.T, hello []byte, size int) []byte {
	t.Helper()
	msg := append([]byte(nil), hello[5:]...)
	// ClientHello body: version 2, random 32, session id, cipher suites,
	// compression methods, extensions (RFC 8446 §4.1.2).
	p := 4 + 2 + 32
	p += 1 + int(msg[p])
	p += 2 + int(binary.BigEndian.Uint16(msg[p:]))
	p += 1 + int(msg[p])
	extLen := int(binary.BigEndian.Uint16(msg[p:]))
	if p+2+extLen != len(msg) {
		t.Fatalf("ClientHello parse: extensions end at %d, message is %d bytes", p+2+extLen, len(msg))
	}
	pad := size - len(msg) - 4
	msg = append(msg, 0, 21, byte(pad>>8), byte(pad)) // padding (RFC 7685)
	msg = append(msg, make([]byte, pad)...)
	binary.BigEndian.PutUint16(msg[p:], uint16(extLen+4+pad))
	body := len(msg) - 4
	msg[1], msg[2], msg[3] = byte(body>>16), byte(body>>8), byte(body)
	var out []byte
	for len(msg) > 0 {
		n := min(len(msg), 16384)
		out = append(out, 22, 3, 1, byte(n>>8), byte(n))
		out = append(out, msg[:n]...)
		msg = msg[n:]
	}
	return out
}

// A ClientHello of 48 KiB in three records, sent at once: the handshake
// starts on the first record, the worker stops reading at its input cap
// and reads on when the handshake has consumed the input, and the server
// answers with its ServerHello.
func TestTLSHandshakeInputCap(t *testing.T) {
	env := newTLSEnv(t)
	s := startTLSServer(t, env)
	h := s.handler("h1")
	big := paddedClientHello(t, tlsClientHello(t, "localhost"), 48*1024)
	mark := s.logMark()
	c, err := net.Dial("tcp", s.tlsAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write(big); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	rec := make([]byte, 6)
	if _, err := io.ReadFull(c, rec); err != nil {
		t.Fatalf("no answer to a 48 KiB ClientHello: %v", err)
	}
	if rec[0] != 22 || rec[5] != 2 {
		t.Fatalf("answer starts % x, want a ServerHello record", rec)
	}
	// Reading paused at the cap: the 48 KiB were there at once.
	s.waitLogSince(t, mark, "tls handshake input at 33290 bytes: reading paused")
	s.goodClient(t, h)

	// A ClientHello followed at once by 4 MiB of junk: the server reads no
	// more than the cap ahead of the handshake, which fails on the junk.
	mark = s.logMark()
	c2, err := net.Dial("tcp", s.tlsAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	junk := bytes.Repeat([]byte{23, 3, 3, 0x40, 0}, 4<<20/5)
	go c2.Write(append(tlsClientHello(t, "localhost"), junk...))
	tlsClosedWithin(t, c2, 5*time.Second)
	s.waitLogSince(t, mark, "tls handshake input at 33290 bytes: reading paused", "tls handshake: ")
	s.goodClient(t, h)
}

// Requests a client pipelines right behind its Finished arrive with the
// handshake: a 1 MiB POST body sent in the same write as the Finished is
// delivered whole and in order.
func TestTLSPipelinedAfterFinished(t *testing.T) {
	env := newTLSEnv(t)
	s := startTLSServer(t, env)
	h := s.handler("h1")
	raw, err := net.Dial("tcp", s.tlsAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	raw.SetDeadline(time.Now().Add(20 * time.Second))
	hc := &holdConn{Conn: raw}
	c := tls.Client(hc, env.clientConfig("localhost"))
	if err := c.Handshake(); err != nil {
		t.Fatal(err)
	}
	body := bytes.Repeat([]byte("0123456789abcdef"), 1<<16)
	fmt.Fprintf(c, "POST /big HTTP/1.1\r\nHost: localhost\r\nContent-Length: %d\r\n\r\n", len(body))
	c.Write(body)
	// Finished, head and body go out in one write (which blocks until the
	// handler's credits let the server read it all).
	go hc.release()
	req := recv(t, h, "")
	ss := newSession(t, h, req)
	got := tlsRecvBody(t, h, ss, req)
	if !bytes.Equal(got, body) {
		t.Fatalf("handler got %d body bytes, want the %d sent", len(got), len(body))
	}
	ss.respond(200, "OK", "done", false)
	resp, rb := readResponse(t, bufio.NewReader(c), "POST")
	if resp.StatusCode != 200 || rb != "done" {
		t.Fatalf("response %d %q", resp.StatusCode, rb)
	}
}

// holdConn passes the first write (the ClientHello) through and holds the
// later ones until release.
type holdConn struct {
	net.Conn
	writes int
	held   []byte
}

func (c *holdConn) Write(p []byte) (int, error) {
	c.writes++
	if c.writes == 1 {
		return c.Conn.Write(p)
	}
	c.held = append(c.held, p...)
	return len(p), nil
}

func (c *holdConn) release() (int, error) { return c.Conn.Write(c.held) }
