package http2

import "encoding/binary"

// The payload parsers below take a frame's header and its whole payload
// (h.Length bytes, already past CheckFrame). They return views into p, never
// copies, and never allocate except to build a StreamError. They re-check
// the sizes they index by, so any (h, p) is safe to pass: fuzzed.

// Priority is the stream dependency of HEADERS (with FlagPriority) and
// PRIORITY frames (RFC 9113 §5.3.2, §6.3). RFC 9113 deprecates the scheme;
// a server parses it only to skip it and to apply the self-dependency rule.
type Priority struct {
	StreamDep uint32 // 31 bits
	Exclusive bool
	Weight    uint8 // as on the wire: the weight minus 1
}

func parsePriority(b []byte) Priority {
	v := binary.BigEndian.Uint32(b)
	return Priority{StreamDep: v & maxStreamID, Exclusive: v>>31 == 1, Weight: b[4]}
}

// stripPadding removes the pad-length octet and the padding from a payload
// with FlagPadded (§6.1): padding as long as the payload or more is a
// connection error of type PROTOCOL_ERROR.
func stripPadding(p []byte) ([]byte, error) {
	if len(p) < 1 {
		return nil, errPaddedTooShort
	}
	pad := int(p[0])
	if pad >= len(p) {
		return nil, errPadding
	}
	return p[1 : len(p)-pad], nil
}

// DataPayload returns the data of a DATA frame without its padding
// (RFC 9113 §6.1). Flow control counts the whole h.Length, padding included.
func DataPayload(h FrameHeader, p []byte) ([]byte, error) {
	if !h.Flags.Has(FlagPadded) {
		return p, nil
	}
	return stripPadding(p)
}

// HeadersPayload returns the field block fragment of a HEADERS frame
// (RFC 9113 §6.2) without padding and priority, and the priority when
// FlagPriority is set. A stream that depends on itself is a StreamError of
// type PROTOCOL_ERROR (§5.3.1); block and prio are still returned with it,
// since the block must be decoded to keep the HPACK state in step (§4.3).
func HeadersPayload(h FrameHeader, p []byte) (block []byte, prio Priority, hasPrio bool, err error) {
	block = p
	if h.Flags.Has(FlagPadded) {
		if block, err = stripPadding(p); err != nil {
			return nil, prio, false, err
		}
	}
	if h.Flags.Has(FlagPriority) {
		if len(block) < priorityLen {
			// The padding runs into the priority fields.
			return nil, prio, false, errPadding
		}
		prio, hasPrio = parsePriority(block), true
		block = block[priorityLen:]
		if prio.StreamDep == h.StreamID {
			err = StreamError{h.StreamID, ErrProtocol, "stream depends on itself"}
		}
	}
	return block, prio, hasPrio, err
}

// ParsePriority parses a PRIORITY frame (RFC 9113 §6.3): a length other
// than 5 is a StreamError FRAME_SIZE_ERROR, a self-dependency a StreamError
// PROTOCOL_ERROR (§5.3.1).
func ParsePriority(h FrameHeader, p []byte) (Priority, error) {
	if len(p) != priorityLen {
		return Priority{}, StreamError{h.StreamID, ErrFrameSize, "PRIORITY length is not 5"}
	}
	prio := parsePriority(p)
	if prio.StreamDep == h.StreamID {
		return prio, StreamError{h.StreamID, ErrProtocol, "stream depends on itself"}
	}
	return prio, nil
}

// ParseRSTStream returns the error code of a RST_STREAM frame (§6.4).
func ParseRSTStream(h FrameHeader, p []byte) (ErrCode, error) {
	if len(p) != rstStreamLen {
		return 0, errRSTStreamSize
	}
	return ErrCode(binary.BigEndian.Uint32(p)), nil
}

// ParsePing returns the opaque data of a PING frame (§6.7); the ack flag is
// in h.Flags.
func ParsePing(h FrameHeader, p []byte) ([8]byte, error) {
	var d [8]byte
	if len(p) != pingLen {
		return d, errPingSize
	}
	copy(d[:], p)
	return d, nil
}

// ParseGoAway parses a GOAWAY frame (§6.8). debug is a view into p.
func ParseGoAway(h FrameHeader, p []byte) (lastID uint32, code ErrCode, debug []byte, err error) {
	if len(p) < goAwayMinLen {
		return 0, 0, nil, errGoAwayShort
	}
	lastID = binary.BigEndian.Uint32(p) & maxStreamID
	code = ErrCode(binary.BigEndian.Uint32(p[4:]))
	return lastID, code, p[goAwayMinLen:], nil
}

// ParseWindowUpdate returns the increment of a WINDOW_UPDATE frame (§6.9),
// the reserved bit dropped. An increment of 0 is a StreamError
// PROTOCOL_ERROR on a stream and a ConnError PROTOCOL_ERROR on stream 0.
func ParseWindowUpdate(h FrameHeader, p []byte) (uint32, error) {
	if len(p) != windowUpdateLen {
		return 0, errWindowUpdateSize
	}
	incr := binary.BigEndian.Uint32(p) & maxStreamID
	if incr == 0 {
		if h.StreamID == 0 {
			return 0, errWindowUpdateZero
		}
		return 0, StreamError{h.StreamID, ErrProtocol, "WINDOW_UPDATE with increment 0"}
	}
	return incr, nil
}

// PushPromisePayload parses a PUSH_PROMISE frame (§6.6): the promised
// stream id and the field block fragment, padding removed. A server never
// accepts one (§8.4); this exists for completeness and clients in tests.
func PushPromisePayload(h FrameHeader, p []byte) (promised uint32, block []byte, err error) {
	block = p
	if h.Flags.Has(FlagPadded) {
		if block, err = stripPadding(p); err != nil {
			return 0, nil, err
		}
	}
	if len(block) < pushPromiseMin {
		return 0, nil, errPushPromiseShort
	}
	return binary.BigEndian.Uint32(block) & maxStreamID, block[pushPromiseMin:], nil
}
