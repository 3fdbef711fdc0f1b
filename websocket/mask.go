package websocket

import "encoding/binary"

// maskBytes XORs b in place with the masking key (RFC 6455 §5.3,
// https://www.rfc-editor.org/rfc/rfc6455#section-5.3), b[0] being payload
// byte number off (mod 4) of its frame. It returns the offset of the byte
// after b, so a frame's payload can be unmasked piece by piece as reads
// deliver it.
func maskBytes(key [4]byte, off int, b []byte) int {
	off &= 3
	if len(b) >= 8 {
		// Key rotated so its first byte applies to b[0], repeated to
		// 64 bits; 8 is a multiple of 4, so the offset does not move.
		k32 := uint32(key[off]) | uint32(key[(off+1)&3])<<8 |
			uint32(key[(off+2)&3])<<16 | uint32(key[(off+3)&3])<<24
		k64 := uint64(k32) | uint64(k32)<<32
		for len(b) >= 32 {
			binary.LittleEndian.PutUint64(b, binary.LittleEndian.Uint64(b)^k64)
			binary.LittleEndian.PutUint64(b[8:], binary.LittleEndian.Uint64(b[8:])^k64)
			binary.LittleEndian.PutUint64(b[16:], binary.LittleEndian.Uint64(b[16:])^k64)
			binary.LittleEndian.PutUint64(b[24:], binary.LittleEndian.Uint64(b[24:])^k64)
			b = b[32:]
		}
		for len(b) >= 8 {
			binary.LittleEndian.PutUint64(b, binary.LittleEndian.Uint64(b)^k64)
			b = b[8:]
		}
	}
	for i := range b {
		b[i] ^= key[(off+i)&3]
	}
	return (off + len(b)) & 3
}
