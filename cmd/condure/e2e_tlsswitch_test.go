package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The record layer switch (server/tls_record.go): after crypto/tls's
// handshake the worker runs the TLS record layer itself. These tests drive
// it with OpenSSL's s_client (every AEAD suite, KeyUpdate both ways,
// close_notify, a resumed TLS 1.2 session) and Go's client, and check in
// the log that the record layer did take over.

const switchedLine = "record layer took over"

// sClient is an interactive openssl s_client: lines written to in are sent
// (a line "k" or "K" is its KeyUpdate command), out collects what it prints.
type sClient struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *syncBuffer
}

func startSClient(t *testing.T, addr string, args ...string) *sClient {
	t.Helper()
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl is not installed")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	// Neither -quiet nor -ign_eof: the connected commands stay enabled.
	cmd := exec.CommandContext(ctx, "openssl", append([]string{"s_client", "-connect", addr, "-servername", "localhost", "-msg"}, args...)...)
	cmd.WaitDelay = 2 * time.Second
	c := &sClient{cmd: cmd, out: &syncBuffer{}}
	cmd.Stdout, cmd.Stderr = c.out, c.out
	var err error
	if c.in, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.in.Close()
		cmd.Wait()
		if t.Failed() {
			t.Logf("s_client output:\n%s", c.out.String())
		}
	})
	return c
}

func (c *sClient) send(t *testing.T, s string) {
	t.Helper()
	if _, err := io.WriteString(c.in, s); err != nil {
		t.Fatalf("s_client stdin: %v", err)
	}
}

// wait waits until the output matches re at least n times.
func (c *sClient) wait(t *testing.T, re *regexp.Regexp, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for len(re.FindAllStringIndex(c.out.String(), -1)) < n {
		if time.Now().After(deadline) {
			t.Fatalf("s_client output does not match %q %d times", re, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitSwitched waits until n connections since mark were switched to the
// record layer.
func waitSwitched(t *testing.T, s *tlsServer, mark, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for strings.Count(s.log.String()[mark:], switchedLine) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d connections switched to the record layer, want %d", strings.Count(s.log.String()[mark:], switchedLine), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var (
	reServerKeyUpdate   = regexp.MustCompile(`<<< TLS 1\.3, Handshake \[length 0005\], KeyUpdate`)
	reClientKeyUpdate   = regexp.MustCompile(`>>> TLS 1\.3, Handshake \[length 0005\], KeyUpdate`)
	reServerCloseNotify = regexp.MustCompile(`<<< TLS 1\.[23], Alert \[length 0002\], warning close_notify`)
)

// TestTLSSwitchOpenSSL: s_client on each TLS 1.3 suite and each TLS 1.2
// AEAD suite: requests before and after KeyUpdates (TLS 1.3: one asking
// the server to update too, which it must answer, and one not), then a
// Connection: close response followed by the server's close_notify.
func TestTLSSwitchOpenSSL(t *testing.T) {
	env := newTLSEnv(t)
	s := startTLSServer(t, env, "--log-level", "4")
	h := s.handler("h1")
	cases := []struct{ name, ver, flag, suite string }{
		{"tls13_aes128", "-tls1_3", "-ciphersuites", "TLS_AES_128_GCM_SHA256"},
		{"tls13_aes256", "-tls1_3", "-ciphersuites", "TLS_AES_256_GCM_SHA384"},
		{"tls13_chacha20", "-tls1_3", "-ciphersuites", "TLS_CHACHA20_POLY1305_SHA256"},
		{"tls12_aes128", "-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256"},
		{"tls12_aes256", "-tls1_2", "-cipher", "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384"},
		{"tls12_chacha20", "-tls1_2", "-cipher", "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := s.logMark()
			c := startSClient(t, s.tlsAddr, tc.ver, tc.flag, tc.suite)
			get := func(i int, last bool) {
				t.Helper()
				hdr := ""
				if last {
					hdr = "Connection: close\r\n"
				}
				c.send(t, fmt.Sprintf("GET /%d HTTP/1.1\r\nHost: localhost\r\n%s\r\n", i, hdr))
				req := recv(t, h, "")
				if str(req, "uri") != fmt.Sprintf("https://localhost/%d", i) {
					t.Fatalf("uri %q", str(req, "uri"))
				}
				body := fmt.Sprintf("body-%s-%d", tc.name, i)
				newSession(t, h, req).respond(200, "OK", body, false)
				c.wait(t, regexp.MustCompile(regexp.QuoteMeta(body)), 1)
			}
			get(1, false)
			waitSwitched(t, s, m, 1)
			n := 2
			if tc.ver == "-tls1_3" {
				c.send(t, "K\n") // KeyUpdate, update_requested: answered
				c.wait(t, reServerKeyUpdate, 1)
				get(n, false)
				n++
				c.send(t, "k\n") // KeyUpdate, not requested: not answered
				// s_client drops what it read with a command: the next
				// request goes once the KeyUpdate is out.
				c.wait(t, reClientKeyUpdate, 2)
				get(n, false)
				n++
				if got := len(reServerKeyUpdate.FindAllString(c.out.String(), -1)); got != 1 {
					t.Fatalf("server sent %d KeyUpdates, want 1", got)
				}
			}
			get(n, true)
			c.wait(t, reServerCloseNotify, 1)
		})
	}
}

// TestTLSSwitchResumedTLS12: a TLS 1.2 session resumed from its ticket
// (s_client -sess_out, -sess_in), where crypto/tls logs no key, runs on the
// record layer too.
func TestTLSSwitchResumedTLS12(t *testing.T) {
	env := newTLSEnv(t)
	s := startTLSServer(t, env, "--log-level", "4")
	h := s.handler("h1")
	sess := filepath.Join(t.TempDir(), "sess")
	m := s.logMark()
	for i, arg := range []string{"-sess_out", "-sess_in"} {
		c := startSClient(t, s.tlsAddr, "-tls1_2", arg, sess)
		c.send(t, fmt.Sprintf("GET /r%d HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", i))
		req := recv(t, h, "")
		body := fmt.Sprintf("resumed-body-%d", i)
		newSession(t, h, req).respond(200, "OK", body, false)
		c.wait(t, regexp.MustCompile(body), 1)
		c.wait(t, reServerCloseNotify, 1)
		waitSwitched(t, s, m, i+1)
		want := []string{"New, TLSv1.2", "Reused, TLSv1.2"}[i]
		c.wait(t, regexp.MustCompile(regexp.QuoteMeta(want)), 1)
		if i == 0 {
			if st, err := os.Stat(sess); err != nil || st.Size() == 0 {
				t.Fatalf("no session saved: %v", err)
			}
		}
	}
}

// TestTLSSwitchClientCloseNotify: a client that sends its request then
// close_notify (and keeps the socket open) gets its response, then the
// connection closes; TLS 1.2 and 1.3.
func TestTLSSwitchClientCloseNotify(t *testing.T) {
	env := newTLSEnv(t)
	s := startTLSServer(t, env, "--log-level", "4")
	h := s.handler("h1")
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		t.Run(tls.VersionName(v), func(t *testing.T) {
			m := s.logMark()
			cfg := env.clientConfig("localhost")
			cfg.MinVersion, cfg.MaxVersion = v, v
			c := tlsMustDial(t, s.tlsAddr, cfg)
			fmt.Fprintf(c, "GET /cn HTTP/1.1\r\nHost: localhost\r\n\r\n")
			if err := c.CloseWrite(); err != nil { // close_notify, no FIN
				t.Fatal(err)
			}
			req := recv(t, h, "")
			newSession(t, h, req).respond(200, "OK", "after close_notify", false)
			br := bufio.NewReader(c)
			if resp, body := readResponse(t, br, "GET"); resp.StatusCode != 200 || body != "after close_notify" {
				t.Fatalf("%d %q", resp.StatusCode, body)
			}
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			if n, err := br.Read(make([]byte, 1)); err != io.EOF {
				t.Fatalf("after the response: %d bytes, %v; want EOF (the server closes)", n, err)
			}
			waitSwitched(t, s, m, 1)
		})
	}
}

// TestTLSSwitchOff: CONDURE_TLS_RECORD=0 keeps every connection on
// crypto/tls.
func TestTLSSwitchOff(t *testing.T) {
	t.Setenv("CONDURE_TLS_RECORD", "0")
	env := newTLSEnv(t)
	s := startTLSServer(t, env, "--log-level", "4")
	h := s.handler("h1")
	c := tlsMustDial(t, s.tlsAddr, env.clientConfig("localhost"))
	tlsRoundTrip(t, c, bufio.NewReader(c), h, "localhost", "/off", "off")
	if strings.Contains(s.log.String(), switchedLine) {
		t.Fatal("record layer took over with the switch off")
	}
}
