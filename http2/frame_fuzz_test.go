package http2

import (
	"bytes"
	"errors"
	"testing"
)

// Seeds live in testdata/fuzz/<FuzzName>/, past crashers included.

// checkErr fails unless err is a ConnError or a StreamError on the frame's
// stream, with a code of RFC 9113 §7.
func checkErr(t *testing.T, h FrameHeader, err error) {
	t.Helper()
	var ce ConnError
	var se StreamError
	switch {
	case err == nil:
	case errors.As(err, &ce):
		if ce.Code > ErrHTTP11Required || ce.Code == ErrNo || ce.Reason == "" {
			t.Fatalf("%+v: bad connection error %#v", h, ce)
		}
	case errors.As(err, &se):
		if se.StreamID != h.StreamID || se.StreamID == 0 || se.Code == ErrNo || se.Reason == "" {
			t.Fatalf("%+v: bad stream error %#v", h, se)
		}
	default:
		t.Fatalf("%+v: error of type %T: %v", h, err, err)
	}
}

// within reports whether sub is a view into p (or empty).
func within(sub, p []byte) bool {
	if len(sub) == 0 {
		return true
	}
	if len(p) == 0 {
		return false
	}
	off := cap(p) - cap(sub)
	return off >= 0 && off+len(sub) <= len(p) && &p[off] == &sub[0]
}

// FuzzFrame reads data as a sequence of frames. Every frame CheckFrame
// accepts goes to its payload parser, which must not panic, must return
// only ConnError/StreamError and views into the payload; what parses
// without error is written back with the package's writers and must give
// the same bytes (bar the reserved bits the parsers drop).
func FuzzFrame(f *testing.F) {
	f.Add([]byte{}, uint16(0))
	f.Add(AppendSettings(AppendPing(nil, false, [8]byte{1}), Setting{SettingInitialWindowSize, 1 << 20}), uint16(0))
	f.Add(AppendHeaders(nil, 1, []byte("\x82\x86\x84\x41\x0fwww.example.com"), true, 16384), uint16(0))
	f.Fuzz(func(t *testing.T, data []byte, maxSel uint16) {
		max := uint32(DefaultMaxFrameSize)
		if maxSel&1 == 1 {
			max = MaxFrameSizeLimit
		}
		for len(data) >= FrameHeaderLen {
			h, p, n, serr := SplitFrame(data, max)
			checkErr(t, h, serr)
			if int(h.Length) > len(data)-FrameHeaderLen {
				if n != 0 || p != nil {
					t.Fatalf("incomplete frame: n %d", n)
				}
				return
			}
			frame := data[:FrameHeaderLen+int(h.Length)]
			data = data[len(frame):]
			err := CheckFrame(h, max)
			checkErr(t, h, err)
			if err != serr && !(err != nil && serr != nil && err.Error() == serr.Error()) {
				t.Fatalf("SplitFrame error %v, CheckFrame %v", serr, err)
			}
			if err != nil {
				continue
			}
			if n != len(frame) || !bytes.Equal(p, frame[FrameHeaderLen:]) {
				t.Fatalf("SplitFrame n %d payload %x, frame %x", n, p, frame)
			}
			fuzzPayload(t, h, p, frame)
		}
	})
}

func fuzzPayload(t *testing.T, h FrameHeader, p, frame []byte) {
	// The header as written back: the reserved stream-id bit cleared.
	hdr := AppendFrameHeader(nil, h)
	if !bytes.Equal(hdr[:5], frame[:5]) || !bytes.Equal(hdr[6:9], frame[6:9]) || hdr[5] != frame[5]&0x7f {
		t.Fatalf("header round trip %x -> %x", frame[:9], hdr)
	}
	var out []byte
	switch h.Type {
	case FrameData:
		d, err := DataPayload(h, p)
		checkErr(t, h, err)
		if err == nil {
			if !within(d, p) {
				t.Fatal("data is not a view into the payload")
			}
			if !h.Flags.Has(FlagPadded) {
				out = AppendData(nil, h.StreamID, d, h.Flags.Has(FlagEndStream))
				frame = withFlags(frame, FlagEndStream)
			}
		}
	case FrameHeaders:
		block, prio, hasPrio, err := HeadersPayload(h, p)
		checkErr(t, h, err)
		if err == nil && !within(block, p) {
			t.Fatal("block is not a view into the payload")
		}
		if hasPrio != (h.Flags.Has(FlagPriority) && (err == nil || prio.StreamDep == h.StreamID)) {
			t.Fatalf("hasPrio %v with flags %x err %v", hasPrio, h.Flags, err)
		}
		if err == nil && h.Flags&(FlagPadded|FlagPriority) == 0 {
			out = AppendHeaders(nil, h.StreamID, block, h.Flags.Has(FlagEndStream), MaxFrameSizeLimit)
			// One frame, so END_HEADERS is always set by the writer.
			frame = withFlags(frame, FlagEndStream|FlagEndHeaders)
			frame[4] |= byte(FlagEndHeaders)
		}
	case FramePriority:
		prio, err := ParsePriority(h, p)
		checkErr(t, h, err)
		if err == nil {
			out = AppendPriority(nil, h.StreamID, prio)
			frame = withFlags(frame, 0)
		}
	case FrameRSTStream:
		code, err := ParseRSTStream(h, p)
		checkErr(t, h, err)
		out = AppendRSTStream(nil, h.StreamID, code)
		frame = withFlags(frame, 0)
	case FrameSettings:
		var ss []Setting
		err := ParseSettings(p, func(s Setting) error {
			if s.Valid() != nil {
				t.Fatalf("invalid setting %+v passed to fn", s)
			}
			ss = append(ss, s)
			return nil
		})
		checkErr(t, h, err)
		if err == nil {
			if h.Flags.Has(FlagAck) {
				out = AppendSettingsAck(nil)
			} else {
				out = AppendSettings(nil, ss...)
			}
			frame = withFlags(frame, FlagAck)
		}
	case FramePushPromise:
		id, block, err := PushPromisePayload(h, p)
		checkErr(t, h, err)
		if err == nil && (!within(block, p) || id > maxStreamID) {
			t.Fatal("push promise")
		}
	case FramePing:
		d, err := ParsePing(h, p)
		checkErr(t, h, err)
		out = AppendPing(nil, h.Flags.Has(FlagAck), d)
		frame = withFlags(frame, FlagAck)
	case FrameGoAway:
		id, code, debug, err := ParseGoAway(h, p)
		checkErr(t, h, err)
		if !within(debug, p) {
			t.Fatal("debug is not a view into the payload")
		}
		out = AppendGoAway(nil, id, code, debug)
		frame = withFlags(frame, 0)
		frame[FrameHeaderLen] &= 0x7f
	case FrameWindowUpdate:
		incr, err := ParseWindowUpdate(h, p)
		checkErr(t, h, err)
		if err == nil {
			out = AppendWindowUpdate(nil, h.StreamID, incr)
			frame = withFlags(frame, 0)
			frame[FrameHeaderLen] &= 0x7f
		}
	}
	if out != nil {
		frame[5] &= 0x7f
		if !bytes.Equal(out, frame) {
			t.Fatalf("%v: written back as\n%x\nwant\n%x", h.Type, out, frame)
		}
	}
}

// withFlags returns a copy of frame with the flags outside keep cleared:
// flags a type does not define are the sender's noise, not written back.
func withFlags(frame []byte, keep Flags) []byte {
	c := append([]byte(nil), frame...)
	c[4] &= byte(keep)
	return c
}

// FuzzHeadersSplit checks that AppendHeaders' HEADERS + CONTINUATION
// sequence reassembles to the block, each frame within the maximum.
func FuzzHeadersSplit(f *testing.F) {
	f.Add([]byte("abcdefghij"), uint16(3), true)
	f.Fuzz(func(t *testing.T, block []byte, max uint16, end bool) {
		m := uint32(max)
		if m == 0 {
			m = DefaultMaxFrameSize
		}
		b := AppendHeaders(nil, 1, block, end, m)
		var got []byte
		for i := 0; len(b) > 0; i++ {
			h := ParseFrameHeader(b)
			if err := CheckFrame(h, m); err != nil {
				t.Fatal(err)
			}
			last := len(b) == FrameHeaderLen+int(h.Length)
			if (i == 0) != (h.Type == FrameHeaders) || h.Flags.Has(FlagEndHeaders) != last {
				t.Fatalf("frame %d: %+v", i, h)
			}
			got = append(got, b[FrameHeaderLen:FrameHeaderLen+int(h.Length)]...)
			b = b[FrameHeaderLen+int(h.Length):]
		}
		if !bytes.Equal(got, block) {
			t.Fatal("reassembled block differs")
		}
		// Framing in place gives the same bytes.
		dst, mark := BeginHeaders([]byte("prefix"))
		dst = append(dst, block...)
		dst = FinishHeaders(dst, mark, 1, end, m)
		if string(dst[:6]) != "prefix" || !bytes.Equal(dst[6:], AppendHeaders(nil, 1, block, end, m)) {
			t.Fatalf("FinishHeaders differs from AppendHeaders")
		}
	})
}
