package http2

// Fixed payload sizes and minimums of RFC 9113 §6.
const (
	priorityLen     = 5 // stream dependency (4) + weight (1), §6.3
	rstStreamLen    = 4 // error code, §6.4
	settingLen      = 6 // identifier (2) + value (4), §6.5.1
	pingLen         = 8 // opaque data, §6.7
	goAwayMinLen    = 8 // last stream id (4) + error code (4), §6.8
	windowUpdateLen = 4 // increment, §6.9
	pushPromiseMin  = 4 // promised stream id, §6.6
)

// The connection errors CheckFrame and the payload parsers return, held as
// interface values so that returning one does not allocate.
var (
	errTooLarge         error = ConnError{ErrFrameSize, "frame larger than SETTINGS_MAX_FRAME_SIZE"}
	errStreamZero       error = ConnError{ErrProtocol, "frame needs a stream id, has 0"}
	errStreamNonZero    error = ConnError{ErrProtocol, "connection frame on a stream"}
	errPaddedTooShort   error = ConnError{ErrFrameSize, "padded frame without room for its pad length"}
	errHeadersTooShort  error = ConnError{ErrFrameSize, "HEADERS too short for its pad length and priority"}
	errRSTStreamSize    error = ConnError{ErrFrameSize, "RST_STREAM length is not 4"}
	errSettingsAckSize  error = ConnError{ErrFrameSize, "SETTINGS ack with a payload"}
	errSettingsSize     error = ConnError{ErrFrameSize, "SETTINGS length is not a multiple of 6"}
	errPushPromiseShort error = ConnError{ErrFrameSize, "PUSH_PROMISE too short"}
	errPingSize         error = ConnError{ErrFrameSize, "PING length is not 8"}
	errGoAwayShort      error = ConnError{ErrFrameSize, "GOAWAY shorter than 8"}
	errWindowUpdateSize error = ConnError{ErrFrameSize, "WINDOW_UPDATE length is not 4"}
	errPadding          error = ConnError{ErrProtocol, "padding as long as the payload"}
	errWindowUpdateZero error = ConnError{ErrProtocol, "WINDOW_UPDATE with increment 0"}
)

// CheckFrame applies the header-only rules of RFC 9113 §4.2 and §6 to a
// received frame: its length against maxFrameSize (the value this endpoint
// advertised in SETTINGS_MAX_FRAME_SIZE), the fixed or minimum payload size
// of its type, and whether it must or must not be on stream 0. It returns
// nil, a ConnError, or a StreamError (only for PRIORITY of the wrong size,
// §6.3). Unknown frame types pass (they are to be ignored, §5.5).
//
// It knows no connection state: stream-id parity and ordering, frames on
// idle or closed streams, CONTINUATION sequencing, and refusing
// PUSH_PROMISE from a client (§8.4) are the caller's.
func CheckFrame(h FrameHeader, maxFrameSize uint32) error {
	if h.Length > maxFrameSize {
		// A connection error for every type: §4.2 demands it for frames
		// that can change connection state and allows it for the rest.
		return errTooLarge
	}
	switch h.Type {
	case FrameData: // §6.1
		if h.StreamID == 0 {
			return errStreamZero
		}
		if h.Flags.Has(FlagPadded) && h.Length < 1 {
			return errPaddedTooShort
		}
	case FrameHeaders: // §6.2
		if h.StreamID == 0 {
			return errStreamZero
		}
		var min uint32
		if h.Flags.Has(FlagPadded) {
			min++
		}
		if h.Flags.Has(FlagPriority) {
			min += priorityLen
		}
		if h.Length < min {
			return errHeadersTooShort
		}
	case FramePriority: // §6.3
		if h.StreamID == 0 {
			return errStreamZero
		}
		if h.Length != priorityLen {
			return StreamError{h.StreamID, ErrFrameSize, "PRIORITY length is not 5"}
		}
	case FrameRSTStream: // §6.4
		if h.StreamID == 0 {
			return errStreamZero
		}
		if h.Length != rstStreamLen {
			return errRSTStreamSize
		}
	case FrameSettings: // §6.5
		if h.StreamID != 0 {
			return errStreamNonZero
		}
		if h.Flags.Has(FlagAck) && h.Length != 0 {
			return errSettingsAckSize
		}
		if h.Length%settingLen != 0 {
			return errSettingsSize
		}
	case FramePushPromise: // §6.6
		if h.StreamID == 0 {
			return errStreamZero
		}
		min := uint32(pushPromiseMin)
		if h.Flags.Has(FlagPadded) {
			min++
		}
		if h.Length < min {
			return errPushPromiseShort
		}
	case FramePing: // §6.7
		if h.StreamID != 0 {
			return errStreamNonZero
		}
		if h.Length != pingLen {
			return errPingSize
		}
	case FrameGoAway: // §6.8
		if h.StreamID != 0 {
			return errStreamNonZero
		}
		if h.Length < goAwayMinLen {
			return errGoAwayShort
		}
	case FrameWindowUpdate: // §6.9: any stream id, 0 is the connection
		if h.Length != windowUpdateLen {
			return errWindowUpdateSize
		}
	case FrameContinuation: // §6.10
		if h.StreamID == 0 {
			return errStreamZero
		}
	}
	return nil
}

// SplitFrame finds the first frame in b, a connection's received bytes.
// With fewer than FrameHeaderLen bytes, or a header whose payload has not
// all arrived, it returns n = 0 and no error: read more. A header that
// CheckFrame refuses with a ConnError is reported as soon as it is there
// (n = 0: the connection ends, no need to wait for a payload that may be
// 16 MiB). Otherwise it returns the header, the payload (a view into b),
// n = FrameHeaderLen + h.Length to consume, and CheckFrame's StreamError if
// any (the frame is then skipped and the stream reset).
func SplitFrame(b []byte, maxFrameSize uint32) (h FrameHeader, payload []byte, n int, err error) {
	if len(b) < FrameHeaderLen {
		return h, nil, 0, nil
	}
	h = ParseFrameHeader(b)
	err = CheckFrame(h, maxFrameSize)
	if _, ok := err.(ConnError); ok {
		return h, nil, 0, err
	}
	n = FrameHeaderLen + int(h.Length)
	if len(b) < n {
		return h, nil, 0, nil
	}
	return h, b[FrameHeaderLen:n:n], n, err
}
