package http2

import "encoding/binary"

// ClientPreface is what a client sends first on every HTTP/2 connection,
// before its SETTINGS frame (RFC 9113 §3.4).
const ClientPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

const (
	// FrameHeaderLen is the fixed size of a frame header (RFC 9113 §4.1).
	FrameHeaderLen = 9
	// DefaultMaxFrameSize is SETTINGS_MAX_FRAME_SIZE until the peer says
	// otherwise, and the smallest value it may say (§6.5.2).
	DefaultMaxFrameSize = 1 << 14
	// MaxFrameSizeLimit is the largest SETTINGS_MAX_FRAME_SIZE allowed:
	// the frame length field has 24 bits (§4.1, §6.5.2).
	MaxFrameSizeLimit = 1<<24 - 1
	// maxStreamID: stream identifiers are 31 bits, the top bit reserved (§4.1).
	maxStreamID = 1<<31 - 1
)

// FrameType is the 8-bit type of a frame (RFC 9113 §6). Unknown types are
// legal and must be ignored by receivers (§4.1, §5.5).
type FrameType uint8

// The frame types of RFC 9113 §6.
const (
	FrameData         FrameType = 0x0
	FrameHeaders      FrameType = 0x1
	FramePriority     FrameType = 0x2
	FrameRSTStream    FrameType = 0x3
	FrameSettings     FrameType = 0x4
	FramePushPromise  FrameType = 0x5
	FramePing         FrameType = 0x6
	FrameGoAway       FrameType = 0x7
	FrameWindowUpdate FrameType = 0x8
	FrameContinuation FrameType = 0x9
)

var frameTypeNames = [...]string{
	FrameData:         "DATA",
	FrameHeaders:      "HEADERS",
	FramePriority:     "PRIORITY",
	FrameRSTStream:    "RST_STREAM",
	FrameSettings:     "SETTINGS",
	FramePushPromise:  "PUSH_PROMISE",
	FramePing:         "PING",
	FrameGoAway:       "GOAWAY",
	FrameWindowUpdate: "WINDOW_UPDATE",
	FrameContinuation: "CONTINUATION",
}

// String returns the RFC name of the type, or "UNKNOWN" for other types.
func (t FrameType) String() string {
	if int(t) < len(frameTypeNames) {
		return frameTypeNames[t]
	}
	return "UNKNOWN"
}

// Flags are the 8 flag bits of a frame header; their meaning depends on
// the frame type (RFC 9113 §6).
type Flags uint8

const (
	FlagEndStream  Flags = 0x1  // DATA, HEADERS (§6.1, §6.2)
	FlagAck        Flags = 0x1  // SETTINGS, PING (§6.5, §6.7)
	FlagEndHeaders Flags = 0x4  // HEADERS, PUSH_PROMISE, CONTINUATION (§6.2)
	FlagPadded     Flags = 0x8  // DATA, HEADERS, PUSH_PROMISE (§6.1)
	FlagPriority   Flags = 0x20 // HEADERS (§6.2)
)

// Has reports whether all the bits of g are set in f.
func (f Flags) Has(g Flags) bool { return f&g == g }

// FrameHeader is the 9-byte header every frame starts with (RFC 9113 §4.1).
type FrameHeader struct {
	Length   uint32 // payload length, 24 bits
	Type     FrameType
	Flags    Flags
	StreamID uint32 // 31 bits; the reserved bit is dropped when parsing
}

// ParseFrameHeader decodes the first FrameHeaderLen bytes of b, which the
// caller guarantees are there (it panics otherwise, like a slice index). The
// reserved bit of the stream identifier is ignored (§4.1). No check is made
// here: pass the result to CheckFrame.
func ParseFrameHeader(b []byte) FrameHeader {
	_ = b[8]
	return FrameHeader{
		Length:   uint32(b[0])<<16 | uint32(b[1])<<8 | uint32(b[2]),
		Type:     FrameType(b[3]),
		Flags:    Flags(b[4]),
		StreamID: binary.BigEndian.Uint32(b[5:9]) & maxStreamID,
	}
}

// AppendFrameHeader appends the 9-byte encoding of h. Length is written
// modulo 2^24 and the reserved stream-id bit as 0: the caller keeps Length
// within the peer's SETTINGS_MAX_FRAME_SIZE. It does not allocate when dst
// has room.
func AppendFrameHeader(dst []byte, h FrameHeader) []byte {
	return append(dst,
		byte(h.Length>>16), byte(h.Length>>8), byte(h.Length),
		byte(h.Type), byte(h.Flags),
		byte(h.StreamID>>24)&0x7f, byte(h.StreamID>>16), byte(h.StreamID>>8), byte(h.StreamID))
}
