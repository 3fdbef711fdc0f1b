package http2

import (
	"fmt"
	"testing"
)

// Pack keeps a table in small storage while the limit is above what it
// holds; Move brings it back to full storage for the next block, and the
// entries survive both ways.
func TestDecoderPack(t *testing.T) {
	big := make([]byte, DecoderTableLen(4096))
	small := make([]byte, DecoderTableLen(2048))
	var d Decoder
	d.Init(4096, 0)
	var blk []byte
	for i := 0; i < 10; i++ { // 10 entries of 32+10 bytes: 420 < 2048
		blk = append(blk, 0x40, 5)
		blk = append(blk, fmt.Sprintf("name%d", i)...)
		blk = append(blk, 5)
		blk = append(blk, fmt.Sprintf("val%02d", i)...)
	}
	if err := d.Decode(big, blk, make([]byte, 0, 4096), func(_, _ []byte, _ bool) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if d.Fits(len(small)) {
		t.Fatal("small storage fits a 4096 limit")
	}
	if !d.Pack(small, big) {
		t.Fatal("10 small entries do not pack")
	}
	clear(big)
	if !d.Move(big, small) {
		t.Fatal("move back refused")
	}
	var got []string
	idx := []byte{0x80 | 62, 0x80 | 71} // newest and oldest
	if err := d.Decode(big, idx, make([]byte, 0, 4096), func(n, v []byte, _ bool) error {
		got = append(got, string(n)+"="+string(v))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != "[name9=val09 name0=val00]" {
		t.Fatalf("entries after pack and move: %v", got)
	}
	// Too much to pack: 3000 bytes of entries.
	var d2 Decoder
	d2.Init(4096, 0)
	blk = append([]byte{0x40, 1, 'x', 0x7f, 0xb9, 0x16}, make([]byte, 3000)...) // value length 127+2873
	for i := range blk[6:] {
		blk[6+i] = 'v'
	}
	if err := d2.Decode(big, blk, make([]byte, 0, 4096), func(_, _ []byte, _ bool) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if d2.Pack(small, big) {
		t.Fatal("a 3033-byte table packed into 2048")
	}
}
