package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Session resumption across workers (issue #18): the workers share the
// listener's session ticket keys, so a ticket issued on one worker resumes
// on the other. (condure 1.9.1 does not: with --workers 2 about half of its
// resumption attempts get a full handshake.)

// reSwitched is the record layer's debug line per connection: the worker
// and whether the session was resumed.
var reSwitched = regexp.MustCompile(`worker (\d+): conn \d+: tls: record layer took over \([A-Z0-9_]+, (resumed|new session)\)`)

// switchedSince returns the (worker, how) pairs logged after mark.
func switchedSince(s *testServer, mark int) [][2]string {
	var out [][2]string
	for _, m := range reSwitched.FindAllStringSubmatch(s.log.String()[mark:], -1) {
		out = append(out, [2]string{m[1], m[2]})
	}
	return out
}

// waitSwitchedLine waits for the next record-layer line after mark and
// returns its worker and how.
func waitSwitchedLine(t *testing.T, s *testServer, mark int) (worker, how string) {
	t.Helper()
	var got [][2]string
	if !eventually(t, 5*time.Second, func() bool { got = switchedSince(s, mark); return len(got) > 0 }) {
		t.Fatalf("no record-layer line for the connection")
	}
	if len(got) != 1 {
		t.Fatalf("%d record-layer lines for one connection: %v", len(got), got)
	}
	return got[0][0], got[0][1]
}

// maxResumeTries bounds the connections tried until both workers resumed
// one (the kernel spreads connections over the workers' sockets by hash:
// each try misses a given worker with probability 1/2).
const maxResumeTries = 40

// TestTLSResumeAcrossWorkersTLS12: OpenSSL's s_client saves the session of
// a first, full handshake (-sess_out) and offers its ticket on every later
// connection (-sess_in); every one is resumed ("Reused", and the server's
// log says so), on both workers, so on the worker that did not issue the
// ticket too.
func TestTLSResumeAcrossWorkersTLS12(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl is not installed")
	}
	env := newTLSEnv(t)
	s := startTLSServer(t, env, "--workers", "2", "--log-level", "4")
	sess := filepath.Join(t.TempDir(), "sess")
	// sClientOnce runs s_client until its handshake is done (stdin at
	// EOF: it closes then) and returns its output.
	sClientOnce := func(args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, "openssl", append([]string{"s_client", "-connect", s.tlsAddr, "-servername", "localhost", "-tls1_2"}, args...)...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("s_client %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	m := s.logMark()
	if out := sClientOnce("-sess_out", sess); !strings.Contains(out, "New, TLSv1.2") {
		t.Fatalf("first handshake not a new TLS 1.2 session:\n%s", out)
	}
	issuer, how := waitSwitchedLine(t, s.testServer, m)
	if how != "new session" {
		t.Fatalf("first connection logged %q", how)
	}
	if st, err := os.Stat(sess); err != nil || st.Size() == 0 {
		t.Fatalf("no session saved: %v", err)
	}
	resumedOn := map[string]int{}
	for i := 0; i < maxResumeTries && (resumedOn["0"] == 0 || resumedOn["1"] == 0); i++ {
		m := s.logMark()
		if out := sClientOnce("-sess_in", sess); !strings.Contains(out, "Reused, TLSv1.2") {
			t.Fatalf("connection %d (ticket issued by worker %s) not resumed:\n%s", i, issuer, out)
		}
		w, how := waitSwitchedLine(t, s.testServer, m)
		if how != "resumed" {
			t.Fatalf("connection %d on worker %s: server logged %q", i, w, how)
		}
		resumedOn[w]++
	}
	if resumedOn["0"] == 0 || resumedOn["1"] == 0 {
		t.Fatalf("resumed on workers %v after %d connections; want both", resumedOn, maxResumeTries)
	}
	t.Logf("ticket from worker %s resumed on workers %v", issuer, resumedOn)
}

// TestTLSResumeAcrossWorkersTLS13: Go's client with a session cache, TLS
// 1.3 (the server sends a ticket after each handshake, read with the
// response): every connection after the first resumes, on both workers.
func TestTLSResumeAcrossWorkersTLS13(t *testing.T) {
	env := newTLSEnv(t)
	s := startTLSServer(t, env, "--workers", "2", "--log-level", "4")
	h := s.handler("h1")
	cfg := env.clientConfig("localhost")
	cfg.MinVersion = tls.VersionTLS13
	cfg.ClientSessionCache = tls.NewLRUClientSessionCache(8)
	get := func(i int) (resumed bool, worker, how string) {
		t.Helper()
		m := s.logMark()
		c := tlsMustDial(t, s.tlsAddr, cfg)
		defer c.Close()
		tlsRoundTrip(t, c, bufio.NewReader(c), h, "localhost", fmt.Sprintf("/r%d", i), "resume")
		worker, how = waitSwitchedLine(t, s.testServer, m)
		return c.ConnectionState().DidResume, worker, how
	}
	if did, _, how := get(0); did || how != "new session" {
		t.Fatalf("first connection: resumed %v, server logged %q", did, how)
	}
	resumedOn := map[string]int{}
	for i := 1; i <= maxResumeTries && (resumedOn["0"] == 0 || resumedOn["1"] == 0); i++ {
		did, w, how := get(i)
		if !did || how != "resumed" {
			t.Fatalf("connection %d on worker %s: client resumed %v, server logged %q", i, w, did, how)
		}
		resumedOn[w]++
	}
	if resumedOn["0"] == 0 || resumedOn["1"] == 0 {
		t.Fatalf("resumed on workers %v after %d connections; want both", resumedOn, maxResumeTries)
	}
}
