package http2

import (
	"reflect"
	"testing"
	"unsafe"
)

// TestFrameZeroAllocs asserts the frame layer allocates nothing on the
// success path and on connection errors: parsing and checking headers,
// every payload parser, settings (with a closure), windows and every writer
// into a buffer with room.
func TestFrameZeroAllocs(t *testing.T) {
	if testing.CoverMode() != "" {
		t.Skip("coverage instrumentation allocates")
	}
	out := make([]byte, 0, 4096)
	block := make([]byte, 100)
	settings := AppendSettings(nil, Setting{SettingMaxConcurrentStreams, 100}, Setting{SettingInitialWindowSize, 1 << 20})[FrameHeaderLen:]
	padded := []byte("\x02\x80\x00\x00\x03\x0fabc\x00\x00")
	hh := FrameHeader{Length: uint32(len(padded)), Type: FrameHeaders, Flags: FlagPadded | FlagPriority | FlagEndHeaders, StreamID: 1}
	allocs := testing.AllocsPerRun(1000, func() {
		out = out[:0]
		out = AppendHeaders(out, 1, block, false, 40)
		var mark int
		out, mark = BeginHeaders(out)
		out = FinishHeaders(append(out, block...), mark, 1, true, 40)
		out = AppendDataHeader(out, 1, 10, true)
		out = AppendData(out, 1, block[:10], true)
		out = AppendSettings(out, Setting{SettingMaxConcurrentStreams, 100}, Setting{SettingEnableConnectProtocol, 1})
		out = AppendSettingsAck(out)
		out = AppendPing(out, true, [8]byte{1})
		out = AppendGoAway(out, 1, ErrNo, nil)
		out = AppendRSTStream(out, 1, ErrCancel)
		out = AppendWindowUpdate(out, 0, 100)
		out = AppendPriority(out, 3, Priority{StreamDep: 1})
		h := ParseFrameHeader(out)
		if CheckFrame(h, DefaultMaxFrameSize) != nil {
			t.Fatal("check")
		}
		if _, _, n, err := SplitFrame(out, DefaultMaxFrameSize); n == 0 || err != nil {
			t.Fatal("split")
		}
		if CheckFrame(FrameHeader{Length: 1 << 20, Type: FrameData, StreamID: 1}, DefaultMaxFrameSize) == nil {
			t.Fatal("conn error")
		}
		if _, _, _, err := HeadersPayload(hh, padded); err != nil {
			t.Fatal(err)
		}
		if _, err := DataPayload(FrameHeader{Flags: FlagPadded, StreamID: 1}, padded[:5]); err != nil {
			t.Fatal(err)
		}
		if _, err := ParseWindowUpdate(FrameHeader{StreamID: 1}, []byte{0, 0, 1, 0}); err != nil {
			t.Fatal(err)
		}
		var s Settings
		if err := ParseSettings(settings, func(x Setting) error { s.Apply(x); return nil }); err != nil || s.MaxConcurrentStreams != 100 {
			t.Fatal(err)
		}
		w := Window(10)
		if !w.Add(5) || !w.Take(15) || !w.Adjust(10, 20) {
			t.Fatal("window")
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per run, want 0", allocs)
	}
}

// TestHPACKZeroAllocs asserts that decoding a browser's request blocks
// (Huffman, dynamic table references and inserts, evictions) and encoding
// a typical response allocate nothing.
func TestHPACKZeroAllocs(t *testing.T) {
	if testing.CoverMode() != "" {
		t.Skip("coverage instrumentation allocates")
	}
	s := newDecodeSeq(browserBlocks(50))
	dst := make([]byte, 0, 1024)
	allocs := testing.AllocsPerRun(500, func() {
		if err := s.next(); err != nil {
			t.Fatal(err)
		}
		dst = encodeResponse(dst[:0])
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per run, want 0", allocs)
	}
	if s.n == 0 {
		t.Fatal("no field decoded")
	}
	// Past the header list limit, still none.
	var d Decoder
	d.Init(4096, 64)
	blk := browserBlocks(1)[0]
	storage := make([]byte, DecoderTableLen(4096))
	scratch := make([]byte, 0, 4096)
	allocs = testing.AllocsPerRun(100, func() {
		d.Init(4096, 64)
		if err := d.Decode(storage, blk, scratch, func(_, _ []byte, _ bool) error { return nil }); err != ErrHeaderListTooLarge {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("list too large: %v allocations per run, want 0", allocs)
	}
}

// TestDecoderPointerFree: a Decoder can live in pointer-free per-connection
// state (a slab the GC does not scan), and stays small.
func TestDecoderPointerFree(t *testing.T) {
	typ := reflect.TypeOf(Decoder{})
	for i := 0; i < typ.NumField(); i++ {
		switch k := typ.Field(i).Type.Kind(); k {
		case reflect.Bool, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Int32:
		default:
			t.Errorf("field %s is a %v", typ.Field(i).Name, k)
		}
	}
	if s := unsafe.Sizeof(Decoder{}); s > 36 {
		t.Errorf("Decoder is %d bytes, budget 36", s)
	}
	if s := unsafe.Sizeof(Window(0)); s != 4 {
		t.Errorf("Window is %d bytes", s)
	}
}
