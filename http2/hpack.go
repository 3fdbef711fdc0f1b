package http2

import "errors"

// HPACK primitives (RFC 7541 §5): prefixed integers and string literals,
// and the errors decoding can end with. Every malformed block is a
// COMPRESSION_ERROR connection error (RFC 9113 §4.3): the peer's encoder
// and our decoder no longer agree on the dynamic table.

const (
	// maxIntShift bounds an integer to 5 continuation bytes (shifts 0..28):
	// they carry 35 bits, more than the 32 this decoder accepts (§5.1 leaves
	// the limit to the implementation).
	maxIntShift = 28
	// entryOverhead is the per-entry overhead in table size accounting and
	// in the header list size (RFC 7541 §4.1, RFC 9113 §6.5.2).
	entryOverhead = 32
)

var (
	errIntTruncated    error = ConnError{ErrCompression, "HPACK integer truncated"}
	errIntOverflow     error = ConnError{ErrCompression, "HPACK integer too large"}
	errStringTruncated error = ConnError{ErrCompression, "HPACK string longer than the block"}
	errHuffman         error = ConnError{ErrCompression, "HPACK Huffman code invalid (EOS or bad padding)"}
	errIndexZero       error = ConnError{ErrCompression, "HPACK index 0"}
	errIndexRange      error = ConnError{ErrCompression, "HPACK index past the tables"}
	errSizeUpdateLate  error = ConnError{ErrCompression, "HPACK table size update after a field"}
	errSizeUpdateLarge error = ConnError{ErrCompression, "HPACK table size update above SETTINGS_HEADER_TABLE_SIZE"}
	errSizeUpdateNeed  error = ConnError{ErrCompression, "HPACK table size update missing after SETTINGS_HEADER_TABLE_SIZE lowered"}
	errTableStorage    error = ConnError{ErrInternal, "HPACK table storage or scratch smaller than the table limit"}

	// errHuffmanTooLong: a decoded string does not fit the caller's scratch.
	errHuffmanTooLong = errors.New("http2: HPACK decoded string longer than the scratch buffer")

	// ErrHeaderListTooLarge is returned by Decoder.Decode, after the whole
	// block was decoded (so the dynamic table is still in step), when the
	// fields' size passed the header list limit: fn was called for the
	// fields before the limit only. The connection can go on; the stream
	// gets a 431 or RST_STREAM (RFC 9113 §8.2.2 leaves the choice).
	ErrHeaderListTooLarge = errors.New("http2: header list larger than the limit")
)

// readInt decodes an integer with an n-bit prefix (RFC 7541 §5.1) from b,
// whose first byte holds the prefix. Values above 2^32-1, or with more than
// five continuation bytes, are errIntOverflow.
func readInt(b []byte, n uint) (uint32, []byte, error) {
	if len(b) == 0 {
		return 0, b, errIntTruncated
	}
	max := uint32(1)<<n - 1
	v := uint32(b[0]) & max
	if v < max {
		return v, b[1:], nil
	}
	acc := uint64(v)
	m := uint(0)
	for i := 1; i < len(b); i++ {
		c := b[i]
		acc += uint64(c&0x7f) << m
		if acc > 1<<32-1 {
			return 0, b, errIntOverflow
		}
		if c&0x80 == 0 {
			return uint32(acc), b[i+1:], nil
		}
		if m += 7; m > maxIntShift {
			return 0, b, errIntOverflow
		}
	}
	return 0, b, errIntTruncated
}

// appendInt appends v with an n-bit prefix; first holds the bits above the
// prefix (the representation's pattern).
func appendInt(dst []byte, first byte, n uint, v uint32) []byte {
	max := uint32(1)<<n - 1
	if v < max {
		return append(dst, first|byte(v))
	}
	dst = append(dst, first|byte(max))
	v -= max
	for v >= 0x80 {
		dst = append(dst, byte(v)|0x80)
		v >>= 7
	}
	return append(dst, byte(v))
}

// readString splits a string literal (§5.2) off b: its raw bytes and
// whether they are Huffman-coded.
func readString(b []byte) (s []byte, huff bool, rest []byte, err error) {
	if len(b) == 0 {
		return nil, false, b, errIntTruncated
	}
	huff = b[0]&0x80 != 0
	n, rest, err := readInt(b, 7)
	if err != nil {
		return nil, false, b, err
	}
	if uint64(n) > uint64(len(rest)) {
		return nil, false, b, errStringTruncated
	}
	return rest[:n], huff, rest[n:], nil
}

// appendString appends s as a string literal, Huffman-coded when that is
// shorter (§5.2), lower-cased first if lower.
func appendString(dst, s []byte, lower bool) []byte {
	if h := huffmanLen(s, lower); h < len(s) {
		dst = appendInt(dst, 0x80, 7, uint32(h))
		return appendHuffman(dst, s, lower)
	}
	dst = appendInt(dst, 0, 7, uint32(len(s)))
	if !lower {
		return append(dst, s...)
	}
	for _, c := range s {
		dst = append(dst, toLower(c))
	}
	return dst
}
