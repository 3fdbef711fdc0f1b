package http2

import (
	"bytes"
	"strings"
	"testing"

	"golang.org/x/net/http2/hpack"
)

// Seeds live in testdata/fuzz/<FuzzName>/, past crashers included.

// FuzzHPACKDecode decodes two consecutive blocks (the second sees the
// first's table) with our decoder and with x/net's, which must agree: the
// same fields, sensitivity included, when both accept; the same verdict
// otherwise, except where ours is documented stricter (a table size update
// after a field even when the table is empty, §4.2; integers of more than
// 32 bits or 5 continuation bytes, §5.1) or x/net is (it refuses a second
// table size update at the start of a block once the table holds entries;
// §4.2 allows two). The size limit also gets a workout: 4096 or 256 bytes,
// and at 256 the table is parked and unparked between the blocks.
func FuzzHPACKDecode(f *testing.F) {
	f.Add(dehex("8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d"), dehex("8286 84be 5808 6e6f 2d63 6163 6865"), false)
	f.Add(dehex("4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6 2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3"),
		dehex("4883 640e ffc1 c0bf"), true)
	f.Fuzz(func(t *testing.T, a, b []byte, small bool) {
		limit := uint32(4096)
		if small {
			limit = 256
		}
		h := newHdec(limit, 0)
		h.scratch = make([]byte, 0, 1<<16)
		x := hpack.NewDecoder(limit, nil)
		for i, blk := range [][]byte{a, b} {
			ours, err := h.decode(blk)
			theirs, xerr := x.DecodeFull(blk)
			if err != nil {
				checkErr(t, FrameHeader{}, err)
				if xerr == nil && err != errSizeUpdateLate && err != errIntOverflow {
					t.Fatalf("block %d %x: ours %v, x/net accepts %v", i, blk, err, toFields(theirs))
				}
				return
			}
			if xerr != nil && leadingUpdates(blk) >= 2 {
				return
			}
			if xerr != nil {
				t.Fatalf("block %d %x: x/net %v, ours accepts %v", i, blk, xerr, ours)
			}
			if !fieldsEqual(ours, toFields(theirs)) {
				t.Fatalf("block %d %x:\nours  %v\nx/net %v", i, blk, ours, toFields(theirs))
			}
			if h.d.Size() > h.d.MaxSize() || h.d.MaxSize() > limit {
				t.Fatalf("table size %d, max %d, limit %d", h.d.Size(), h.d.MaxSize(), limit)
			}
			if small {
				// Park the table between the blocks, into fresh storage.
				parked := make([]byte, h.d.ParkedLen())
				h.d.Park(parked, h.storage)
				h.storage = make([]byte, DecoderTableLen(limit))
				h.d.Unpark(h.storage, parked)
			}
		}
	})
}

// FuzzHuffman: decoding arbitrary bytes agrees with x/net (string and
// verdict); encoding arbitrary strings gives x/net's bytes and decodes
// back; a destination too small reports the full length.
func FuzzHuffman(f *testing.F) {
	f.Add([]byte("www.example.com"))
	f.Add(dehex("f1e3 c2e5 f23a 6ba0 ab90 f4ff"))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, s []byte) {
		got, n, err := huffmanDecode(make([]byte, 0, 8*len(s)/5+1), s)
		want, xerr := hpack.HuffmanDecodeToString(s)
		if (err == nil) != (xerr == nil) {
			t.Fatalf("%x: ours %v, x/net %v", s, err, xerr)
		}
		if err == nil && (string(got) != want || n != len(want)) {
			t.Fatalf("%x: ours %q, x/net %q", s, got, want)
		}
		if err == nil && len(want) > 0 {
			short, n, err := huffmanDecode(make([]byte, 0, len(want)-1), s)
			if err != errHuffmanTooLong || n != len(want) || string(short) != want[:len(want)-1] {
				t.Fatalf("short dst: %q %d %v", short, n, err)
			}
		}
		enc := appendHuffman(nil, s, false)
		if xenc := hpack.AppendHuffmanString(nil, string(s)); !bytes.Equal(enc, xenc) {
			t.Fatalf("encode %x: ours %x, x/net %x", s, enc, xenc)
		}
		if huffmanLen(s, false) != len(enc) {
			t.Fatalf("huffmanLen %d, encoded %d", huffmanLen(s, false), len(enc))
		}
		dec, _, err := huffmanDecode(make([]byte, 0, len(s)), enc)
		if err != nil || !bytes.Equal(dec, s) {
			t.Fatalf("round trip %x: %x %v", s, dec, err)
		}
	})
}

// FuzzHPACKEncode: any field AppendField writes decodes, with x/net's
// decoder and ours, to the name lower-cased and the value unchanged, and
// never grows either table.
func FuzzHPACKEncode(f *testing.F) {
	f.Add([]byte(":status"), []byte("200"), false)
	f.Add([]byte("Content-Type"), []byte("text/html"), false)
	f.Add([]byte("set-cookie"), []byte("a=b"), true)
	f.Fuzz(func(t *testing.T, name, value []byte, sensitive bool) {
		var b []byte
		if sensitive {
			b = AppendFieldNeverIndexed(nil, name, value)
		} else {
			b = AppendField(nil, name, value)
		}
		want := []field{{strings.ToLower(string(name)), string(value), sensitive}}
		// ToLower maps only ASCII the way the encoder does for ASCII input;
		// compare byte-wise lower-casing instead for any bytes.
		lower := make([]byte, len(name))
		for i, c := range name {
			lower[i] = toLower(c)
		}
		want[0].name = string(lower)
		x := hpack.NewDecoder(4096, nil)
		got, err := x.DecodeFull(b)
		if err != nil || !fieldsEqual(toFields(got), want) {
			t.Fatalf("x/net: %v %v, want %v", toFields(got), err, want)
		}
		h := newHdec(4096, 0)
		h.scratch = make([]byte, 0, 2*len(name)+2*len(value)+64)
		ours, err := h.decode(b)
		if err != nil || !fieldsEqual(ours, want) || h.d.Len() != 0 {
			t.Fatalf("ours: %v %v len %d", ours, err, h.d.Len())
		}
	})
}

// leadingUpdates counts the dynamic table size updates a block starts with.
func leadingUpdates(b []byte) int {
	n := 0
	for len(b) > 0 && b[0]&0xe0 == 0x20 {
		var err error
		if _, b, err = readInt(b, 5); err != nil {
			break
		}
		n++
	}
	return n
}
