package server

import "testing"

// A pool with maxFree keeps that many returned blocks for reuse and drops
// the rest; the dropped entries are reused for new blocks.
func TestBufPoolMaxFree(t *testing.T) {
	p := newBufPool(64)
	p.maxFree = 2
	var refs []int32
	for range 4 {
		refs = append(refs, p.get(10))
	}
	for _, r := range refs {
		p.put(r)
	}
	if len(p.free) != 2 || len(p.holes) != 2 {
		t.Fatalf("after 4 returns: %d free, %d dropped; want 2 and 2", len(p.free), len(p.holes))
	}
	kept := 0
	for _, b := range p.blocks {
		if b != nil {
			kept++
		}
	}
	if kept != 2 {
		t.Fatalf("%d blocks still referenced, want 2", kept)
	}
	for range 4 {
		if r := p.get(10); len(p.bytes(r)) != 64 {
			t.Fatalf("block %d of %d bytes", r, len(p.bytes(r)))
		}
	}
	if len(p.blocks) != 4 {
		t.Fatalf("%d entries after reuse, want 4 (dropped entries reused)", len(p.blocks))
	}
}
