package zhttp

// Tnetstring codec (reference.md §1). The reader works on views into the caller's
// buffer and never allocates; the writer appends to the caller's buffer and
// allocates only when that buffer has to grow.

import (
	"bytes"
	"strconv"
)

// containerReserve is the room BeginContainer leaves for a container's length
// prefix: five digits and ':' cover every payload below 100000 bytes, which
// is more than MaxPacketSize, so EndContainer normally only shifts left.
const containerReserve = 6

// TnetKind is the type byte of a tnetstring value.
type TnetKind byte

const (
	TnetString TnetKind = ','
	TnetInt    TnetKind = '#'
	TnetFloat  TnetKind = '^'
	TnetBool   TnetKind = '!'
	TnetNull   TnetKind = '~'
	TnetList   TnetKind = ']'
	TnetDict   TnetKind = '}'
)

// TnetValue is one parsed value: its kind and payload view.
type TnetValue struct {
	Kind    TnetKind
	Payload []byte
}

// protoError is a fixed-text error wrapping one of the package sentinels.
// All instances are package-level values, so returning one does not allocate.
type protoError struct {
	msg string
	err error
}

func (e *protoError) Error() string { return e.msg }
func (e *protoError) Unwrap() error { return e.err }

// Tnetstring errors (texts as condure's, reference.md §3.6).
var (
	errTnetEOF       error = &protoError{"unexpected eof", ErrTnet}
	errTnetInvalid   error = &protoError{"invalid data", ErrTnet}
	errTnetWrongType error = &protoError{"wrong type", ErrTnet}
)

// ParseTnet parses the value at the start of b and returns it and the rest of b.
// Lengths: digits only (leading zeros allowed), then ':'; payload + type byte
// must fit; unknown type byte is an error. Containers are not descended.
// Errors wrap ErrTnet: "unexpected eof" for truncated input, "invalid data"
// for anything malformed.
func ParseTnet(b []byte) (v TnetValue, rest []byte, err error) {
	colon := bytes.IndexByte(b, ':')
	if colon < 0 {
		// No ':' yet: truncated, unless what is there cannot be a length.
		for _, c := range b {
			if c < '0' || c > '9' {
				return TnetValue{}, b, errTnetInvalid
			}
		}
		return TnetValue{}, b, errTnetEOF
	}
	if colon == 0 {
		return TnetValue{}, b, errTnetInvalid
	}
	// The payload must fit in b, so any length above len(b) is truncation;
	// stop accumulating there to stay clear of overflow.
	n, limit := 0, len(b)
	for _, c := range b[:colon] {
		if c < '0' || c > '9' {
			return TnetValue{}, b, errTnetInvalid
		}
		if n <= limit {
			n = n*10 + int(c-'0')
		}
	}
	start := colon + 1
	if n > limit || n >= len(b)-start {
		return TnetValue{}, b, errTnetEOF
	}
	end := start + n
	switch k := TnetKind(b[end]); k {
	case TnetString, TnetInt, TnetFloat, TnetBool, TnetNull, TnetList, TnetDict:
		return TnetValue{Kind: k, Payload: b[start:end:end]}, b[end+1:], nil
	}
	return TnetValue{}, b, errTnetInvalid
}

// Int parses an integer payload (signed 64-bit). An optional sign is
// accepted, as Rust's i64 parser does; anything else, overflow included, is
// "invalid data". A value that is not of kind TnetInt is "wrong type".
func (v TnetValue) Int() (int64, error) {
	if v.Kind != TnetInt {
		return 0, errTnetWrongType
	}
	p := v.Payload
	neg := false
	if len(p) > 0 && (p[0] == '-' || p[0] == '+') {
		neg = p[0] == '-'
		p = p[1:]
	}
	if len(p) == 0 {
		return 0, errTnetInvalid
	}
	// Accumulate as a negative number so that MinInt64 fits.
	const minInt = -1 << 63
	var n int64
	for _, c := range p {
		if c < '0' || c > '9' {
			return 0, errTnetInvalid
		}
		d := int64(c - '0')
		if n < (minInt+d)/10 {
			return 0, errTnetInvalid
		}
		n = n*10 - d
	}
	if !neg {
		if n == minInt {
			return 0, errTnetInvalid
		}
		n = -n
	}
	return n, nil
}

// Bool parses a boolean payload ("true"/"false" exactly). A value that is
// not of kind TnetBool is "wrong type".
func (v TnetValue) Bool() (bool, error) {
	if v.Kind != TnetBool {
		return false, errTnetWrongType
	}
	switch string(v.Payload) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, errTnetInvalid
}

// Tnet writer helpers: Append* append one encoded value in canonical form
// (reference.md §1.3). They do not allocate when dst has room.

// AppendTnetString appends s as a byte string.
func AppendTnetString(dst, s []byte) []byte {
	dst = strconv.AppendInt(dst, int64(len(s)), 10)
	dst = append(dst, ':')
	dst = append(dst, s...)
	return append(dst, byte(TnetString))
}

// AppendTnetInt appends n as an integer.
func AppendTnetInt(dst []byte, n int64) []byte {
	var buf [20]byte
	digits := strconv.AppendInt(buf[:0], n, 10)
	dst = strconv.AppendInt(dst, int64(len(digits)), 10)
	dst = append(dst, ':')
	dst = append(dst, digits...)
	return append(dst, byte(TnetInt))
}

// AppendTnetBool appends b as a boolean.
func AppendTnetBool(dst []byte, b bool) []byte {
	if b {
		return append(dst, "4:true!"...)
	}
	return append(dst, "5:false!"...)
}

// Containers: BeginContainer reserves room for a length prefix and returns the
// mark; EndContainer writes the length and type byte and closes the gap.
// Nested containers work; no allocation when dst has capacity.
// Between the two calls the caller appends the container's encoded children
// to dst and must not shorten dst below the mark.
func BeginContainer(dst []byte) ([]byte, int) {
	mark := len(dst)
	return append(dst, "000000"[:containerReserve]...), mark
}

// EndContainer closes the container opened at mark with the type byte kind.
func EndContainer(dst []byte, mark int, kind TnetKind) []byte {
	start := mark + containerReserve
	n := len(dst) - start
	var buf [20]byte
	prefix := strconv.AppendInt(buf[:0], int64(n), 10)
	prefix = append(prefix, ':')
	if gap := containerReserve - len(prefix); gap >= 0 {
		// Usual case: move the payload left over the unused reserve.
		copy(dst[mark:], prefix)
		copy(dst[mark+len(prefix):], dst[start:])
		dst = dst[:len(dst)-gap]
	} else {
		// Payload of 100000 bytes or more: make room and move it right.
		dst = append(dst, buf[:-gap]...)
		copy(dst[start-gap:], dst[start:len(dst)+gap])
		copy(dst[mark:], prefix)
	}
	return append(dst, byte(kind))
}
