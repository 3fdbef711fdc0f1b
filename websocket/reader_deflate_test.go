package websocket

import (
	"bytes"
	"testing"
)

// TestReaderDeflate: with Deflate, RSV1 on a message's first frame marks it
// compressed (its chunks are not checked as UTF-8 by the Reader); RSV1 on
// a continuation or control frame, or RSV2/RSV3, is a 1002; without Deflate
// RSV1 is a 1002 as before.
func TestReaderDeflate(t *testing.T) {
	hello := string([]byte{0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}) // not UTF-8
	for _, tc := range []struct {
		name       string
		deflate    bool
		in         []byte
		code       int    // expected close code, 0 = none
		compressed []bool // Compressed of each EvData
	}{
		{"rsv1_text", true, rawFrame(true, 4, OpText, true, -1, hello), 0, []bool{true}},
		{"rsv1_binary", true, rawFrame(true, 4, OpBinary, true, -1, hello), 0, []bool{true}},
		{"plain_text_still_checked", true, rawFrame(true, 0, OpText, true, -1, hello), CloseInvalidData, nil},
		{"rsv1_fragmented_with_ping", true, cat(
			rawFrame(false, 4, OpText, true, -1, hello[:3]),
			rawFrame(true, 0, OpPing, true, -1, "p"),
			rawFrame(true, 0, OpContinuation, true, -1, hello[3:]),
			rawFrame(true, 0, OpText, true, -1, "next"),
		), 0, []bool{true, true, false}},
		{"rsv1_continuation", true, cat(
			rawFrame(false, 4, OpText, true, -1, hello[:3]),
			rawFrame(true, 4, OpContinuation, true, -1, hello[3:]),
		), CloseProtocolError, []bool{true}},
		{"rsv1_ping", true, rawFrame(true, 4, OpPing, true, -1, ""), CloseProtocolError, nil},
		{"rsv1_close", true, rawFrame(true, 4, OpClose, true, -1, ""), CloseProtocolError, nil},
		{"rsv2_with_deflate", true, rawFrame(true, 2, OpText, true, -1, "hi"), CloseProtocolError, nil},
		{"rsv1_without_deflate", false, rawFrame(true, 4, OpText, true, -1, hello), CloseProtocolError, nil},
		{"empty_compressed", true, rawFrame(true, 4, OpText, true, -1, ""), 0, []bool{true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r Reader
			r.Deflate = tc.deflate
			var got []bool
			code := 0
			for b := tc.in; ; {
				ev, n, err := r.Next(b, 1<<20)
				if err != nil {
					code = err.(*ProtocolError).Code
					break
				}
				if n == 0 {
					break
				}
				if ev.Kind == EvData {
					got = append(got, ev.Compressed)
				}
				b = b[n:]
			}
			if code != tc.code || !bytes.Equal(boolBytes(got), boolBytes(tc.compressed)) {
				t.Fatalf("code %d, compressed %v; want %d, %v", code, got, tc.code, tc.compressed)
			}
			r.Reset()
			if r.Deflate {
				t.Fatal("Reset kept Deflate")
			}
		})
	}
}

func boolBytes(b []bool) []byte {
	out := make([]byte, len(b))
	for i, v := range b {
		if v {
			out[i] = 1
		}
	}
	return out
}

// TestInflaterPool: ids are lent up to the size, then Get fails
// (backpressure) until one is put back; a lent Inflater is reset.
func TestInflaterPool(t *testing.T) {
	p := NewInflaterPool(2)
	a, b := p.Get(0, false), p.Get(0, true)
	if a == 0 || b == 0 || a == b || p.Lent() != 2 {
		t.Fatalf("ids %d %d, lent %d", a, b, p.Lent())
	}
	if c := p.Get(0, false); c != 0 {
		t.Fatalf("third Get = %d, want 0 (pool exhausted)", c)
	}
	f := p.At(a)
	f.Inflate(make([]byte, 8), []byte{0x06}, true) // leaves an error
	p.Put(a)
	if c := p.Get(5, true); c != a || p.At(c).err != nil || !p.At(c).text || p.At(c).max != 5 {
		t.Fatalf("reused id %d not reset", c)
	}
	p.Put(0)
	if p.Lent() != 2 {
		t.Fatalf("Put(0) changed the count: %d", p.Lent())
	}
}

// TestInflateUTF8: a compressed text message is checked after inflation,
// across calls, and at its end.
func TestInflateUTF8(t *testing.T) {
	var f Inflater
	for _, tc := range []struct {
		msg  string
		text bool
		err  error
	}{
		{"héllo wörld", true, nil},
		{"bad \xff byte", true, errInflateUTF8},
		{"ends inside \xc3", true, errInflateUTF8},
		{"bad \xff byte", false, nil},
	} {
		c := stdDeflate(t, []byte(tc.msg), 6)
		f.Reset(0, tc.text)
		var err error
		var done bool
		dst := make([]byte, 3)
		for src := c; !done && err == nil; {
			var in int
			_, in, done, err = f.Inflate(dst, src, true)
			src = src[in:]
		}
		if err != tc.err {
			t.Fatalf("%q text=%v: %v, want %v", tc.msg, tc.text, err, tc.err)
		}
	}
}

// TestCompressedFramePieces: the RSV1 frame header and the handshake
// response carrying the extension.
func TestCompressedFramePieces(t *testing.T) {
	if got := AppendCompressedFrameHeader(nil, true, OpText, 7); !bytes.Equal(got, []byte{0xc1, 7}) {
		t.Fatalf("header % x, want c1 07 (RFC 7692 §7.2.3.1)", got)
	}
	if got := AppendCompressedFrameHeader([]byte{9}, false, OpBinary, 300); !bytes.Equal(got, []byte{9, 0x42, 126, 1, 44}) {
		t.Fatalf("header % x", got)
	}
	resp := AppendHandshakeResponseExt(nil, nil, hdrs("Sec-WebSocket-Extensions", "x"), []byte("ACCEPT"), AppendDeflateResponse(nil, DeflateParams{}))
	want := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ACCEPT\r\n" +
		"Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; client_no_context_takeover\r\n\r\n"
	if string(resp) != want {
		t.Fatalf("response\n%q\nwant\n%q", resp, want)
	}
	if got := AppendHandshakeResponseExt(nil, nil, nil, []byte("A"), nil); bytes.Contains(got, []byte("Extensions")) {
		t.Fatalf("extension header without an extension: %q", got)
	}
}

// TestInflateRemembersLast: after a call with last that ran out of room,
// calls with no input finish the message.
func TestInflateRemembersLast(t *testing.T) {
	msg := bytes.Repeat([]byte("0123456789"), 100)
	c := stdDeflate(t, msg, 6)
	var f Inflater
	f.Reset(0, false)
	dst := make([]byte, 64)
	// Feed all the input with last, in as many calls as it takes.
	var got []byte
	var done bool
	for src := c; len(src) > 0; {
		out, in, d, err := f.Inflate(dst, src, true)
		if err != nil {
			t.Fatal(err)
		}
		got, src, done = append(got, dst[:out]...), src[in:], d
	}
	if done {
		t.Fatal("done before the output was drained: the test needs a smaller dst")
	}
	for !done {
		out, _, d, err := f.Inflate(dst, nil, false)
		done = d
		if err != nil || out == 0 && !done {
			t.Fatalf("drain: %d %v %v", out, done, err)
		}
		got = append(got, dst[:out]...)
	}
	if !bytes.Equal(got, msg) {
		t.Fatalf("got %d bytes", len(got))
	}
}
