package tlsrecord

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// boundedConn is the server's socket during the handshake: crypto/tls
// reads at most to the end of the current record (so it never holds bytes
// past the client's Finished), and every byte read and written is kept.
type boundedConn struct {
	net.Conn
	buf            []byte // read from the socket, not yet given to crypto/tls
	consumed, sent []byte
}

func (c *boundedConn) Read(p []byte) (int, error) {
	if len(c.buf) == 0 {
		tmp := make([]byte, 32<<10)
		n, err := c.Conn.Read(tmp)
		if n == 0 {
			return 0, err
		}
		c.buf = append(c.buf, tmp[:n]...)
	}
	n := copy(p, c.buf[:recordBound(c.buf)])
	c.consumed = append(c.consumed, c.buf[:n]...)
	c.buf = c.buf[n:]
	return n, nil
}

func (c *boundedConn) Write(p []byte) (int, error) {
	c.sent = append(c.sent, p...)
	return c.Conn.Write(p)
}

// TestOpenSSLClient: OpenSSL's s_client (a non-Go TLS stack) against a
// server whose handshake crypto/tls does and whose records this package
// then runs, for the TLS 1.3 suites crypto/tls's own client cannot be made
// to pick. The client first sends KeyUpdate with update_requested (its "K"
// command), then a line; the server answers the KeyUpdate, reads the line
// under the client's new keys and answers a line under its own new keys,
// which the client must print.
func TestOpenSSLClient(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("no openssl")
	}
	for _, suite := range []string{"TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256", "TLS_AES_128_GCM_SHA256"} {
		t.Run(suite, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			cmd := exec.Command("openssl", "s_client", "-connect", ln.Addr().String(), "-tls1_3", "-ciphersuites", suite)
			stdin, _ := cmd.StdinPipe()
			var out syncBuf
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer cmd.Process.Kill()
			ln.(*net.TCPListener).SetDeadline(time.Now().Add(10 * time.Second))
			raw, err := ln.Accept()
			if err != nil {
				t.Fatal(err)
			}
			defer raw.Close()
			raw.SetDeadline(time.Now().Add(10 * time.Second))
			kl := &keyLog{}
			bc := &boundedConn{Conn: raw}
			sc := tls.Server(bc, &tls.Config{Certificates: []tls.Certificate{cert(t)}, KeyLogWriter: kl})
			if err := sc.Handshake(); err != nil {
				t.Fatal(err, out.String())
			}
			st := sc.ConnectionState()
			if tls.CipherSuiteName(st.CipherSuite) != suite {
				t.Fatalf("negotiated %s", tls.CipherSuiteName(st.CipherSuite))
			}
			rc, err := NewTLS13(st.CipherSuite, kl.secret(t, LabelClientTraffic), kl.secret(t, LabelServerTraffic), true)
			if err != nil {
				t.Fatal(err)
			}
			if err := rc.SyncOut(bc.sent); err != nil {
				t.Fatal(err)
			}
			if err := rc.SyncIn(bc.consumed); err != nil {
				t.Fatal(err)
			}
			var cs Ciphers
			// s_client takes one read of its stdin as one command or line
			io.WriteString(stdin, "K\n")
			sentLine := false
			rest := bc.buf
			var got, replies []byte
			tmp := make([]byte, 32<<10)
			for !bytes.Contains(got, []byte("hello from openssl\n")) {
				n, data, reply, err := rc.Read(&cs, rest, nil)
				if len(reply) > 0 {
					replies = append(replies, reply...)
					if _, err := raw.Write(reply); err != nil {
						t.Fatal(err)
					}
					if !sentLine { // the KeyUpdate is in: now the line
						io.WriteString(stdin, "hello from openssl\n")
						sentLine = true
					}
				}
				if err != nil {
					t.Fatalf("read: %v (so far %q)", err, got)
				}
				if n > 0 {
					got = append(got, data...)
					rest = rest[n:]
					continue
				}
				m, err := raw.Read(tmp)
				if err != nil {
					t.Fatalf("socket: %v; have %q; client said:\n%s", err, got, out.String())
				}
				rest = append(rest, tmp[:m]...)
			}
			if len(replies) == 0 {
				t.Fatal("the client's KeyUpdate asked for ours, none was sent")
			}
			resp, err := rc.Seal(&cs, nil, TypeApplicationData, []byte("hello from tlsrecord\n"))
			if err != nil {
				t.Fatal(err)
			}
			raw.Write(resp)
			deadline := time.Now().Add(5 * time.Second)
			for !strings.Contains(out.String(), "hello from tlsrecord") {
				if time.Now().After(deadline) {
					t.Fatalf("the client did not print our line:\n%s", out.String())
				}
				time.Sleep(5 * time.Millisecond)
			}
			// close_notify both ways: stdin EOF makes s_client close
			stdin.Close()
			for {
				n, _, _, err := rc.Read(&cs, rest, nil)
				if errors.Is(err, ErrCloseNotify) {
					break
				}
				if err != nil {
					t.Fatalf("waiting for close_notify: %v", err)
				}
				if n > 0 {
					rest = rest[n:]
					continue
				}
				m, err := raw.Read(tmp)
				if err != nil {
					t.Fatalf("socket before close_notify: %v", err)
				}
				rest = append(rest, tmp[:m]...)
			}
		})
	}
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }
