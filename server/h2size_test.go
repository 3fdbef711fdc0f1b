package server

import (
	"testing"
	"unsafe"
)

// The per-connection HTTP/2 block: the HPACK table storage and some 100
// bytes of state (docs/design.md "HTTP/2"). An idle h2 connection holds it
// and its conn slot, no session and no buffer.
func TestH2BlockSize(t *testing.T) {
	n := unsafe.Sizeof(h2conn{})
	t.Logf("h2conn block: %d bytes (table %d)", n, h2TableLen)
	if n > h2TableLen+128 {
		t.Fatalf("h2conn block %d bytes: more than the table and 128 bytes of state", n)
	}
}
