package websocket

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
	"unsafe"
)

// Test helpers: building client frames and running a Reader over input split
// into chunks.

var testKey = [4]byte{0x37, 0xfa, 0x21, 0x3d} // the key of reference.md §10.3

// cframe builds a masked client frame with the minimal length encoding.
func cframe(fin bool, op Opcode, payload string) []byte {
	return rawFrame(fin, 0, op, true, -1, payload)
}

// rawFrame builds a client frame: rsv is the RSV bits (0-7), lenBytes forces
// the length encoding (0: 7-bit, 2: 16-bit, 8: 64-bit, -1: minimal).
func rawFrame(fin bool, rsv byte, op Opcode, masked bool, lenBytes int, payload string) []byte {
	b0 := byte(op)&0x0f | rsv<<4
	if fin {
		b0 |= 0x80
	}
	var m byte
	if masked {
		m = 0x80
	}
	n := len(payload)
	if lenBytes < 0 {
		switch {
		case n <= 125:
			lenBytes = 0
		case n <= 0xffff:
			lenBytes = 2
		default:
			lenBytes = 8
		}
	}
	out := []byte{b0}
	switch lenBytes {
	case 0:
		out = append(out, m|byte(n))
	case 2:
		out = append(out, m|126)
		out = binary.BigEndian.AppendUint16(out, uint16(n))
	case 8:
		out = append(out, m|127)
		out = binary.BigEndian.AppendUint64(out, uint64(n))
	}
	if masked {
		out = append(out, testKey[:]...)
	}
	p := []byte(payload)
	if masked {
		for i := range p {
			p[i] ^= testKey[i%4]
		}
	}
	return append(out, p...)
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// closePayload builds a close payload with a code and reason.
func closePayload(code int, reason string) string {
	return string([]byte{byte(code >> 8), byte(code)}) + reason
}

// item is one normalized event: consecutive EvData chunks of a message are
// merged, so streams from different splits compare equal.
type item struct {
	kind EventKind
	op   Opcode
	data string
	fin  bool
	code int
}

func (it item) String() string {
	switch it.kind {
	case EvData:
		return fmt.Sprintf("data(%v,%q,fin=%v)", it.op, it.data, it.fin)
	case EvClose:
		return fmt.Sprintf("close(%d,%q)", it.code, it.data)
	}
	return fmt.Sprintf("kind%d(%q)", it.kind, it.data)
}

type runResult struct {
	items []item // normalized: see normalize
	code  int    // ProtocolError code, 0 without an error
	raw   []item // one per event, chunks unmerged
}

func (r runResult) String() string {
	var sb strings.Builder
	for _, it := range r.items {
		sb.WriteString(it.String())
		sb.WriteString(" ")
	}
	fmt.Fprintf(&sb, "err=%d", r.code)
	return sb.String()
}

// checkFunc is called on every Next result by run; it returns a description
// of a contract violation, or "".
type checkFunc func(ev Event, n int, buf []byte, limit int, err error) string

// run feeds input to r in chunks whose sizes come from next (called for each
// new read; its result is clamped to 1..remaining). limit is passed to Next.
// Unconsumed bytes are kept and the next chunk appended, as a server does.
// The result is normalized.
func run(r *Reader, input []byte, next func() int, limit int, check checkFunc) (runResult, error) {
	var res runResult
	var buf []byte
	pos := 0
	for {
		ev, n, err := r.Next(buf, limit)
		if check != nil {
			if msg := check(ev, n, buf, limit, err); msg != "" {
				return res, fmt.Errorf("%s (buf %d bytes, n=%d, ev=%+v, err=%v)", msg, len(buf), n, ev, err)
			}
		}
		if err != nil {
			pe, ok := err.(*ProtocolError)
			if !ok {
				return res, fmt.Errorf("error %T %v is not a *ProtocolError", err, err)
			}
			res.code = pe.Code
			break
		}
		if ev.Kind != EvNone {
			res.raw = append(res.raw, item{kind: ev.Kind, op: ev.Opcode, data: string(ev.Payload), fin: ev.Fin, code: ev.Code})
		}
		buf = buf[n:]
		if n == 0 {
			if pos == len(input) || r.Closed() { // nothing is read after a close
				break
			}
			k := min(max(next(), 1), len(input)-pos)
			nb := make([]byte, len(buf), len(buf)+k)
			copy(nb, buf)
			buf = append(nb, input[pos:pos+k]...)
			pos += k
		}
	}
	return normalize(res)
}

// normalize merges the chunks of each data message into one item placed
// where its first chunk came, so the stream no longer depends on read
// boundaries or limits. On an error an unfinished message is dropped: how
// much of it came out before the error depends on the chunking.
func normalize(r runResult) (runResult, error) {
	r.items = nil
	open := -1
	var acc []byte // data of the open message
	for _, it := range r.raw {
		if it.kind != EvData {
			r.items = append(r.items, it)
			continue
		}
		if open < 0 {
			r.items = append(r.items, item{kind: EvData, op: it.op})
			open = len(r.items) - 1
			acc = acc[:0]
		} else if r.items[open].op != it.op {
			return r, fmt.Errorf("opcode changed inside a message: %v then %v", r.items[open].op, it.op)
		}
		acc = append(acc, it.data...)
		if it.fin {
			r.items[open].data = string(acc)
			r.items[open].fin = true
			open = -1
		}
	}
	if open >= 0 {
		if r.code != 0 {
			r.items = append(r.items[:open], r.items[open+1:]...)
		} else {
			r.items[open].data = string(acc)
		}
	}
	return r, nil
}

func whole(n int) func() int { return func() int { return n } }

// contract checks the promises of Reader.Next's doc comment.
func contract(ev Event, n int, buf []byte, limit int, err error) string {
	switch {
	case n < 0 || n > len(buf):
		return "n out of range"
	case err != nil && n != 0:
		return "n > 0 with an error"
	case err != nil && ev.Kind != EvNone:
		return "event with an error"
	case ev.Kind != EvNone && n == 0:
		return "event without consuming"
	case ev.Kind > EvClose:
		return "unknown event kind"
	case ev.Kind == EvData && len(ev.Payload) > limit:
		return "data chunk over limit"
	case ev.Kind == EvData && len(ev.Payload) == 0 && !ev.Fin:
		return "empty non-final data chunk"
	case ev.Kind == EvData && ev.Opcode != OpText && ev.Opcode != OpBinary:
		return "data event with a non-data opcode"
	case ev.Kind != EvNone && ev.Kind != EvData && len(ev.Payload) > MaxControlPayload:
		return "control payload over 125 bytes"
	case ev.Kind == EvClose && ev.Code == 0 && len(ev.Payload) != 0:
		return "close reason without a code"
	case len(ev.Payload) > 0 && !within(ev.Payload, buf[:n]):
		return "payload not a view into the consumed bytes"
	}
	return ""
}

// within reports whether p lies inside b's memory.
func within(p, b []byte) bool {
	if len(b) == 0 {
		return false
	}
	ps, bs := uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	return ps >= bs && ps+uintptr(len(p)) <= bs+uintptr(len(b))
}
