package http2

// The HPACK encoder (RFC 7541 §6) keeps no dynamic table: a field is the
// static table index when the static table has it whole (§6.1), else a
// literal without indexing (§6.2.2) naming a static entry when it can, its
// strings Huffman-coded when that is shorter (§5.2). So an encoder has no
// per-connection state, costs the peer's decoder nothing in table space, and
// needs no table size update whatever SETTINGS_HEADER_TABLE_SIZE the peer
// sends. The price is a few bytes per repeated field, against the server
// memory a table per connection would cost.

// AppendField appends one field. The name is written lower-cased, as
// HTTP/2 requires (RFC 9113 §8.2.1); the caller has already dropped the
// connection-specific fields (§8.2.2) and checked that the bytes are legal
// in a field. It does not allocate when dst has room.
func AppendField(dst, name, value []byte) []byte {
	idx, full := staticLookup(name, value)
	if full {
		return appendInt(dst, 0x80, 7, uint32(idx))
	}
	return appendLiteral(dst, 0x00, idx, name, value)
}

// AppendFieldNeverIndexed appends a field as a literal never indexed
// (§6.2.3), for values an intermediary must not put in a table either
// (§7.1.3): a field the decoder reported sensitive, or a credential.
func AppendFieldNeverIndexed(dst, name, value []byte) []byte {
	idx, _ := staticLookup(name, value)
	return appendLiteral(dst, 0x10, idx, name, value)
}

func appendLiteral(dst []byte, pattern byte, nameIdx int, name, value []byte) []byte {
	if nameIdx > 0 {
		dst = appendInt(dst, pattern, 4, uint32(nameIdx))
	} else {
		dst = append(dst, pattern)
		dst = appendString(dst, name, true)
	}
	return appendString(dst, value, false)
}

// AppendStatus appends the :status pseudo-header field for a code of
// 100..999 (the caller's range): one byte for the seven codes in the static
// table, else a literal naming index 8: 4 or 5 bytes (digits Huffman-coded
// when that is shorter).
func AppendStatus(dst []byte, code int) []byte {
	switch code { // static indexes 8..14 (RFC 7541 Appendix A)
	case 200:
		return append(dst, 0x80|8)
	case 204:
		return append(dst, 0x80|9)
	case 206:
		return append(dst, 0x80|10)
	case 304:
		return append(dst, 0x80|11)
	case 400:
		return append(dst, 0x80|12)
	case 404:
		return append(dst, 0x80|13)
	case 500:
		return append(dst, 0x80|14)
	}
	digits := [3]byte{byte('0' + code/100%10), byte('0' + code/10%10), byte('0' + code%10)}
	dst = append(dst, 0x08) // literal without indexing, name :status (§6.2.2)
	return appendString(dst, digits[:], false)
}
