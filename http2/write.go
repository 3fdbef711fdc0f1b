package http2

import "encoding/binary"

// The writers append whole frames (or, for DATA, a frame header) to dst
// and return the extended slice, like strconv.Append*. None allocates when
// dst has room. They trust their arguments: stream ids within 31 bits,
// payloads within the peer's SETTINGS_MAX_FRAME_SIZE (except AppendHeaders,
// which splits), as the caller's state machine guarantees.

// AppendDataHeader appends the header of an unpadded DATA frame of n payload
// bytes on stream id (RFC 9113 §6.1); the caller writes the n bytes after it
// (e.g. as the next iovec of a writev).
func AppendDataHeader(dst []byte, id, n uint32, endStream bool) []byte {
	var f Flags
	if endStream {
		f = FlagEndStream
	}
	return AppendFrameHeader(dst, FrameHeader{Length: n, Type: FrameData, Flags: f, StreamID: id})
}

// AppendData appends a whole unpadded DATA frame carrying data.
func AppendData(dst []byte, id uint32, data []byte, endStream bool) []byte {
	dst = AppendDataHeader(dst, id, uint32(len(data)), endStream)
	return append(dst, data...)
}

// AppendHeaders appends a field block as one HEADERS frame followed by as
// many CONTINUATION frames as maxFrameSize (the peer's
// SETTINGS_MAX_FRAME_SIZE) demands (RFC 9113 §6.2, §6.10, §4.3): END_STREAM
// on the HEADERS frame if endStream, END_HEADERS on the last frame. No
// padding, no priority. An empty block gives one empty HEADERS frame.
func AppendHeaders(dst []byte, id uint32, block []byte, endStream bool, maxFrameSize uint32) []byte {
	if maxFrameSize == 0 {
		maxFrameSize = DefaultMaxFrameSize
	}
	typ := FrameHeaders
	var f Flags
	if endStream {
		f = FlagEndStream
	}
	for {
		n := uint32(len(block))
		if n <= maxFrameSize {
			f |= FlagEndHeaders
		} else {
			n = maxFrameSize
		}
		dst = AppendFrameHeader(dst, FrameHeader{Length: n, Type: typ, Flags: f, StreamID: id})
		dst = append(dst, block[:n]...)
		block = block[n:]
		if f.Has(FlagEndHeaders) {
			return dst
		}
		typ, f = FrameContinuation, 0
	}
}

// BeginHeaders reserves room for a HEADERS frame header at the end of dst,
// so that the field block can be encoded in place after it (AppendField,
// AppendStatus) and FinishHeaders can frame it without copying the block
// in the common case. It returns dst and the mark FinishHeaders needs.
func BeginHeaders(dst []byte) ([]byte, int) {
	return append(dst, make([]byte, FrameHeaderLen)...), len(dst)
}

// FinishHeaders frames the field block written after mark (from
// BeginHeaders) as AppendHeaders would: one HEADERS frame, or, when the
// block is larger than maxFrameSize, HEADERS then CONTINUATION frames,
// whose headers it inserts by moving the block's tail (in place: no
// allocation when dst has room for 9 bytes per extra frame).
func FinishHeaders(dst []byte, mark int, id uint32, endStream bool, maxFrameSize uint32) []byte {
	if maxFrameSize == 0 {
		maxFrameSize = DefaultMaxFrameSize
	}
	n := len(dst) - mark - FrameHeaderLen
	var f Flags
	if endStream {
		f = FlagEndStream
	}
	if uint32(n) <= maxFrameSize {
		AppendFrameHeader(dst[mark:mark], FrameHeader{Length: uint32(n), Type: FrameHeaders, Flags: f | FlagEndHeaders, StreamID: id})
		return dst
	}
	max := int(maxFrameSize)
	extra := (n - 1) / max // CONTINUATION frames
	end := len(dst)
	dst = append(dst, make([]byte, extra*FrameHeaderLen)...)
	// Move the chunks from the last one back, each to its final place,
	// writing the header before it.
	for k := extra; k >= 1; k-- {
		from := mark + FrameHeaderLen + k*max
		to := from + k*FrameHeaderLen
		size := end - from
		copy(dst[to:to+size], dst[from:end])
		fl := Flags(0)
		if k == extra {
			fl = FlagEndHeaders
		}
		AppendFrameHeader(dst[to-FrameHeaderLen:to-FrameHeaderLen], FrameHeader{Length: uint32(size), Type: FrameContinuation, Flags: fl, StreamID: id})
		end = from
	}
	AppendFrameHeader(dst[mark:mark], FrameHeader{Length: maxFrameSize, Type: FrameHeaders, Flags: f, StreamID: id})
	return dst
}

// AppendPriority appends a PRIORITY frame (RFC 9113 §6.3).
func AppendPriority(dst []byte, id uint32, p Priority) []byte {
	dst = AppendFrameHeader(dst, FrameHeader{Length: priorityLen, Type: FramePriority, StreamID: id})
	dep := p.StreamDep & maxStreamID
	if p.Exclusive {
		dep |= 1 << 31
	}
	dst = binary.BigEndian.AppendUint32(dst, dep)
	return append(dst, p.Weight)
}

// AppendRSTStream appends a RST_STREAM frame (RFC 9113 §6.4).
func AppendRSTStream(dst []byte, id uint32, code ErrCode) []byte {
	dst = AppendFrameHeader(dst, FrameHeader{Length: rstStreamLen, Type: FrameRSTStream, StreamID: id})
	return binary.BigEndian.AppendUint32(dst, uint32(code))
}

// AppendSettings appends a SETTINGS frame carrying s in order (§6.5). The
// caller sends only values Setting.Valid accepts.
func AppendSettings(dst []byte, s ...Setting) []byte {
	dst = AppendFrameHeader(dst, FrameHeader{Length: uint32(len(s) * settingLen), Type: FrameSettings})
	for _, x := range s {
		dst = binary.BigEndian.AppendUint16(dst, uint16(x.ID))
		dst = binary.BigEndian.AppendUint32(dst, x.Val)
	}
	return dst
}

// AppendSettingsAck appends an empty SETTINGS frame with ACK (§6.5.3).
func AppendSettingsAck(dst []byte) []byte {
	return AppendFrameHeader(dst, FrameHeader{Type: FrameSettings, Flags: FlagAck})
}

// AppendPing appends a PING frame (§6.7); a reply has ack set and the
// received data.
func AppendPing(dst []byte, ack bool, data [8]byte) []byte {
	var f Flags
	if ack {
		f = FlagAck
	}
	dst = AppendFrameHeader(dst, FrameHeader{Length: pingLen, Type: FramePing, Flags: f})
	return append(dst, data[:]...)
}

// AppendGoAway appends a GOAWAY frame (§6.8) with debug as its opaque
// debug data; the caller keeps it short (it must fit the peer's
// SETTINGS_MAX_FRAME_SIZE minus 8).
func AppendGoAway(dst []byte, lastID uint32, code ErrCode, debug []byte) []byte {
	dst = AppendFrameHeader(dst, FrameHeader{Length: uint32(goAwayMinLen + len(debug)), Type: FrameGoAway})
	dst = binary.BigEndian.AppendUint32(dst, lastID&maxStreamID)
	dst = binary.BigEndian.AppendUint32(dst, uint32(code))
	return append(dst, debug...)
}

// AppendWindowUpdate appends a WINDOW_UPDATE frame (§6.9); id 0 is the
// connection. incr must be 1..2^31-1 (0 is a protocol error at the peer).
func AppendWindowUpdate(dst []byte, id, incr uint32) []byte {
	dst = AppendFrameHeader(dst, FrameHeader{Length: windowUpdateLen, Type: FrameWindowUpdate, StreamID: id})
	return binary.BigEndian.AppendUint32(dst, incr&maxStreamID)
}
