// Package websocket is the pure RFC 6455 code of condure: the opening
// handshake checks and response, an incremental frame reader for client
// frames and the server's frame writers. Bytes in, bytes out: no I/O, no
// goroutines, no allocation on the per-message path. Values handed out
// (keys, payloads) are views into the caller's buffers and stay valid only as
// long as those buffers are not modified.
//
// Files: handshake.go (RFC 6455 §4.2, reference.md §6.1, §6.2),
// extensions.go (Sec-WebSocket-Extensions syntax, RFC 6455 §9.1),
// reader.go (client frames, RFC 6455 §5, reference.md §6.3),
// frame.go (server frames, reference.md §6.4), mask.go (RFC 6455 §5.3),
// utf8.go (incremental UTF-8 validation, RFC 3629), and for
// permessage-deflate (RFC 7692, reference.md §6.6): deflate_negotiate.go
// (offers and answer), deflate.go (per-worker compressor), inflate.go
// (resumable, bounded DEFLATE decoder) and inflate_pool.go (decoders lent
// per message in flight).
package websocket

import "strconv"

// Opcode is a frame opcode (RFC 6455 §5.2).
type Opcode uint8

// Opcodes defined by RFC 6455 §5.2 (https://www.rfc-editor.org/rfc/rfc6455#section-5.2).
// 3-7 and 11-15 are reserved and refused by the Reader.
const (
	OpContinuation Opcode = 0
	OpText         Opcode = 1
	OpBinary       Opcode = 2
	OpClose        Opcode = 8
	OpPing         Opcode = 9
	OpPong         Opcode = 10
)

// IsControl reports whether op is a control opcode (RFC 6455 §5.5: the high
// bit of the opcode is set).
func (op Opcode) IsControl() bool { return op&0x8 != 0 }

func (op Opcode) String() string {
	switch op {
	case OpContinuation:
		return "continuation"
	case OpText:
		return "text"
	case OpBinary:
		return "binary"
	case OpClose:
		return "close"
	case OpPing:
		return "ping"
	case OpPong:
		return "pong"
	}
	return "opcode(" + strconv.Itoa(int(op)) + ")"
}

// Frame size limits (RFC 6455 §5.2, §5.5).
const (
	// MaxFrameHeader is the longest frame header: 2 bytes, a 64-bit
	// extended length and a 4-byte masking key.
	MaxFrameHeader = 2 + 8 + 4
	// MaxControlPayload: control frames carry at most 125 bytes (§5.5),
	// so their length always fits the 7-bit field.
	MaxControlPayload = 125
	// MaxControlFrame is the longest valid client control frame: a 2-byte
	// header, the masking key and 125 bytes of payload. The Reader returns
	// a control frame only once it is wholly buffered, so a read buffer
	// must hold at least this many bytes for the Reader to make progress.
	MaxControlFrame = 2 + 4 + MaxControlPayload
)

// Close status codes used by this package (RFC 6455 §7.4.1).
const (
	CloseNormal        = 1000
	CloseProtocolError = 1002
	CloseInvalidData   = 1007 // payload not consistent with the message type (bad UTF-8)
	CloseTooBig        = 1009
	CloseInternalError = 1011 // replaces a handler's invalid close code (reference.md §12 #16)
)

// ValidCloseCode reports whether code may be sent in a close frame
// (RFC 6455 §7.4, https://www.rfc-editor.org/rfc/rfc6455#section-7.4):
// 1000-1003, 1007-1011 and 3000-4999. 1004-1006 and 1015 are reserved
// for local use, the rest of 1000-2999 is unassigned (this includes
// 1012-1014, registered later with IANA but refused here as by Autobahn), and
// anything below 1000 or above 4999 is invalid.
//
// The Reader answers a client close with an invalid code with 1002; the
// server replaces an invalid code in a handler's close with 1011 (reference.md
// §12 #16).
func ValidCloseCode(code int) bool {
	switch {
	case code >= 1000 && code <= 1003, code >= 1007 && code <= 1011:
		return true
	case code >= 3000 && code <= 4999:
		return true
	}
	return false
}
