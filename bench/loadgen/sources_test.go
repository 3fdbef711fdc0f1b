package main

import (
	"bytes"
	"testing"
)

func TestParseSources(t *testing.T) {
	got, err := parseSources("127.0.0.2-127.0.0.60")
	if err != nil || len(got) != 59 || got[0] != [4]byte{127, 0, 0, 2} || got[58] != [4]byte{127, 0, 0, 60} {
		t.Fatalf("range: %d %v %v", len(got), got, err)
	}
	got, err = parseSources("127.0.0.250-127.0.1.3, 127.9.9.9,127.0.0.5-7")
	want := [][4]byte{{127, 0, 0, 250}, {127, 0, 0, 251}, {127, 0, 0, 252}, {127, 0, 0, 253}, {127, 0, 0, 254}, {127, 0, 0, 255},
		{127, 0, 1, 0}, {127, 0, 1, 1}, {127, 0, 1, 2}, {127, 0, 1, 3}, {127, 9, 9, 9}, {127, 0, 0, 5}, {127, 0, 0, 6}, {127, 0, 0, 7}}
	if err != nil || len(got) != len(want) {
		t.Fatalf("got %v %v", got, err)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("item %d: got %v want %v", i, got[i], want[i])
		}
	}
	if got, err := parseSources(" "); got != nil || err != nil {
		t.Fatal("empty list")
	}
	for _, bad := range []string{"10.0.0.1", "127.0.0.9-127.0.0.2", "127.0.0.1-10.0.0.1", "::1", "127.0.0.x", "127.0.0.2-300", "127.0.0.0-127.1.0.1"} {
		if _, err := parseSources(bad); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

func TestParseTarget(t *testing.T) {
	ip, port, err := parseTarget("127.0.0.1:8000")
	if err != nil || ip != [4]byte{127, 0, 0, 1} || port != 8000 {
		t.Fatal(ip, port, err)
	}
	for _, bad := range []string{"8.8.8.8:80", "localhost:80", "127.0.0.1", "127.0.0.1:0", "[::1]:80"} {
		if _, _, err := parseTarget(bad); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

func TestParseCounts(t *testing.T) {
	got, err := parseCounts("1000, 5k,1M")
	if err != nil || len(got) != 3 || got[0] != 1000 || got[1] != 5000 || got[2] != 1000000 {
		t.Fatal(got, err)
	}
	for _, bad := range []string{"", "0", "5,5", "10,2", "x"} {
		if _, err := parseCounts(bad); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

func TestParseHead(t *testing.T) {
	h, err := parseHead([]byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\ncontent-length: 12\r\nConnection: Close\r\n\r\n"))
	if err != nil || h.status != 200 || h.length != 12 || h.chunked || !h.close {
		t.Fatalf("%+v %v", h, err)
	}
	h, err = parseHead([]byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + wsAccept + "\r\n\r\n"))
	if err != nil || h.status != 101 || h.length != -1 || h.close || string(h.accept) != wsAccept {
		t.Fatalf("%+v %v", h, err)
	}
	h, err = parseHead([]byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"))
	if err != nil || !h.chunked {
		t.Fatalf("%+v %v", h, err)
	}
	for _, bad := range []string{"HTTP/1.1 2x0 OK\r\n\r\n", "FOO\r\n\r\n", "HTTP/1.1 200 OK\r\nBad\r\n\r\n", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n"} {
		if _, err := parseHead([]byte(bad)); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

func TestFrames(t *testing.T) {
	for _, size := range []int{0, 5, 125, 126, 65535, 65536, 200000} {
		f := wsFrame(size)
		h, ok := parseFrameHead(f)
		if !ok || !h.fin || h.op != 1 || h.length != int64(size) || h.size+size != len(f) {
			t.Fatalf("size %d: %+v %v (frame %d bytes)", size, h, ok, len(f))
		}
		// Unmask and check the payload.
		mask := f[h.size-4 : h.size]
		for i, c := range f[h.size:] {
			if c^mask[i%4] != 'a'+byte(i%26) {
				t.Fatalf("size %d: byte %d", size, i)
			}
		}
		for cut := 0; cut < h.size; cut++ {
			if _, ok := parseFrameHead(f[:cut]); ok {
				t.Fatalf("size %d: header complete after %d of %d bytes", size, cut, h.size)
			}
		}
	}
	// Server frames are unmasked.
	h, ok := parseFrameHead([]byte{0x88, 0x02, 0x03, 0xe8})
	if !ok || h.op != 8 || h.length != 2 || h.size != 2 {
		t.Fatalf("%+v", h)
	}
	if !bytes.Contains(wsHandshake("h", "/"), []byte("Sec-WebSocket-Version: 13\r\n")) {
		t.Fatal("handshake")
	}
}
