package http2

import "encoding/binary"

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
	// acc holds pending input bits left-aligned: the top nbits are the next
	// bits; bits below them are either input not yet counted or zeros.
	var acc uint64
	nbits := uint(0)
	i := 0
	for {
		if i+8 <= len(src) {
			// Refill 7 bytes and a bit at once (the "variant 4" bit reader).
			acc |= binary.BigEndian.Uint64(src[i:]) >> nbits
			i += int(63-nbits) >> 3
			nbits |= 56
		} else {
			for nbits <= 56 && i < len(src) {
				acc |= uint64(src[i]) << (56 - nbits)
				i++
				nbits += 8
			}
		}
		if i < len(src) || nbits >= huffMaxLen {
			// Enough bits for any code: no end-of-input check per symbol.
			for nbits >= huffMaxLen {
				// huffSym by hand: the compiler does not inline it here.
				var sym, l uint
				if e := huffFast[acc>>(64-huffFastBits)]; e != 0 {
					sym, l = uint(e>>5), uint(e&31)
				} else if sym, l = huffSymSlow(uint32(acc >> 32)); sym == huffEOS {
					return dst, o, errHuffman
				}
				if uint(o) < uint(len(out)) {
					out[o] = byte(sym)
				}
				o++
				acc <<= l
				nbits -= l
			}
			continue
		}
		// The input is all in acc and fewer than 30 bits are left: pad the
		// window with ones, so that a code that ends past the input shows
		// up as longer than nbits.
		for nbits > 0 {
			sym, l := huffSym(uint32((acc | ^uint64(0)>>nbits) >> 32))
			if l > nbits {
				// The rest is padding: a prefix of EOS (all ones) of at
				// most 7 bits (§5.2).
				if nbits > 7 || acc>>(64-nbits) != 1<<nbits-1 {
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
			acc <<= l
			nbits -= l
		}
		break
	}
	if o > len(out) {
		return dst[:cap(dst)], o, errHuffmanTooLong
	}
	return dst[:len(dst)+o], o, nil
}

// huffSym decodes the code at the top of the 32-bit window w.
func huffSym(w uint32) (sym, l uint) {
	if e := huffFast[w>>(32-huffFastBits)]; e != 0 {
		return uint(e >> 5), uint(e & 31)
	}
	return huffSymSlow(w)
}

// huffSymSlow decodes a code longer than huffFastBits by the canonical
// search: the first length whose limit is above the window.
//
//go:noinline
func huffSymSlow(w uint32) (sym, l uint) {
	l = huffFastBits + 1
	for uint64(w) >= huffLimit[l] {
		l++
	}
	return uint(huffSyms[uint32(huffOffset[l])+(w>>(32-l))-huffFirst[l]]), l
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
