package main

import (
	"regexp"
	"strconv"
	"testing"
	"time"
)

// reTrimmed is the memory trimmer's debug line (server/memtrim.go).
var reTrimmed = regexp.MustCompile(`memory trimmed after (\d+) TLS handshakes`)

// TestTLSMemTrimmerAfterBurst: after a burst of TLS handshakes the server
// returns the heap's free memory to the OS once the burst is over
// (debug.FreeOSMemory), covering every handshake of the burst, and an idle
// server does not trim again.
func TestTLSMemTrimmerAfterBurst(t *testing.T) {
	env := newTLSEnv(t)
	s := startTLSServer(t, env, "--log-level", "4")
	const n = 20
	for i := 0; i < n; i++ {
		c := tlsMustDial(t, s.tlsAddr, env.clientConfig("localhost"))
		defer c.Close()
	}
	var m []string
	if !eventually(t, 8*time.Second, func() bool {
		m = reTrimmed.FindStringSubmatch(s.log.String())
		return m != nil
	}) {
		t.Fatalf("no trim after %d handshakes; log:\n%s", n, s.log.String())
	}
	// Other handshakes (the test helpers' readiness probes) may be counted
	// too, never fewer than the burst's.
	if got, _ := strconv.Atoi(m[1]); got < n {
		t.Fatalf("trim covered %d handshakes, want >= %d", got, n)
	}
	// Idle: no second trim (one would need handshakes since the first).
	mark := s.logMark()
	time.Sleep(2500 * time.Millisecond) // > 2 trimmer ticks; nothing to wait for
	if tail := s.log.String()[mark:]; reTrimmed.MatchString(tail) {
		t.Fatalf("trimmed again with no handshakes:\n%s", tail)
	}
}
