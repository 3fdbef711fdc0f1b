package websocket

import "encoding/binary"

// AppendFrameHeader appends the header of a server frame carrying length
// payload bytes (RFC 6455 §5.2, https://www.rfc-editor.org/rfc/rfc6455#section-5.2):
// FIN as given, RSV bits clear, no mask (servers never mask, §5.1) and the
// length in its minimal encoding (7 bits, 16 bits or 64 bits). The payload
// follows, written by the caller. A negative length is written as 0.
//
// The caller keeps control frames final and at most MaxControlPayload bytes.
// It appends at most 10 bytes and does not allocate when dst has room.
func AppendFrameHeader(dst []byte, fin bool, op Opcode, length int) []byte {
	b0 := byte(op & 0x0f)
	if fin {
		b0 |= 0x80
	}
	switch {
	case length <= 0:
		return append(dst, b0, 0)
	case length <= 125:
		return append(dst, b0, byte(length))
	case length <= 0xffff:
		return append(dst, b0, 126, byte(length>>8), byte(length))
	}
	dst = append(dst, b0, 127)
	return binary.BigEndian.AppendUint64(dst, uint64(length))
}

// AppendCompressedFrameHeader is AppendFrameHeader with RSV1 set: the
// header of the first frame of a message compressed with permessage-deflate
// (RFC 7692 §6). Continuation frames of that message, and control frames,
// use AppendFrameHeader (RSV1 clear, §6.1).
func AppendCompressedFrameHeader(dst []byte, fin bool, op Opcode, length int) []byte {
	n := len(dst)
	dst = AppendFrameHeader(dst, fin, op, length)
	dst[n] |= 0x40
	return dst
}

// AppendCloseFrame appends a whole close frame (RFC 6455 §5.5.1): the
// status code big-endian followed by reason. Code 0 means "no code" and gives
// an empty payload (the reason is then dropped); a handler close without a
// code is sent as 1000 (reference.md §6.4), so the server passes 1000 for it.
// The caller checks the code with ValidCloseCode first (reference.md §12 #16);
// it is written modulo 65536.
//
// A reason longer than 123 bytes (the 125-byte control payload limit minus
// the code) is cut at the last UTF-8 sequence boundary that fits, so the
// frame is always valid. It does not allocate when dst has room.
func AppendCloseFrame(dst []byte, code int, reason []byte) []byte {
	if code == 0 {
		return AppendFrameHeader(dst, true, OpClose, 0)
	}
	if len(reason) > MaxControlPayload-2 {
		cut := MaxControlPayload - 2
		// Back off over continuation bytes (10xxxxxx) to a sequence start.
		for i := 0; i < 3 && cut > 0 && reason[cut]&0xc0 == 0x80; i++ {
			cut--
		}
		reason = reason[:cut]
	}
	dst = AppendFrameHeader(dst, true, OpClose, 2+len(reason))
	dst = append(dst, byte(code>>8), byte(code))
	return append(dst, reason...)
}
