package tlsrecord

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// fuzzSuites: one of each record construction (TLS 1.3, TLS 1.2 with an
// explicit nonce, TLS 1.2 ChaCha20), picked by the input's first byte.
var fuzzSuites = []uint16{tls.TLS_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305}

// FuzzRead feeds arbitrary bytes to a server Conn: it must not panic,
// must consume whole records only, and must return data inside its input.
// The seeds (testdata/fuzz/FuzzRead) are valid records of each kind, so
// mutations reach past the header and authentication checks only through
// the fuzzer's luck, but they exercise framing, lengths and truncation.
func FuzzRead(f *testing.F) {
	for _, seed := range fuzzSeeds(f) {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) == 0 {
			return
		}
		_, s := pair(t, fuzzSuites[int(in[0])%len(fuzzSuites)])
		var cs Ciphers
		b := append([]byte(nil), in[1:]...)
		for len(b) > 0 {
			n, data, _, err := s.Read(&cs, b, nil)
			if n > len(b) || len(data) > n {
				t.Fatalf("n %d, data %d, of %d bytes", n, len(data), len(b))
			}
			if err != nil || n == 0 {
				return
			}
			b = b[n:]
		}
	})
}

// FuzzSealOpen: whatever is sealed opens to the same bytes.
func FuzzSealOpen(f *testing.F) {
	f.Add(byte(0), []byte("hello"))
	f.Add(byte(1), bytes.Repeat([]byte{0}, 100))
	f.Add(byte(2), []byte{})
	f.Fuzz(func(t *testing.T, which byte, msg []byte) {
		c, s := pair(t, suites[int(which)%len(suites)].id)
		var ccs, scs Ciphers
		rec, err := c.Seal(&ccs, nil, TypeApplicationData, msg)
		if err != nil {
			t.Fatal(err)
		}
		got, _, err := readAll(s, &scs, rec)
		if err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("sealed %d bytes, opened %d: %v", len(msg), len(got), err)
		}
	})
}

// fuzzSeeds are records the client of pair seals, per fuzz suite: data,
// KeyUpdate, alerts, two records, a cut record.
func fuzzSeeds(t testing.TB) [][]byte {
	var seeds [][]byte
	for i, id := range fuzzSuites {
		c, _ := pair(t, id)
		var cs Ciphers
		var b []byte
		b, _ = c.Seal(&cs, b, TypeApplicationData, []byte("GET / HTTP/1.1\r\n\r\n"))
		if i == 0 {
			b, _ = c.Seal(&cs, b, TypeHandshake, []byte{typeKeyUpdate, 0, 0, 1, 1})
			c.out.update(c.s())
		}
		b, _ = c.Seal(&cs, b, TypeAlert, []byte{1, 0})
		seeds = append(seeds, append([]byte{byte(i)}, b...))
		seeds = append(seeds, append([]byte{byte(i)}, b[:len(b)/2]...))
	}
	return seeds
}

// TestWriteFuzzSeeds regenerates testdata/fuzz/FuzzRead with
// TLSRECORD_WRITE_SEEDS=1 (the seeds are also added in code).
func TestWriteFuzzSeeds(t *testing.T) {
	if os.Getenv("TLSRECORD_WRITE_SEEDS") == "" {
		t.Skip("TLSRECORD_WRITE_SEEDS not set")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzRead")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i, s := range fuzzSeeds(t) {
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", s)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed%d", i)), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
