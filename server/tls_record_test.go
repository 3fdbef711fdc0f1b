package server

import (
	"bytes"
	"crypto/rand"
	"crypto/tls"
	"io"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/condure-go/condure/internal/tlsrecord"
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

// The record layer reads a multi-record upload fed in pieces that cut
// records, answers a KeyUpdate that asks for one (and seals under the new
// key afterwards), holds no ciphertext block once drained, and treats
// close_notify as the end of input for good.
func TestRecordLayerUploadKeyUpdateClose(t *testing.T) {
	fx := &fakeFx{t: t, in: map[int][]byte{}, fin: map[int]bool{}, out: map[int][]byte{}, closed: map[int]bool{}, stalled: map[int]bool{}}
	w := &Worker{fx: fx, tlsBufs: newBufPool(tlsRecordBuf), tlsCiphers: make([]tlsrecord.Ciphers, tlsCipherCache)}
	cSecret, sSecret := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	srv, err := tlsrecord.NewTLS13(tls.TLS_AES_128_GCM_SHA256, cSecret, sSecret, true)
	if err != nil {
		t.Fatal(err)
	}
	cli, _ := tlsrecord.NewTLS13(tls.TLS_AES_128_GCM_SHA256, cSecret, sSecret, false)
	s := &recState{rec: srv}
	c := &conn{fd: 7}
	var ccs tlsrecord.Ciphers
	upload := make([]byte, 100000)
	rand.Read(upload)
	wire, _ := cli.Seal(&ccs, nil, tlsrecord.TypeApplicationData, upload)
	wire, _ = cli.SealKeyUpdate(&ccs, wire, true)
	wire, _ = cli.Seal(&ccs, wire, tlsrecord.TypeApplicationData, []byte("after"))
	var got []byte
	buf := make([]byte, 4096)
	for off := 0; off < len(wire); off += 1000 {
		fx.in[7] = append(fx.in[7], wire[off:min(off+1000, len(wire))]...)
		c.flags |= fCanRead
		for {
			n, err := w.readRecords(0, c, s, buf)
			if err == unix.EAGAIN {
				break
			}
			if err != nil {
				t.Fatalf("read at %d: %v", off, err)
			}
			got = append(got, buf[:n]...)
		}
	}
	if !bytes.Equal(got, append(upload, "after"...)) {
		t.Fatalf("read %d bytes, not the %d sent", len(got), len(upload)+5)
	}
	if s.cbuf != 0 {
		t.Fatal("a drained connection keeps its ciphertext block")
	}
	// The KeyUpdate's answer, then data sealed under the next key.
	out := fx.out[7]
	if n, data, _, err := cli.Read(&ccs, out, nil); err != nil || n != len(out) || len(data) != 0 {
		t.Fatalf("server's answer: %d of %d bytes, data %q, %v", n, len(out), data, err)
	}
	iov, err := w.sealRecords(0, s, [][]byte{[]byte("re"), []byte("ply")})
	if err != nil {
		t.Fatal(err)
	}
	if _, data, _, err := cli.Read(&ccs, iov[0], nil); err != nil || string(data) != "reply" {
		t.Fatalf("reply after the KeyUpdate: %q, %v", data, err)
	}
	// close_notify ends the input; records after it are not read.
	cn, _ := cli.SealAlert(&ccs, nil, tlsrecord.AlertCloseNotify)
	more, _ := cli.Seal(&ccs, nil, tlsrecord.TypeApplicationData, []byte("late"))
	fx.in[7] = append(cn, more...)
	c.flags |= fCanRead
	for i := 0; i < 2; i++ {
		if n, err := w.readRecords(0, c, s, buf); err != io.EOF {
			t.Fatalf("read %d after close_notify: %d bytes, %v; want EOF", i, n, err)
		}
	}
}

// A kept-alive exchange on the record layer allocates nothing: a request
// record read (the block lent and returned), a response sealed.
func TestRecordLayerNoAllocs(t *testing.T) {
	fx := &fakeFx{t: t, in: map[int][]byte{}, fin: map[int]bool{}, out: map[int][]byte{}, closed: map[int]bool{}, stalled: map[int]bool{}}
	w := &Worker{fx: fx, tlsBufs: newBufPool(tlsRecordBuf), tlsCiphers: make([]tlsrecord.Ciphers, tlsCipherCache)}
	secret := bytes.Repeat([]byte{3}, 32)
	srv, _ := tlsrecord.NewTLS13(tls.TLS_AES_128_GCM_SHA256, secret, secret, true)
	cli, _ := tlsrecord.NewTLS13(tls.TLS_AES_128_GCM_SHA256, secret, secret, false)
	s := &recState{rec: srv}
	c := &conn{fd: 7}
	var ccs tlsrecord.Ciphers
	req := []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	resp := [][]byte{[]byte("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"), []byte("hello")}
	wire := make([]byte, 0, 256)
	buf := make([]byte, 4096)
	exchange := func() {
		wire, _ = cli.Seal(&ccs, wire[:0], tlsrecord.TypeApplicationData, req)
		fx.in[7] = wire
		c.flags |= fCanRead
		if n, err := w.readRecords(0, c, s, buf); err != nil || n != len(req) {
			t.Fatalf("read %d, %v", n, err)
		}
		// Drained: the block is back before the next read (which, for a
		// request in progress, may not come until the response is out).
		if s.cbuf != 0 {
			t.Fatal("the drained request's ciphertext block is still lent")
		}
		if _, err := w.readRecords(0, c, s, buf); err != unix.EAGAIN {
			t.Fatalf("then %v, want EAGAIN", err)
		}
		if _, err := w.sealRecords(0, s, resp); err != nil {
			t.Fatal(err)
		}
	}
	exchange()
	if a := testing.AllocsPerRun(100, exchange); a != 0 {
		t.Fatalf("%.1f allocations per exchange", a)
	}
}
