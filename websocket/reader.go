package websocket

import (
	"encoding/binary"
	"strconv"
)

// EventKind says what Reader.Next found.
type EventKind uint8

const (
	EvNone  EventKind = iota // nothing to report (see Reader.Next for n)
	EvData                   // a chunk of a text or binary message
	EvPing                   // a whole ping frame
	EvPong                   // a whole pong frame
	EvClose                  // a whole close frame; the Reader reads nothing more
)

// Event is one thing Reader.Next found. Payload is a view into the buffer
// given to Next, unmasked in place; it stays valid until the caller reuses
// that part of the buffer, so a caller that keeps it (a ping body queued for
// the handler) copies it first.
type Event struct {
	Kind EventKind
	// Opcode is the message's opcode for EvData (OpText or OpBinary, also
	// for the chunks of continuation frames), the frame's for control events.
	Opcode Opcode
	// Payload: EvData: the next chunk of the message, 0 to limit bytes
	// (empty only for an empty final frame); EvPing, EvPong: the whole
	// payload; EvClose: the reason (the payload after the 2 code bytes;
	// valid UTF-8).
	Payload []byte
	// Fin: EvData: this chunk ends the message.
	Fin bool
	// Compressed: EvData: the message's first frame had RSV1 set
	// (permessage-deflate, Reader.Deflate): Payload is compressed bytes,
	// for an Inflater, not yet checked as UTF-8.
	Compressed bool
	// Code: EvClose: the status code, 0 when the payload was empty.
	Code int
}

// ProtocolError is a client's violation of RFC 6455. The server closes the
// connection; Code is the close status that describes it (1002 protocol
// error, 1007 invalid UTF-8, 1009 message too big) and Reason a short text
// fit for a close frame and a log line. The Reader's errors are shared
// values: compare Code, do not modify them.
type ProtocolError struct {
	Code   int
	Reason string
}

func (e *ProtocolError) Error() string {
	return "websocket: " + e.Reason + " (" + strconv.Itoa(e.Code) + ")"
}

// The Reader's errors, preallocated so failing allocates nothing either.
var (
	errRSV            = &ProtocolError{CloseProtocolError, "reserved bits set without a negotiated extension"}
	errRSV1Frame      = &ProtocolError{CloseProtocolError, "RSV1 set on a continuation or control frame"}
	errUnmasked       = &ProtocolError{CloseProtocolError, "unmasked client frame"}
	errOpcode         = &ProtocolError{CloseProtocolError, "reserved opcode"}
	errControlFrag    = &ProtocolError{CloseProtocolError, "fragmented control frame"}
	errControlLen     = &ProtocolError{CloseProtocolError, "control frame payload over 125 bytes"}
	errContinuation   = &ProtocolError{CloseProtocolError, "continuation frame without a message in progress"}
	errNewMessage     = &ProtocolError{CloseProtocolError, "new data frame inside a fragmented message"}
	errNonMinimal     = &ProtocolError{CloseProtocolError, "payload length not minimally encoded"}
	errLength64       = &ProtocolError{CloseProtocolError, "payload length with the most significant bit set"}
	errCloseLen       = &ProtocolError{CloseProtocolError, "close payload of 1 byte"}
	errCloseCode      = &ProtocolError{CloseProtocolError, "invalid close code"}
	errInvalidUTF8    = &ProtocolError{CloseInvalidData, "invalid UTF-8 in text message"}
	errCloseReasonUTF = &ProtocolError{CloseInvalidData, "invalid UTF-8 in close reason"}
	errTooBig         = &ProtocolError{CloseTooBig, "message too big"}
)

// readerErrors numbers the errors so a Reader records which one it hit in a
// byte: a Reader lives inside the server's connection slots, which hold no
// pointers so the garbage collector has nothing to scan there.
var readerErrors = [...]*ProtocolError{nil, errRSV, errUnmasked, errOpcode, errControlFrag, errControlLen,
	errContinuation, errNewMessage, errNonMinimal, errLength64, errCloseLen, errCloseCode, errInvalidUTF8,
	errCloseReasonUTF, errTooBig, errRSV1Frame}

// Reader decodes the frames a client sends (RFC 6455 §5,
// https://www.rfc-editor.org/rfc/rfc6455#section-5) incrementally, from
// whatever the reads deliver. The zero value is ready; Reset it between
// connections. One Reader per connection, used by one goroutine.
//
// What it refuses, each with its close code (a *ProtocolError):
//   - an unmasked frame: 1002. Clients must mask (§5.1); we are stricter
//     than the reference, which accepts unmasked frames (reference.md §6.3);
//   - RSV1-3 set, no extension being negotiated (§5.2): 1002. With
//     Deflate (permessage-deflate negotiated), RSV1 is allowed on the
//     first frame of a data message, which is then compressed
//     (Event.Compressed); RSV1 on a continuation or control frame is a 1002
//     (RFC 7692 §6, reference.md §6.6), RSV2 and RSV3 still are;
//   - a reserved opcode, 3-7 or 11-15 (§5.2): 1002;
//   - a control frame that is not final or has over 125 bytes (§5.5): 1002;
//   - a continuation frame without a message in progress, or a text or
//     binary frame while one is (§5.4): 1002. Control frames between the
//     fragments of a message are allowed (§5.4, reference.md §12 #12);
//   - a payload length not in its minimal encoding (a 16-bit length under
//     126, a 64-bit length under 65536) or a 64-bit length with the most
//     significant bit set (§5.2 "MUST"): 1002;
//   - a text message that is not valid UTF-8, checked across frames and
//     reads, including a message that ends inside a sequence (§8.1): 1007
//     (for a compressed message the Inflater checks the inflated bytes);
//   - a close frame with a 1-byte payload or a status code not valid on the
//     wire (§7.4, see ValidCloseCode): 1002; a reason not UTF-8: 1007;
//   - with MaxMessage > 0, a data message whose frames declare more than
//     MaxMessage payload bytes in all: 1009, as soon as the frame header
//     that crosses the limit arrives.
//
// Errors are reported as soon as the bytes that show them are buffered and
// are sticky: once Next has failed it returns the same error, consuming
// nothing, until Reset.
type Reader struct {
	// MaxMessage bounds a data message's total payload; 0 or less means
	// no limit. It is kept by Reset. For a compressed message it bounds
	// the compressed bytes; the Inflater bounds the inflated ones.
	MaxMessage int64

	remaining uint64  // payload bytes of the current data frame not yet returned; > 0 inside a payload
	msgLen    int64   // payload bytes declared so far by the message's frames (counted with MaxMessage > 0)
	mask      [4]byte // masking key of the current data frame
	maskOff   uint8   // key offset of the next payload byte (§5.3)
	frameFin  bool    // the current data frame is the message's last
	msgOp     Opcode  // OpText or OpBinary while a message is in progress, else 0
	closed    bool    // a close frame was returned
	compress  bool    // the current data message is compressed (RSV1 on its first frame)
	utf8      UTF8    // validation state of the current text message
	err       uint8   // index in readerErrors of the sticky error, 0 = none

	// Deflate: permessage-deflate was negotiated on this connection, so
	// RSV1 marks a compressed message (RFC 7692 §6). Reset clears it.
	// (Last, with the other bytes: the Reader lives in connection slots.)
	Deflate bool
}

// Reset readies r for a new connection, keeping MaxMessage.
func (r *Reader) Reset() { *r = Reader{MaxMessage: r.MaxMessage} }

// InMessage reports whether a data message has started and its final frame
// has not been wholly returned.
func (r *Reader) InMessage() bool { return r.msgOp != 0 }

// Closed reports whether a close frame has been returned. After it Next
// returns EvNone and consumes nothing (RFC 6455 §5.5.1: nothing follows a
// close).
func (r *Reader) Closed() bool { return r.closed }

// Next decodes from the start of buf and returns the next event and the
// number of bytes of buf it consumed; the caller drops buf[:n] and calls
// Next again with what follows, plus any newly read bytes. Next unmasks data
// in place: buf[:n] is modified, buf[n:] is not (except after an error).
//
// Results:
//   - (EvData, n > 0): up to limit payload bytes of the current message,
//     as soon as they arrive, whatever the frame boundaries. The chunk that
//     ends the message has Fin set; an empty final frame gives an empty
//     Payload with Fin set. limit is the caller's credit, at least 1; with
//     limit < 1 no payload is returned, but frame headers and control
//     frames before it still are (Next returns EvNone, n = 0 when payload
//     is next).
//   - (EvPing, EvPong or EvClose, n > 0): a whole control frame, returned
//     only once it is wholly in buf (at most MaxControlFrame bytes). They
//     may come between the chunks of a fragmented message (InMessage stays
//     true).
//   - (EvNone, n > 0): bytes consumed without an event: a data frame
//     header whose payload has not arrived yet (or limit < 1), or a
//     non-final data frame with an empty payload. Call again.
//   - (EvNone, 0): more input is needed: buf holds only part of a frame
//     header or of a control frame (nothing is consumed, so the caller
//     keeps those bytes and appends more), or buf is empty, or limit < 1
//     with payload next, or a close frame was already returned.
//   - (_, 0, err): err is a *ProtocolError; the connection is done.
//
// So callers loop while n > 0, and read more when n == 0. Next does not
// allocate.
func (r *Reader) Next(buf []byte, limit int) (ev Event, n int, err error) {
	if r.err != 0 {
		return Event{}, 0, readerErrors[r.err]
	}
	if r.closed {
		return Event{}, 0, nil
	}
	if r.remaining > 0 {
		return r.payload(buf, 0, limit)
	}

	// Frame header (§5.2). The first two bytes are checked as soon as
	// they are there, so a bad frame fails before the rest arrives.
	if len(buf) < 2 {
		return Event{}, 0, nil
	}
	b0, b1 := buf[0], buf[1]
	fin := b0&0x80 != 0
	op := Opcode(b0 & 0x0f)
	rsv1 := b0&0x40 != 0
	if b0&0x30 != 0 || rsv1 && !r.Deflate {
		return r.fail(errRSV)
	}
	if rsv1 && (op == OpContinuation || op == OpClose || op == OpPing || op == OpPong) {
		return r.fail(errRSV1Frame)
	}
	if b1&0x80 == 0 {
		return r.fail(errUnmasked)
	}
	length := uint64(b1 & 0x7f)
	switch op {
	case OpContinuation:
		if r.msgOp == 0 {
			return r.fail(errContinuation)
		}
	case OpText, OpBinary:
		if r.msgOp != 0 {
			return r.fail(errNewMessage)
		}
	case OpClose, OpPing, OpPong:
		// §5.5: control frames are final and short, hence their
		// length always fits the 7-bit field.
		if !fin {
			return r.fail(errControlFrag)
		}
		if length > MaxControlPayload {
			return r.fail(errControlLen)
		}
	default:
		return r.fail(errOpcode)
	}
	hlen := 2
	switch length {
	case 126:
		hlen += 2
		if len(buf) < hlen {
			return Event{}, 0, nil
		}
		length = uint64(binary.BigEndian.Uint16(buf[2:]))
		if length < 126 {
			return r.fail(errNonMinimal)
		}
	case 127:
		hlen += 8
		if len(buf) < hlen {
			return Event{}, 0, nil
		}
		length = binary.BigEndian.Uint64(buf[2:])
		if length>>63 != 0 {
			return r.fail(errLength64)
		}
		if length <= 0xffff {
			return r.fail(errNonMinimal)
		}
	}
	hlen += 4
	if len(buf) < hlen {
		return Event{}, 0, nil
	}
	var key [4]byte
	copy(key[:], buf[hlen-4:hlen])

	if op.IsControl() {
		return r.control(buf, hlen, op, int(length), key)
	}

	// Data frame (§5.6): the header is consumed now, the payload streams.
	if r.MaxMessage > 0 {
		if op != OpContinuation {
			r.msgLen = 0
		}
		if r.msgLen > r.MaxMessage || length > uint64(r.MaxMessage-r.msgLen) {
			return r.fail(errTooBig)
		}
		r.msgLen += int64(length)
	}
	if op != OpContinuation {
		r.msgOp = op
		r.compress = rsv1
		r.utf8.Reset()
	}
	r.remaining = length
	r.mask = key
	r.maskOff = 0
	r.frameFin = fin
	if length == 0 {
		if !fin {
			return Event{}, hlen, nil
		}
		return r.endMessage(Event{Kind: EvData, Opcode: r.msgOp, Payload: buf[hlen:hlen], Fin: true, Compressed: r.compress}, hlen)
	}
	return r.payload(buf[hlen:], hlen, limit)
}

// payload returns the next chunk of the current data frame from buf, which
// starts at the first payload byte not yet returned; consumed counts the
// bytes already consumed before buf (the frame header).
func (r *Reader) payload(buf []byte, consumed, limit int) (Event, int, error) {
	k := len(buf)
	if uint64(k) > r.remaining {
		k = int(r.remaining)
	}
	k = min(k, limit)
	if k <= 0 {
		return Event{}, consumed, nil
	}
	p := buf[:k]
	r.maskOff = uint8(maskBytes(r.mask, int(r.maskOff), p))
	if r.msgOp == OpText && !r.compress && !r.utf8.Write(p) {
		return r.fail(errInvalidUTF8)
	}
	r.remaining -= uint64(k)
	ev := Event{Kind: EvData, Opcode: r.msgOp, Payload: p, Compressed: r.compress}
	if r.remaining == 0 && r.frameFin {
		ev.Fin = true
		return r.endMessage(ev, consumed+k)
	}
	return ev, consumed + k, nil
}

// endMessage finishes the current message with ev, its last chunk.
func (r *Reader) endMessage(ev Event, n int) (Event, int, error) {
	if r.msgOp == OpText && !r.compress && !r.utf8.Complete() {
		return r.fail(errInvalidUTF8)
	}
	r.msgOp = 0
	r.compress = false
	r.msgLen = 0
	return ev, n, nil
}

// control returns a whole control frame (§5.5) whose header, hlen bytes,
// starts buf, or asks for more input until the frame is wholly buffered.
func (r *Reader) control(buf []byte, hlen int, op Opcode, length int, key [4]byte) (Event, int, error) {
	n := hlen + length
	if len(buf) < n {
		return Event{}, 0, nil
	}
	p := buf[hlen:n]
	maskBytes(key, 0, p)
	switch op {
	case OpPing:
		return Event{Kind: EvPing, Opcode: op, Payload: p}, n, nil
	case OpPong:
		return Event{Kind: EvPong, Opcode: op, Payload: p}, n, nil
	}
	// Close (§5.5.1): no payload, or a 2-byte code and a UTF-8 reason.
	ev := Event{Kind: EvClose, Opcode: op, Payload: p}
	switch {
	case length == 1:
		return r.fail(errCloseLen)
	case length >= 2:
		ev.Code = int(binary.BigEndian.Uint16(p))
		ev.Payload = p[2:]
		if !ValidCloseCode(ev.Code) {
			return r.fail(errCloseCode)
		}
		if !validUTF8(ev.Payload) {
			return r.fail(errCloseReasonUTF)
		}
	}
	r.closed = true
	return ev, n, nil
}

func (r *Reader) fail(err *ProtocolError) (Event, int, error) {
	for i, e := range readerErrors {
		if e == err {
			r.err = uint8(i)
		}
	}
	return Event{}, 0, err
}

// Unread undoes the Next call that returned ev and n for buf, r having been
// before that call: the payload bytes it unmasked in buf[:n] are masked
// again and r is restored, so a later Next over the same bytes returns the
// same event. A caller that cannot pass an event on yet (its consumer has
// no room) keeps the bytes instead of a copy of the event.
func (r *Reader) Unread(buf []byte, n int, ev Event, before Reader) {
	switch ev.Kind {
	case EvData:
		if p := ev.Payload; len(p) > 0 {
			maskBytes(r.mask, int(r.maskOff)-len(p), p)
		}
	case EvPing, EvPong, EvClose:
		// Returned whole from buf[0]: a 7-bit length (§5.5), the key, the payload.
		length := int(buf[1] & 0x7f)
		maskBytes([4]byte(buf[2:6]), 0, buf[6:6+length])
	}
	*r = before
}
