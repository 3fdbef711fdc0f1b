package reactor

import (
	"errors"
	"testing"

	"golang.org/x/sys/unix"
)

// Sendv and Recv keep Writev's and Read's contract on sockets: empties
// skipped, bytes in order, EAGAIN when empty or full, EOF as (0, nil), no
// reference kept, and no allocation.
func TestSendvRecv(t *testing.T) {
	a, b := socketpair(t)
	var w Writer
	buf := make([]byte, 64)
	if n, err := Recv(b, buf); n != 0 || err != unix.EAGAIN {
		t.Fatalf("Recv on an empty socket = %d, %v; want EAGAIN", n, err)
	}
	if n, err := w.Sendv(a, [][]byte{nil, {}}); n != 0 || err != nil {
		t.Fatalf("Sendv(empties) = %d, %v", n, err)
	}
	n, err := w.Sendv(a, [][]byte{[]byte("HTTP/1.1 200 OK\r\n"), nil, []byte("\r\n"), []byte("body")})
	if err != nil || n != 23 {
		t.Fatalf("Sendv = %d, %v", n, err)
	}
	m, err := Recv(b, buf)
	if err != nil || string(buf[:m]) != "HTTP/1.1 200 OK\r\n\r\nbody" {
		t.Fatalf("peer Recv %q, %v", buf[:m], err)
	}
	if n, err := w.Sendv(a, [][]byte{nil, []byte("one buffer"), {}}); err != nil || n != 10 {
		t.Fatalf("Sendv(one buffer among empties) = %d, %v", n, err)
	}
	if m, err = Recv(b, buf); err != nil || string(buf[:m]) != "one buffer" {
		t.Fatalf("peer Recv %q, %v", buf[:m], err)
	}
	for i := range w.iov {
		if w.iov[i].Base != nil {
			t.Fatal("Writer keeps a reference to the caller's buffer")
		}
	}
	bufs := [][]byte{[]byte("head"), []byte("er\r\n\r\n"), nil, []byte("body")}
	allocs := testing.AllocsPerRun(200, func() {
		if n, err := w.Sendv(a, bufs); err != nil || n != 14 {
			t.Fatalf("Sendv = %d, %v", n, err)
		}
		if n, err := Recv(b, buf); err != nil || n != 14 {
			t.Fatalf("Recv = %d, %v", n, err)
		}
		if n, err := w.Sendv(a, bufs[:1]); err != nil || n != 4 {
			t.Fatalf("Sendv(one) = %d, %v", n, err)
		}
		if n, err := Recv(b, buf); err != nil || n != 4 {
			t.Fatalf("Recv = %d, %v", n, err)
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per Sendv+Recv, want 0", allocs)
	}
	chunk := [][]byte{make([]byte, 64<<10)}
	for i := 0; ; i++ {
		_, err := w.Sendv(a, chunk)
		if err == unix.EAGAIN {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if i > 10000 {
			t.Fatal("socket never filled")
		}
	}
	unix.Shutdown(a, unix.SHUT_WR)
	for {
		n, err := Recv(b, chunk[0])
		if err != nil {
			t.Fatalf("Recv draining: %v", err)
		}
		if n == 0 {
			break // EOF
		}
	}
}

// A write to a socket whose peer is gone fails with EPIPE (MSG_NOSIGNAL:
// no signal either, which a test cannot see); a non-socket is refused.
func TestSendvPeerGoneAndNotSocket(t *testing.T) {
	a, b := socketpair(t)
	unix.Close(b)
	var w Writer
	if _, err := w.Sendv(a, [][]byte{[]byte("x")}); !errors.Is(err, unix.EPIPE) {
		t.Fatalf("Sendv to a closed peer: %v, want EPIPE", err)
	}
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_NONBLOCK|unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	defer unix.Close(p[0])
	defer unix.Close(p[1])
	if _, err := w.Sendv(p[1], [][]byte{[]byte("x")}); !errors.Is(err, unix.ENOTSOCK) {
		t.Fatalf("Sendv to a pipe: %v, want ENOTSOCK", err)
	}
	if _, err := Recv(p[0], make([]byte, 4)); !errors.Is(err, unix.ENOTSOCK) {
		t.Fatalf("Recv from a pipe: %v, want ENOTSOCK", err)
	}
}
