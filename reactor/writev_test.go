package reactor

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestAdvance(t *testing.T) {
	bs := func(ss ...string) [][]byte {
		out := make([][]byte, len(ss))
		for i, s := range ss {
			out[i] = []byte(s)
		}
		return out
	}
	cases := []struct {
		name string
		in   [][]byte
		n    int
		want []string
	}{
		{"zero", bs("abc", "de"), 0, []string{"abc", "de"}},
		{"inside_first", bs("abc", "de"), 2, []string{"c", "de"}},
		{"end_of_first", bs("abc", "de"), 3, []string{"de"}},
		{"spans_two", bs("abc", "de", "fgh"), 4, []string{"e", "fgh"}},
		{"end_of_second", bs("abc", "de", "fgh"), 5, []string{"fgh"}},
		{"all", bs("abc", "de"), 5, []string{}},
		{"beyond", bs("abc"), 10, []string{}},
		{"empty_after_boundary", bs("ab", "", "", "c"), 2, []string{"c"}},
		{"leading_empty", bs("", "ab"), 0, []string{"ab"}},
		{"trailing_empty", bs("ab", ""), 2, []string{}},
		{"empty_input", nil, 0, []string{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			orig := c.in
			got := Advance(c.in, c.n)
			if len(got) != len(c.want) {
				t.Fatalf("Advance = %q, want %q", got, c.want)
			}
			for i := range got {
				if string(got[i]) != c.want[i] {
					t.Fatalf("Advance = %q, want %q", got, c.want)
				}
			}
			// In place: the result shares the caller's backing array.
			if len(got) > 0 && &got[len(got)-1] != &orig[len(orig)-1] {
				t.Fatal("Advance copied the slice")
			}
		})
	}
}

func TestWritevBasics(t *testing.T) {
	a, b := socketpair(t)
	var w Writer
	if n, err := w.Writev(a, nil); n != 0 || err != nil {
		t.Fatalf("Writev(nil) = %d, %v", n, err)
	}
	if n, err := w.Writev(a, [][]byte{nil, {}}); n != 0 || err != nil {
		t.Fatalf("Writev(empties) = %d, %v", n, err)
	}
	n, err := w.Writev(a, [][]byte{[]byte("HTTP/1.1 200 OK\r\n"), nil, []byte("\r\n"), []byte("body")})
	if err != nil || n != 23 {
		t.Fatalf("Writev = %d, %v", n, err)
	}
	buf := make([]byte, 64)
	m, _ := Read(b, buf)
	if string(buf[:m]) != "HTTP/1.1 200 OK\r\n\r\nbody" {
		t.Fatalf("peer read %q", buf[:m])
	}
	for i := range w.iov {
		if w.iov[i].Base != nil {
			t.Fatal("Writer keeps a reference to the caller's buffer")
		}
	}
	if _, err := w.Writev(-1, [][]byte{buf}); !errors.Is(err, unix.EBADF) {
		t.Fatalf("Writev on a bad fd: %v", err)
	}
}

func TestWritevIovecCap(t *testing.T) {
	a, b := socketpair(t)
	bufs := make([][]byte, 3000)
	for i := range bufs {
		if i%2 == 0 {
			bufs[i] = []byte{byte(i)}
		} // odd ones empty: skipped without counting toward the cap
	}
	var w Writer
	n, err := w.Writev(a, bufs)
	if err != nil || n != maxIovecs {
		t.Fatalf("Writev of 1500 one-byte buffers = %d, %v; want %d (the iovec cap)", n, err, maxIovecs)
	}
	got := make([]byte, 4096)
	m, _ := Read(b, got)
	for i := range m {
		if got[i] != byte(2*i) {
			t.Fatalf("byte %d = %d, want %d", i, got[i], byte(2*i))
		}
	}
}

func TestWritevEAGAIN(t *testing.T) {
	a, _ := socketpair(t)
	var w Writer
	chunk := [][]byte{make([]byte, 64<<10)}
	for i := 0; ; i++ {
		_, err := w.Writev(a, chunk)
		if err == unix.EAGAIN {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		if i > 10000 {
			t.Fatal("socket never filled")
		}
	}
}

func TestWritevNoAllocs(t *testing.T) {
	a, b := socketpair(t)
	var w Writer
	bufs := [][]byte{[]byte("head"), []byte("er\r\n\r\n"), nil, []byte("body")}
	scratch := make([]byte, 64)
	allocs := testing.AllocsPerRun(200, func() {
		if n, err := w.Writev(a, bufs); err != nil || n != 14 {
			t.Fatalf("Writev = %d, %v", n, err)
		}
		if n, err := Read(b, scratch); err != nil || n != 14 {
			t.Fatalf("Read = %d, %v", n, err)
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per Writev+Read, want 0", allocs)
	}
}

// TestWritevPartialWrites writes 5 MB in a few thousand buffers of random
// sizes (some empty) through a small send buffer to a slow reader, following
// partial writes with Advance and EvOut, and checks that the reader got every
// byte in order; over loopback TCP and over a unix socketpair.
func TestWritevPartialWrites(t *testing.T) {
	t.Run("tcp", func(t *testing.T) {
		lfd, port := listenLoopback(t)
		cfd := dialLoopback(t, port)
		a, _ := NewAcceptor()
		defer a.Close()
		sfd, _ := acceptWait(t, a, lfd)
		// (A receive buffer below the loopback MSS would stall TCP on
		// zero-window probes, so only the send side is small.)
		if err := unix.SetsockoptInt(cfd, unix.SOL_SOCKET, unix.SO_RCVBUF, 128<<10); err != nil {
			t.Fatal(err)
		}
		writevPartial(t, sfd, cfd, true)
	})
	t.Run("socketpair", func(t *testing.T) {
		sfd, cfd := socketpair(t)
		writevPartial(t, sfd, cfd, false)
	})
}

func writevPartial(t *testing.T, sfd, cfd int, tcp bool) {
	const total = 5 << 20
	rng := rand.New(rand.NewPCG(5, 6))
	payload := make([]byte, total)
	for i := range payload {
		payload[i] = byte(rng.Uint32())
	}
	var bufs [][]byte
	for off := 0; off < total; {
		n := min(total-off, rng.IntN(5000))
		bufs = append(bufs, payload[off:off+n:off+n])
		off += n
	}
	// A small send buffer makes every big writev partial.
	if err := unix.SetsockoptInt(sfd, unix.SOL_SOCKET, unix.SO_SNDBUF, 8192); err != nil {
		t.Fatal(err)
	}

	// Slow reader: small reads, and a pause every 256 KiB.
	var (
		wg       sync.WaitGroup
		received bytes.Buffer
		readErr  error
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		chunk := make([]byte, 3000)
		for received.Len() < total {
			if tcp {
				// Acknowledge at once: delayed ACKs (40 ms) against a
				// small send buffer would make this take seconds.
				unix.SetsockoptInt(cfd, unix.IPPROTO_TCP, unix.TCP_QUICKACK, 1)
			}
			n, err := unix.Read(cfd, chunk)
			if err == unix.EINTR {
				continue
			}
			if err == unix.EAGAIN {
				pollIn(cfd, 1000)
				continue
			}
			if err != nil || n == 0 {
				readErr = fmt.Errorf("reader stopped at %d bytes: %d, %v", received.Len(), n, err)
				return
			}
			received.Write(chunk[:n])
			if received.Len()%(256<<10) < n {
				time.Sleep(2 * time.Millisecond)
			}
		}
	}()

	p := newPoller(t)
	if err := p.Add(sfd, EvOut, 9); err != nil {
		t.Fatal(err)
	}
	var w Writer
	sent, calls, partial, eagain := 0, 0, 0, 0
	deadline := time.Now().Add(60 * time.Second)
	for len(bufs) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("stuck after %d bytes", sent)
		}
		n, err := w.Writev(sfd, bufs)
		calls++
		if err == unix.EAGAIN {
			eagain++
			waitEvents(t, p, 1000) // edge: writable again
			continue
		}
		if err != nil {
			t.Fatalf("Writev after %d bytes: %v", sent, err)
		}
		offered, iovs := 0, 0
		for _, b := range bufs {
			if len(b) > 0 {
				if iovs == maxIovecs {
					break
				}
				offered += len(b)
				iovs++
			}
		}
		if n > offered || n == 0 {
			t.Fatalf("Writev wrote %d of %d offered bytes", n, offered)
		}
		if n < offered {
			partial++
		}
		sent += n
		bufs = Advance(bufs, n)
	}
	wg.Wait()
	if readErr != nil {
		t.Fatal(readErr)
	}
	if sent != total || !bytes.Equal(received.Bytes(), payload) {
		t.Fatalf("sent %d, received %d bytes; contents equal: %v", sent, received.Len(), bytes.Equal(received.Bytes(), payload))
	}
	if partial == 0 || eagain == 0 {
		t.Fatalf("test did not exercise partial writes (%d) and EAGAIN (%d)", partial, eagain)
	}
	t.Logf("%d bytes in %d writev calls: %d partial, %d EAGAIN", total, calls, partial, eagain)
}
