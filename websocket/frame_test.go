package websocket

import (
	"bytes"
	"strings"
	"testing"
)

func TestAppendFrameHeader(t *testing.T) {
	for _, tc := range []struct {
		name   string
		fin    bool
		op     Opcode
		length int
		want   []byte
	}{
		{"zhttp_hello", true, OpText, 5, []byte{0x81, 0x05}},
		{"first_fragment", false, OpBinary, 4, []byte{0x02, 0x04}},
		{"continuation_final", true, OpContinuation, 4, []byte{0x80, 0x04}},
		{"empty", true, OpBinary, 0, []byte{0x82, 0x00}},
		{"negative_is_empty", true, OpBinary, -3, []byte{0x82, 0x00}},
		{"max_7bit", true, OpText, 125, []byte{0x81, 125}},
		{"min_16bit", true, OpText, 126, []byte{0x81, 126, 0x00, 0x7e}},
		{"max_16bit", true, OpText, 65535, []byte{0x81, 126, 0xff, 0xff}},
		{"min_64bit", true, OpText, 65536, []byte{0x81, 127, 0, 0, 0, 0, 0, 1, 0, 0}},
		{"large_64bit", false, OpBinary, 1 << 40, []byte{0x02, 127, 0, 0, 1, 0, 0, 0, 0, 0}},
		{"ping", true, OpPing, 3, []byte{0x89, 0x03}},
		{"pong", true, OpPong, 0, []byte{0x8a, 0x00}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := AppendFrameHeader([]byte("prefix"), tc.fin, tc.op, tc.length)
			if !bytes.Equal(got, append([]byte("prefix"), tc.want...)) {
				t.Fatalf("got % x, want prefix + % x", got, tc.want)
			}
		})
	}
}

// TestAppendFrameHeaderReadBack: a header written by the server, given a
// mask bit and key, reads back through the Reader with the same length.
func TestAppendFrameHeaderReadBack(t *testing.T) {
	for _, n := range []int{0, 1, 125, 126, 127, 65535, 65536, 100000} {
		h := AppendFrameHeader(nil, true, OpBinary, n)
		h[1] |= 0x80
		in := append(append(h, testKey[:]...), make([]byte, n)...)
		var r Reader
		got, err := run(&r, in, whole(len(in)), 1<<30, contract)
		if err != nil || got.code != 0 || len(got.items) != 1 || len(got.items[0].data) != n {
			t.Fatalf("length %d: %v %v", n, got, err)
		}
	}
}

func TestAppendCloseFrame(t *testing.T) {
	long := strings.Repeat("a", 122) + "é" + "tail" // é straddles byte 123
	for _, tc := range []struct {
		name   string
		code   int
		reason string
		want   []byte
	}{
		{"zhttp_1000", 1000, "", []byte{0x88, 0x02, 0x03, 0xe8}},
		{"code_and_reason", 4001, "bye", []byte{0x88, 0x05, 0x0f, 0xa1, 'b', 'y', 'e'}},
		{"no_code_drops_reason", 0, "ignored", []byte{0x88, 0x00}},
		{"reason_cut_to_123", 1000, strings.Repeat("r", 200), append([]byte{0x88, 125, 0x03, 0xe8}, strings.Repeat("r", 123)...)},
		{"reason_cut_at_utf8_boundary", 1011, long, append([]byte{0x88, 124, 0x03, 0xf3}, strings.Repeat("a", 122)...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := AppendCloseFrame(nil, tc.code, []byte(tc.reason))
			if !bytes.Equal(got, tc.want) {
				t.Fatalf("got % x\nwant % x", got, tc.want)
			}
		})
	}
}

func TestValidCloseCode(t *testing.T) {
	valid := map[int]bool{}
	for c := 1000; c <= 1003; c++ {
		valid[c] = true
	}
	for c := 1007; c <= 1011; c++ {
		valid[c] = true
	}
	for c := 3000; c <= 4999; c++ {
		valid[c] = true
	}
	for c := -1; c <= 70000; c++ {
		if ValidCloseCode(c) != valid[c] {
			t.Fatalf("ValidCloseCode(%d) = %v", c, !valid[c])
		}
	}
}

func TestOpcode(t *testing.T) {
	for op, want := range map[Opcode]string{OpContinuation: "continuation", OpText: "text", OpBinary: "binary", OpClose: "close", OpPing: "ping", OpPong: "pong", 3: "opcode(3)"} {
		if op.String() != want {
			t.Errorf("%d.String() = %q", op, op.String())
		}
	}
	for op := Opcode(0); op < 16; op++ {
		if op.IsControl() != (op >= 8) {
			t.Errorf("%d.IsControl() = %v", op, op.IsControl())
		}
	}
}

// TestMaskBytes compares the word-at-a-time XOR with a byte loop for every
// length and offset, and splitting a payload anywhere.
func TestMaskBytes(t *testing.T) {
	key := [4]byte{1, 2, 4, 8}
	src := make([]byte, 100)
	for i := range src {
		src[i] = byte(i * 7)
	}
	for off := 0; off < 4; off++ {
		for n := 0; n <= len(src); n++ {
			got := bytes.Clone(src[:n])
			if next := maskBytes(key, off, got); next != (off+n)%4 {
				t.Fatalf("offset after %d from %d = %d", n, off, next)
			}
			for i := range got {
				if got[i] != src[i]^key[(off+i)%4] {
					t.Fatalf("off %d len %d: byte %d wrong", off, n, i)
				}
			}
		}
	}
	for cut := 0; cut <= len(src); cut++ {
		a, b := bytes.Clone(src), bytes.Clone(src)
		maskBytes(key, 0, a)
		off := maskBytes(key, 0, b[:cut])
		maskBytes(key, off, b[cut:])
		if !bytes.Equal(a, b) {
			t.Fatalf("split at %d differs", cut)
		}
	}
}
