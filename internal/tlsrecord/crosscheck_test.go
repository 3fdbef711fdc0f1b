package tlsrecord

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"testing"
)

// The suites crypto/tls can be made to negotiate with its own client:
// TLS 1.2 ones are chosen by the client's list; TLS 1.3 gives no control
// (crypto/tls picks AES-128-GCM on CPUs with AES instructions), so the
// other TLS 1.3 suites are covered by the symmetric tests and vectors.
var crossCases = []struct {
	name  string
	vers  uint16
	suite uint16
}{
	{"tls13", tls.VersionTLS13, 0},
	{"tls12-aes128gcm", tls.VersionTLS12, tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256},
	{"tls12-aes256gcm", tls.VersionTLS12, tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384},
	{"tls12-chacha20", tls.VersionTLS12, tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305},
}

func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i*7)
	}
	return b
}

// TestCrossCheck: after a crypto/tls handshake, the server's records are
// this package's; a real crypto/tls client must read what it seals
// (one byte, one full record, several records from several parts) and it
// must open what the client sends, then close_notify both ways.
func TestCrossCheck(t *testing.T) {
	for _, tc := range crossCases {
		t.Run(tc.name, func(t *testing.T) {
			s := handshake(t, tc.vers, tc.suite, nil)
			for _, size := range []int{1, 100, MaxPlaintext, 3*MaxPlaintext + 17} {
				req := pattern(size, byte(size))
				go s.client.Write(req)
				got, err := s.serverRead(t, size)
				if err != nil || !bytes.Equal(got, req) {
					t.Fatalf("size %d: server read %d bytes (err %v), want the client's %d", size, len(got), err, size)
				}
				resp := pattern(size, byte(size+1))
				s.serverWrite(t, resp[:size/3], resp[size/3:size/2], nil, resp[size/2:])
				back := make([]byte, size)
				if _, err := io.ReadFull(s.client, back); err != nil || !bytes.Equal(back, resp) {
					t.Fatalf("size %d: client read: %v", size, err)
				}
			}
			// the client ends first: close_notify reaches the server
			if err := s.client.CloseWrite(); err != nil {
				t.Fatal(err)
			}
			if _, err := s.serverRead(t, 1); !errors.Is(err, ErrCloseNotify) {
				t.Fatalf("server read after the client's close_notify: %v, want ErrCloseNotify", err)
			}
			// and ours reaches the client as io.EOF
			out, err := s.rc.SealAlert(&s.cs, nil, AlertCloseNotify)
			if err != nil {
				t.Fatal(err)
			}
			s.s2c.write(out)
			if n, err := s.client.Read(make([]byte, 1)); n != 0 || err != io.EOF {
				t.Fatalf("client read after our close_notify: %d, %v; want io.EOF", n, err)
			}
		})
	}
}

// TestCrossCheckKeyUpdate: we send KeyUpdate asking for one back; the real
// client must read our data under the new keys, answer with its own
// KeyUpdate, and we must read its next data under its new keys.
func TestCrossCheckKeyUpdate(t *testing.T) {
	s := handshake(t, tls.VersionTLS13, 0, nil)
	for round := 0; round < 3; round++ {
		out, err := s.rc.SealKeyUpdate(&s.cs, nil, true)
		if err != nil {
			t.Fatal(err)
		}
		out, err = s.rc.Seal(&s.cs, out, TypeApplicationData, []byte("after update"))
		if err != nil {
			t.Fatal(err)
		}
		if _, seq := s.rc.Seqs(); seq != 1 {
			t.Fatalf("write seq after KeyUpdate and one record: %d, want 1", seq)
		}
		s.s2c.write(out)
		back := make([]byte, len("after update"))
		if _, err := io.ReadFull(s.client, back); err != nil || string(back) != "after update" {
			t.Fatalf("round %d: client read %q, %v", round, back, err)
		}
		go s.client.Write([]byte("after its update"))
		got, err := s.serverRead(t, len("after its update"))
		if err != nil || string(got) != "after its update" {
			t.Fatalf("round %d: server read %q, %v", round, got, err)
		}
		if in, _ := s.rc.Seqs(); in != 1 {
			t.Fatalf("round %d: read seq %d after the client's KeyUpdate and one record, want 1", round, in)
		}
	}
}

// TestCrossCheckResumed: a TLS 1.3 resumption (session ticket) and a
// TLS 1.2 one hand over as well (TLS 1.2 abbreviated handshake: the server
// sends its Finished first).
func TestCrossCheckResumed(t *testing.T) {
	for _, tc := range crossCases[:2] {
		t.Run(tc.name, func(t *testing.T) {
			cache := tls.NewLRUClientSessionCache(4)
			scfg := serverConfig(t)
			s := handshakeWith(t, scfg, tc.vers, tc.suite, &tls.Config{ClientSessionCache: cache})
			s.serverWrite(t, []byte("x")) // the client reads the TLS 1.3 ticket on its way
			if _, err := io.ReadFull(s.client, make([]byte, 1)); err != nil {
				t.Fatal(err)
			}
			s = handshakeWith(t, scfg, tc.vers, tc.suite, &tls.Config{ClientSessionCache: cache})
			if !s.client.ConnectionState().DidResume {
				t.Fatal("second handshake did not resume")
			}
			go s.client.Write([]byte("resumed"))
			if got, err := s.serverRead(t, 7); err != nil || string(got) != "resumed" {
				t.Fatalf("server read %q, %v", got, err)
			}
			s.serverWrite(t, []byte("ok"))
			back := make([]byte, 2)
			if _, err := io.ReadFull(s.client, back); err != nil || string(back) != "ok" {
				t.Fatalf("client read %q, %v", back, err)
			}
		})
	}
}

// TestCrossCheckAlert: a fatal alert we send ends the client's reads with
// that alert.
func TestCrossCheckAlert(t *testing.T) {
	s := handshake(t, tls.VersionTLS13, 0, nil)
	out, err := s.rc.SealAlert(&s.cs, nil, AlertUnexpectedMessage)
	if err != nil {
		t.Fatal(err)
	}
	s.s2c.write(out)
	_, err = s.client.Read(make([]byte, 1))
	if err == nil || !bytes.Contains([]byte(err.Error()), []byte("unexpected message")) {
		t.Fatalf("client read after our alert: %v, want unexpected message", err)
	}
}
