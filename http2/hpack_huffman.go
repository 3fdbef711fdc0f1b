package http2

// Huffman coding of HPACK string literals (RFC 7541 §5.2, Appendix B).
//
// Decoding is table-driven over a 64-bit bit buffer: the next huffFastBits
// bits index huffFast, which resolves every code of that length or less
// (all printable ASCII but a few punctuation marks) in one load; longer
// codes fall back to the canonical-code search over huffLimit. The code of
// Appendix B is canonical (codes of one length are consecutive, in symbol
// order, and shorter codes sort first), which TestHuffmanCanonical checks.

const (
	huffFastBits = 10 // 1024-entry first-level table: 2 KiB, fits L1
	huffEOS      = 256
	huffMaxLen   = 30
)

var (
	// huffFast[top huffFastBits bits] = sym<<5 | len, or 0 when the code
	// starting with those bits is longer than huffFastBits.
	huffFast [1 << huffFastBits]uint16
	// huffLimit[l] is one past the largest code of length l, left-aligned
	// in 32 bits (as uint64 so that the all-ones limit fits); huffFirst[l]
	// the first code of length l (right-aligned); huffOffset[l] the index
	// in huffSyms of that code's symbol.
	huffLimit  [huffMaxLen + 1]uint64
	huffFirst  [huffMaxLen + 1]uint32
	huffOffset [huffMaxLen + 1]uint16
	huffSyms   [257]uint16
)

func init() {
	// Symbols sorted by (length, symbol): the canonical order.
	n := 0
	for l := 1; l <= huffMaxLen; l++ {
		huffOffset[l] = uint16(n)
		first := true
		for sym := 0; sym <= huffEOS; sym++ {
			if int(huffLens[sym]) != l {
				continue
			}
			if first {
				huffFirst[l] = huffCodes[sym]
				first = false
			}
			huffSyms[n] = uint16(sym)
			n++
		}
		cnt := uint64(n) - uint64(huffOffset[l])
		huffLimit[l] = (uint64(huffFirst[l]) + cnt) << (32 - l)
		if cnt == 0 {
			huffLimit[l] = huffLimit[l-1] // no code of this length
		}
	}
	for sym := 0; sym <= huffEOS; sym++ {
		l := int(huffLens[sym])
		if l > huffFastBits {
			continue
		}
		base := huffCodes[sym] << (huffFastBits - l)
		for k := uint32(0); k < 1<<(huffFastBits-l); k++ {
			huffFast[base+k] = uint16(sym)<<5 | uint16(l)
		}
	}
}

// huffmanDecode appends the decoding of src to dst without growing it.
// When the result would pass cap(dst) it still decodes (validates) all of
// src, appends what fits and returns errHuffmanTooLong; n is then the full
// decoded length. A code for EOS, or padding longer than 7 bits or not made
// of ones, is errHuffman (§5.2), whatever the length.
func huffmanDecode(dst, src []byte) (res []byte, n int, err error) {
	out := dst[len(dst):cap(dst)]
	o := 0
	var acc uint64 // the low nbits bits are pending input
	nbits := uint(0)
	i := 0
	for {
		for nbits <= 56 && i < len(src) {
			acc = acc<<8 | uint64(src[i])
			i++
			nbits += 8
		}
		if nbits == 0 {
			break
		}
		// The next 32 bits, left-aligned, padded with ones past the end.
		var w uint32
		if nbits >= 32 {
			w = uint32(acc >> (nbits - 32))
		} else {
			w = uint32(acc<<(32-nbits)) | (1<<(32-nbits) - 1)
		}
		var sym, l uint
		if e := huffFast[w>>(32-huffFastBits)]; e != 0 {
			sym, l = uint(e>>5), uint(e&31)
		} else {
			l = huffFastBits + 1
			for uint64(w) >= huffLimit[l] {
				l++
			}
			sym = uint(huffSyms[uint32(huffOffset[l])+(w>>(32-l))-huffFirst[l]])
		}
		if l > nbits {
			// The rest is shorter than the code it starts: it must be
			// padding, a prefix of EOS (all ones) of at most 7 bits.
			if nbits > 7 || acc != 1<<nbits-1 {
				return dst, o, errHuffman
			}
			break
		}
		if sym == huffEOS {
			return dst, o, errHuffman
		}
		if o < len(out) {
			out[o] = byte(sym)
		}
		o++
		nbits -= l
		acc &= 1<<nbits - 1
	}
	if o > len(out) {
		return dst[:cap(dst)], o, errHuffmanTooLong
	}
	return dst[:len(dst)+o], o, nil
}

// huffmanLen returns the length in bytes of the Huffman encoding of s,
// lower-cased first if lower.
func huffmanLen(s []byte, lower bool) int {
	bits := 0
	for _, c := range s {
		if lower {
			c = toLower(c)
		}
		bits += int(huffLens[c])
	}
	return (bits + 7) / 8
}

// appendHuffman appends the Huffman encoding of s (lower-cased first if
// lower), padded with the most significant bits of EOS (ones, §5.2).
func appendHuffman(dst, s []byte, lower bool) []byte {
	var acc uint64
	nbits := uint(0)
	for _, c := range s {
		if lower {
			c = toLower(c)
		}
		acc = acc<<huffLens[c] | uint64(huffCodes[c])
		nbits += uint(huffLens[c])
		for nbits >= 8 {
			nbits -= 8
			dst = append(dst, byte(acc>>nbits))
		}
	}
	if nbits > 0 {
		dst = append(dst, byte(acc<<(8-nbits))|byte(0xff>>nbits))
	}
	return dst
}

func toLower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
