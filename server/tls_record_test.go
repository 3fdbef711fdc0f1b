package server

import (
	"bytes"
	"testing"
)

// During the handshake a Read ends at the client's record boundaries
// (header, then body), so crypto/tls never buffers bytes sent after the
// Finished; the bytes it read are kept for the switch, the rest stays in
// the transport.
func TestMemTransportReadsByRecord(t *testing.T) {
	tr := newMemTransport(func() {}, func() {})
	tr.keys = &tlsKeys{}
	rec1 := append([]byte{22, 3, 3, 0, 4}, "abcd"...)
	rec2 := append([]byte{23, 3, 3, 0, 3}, "xyz"...)
	tr.feed(append(append([]byte{}, rec1...), rec2...))
	buf := make([]byte, 64)
	for i, want := range []int{5, 4} {
		n, err := tr.Read(buf)
		if err != nil || n != want {
			t.Fatalf("read %d: %d, %v; want %d bytes", i, n, err, want)
		}
	}
	if !bytes.Equal(tr.hsIn, rec1) {
		t.Fatalf("handshake input kept %q, want %q", tr.hsIn, rec1)
	}
	if !bytes.Equal(tr.in, rec2) {
		t.Fatalf("left in the transport %q, want %q", tr.in, rec2)
	}
	// A header split across feeds: still cut at the header's end.
	tr2 := newMemTransport(func() {}, func() {})
	tr2.feed(rec1[:3])
	if n, _ := tr2.Read(buf); n != 3 {
		t.Fatalf("partial header read %d", n)
	}
	tr2.feed(append(rec1[3:], rec2...))
	for i, want := range []int{2, 4, 5} {
		if n, err := tr2.Read(buf); err != nil || n != want {
			t.Fatalf("split read %d: %d, %v; want %d", i, n, err, want)
		}
	}
}
