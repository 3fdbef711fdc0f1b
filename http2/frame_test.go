package http2

import (
	"bytes"
	"errors"
	"testing"
)

func TestFrameHeaderRoundTrip(t *testing.T) {
	for _, h := range []FrameHeader{
		{},
		{Length: 1, Type: FrameHeaders, Flags: FlagEndHeaders | FlagEndStream, StreamID: 1},
		{Length: MaxFrameSizeLimit, Type: 0xff, Flags: 0xff, StreamID: maxStreamID},
		{Length: 16384, Type: FrameData, StreamID: 0x01020304},
	} {
		b := AppendFrameHeader(nil, h)
		if len(b) != FrameHeaderLen {
			t.Fatalf("%+v: %d bytes", h, len(b))
		}
		if got := ParseFrameHeader(b); got != h {
			t.Errorf("round trip %+v -> %x -> %+v", h, b, got)
		}
	}
}

// The reserved bit of the stream id is ignored on receipt (RFC 9113 §4.1).
func TestFrameHeaderReservedBit(t *testing.T) {
	b := []byte{0, 0, 4, 8, 0, 0x80, 0, 0, 3}
	h := ParseFrameHeader(b)
	want := FrameHeader{Length: 4, Type: FrameWindowUpdate, StreamID: 3}
	if h != want {
		t.Fatalf("got %+v want %+v", h, want)
	}
}

func TestClientPrefaceLength(t *testing.T) {
	if len(ClientPreface) != 24 {
		t.Fatalf("preface is %d bytes, RFC 9113 §3.4 says 24", len(ClientPreface))
	}
}

func TestErrCodeString(t *testing.T) {
	for c, want := range map[ErrCode]string{
		ErrNo: "NO_ERROR", ErrProtocol: "PROTOCOL_ERROR", ErrFlowControl: "FLOW_CONTROL_ERROR",
		ErrFrameSize: "FRAME_SIZE_ERROR", ErrCompression: "COMPRESSION_ERROR",
		ErrEnhanceYourCalm: "ENHANCE_YOUR_CALM", ErrHTTP11Required: "HTTP_1_1_REQUIRED",
		0x1f: "UNKNOWN_ERROR_0x1f",
	} {
		if got := c.String(); got != want {
			t.Errorf("%d: %q want %q", uint32(c), got, want)
		}
	}
	if FrameGoAway.String() != "GOAWAY" || FrameType(0x42).String() != "UNKNOWN" {
		t.Error("FrameType.String")
	}
	e := error(ConnError{ErrProtocol, "x"})
	if e.Error() != "http2: connection error PROTOCOL_ERROR: x" {
		t.Error(e)
	}
	e = StreamError{3, ErrCancel, "y"}
	if e.Error() != "http2: stream error CANCEL on stream 3: y" {
		t.Error(e)
	}
}

// kind describes the error a check should return: none, a connection error
// with a code, or a stream error with a code.
type kind struct {
	stream bool
	code   ErrCode
	ok     bool
}

var (
	ok        = kind{ok: true}
	connErr   = func(c ErrCode) kind { return kind{code: c} }
	streamErr = func(c ErrCode) kind { return kind{stream: true, code: c} }
)

func checkKind(t *testing.T, name string, err error, want kind, id uint32) {
	t.Helper()
	if want.ok {
		if err != nil {
			t.Errorf("%s: unexpected error %v", name, err)
		}
		return
	}
	var ce ConnError
	var se StreamError
	switch {
	case errors.As(err, &ce):
		if want.stream || ce.Code != want.code {
			t.Errorf("%s: got %v, want stream=%v %v", name, err, want.stream, want.code)
		}
	case errors.As(err, &se):
		if !want.stream || se.Code != want.code || se.StreamID != id {
			t.Errorf("%s: got %v, want stream=%v %v on %d", name, err, want.stream, want.code, id)
		}
	default:
		t.Errorf("%s: got %v, want stream=%v %v", name, err, want.stream, want.code)
	}
}

// TestCheckFrame walks the size and stream-id rules of RFC 9113 §4.2 and §6.
func TestCheckFrame(t *testing.T) {
	const max = DefaultMaxFrameSize
	cases := []struct {
		name string
		h    FrameHeader
		want kind
	}{
		{"data ok", FrameHeader{Length: 10, Type: FrameData, StreamID: 1}, ok},
		{"data max size", FrameHeader{Length: max, Type: FrameData, StreamID: 1}, ok},
		{"data too large §4.2", FrameHeader{Length: max + 1, Type: FrameData, StreamID: 1}, connErr(ErrFrameSize)},
		{"data stream 0 §6.1", FrameHeader{Length: 1, Type: FrameData}, connErr(ErrProtocol)},
		{"data padded empty", FrameHeader{Type: FrameData, Flags: FlagPadded, StreamID: 1}, connErr(ErrFrameSize)},
		{"data padded 1", FrameHeader{Length: 1, Type: FrameData, Flags: FlagPadded, StreamID: 1}, ok},
		{"data empty", FrameHeader{Type: FrameData, StreamID: 1}, ok},
		{"headers ok", FrameHeader{Length: 3, Type: FrameHeaders, StreamID: 1}, ok},
		{"headers stream 0 §6.2", FrameHeader{Length: 3, Type: FrameHeaders}, connErr(ErrProtocol)},
		{"headers too large", FrameHeader{Length: max + 1, Type: FrameHeaders, StreamID: 1}, connErr(ErrFrameSize)},
		{"headers priority short", FrameHeader{Length: 4, Type: FrameHeaders, Flags: FlagPriority, StreamID: 1}, connErr(ErrFrameSize)},
		{"headers priority+pad short", FrameHeader{Length: 5, Type: FrameHeaders, Flags: FlagPriority | FlagPadded, StreamID: 1}, connErr(ErrFrameSize)},
		{"headers priority+pad min", FrameHeader{Length: 6, Type: FrameHeaders, Flags: FlagPriority | FlagPadded, StreamID: 1}, ok},
		{"priority ok", FrameHeader{Length: 5, Type: FramePriority, StreamID: 3}, ok},
		{"priority stream 0 §6.3", FrameHeader{Length: 5, Type: FramePriority}, connErr(ErrProtocol)},
		{"priority size §6.3", FrameHeader{Length: 4, Type: FramePriority, StreamID: 3}, streamErr(ErrFrameSize)},
		{"priority size 6", FrameHeader{Length: 6, Type: FramePriority, StreamID: 3}, streamErr(ErrFrameSize)},
		{"rst ok", FrameHeader{Length: 4, Type: FrameRSTStream, StreamID: 1}, ok},
		{"rst stream 0 §6.4", FrameHeader{Length: 4, Type: FrameRSTStream}, connErr(ErrProtocol)},
		{"rst size §6.4", FrameHeader{Length: 3, Type: FrameRSTStream, StreamID: 1}, connErr(ErrFrameSize)},
		{"settings ok", FrameHeader{Length: 12, Type: FrameSettings}, ok},
		{"settings empty", FrameHeader{Type: FrameSettings}, ok},
		{"settings on stream §6.5", FrameHeader{Length: 6, Type: FrameSettings, StreamID: 1}, connErr(ErrProtocol)},
		{"settings ack with payload §6.5", FrameHeader{Length: 6, Type: FrameSettings, Flags: FlagAck}, connErr(ErrFrameSize)},
		{"settings ack", FrameHeader{Type: FrameSettings, Flags: FlagAck}, ok},
		{"settings not multiple of 6 §6.5", FrameHeader{Length: 7, Type: FrameSettings}, connErr(ErrFrameSize)},
		{"push promise ok", FrameHeader{Length: 4, Type: FramePushPromise, StreamID: 1}, ok},
		{"push promise stream 0", FrameHeader{Length: 4, Type: FramePushPromise}, connErr(ErrProtocol)},
		{"push promise short", FrameHeader{Length: 4, Type: FramePushPromise, Flags: FlagPadded, StreamID: 1}, connErr(ErrFrameSize)},
		{"ping ok", FrameHeader{Length: 8, Type: FramePing}, ok},
		{"ping on stream §6.7", FrameHeader{Length: 8, Type: FramePing, StreamID: 1}, connErr(ErrProtocol)},
		{"ping size §6.7", FrameHeader{Length: 7, Type: FramePing}, connErr(ErrFrameSize)},
		{"ping ack size", FrameHeader{Length: 9, Type: FramePing, Flags: FlagAck}, connErr(ErrFrameSize)},
		{"goaway ok", FrameHeader{Length: 8, Type: FrameGoAway}, ok},
		{"goaway debug", FrameHeader{Length: 20, Type: FrameGoAway}, ok},
		{"goaway on stream §6.8", FrameHeader{Length: 8, Type: FrameGoAway, StreamID: 1}, connErr(ErrProtocol)},
		{"goaway short", FrameHeader{Length: 7, Type: FrameGoAway}, connErr(ErrFrameSize)},
		{"window update conn", FrameHeader{Length: 4, Type: FrameWindowUpdate}, ok},
		{"window update stream", FrameHeader{Length: 4, Type: FrameWindowUpdate, StreamID: 5}, ok},
		{"window update size §6.9", FrameHeader{Length: 3, Type: FrameWindowUpdate, StreamID: 5}, connErr(ErrFrameSize)},
		{"window update size conn", FrameHeader{Length: 5, Type: FrameWindowUpdate}, connErr(ErrFrameSize)},
		{"continuation ok", FrameHeader{Length: 4, Type: FrameContinuation, StreamID: 1}, ok},
		{"continuation stream 0 §6.10", FrameHeader{Length: 4, Type: FrameContinuation}, connErr(ErrProtocol)},
		{"unknown type ignored §5.5", FrameHeader{Length: 4, Type: 0x42, StreamID: 0}, ok},
		{"unknown type too large", FrameHeader{Length: max + 1, Type: 0x42}, connErr(ErrFrameSize)},
	}
	for _, c := range cases {
		checkKind(t, c.name, CheckFrame(c.h, max), c.want, c.h.StreamID)
	}
	// A larger advertised maximum admits larger frames.
	if err := CheckFrame(FrameHeader{Length: 1 << 20, Type: FrameData, StreamID: 1}, MaxFrameSizeLimit); err != nil {
		t.Error(err)
	}
}

func TestDataPayload(t *testing.T) {
	h := FrameHeader{Type: FrameData, StreamID: 1}
	if d, err := DataPayload(h, []byte("abc")); err != nil || string(d) != "abc" {
		t.Fatalf("unpadded: %q %v", d, err)
	}
	h.Flags = FlagPadded
	cases := []struct {
		p    string
		data string
		want kind
	}{
		{"\x00abc", "abc", ok},
		{"\x02abc\x00\x00", "abc", ok},
		{"\x00", "", ok},
		{"\x01\x00", "", ok},
		{"\x03abc", "a"[:0], ok},
		{"\x04abc", "", connErr(ErrProtocol)}, // padding as long as the payload §6.1
		{"\x05abc", "", connErr(ErrProtocol)},
		{"\x01", "", connErr(ErrProtocol)},
		{"", "", connErr(ErrFrameSize)},
	}
	for _, c := range cases {
		d, err := DataPayload(h, []byte(c.p))
		checkKind(t, "data "+c.p, err, c.want, 1)
		if err == nil && string(d) != c.data {
			t.Errorf("%q: data %q want %q", c.p, d, c.data)
		}
	}
}

func TestHeadersPayload(t *testing.T) {
	prio := "\x80\x00\x00\x03\x0f" // exclusive, depends on 3, weight 16
	cases := []struct {
		name    string
		flags   Flags
		id      uint32
		p       string
		block   string
		hasPrio bool
		want    kind
	}{
		{"plain", 0, 1, "abc", "abc", false, ok},
		{"padded", FlagPadded, 1, "\x01abc\x00", "abc", false, ok},
		{"priority", FlagPriority, 1, prio + "abc", "abc", true, ok},
		{"padded priority", FlagPadded | FlagPriority, 1, "\x02" + prio + "abc\x00\x00", "abc", true, ok},
		{"padded priority empty block", FlagPadded | FlagPriority, 1, "\x00" + prio, "", true, ok},
		{"pad eats priority", FlagPadded | FlagPriority, 1, "\x02" + prio, "", false, connErr(ErrProtocol)},
		{"pad too long", FlagPadded, 1, "\x04abc", "", false, connErr(ErrProtocol)},
		{"self dependency §5.3.1", FlagPriority, 3, prio + "abc", "abc", true, streamErr(ErrProtocol)},
		{"priority short", FlagPriority, 1, "\x00\x00", "", false, connErr(ErrProtocol)},
	}
	for _, c := range cases {
		h := FrameHeader{Length: uint32(len(c.p)), Type: FrameHeaders, Flags: c.flags, StreamID: c.id}
		block, p, hasPrio, err := HeadersPayload(h, []byte(c.p))
		checkKind(t, c.name, err, c.want, c.id)
		if string(block) != c.block || hasPrio != c.hasPrio {
			t.Errorf("%s: block %q prio %v, want %q %v", c.name, block, hasPrio, c.block, c.hasPrio)
		}
		if hasPrio && (p != Priority{StreamDep: 3, Exclusive: true, Weight: 15}) {
			t.Errorf("%s: priority %+v", c.name, p)
		}
	}
}

func TestParsePriority(t *testing.T) {
	h := FrameHeader{Length: 5, Type: FramePriority, StreamID: 5}
	p, err := ParsePriority(h, []byte{0, 0, 0, 3, 200})
	if err != nil || p != (Priority{StreamDep: 3, Weight: 200}) {
		t.Fatalf("%+v %v", p, err)
	}
	_, err = ParsePriority(h, []byte{0x80, 0, 0, 5, 0})
	checkKind(t, "self", err, streamErr(ErrProtocol), 5)
	_, err = ParsePriority(h, []byte{0, 0, 0, 5})
	checkKind(t, "short", err, streamErr(ErrFrameSize), 5)
	// Round trip through the writer.
	b := AppendPriority(nil, 7, Priority{StreamDep: 9, Exclusive: true, Weight: 42})
	hh := ParseFrameHeader(b)
	if err := CheckFrame(hh, DefaultMaxFrameSize); err != nil {
		t.Fatal(err)
	}
	if p, err := ParsePriority(hh, b[FrameHeaderLen:]); err != nil || p != (Priority{9, true, 42}) {
		t.Fatalf("round trip %+v %v", p, err)
	}
}

func TestControlFramesRoundTrip(t *testing.T) {
	next := func(b []byte) (FrameHeader, []byte, []byte) {
		t.Helper()
		h := ParseFrameHeader(b)
		if err := CheckFrame(h, DefaultMaxFrameSize); err != nil {
			t.Fatalf("%+v: %v", h, err)
		}
		end := FrameHeaderLen + int(h.Length)
		return h, b[FrameHeaderLen:end], b[end:]
	}
	var b []byte
	b = AppendRSTStream(b, 3, ErrCancel)
	b = AppendPing(b, true, [8]byte{1, 2, 3, 4, 5, 6, 7, 8})
	b = AppendGoAway(b, 7, ErrEnhanceYourCalm, []byte("flood"))
	b = AppendWindowUpdate(b, 0, 1<<20)
	b = AppendWindowUpdate(b, 9, MaxWindowSize)
	b = AppendSettingsAck(b)
	b = AppendDataHeader(b, 1, 3, true)
	b = append(b, "xyz"...)
	b = AppendData(b, 1, []byte("hello"), false)

	h, p, b := next(b)
	if c, err := ParseRSTStream(h, p); err != nil || c != ErrCancel || h.StreamID != 3 {
		t.Fatalf("rst %v %v %+v", c, err, h)
	}
	h, p, b = next(b)
	if d, err := ParsePing(h, p); err != nil || d != [8]byte{1, 2, 3, 4, 5, 6, 7, 8} || !h.Flags.Has(FlagAck) {
		t.Fatalf("ping %v %v", d, err)
	}
	h, p, b = next(b)
	if id, c, dbg, err := ParseGoAway(h, p); err != nil || id != 7 || c != ErrEnhanceYourCalm || string(dbg) != "flood" {
		t.Fatalf("goaway %d %v %q %v", id, c, dbg, err)
	}
	h, p, b = next(b)
	if n, err := ParseWindowUpdate(h, p); err != nil || n != 1<<20 || h.StreamID != 0 {
		t.Fatalf("wu %d %v", n, err)
	}
	h, p, b = next(b)
	if n, err := ParseWindowUpdate(h, p); err != nil || n != MaxWindowSize || h.StreamID != 9 {
		t.Fatalf("wu %d %v", n, err)
	}
	h, p, b = next(b)
	if h.Type != FrameSettings || !h.Flags.Has(FlagAck) || len(p) != 0 {
		t.Fatalf("settings ack %+v", h)
	}
	h, p, b = next(b)
	if h.Type != FrameData || !h.Flags.Has(FlagEndStream) || string(p) != "xyz" {
		t.Fatalf("data %+v %q", h, p)
	}
	h, p, b = next(b)
	if d, err := DataPayload(h, p); err != nil || h.Flags != 0 || string(d) != "hello" {
		t.Fatalf("data %+v %q", h, p)
	}
	if len(b) != 0 {
		t.Fatalf("%d bytes left", len(b))
	}
}

func TestParseControlErrors(t *testing.T) {
	_, err := ParseWindowUpdate(FrameHeader{StreamID: 5}, []byte{0x80, 0, 0, 0})
	checkKind(t, "wu 0 on stream §6.9", err, streamErr(ErrProtocol), 5)
	_, err = ParseWindowUpdate(FrameHeader{}, []byte{0, 0, 0, 0})
	checkKind(t, "wu 0 on conn §6.9", err, connErr(ErrProtocol), 0)
	_, err = ParseWindowUpdate(FrameHeader{}, []byte{0, 0, 1})
	checkKind(t, "wu short", err, connErr(ErrFrameSize), 0)
	// The reserved bit of the increment is ignored (§6.9).
	if n, err := ParseWindowUpdate(FrameHeader{}, []byte{0x80, 0, 0, 1}); n != 1 || err != nil {
		t.Errorf("reserved bit: %d %v", n, err)
	}
	_, err = ParseRSTStream(FrameHeader{StreamID: 1}, []byte{0, 0, 0})
	checkKind(t, "rst short", err, connErr(ErrFrameSize), 1)
	_, err = ParsePing(FrameHeader{}, make([]byte, 9))
	checkKind(t, "ping long", err, connErr(ErrFrameSize), 0)
	_, _, _, err = ParseGoAway(FrameHeader{}, make([]byte, 7))
	checkKind(t, "goaway short", err, connErr(ErrFrameSize), 0)
	id, blk, err := PushPromisePayload(FrameHeader{Flags: FlagPadded, StreamID: 1}, []byte("\x01\x00\x00\x00\x02ab\x00"))
	if err != nil || id != 2 || string(blk) != "ab" {
		t.Errorf("push promise %d %q %v", id, blk, err)
	}
	_, _, err = PushPromisePayload(FrameHeader{Flags: FlagPadded, StreamID: 1}, []byte("\x02\x00\x00\x00\x02"))
	checkKind(t, "push promise pad", err, connErr(ErrFrameSize), 1)
}

// TestAppendHeadersSplit: a block larger than the peer's maximum frame size
// goes out as HEADERS + CONTINUATION, END_HEADERS on the last only and
// END_STREAM on the first only (RFC 9113 §4.3, §6.2, §6.10).
func TestAppendHeadersSplit(t *testing.T) {
	for _, tc := range []struct {
		n, max  int
		nframes int
	}{
		{0, 16384, 1}, {1, 16384, 1}, {16384, 16384, 1}, {16385, 16384, 2},
		{3 * 16384, 16384, 3}, {3*16384 + 1, 16384, 4}, {10, 3, 4},
	} {
		block := make([]byte, tc.n)
		for i := range block {
			block[i] = byte(i)
		}
		for _, end := range []bool{false, true} {
			b := AppendHeaders([]byte("x"), 5, block, end, uint32(tc.max))[1:]
			var got []byte
			frames := 0
			for len(b) > 0 {
				h := ParseFrameHeader(b)
				if err := CheckFrame(h, uint32(tc.max)); err != nil {
					t.Fatalf("%+v: %v", tc, err)
				}
				want := FrameContinuation
				if frames == 0 {
					want = FrameHeaders
				}
				last := len(b) == FrameHeaderLen+int(h.Length)
				if h.Type != want || h.StreamID != 5 || h.Flags.Has(FlagEndHeaders) != last ||
					(h.Type == FrameHeaders && h.Flags.Has(FlagEndStream) != end) ||
					(h.Type == FrameContinuation && h.Flags&^FlagEndHeaders != 0) {
					t.Fatalf("%+v end=%v frame %d: %+v", tc, end, frames, h)
				}
				got = append(got, b[FrameHeaderLen:FrameHeaderLen+int(h.Length)]...)
				b = b[FrameHeaderLen+int(h.Length):]
				frames++
			}
			if frames != tc.nframes || !bytes.Equal(got, block) {
				t.Fatalf("%+v: %d frames, block equal %v", tc, frames, bytes.Equal(got, block))
			}
			// Framed in place after encoding: the same bytes.
			dst, mark := BeginHeaders([]byte("x"))
			dst = FinishHeaders(append(dst, block...), mark, 5, end, uint32(tc.max))
			if !bytes.Equal(dst[1:], AppendHeaders(nil, 5, block, end, uint32(tc.max))) {
				t.Fatalf("%+v end=%v: FinishHeaders differs", tc, end)
			}
		}
	}
}

func TestSplitFrame(t *testing.T) {
	stream := AppendPing(nil, false, [8]byte{7})
	stream = AppendFrameHeader(stream, FrameHeader{Length: 4, Type: FramePriority, StreamID: 3})
	stream = append(stream, 0, 0, 0, 1)
	stream = AppendData(stream, 1, []byte("hello"), true)
	// Every prefix short of a whole frame asks for more.
	for i := 0; i < FrameHeaderLen+8; i++ {
		if _, p, n, err := SplitFrame(stream[:i], DefaultMaxFrameSize); n != 0 || p != nil || err != nil {
			t.Fatalf("prefix %d: n %d err %v", i, n, err)
		}
	}
	h, p, n, err := SplitFrame(stream, DefaultMaxFrameSize)
	if err != nil || h.Type != FramePing || n != 17 || p[0] != 7 || cap(p) != 8 {
		t.Fatalf("ping: %+v %x %d %v", h, p, n, err)
	}
	stream = stream[n:]
	// A PRIORITY of the wrong size: a stream error, with n to skip it.
	h, _, n, err = SplitFrame(stream, DefaultMaxFrameSize)
	checkKind(t, "priority size", err, streamErr(ErrFrameSize), 3)
	if n != 13 {
		t.Fatalf("priority n %d", n)
	}
	stream = stream[n:]
	if h, p, n, err = SplitFrame(stream, DefaultMaxFrameSize); err != nil || string(p) != "hello" || n != len(stream) || !h.Flags.Has(FlagEndStream) {
		t.Fatalf("data: %+v %q %d %v", h, p, n, err)
	}
	// An oversized header is refused before its payload arrives.
	big := AppendFrameHeader(nil, FrameHeader{Length: 1 << 20, Type: FrameData, StreamID: 1})
	_, _, n, err = SplitFrame(big, DefaultMaxFrameSize)
	checkKind(t, "too large", err, connErr(ErrFrameSize), 1)
	if n != 0 {
		t.Fatal("n with a connection error")
	}
}
