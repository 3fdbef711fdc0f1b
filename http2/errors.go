package http2

import "strconv"

// ErrCode is an HTTP/2 error code, carried by RST_STREAM and GOAWAY
// (RFC 9113 §7, https://www.rfc-editor.org/rfc/rfc9113#section-7).
type ErrCode uint32

// The error codes of RFC 9113 §7. Unknown codes are legal on the wire and
// must be treated as ErrInternal by a receiver that acts on them (§7).
const (
	ErrNo                 ErrCode = 0x0
	ErrProtocol           ErrCode = 0x1
	ErrInternal           ErrCode = 0x2
	ErrFlowControl        ErrCode = 0x3
	ErrSettingsTimeout    ErrCode = 0x4
	ErrStreamClosed       ErrCode = 0x5
	ErrFrameSize          ErrCode = 0x6
	ErrRefusedStream      ErrCode = 0x7
	ErrCancel             ErrCode = 0x8
	ErrCompression        ErrCode = 0x9
	ErrConnect            ErrCode = 0xa
	ErrEnhanceYourCalm    ErrCode = 0xb
	ErrInadequateSecurity ErrCode = 0xc
	ErrHTTP11Required     ErrCode = 0xd
)

var errCodeNames = [...]string{
	ErrNo:                 "NO_ERROR",
	ErrProtocol:           "PROTOCOL_ERROR",
	ErrInternal:           "INTERNAL_ERROR",
	ErrFlowControl:        "FLOW_CONTROL_ERROR",
	ErrSettingsTimeout:    "SETTINGS_TIMEOUT",
	ErrStreamClosed:       "STREAM_CLOSED",
	ErrFrameSize:          "FRAME_SIZE_ERROR",
	ErrRefusedStream:      "REFUSED_STREAM",
	ErrCancel:             "CANCEL",
	ErrCompression:        "COMPRESSION_ERROR",
	ErrConnect:            "CONNECT_ERROR",
	ErrEnhanceYourCalm:    "ENHANCE_YOUR_CALM",
	ErrInadequateSecurity: "INADEQUATE_SECURITY",
	ErrHTTP11Required:     "HTTP_1_1_REQUIRED",
}

// String returns the RFC name of the code ("PROTOCOL_ERROR"); an unknown
// code is written "UNKNOWN_ERROR_0x1f" (that case allocates).
func (c ErrCode) String() string {
	if int(c) < len(errCodeNames) {
		return errCodeNames[c]
	}
	return "UNKNOWN_ERROR_0x" + strconv.FormatUint(uint64(c), 16)
}

// ConnError is a connection error (RFC 9113 §5.4.1): the endpoint sends
// GOAWAY with Code and closes the connection. Reason is a constant phrase
// for logs, never sent to the peer unless the caller chooses to put it in
// GOAWAY's debug data. Parsers return it by value; returning a constant
// ConnError as an error does not allocate.
type ConnError struct {
	Code   ErrCode
	Reason string
}

func (e ConnError) Error() string {
	return "http2: connection error " + e.Code.String() + ": " + e.Reason
}

// StreamError is a stream error (RFC 9113 §5.4.2): the endpoint sends
// RST_STREAM with Code on StreamID and the connection goes on. An endpoint
// may treat any stream error as a connection error (§5.4).
type StreamError struct {
	StreamID uint32
	Code     ErrCode
	Reason   string
}

func (e StreamError) Error() string {
	return "http2: stream error " + e.Code.String() + " on stream " +
		strconv.FormatUint(uint64(e.StreamID), 10) + ": " + e.Reason
}
