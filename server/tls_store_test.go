package server

import (
	"bytes"
	"crypto/tls"
	"testing"

	"github.com/condure-go/condure/internal/tlsrecord"
)

// The record store allocates a chunk only when a slot in its range first
// switches, one per recChunk slots, and gives each slot its own entry.
func TestRecStoreChunks(t *testing.T) {
	var st recStore
	st.init(3*recChunk - 10)
	if len(st.chunks) != 3 {
		t.Fatalf("%d chunks for %d slots, want 3", len(st.chunks), 3*recChunk-10)
	}
	a := st.alloc(recChunk - 1)
	if st.chunks[0] == nil || st.chunks[1] != nil || st.chunks[2] != nil {
		t.Fatal("alloc of the first chunk's last slot allocated other chunks")
	}
	b := st.alloc(recChunk)
	if st.chunks[1] == nil || a == b {
		t.Fatal("the second chunk's first slot is not in a chunk of its own")
	}
	a.cs, b.cs = 1, 2
	if st.get(recChunk-1).cs != 1 || st.get(recChunk).cs != 2 {
		t.Fatal("get does not return alloc's entries")
	}
	if n := testing.AllocsPerRun(100, func() { st.alloc(recChunk + 5) }); n != 0 {
		t.Fatalf("%.0f allocations per alloc in an existing chunk", n)
	}
}

// The trimmer's release drops the cached AEADs; a connection that sends
// afterwards rebuilds its pair and its records still open on the other end.
func TestReleaseDropsAEADs(t *testing.T) {
	w := &Worker{tlsBufs: newBufPool(tlsRecordBuf), tlsCiphers: make([]tlsrecord.Ciphers, tlsCipherCache)}
	secret := bytes.Repeat([]byte{5}, 32)
	srv, _ := tlsrecord.NewTLS13(tls.TLS_AES_128_GCM_SHA256, secret, secret, true)
	cli, _ := tlsrecord.NewTLS13(tls.TLS_AES_128_GCM_SHA256, secret, secret, false)
	r := &recState{rec: srv}
	var ccs tlsrecord.Ciphers
	for i := range 2 {
		iov, err := w.sealRecords(3, r, [][]byte{[]byte("hello")})
		if err != nil {
			t.Fatal(err)
		}
		if w.tlsCiphers[3] == (tlsrecord.Ciphers{}) {
			t.Fatal("sealing cached no AEAD")
		}
		if _, data, _, err := cli.Read(&ccs, iov[0], nil); err != nil || string(data) != "hello" {
			t.Fatalf("record %d: %q, %v", i, data, err)
		}
		w.dropFreeBlocks()
		if w.tlsCiphers[3] != (tlsrecord.Ciphers{}) {
			t.Fatal("the AEAD cache kept an entry through the release")
		}
	}
}
