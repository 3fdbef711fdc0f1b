package main

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The record store (server/tls_store.go): a worker keeps its connections'
// record states by slot, in chunks of 256 allocated on demand. These tests
// check the indexing across a chunk boundary and that a reused slot starts
// from a clean state.

var reSwitchedSlot = regexp.MustCompile(`worker (\d+): conn (\d+): tls: record layer took over`)

// TestTLSStoreAcrossChunks: 300 connections on one worker, all on the
// record layer at once (slots in two chunks), each then exchanges a request
// in reverse order of opening with its own keys; then the first ten close,
// ten new ones take their slots and the last one still works.
func TestTLSStoreAcrossChunks(t *testing.T) {
	const n = 300
	env := newTLSEnv(t)
	s := startTLSServer(t, env, "--workers", "1", "--log-level", "4")
	h := s.handler("h1")
	m := s.logMark()
	conns := make([]*tls.Conn, n)
	readers := make([]*bufio.Reader, n)
	dial := func(i int) {
		cfg := env.clientConfig("localhost")
		if i%2 == 1 {
			cfg.MaxVersion = tls.VersionTLS12
		}
		conns[i] = tlsMustDial(t, s.tlsAddr, cfg)
		readers[i] = bufio.NewReader(conns[i])
	}
	for i := range n {
		dial(i)
	}
	waitSwitched(t, s, m, n)
	maxSlot := 0
	for _, sm := range reSwitchedSlot.FindAllStringSubmatch(s.log.String()[m:], -1) {
		var slot int
		fmt.Sscan(sm[2], &slot)
		maxSlot = max(maxSlot, slot)
	}
	if maxSlot < 256 {
		t.Fatalf("highest slot %d: the connections did not reach a second chunk", maxSlot)
	}
	for i := n - 1; i >= 0; i-- {
		tlsRoundTrip(t, conns[i], readers[i], h, "localhost", fmt.Sprintf("/c%d", i), fmt.Sprintf("body-%d", i))
	}
	for i := range 10 {
		conns[i].Close()
	}
	for i := range 10 {
		dial(i)
		tlsRoundTrip(t, conns[i], readers[i], h, "localhost", fmt.Sprintf("/again%d", i), fmt.Sprintf("again-%d", i))
	}
	tlsRoundTrip(t, conns[n-1], readers[n-1], h, "localhost", "/last", "last")
}

// TestTLSStoreSlotReuseResets: a record layer connection ends on a record
// that fails to decrypt (the server sends bad_record_mac and marks the
// state failed: no close_notify for it); the next connection, on the same
// slot, starts from a clean state and gets the server's close_notify after
// a Connection: close response.
func TestTLSStoreSlotReuseResets(t *testing.T) {
	env := newTLSEnv(t)
	s := startTLSServer(t, env, "--workers", "1", "--log-level", "4")
	h := s.handler("h1")
	m := s.logMark()
	raw, err := net.DialTimeout("tcp", s.tlsAddr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	c := tls.Client(raw, env.clientConfig("localhost"))
	c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	tlsRoundTrip(t, c, br, h, "localhost", "/a", "a")
	waitSwitched(t, s, m, 1)
	bad := append([]byte{23, 3, 3, 0, 32}, make([]byte, 32)...) // application data that fails its tag
	if _, err := raw.Write(bad); err != nil {
		t.Fatal(err)
	}
	if _, err := br.ReadByte(); err == nil || !strings.Contains(err.Error(), "bad record MAC") {
		t.Fatalf("after a bad record: %v, want the server's bad_record_mac", err)
	}
	s.waitLogSince(t, m, "tls: tls: bad record MAC") // logged as the connection closes

	m2 := s.logMark()
	sc := startSClient(t, s.tlsAddr, "-tls1_3")
	sc.send(t, "GET /b HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
	newSession(t, h, recv(t, h, "")).respond(200, "OK", "second-body", false)
	sc.wait(t, regexp.MustCompile("second-body"), 1)
	sc.wait(t, reServerCloseNotify, 1)
	first := reSwitchedSlot.FindStringSubmatch(s.log.String()[m:m2])
	second := reSwitchedSlot.FindStringSubmatch(s.log.String()[m2:])
	if first == nil || second == nil || first[2] != second[2] {
		t.Fatalf("switch lines %q and %q: want the same slot twice", first, second)
	}
}
