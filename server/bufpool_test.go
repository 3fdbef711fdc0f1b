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

// TestBufPoolDropFree: dropped free blocks are let go (their entries become
// holes that later gets reuse), blocks still lent are untouched.
func TestBufPoolDropFree(t *testing.T) {
	p := newBufPool(64)
	a, b, c := p.get(10), p.get(10), p.get(10)
	p.bytes(c)[0] = 7
	p.put(a)
	p.put(b)
	p.dropFree()
	if len(p.free) != 0 || p.bytes(a) != nil || p.bytes(b) != nil {
		t.Fatalf("free blocks kept after dropFree: free %v", p.free)
	}
	if got := p.bytes(c); len(got) != 64 || got[0] != 7 {
		t.Fatalf("a lent block was touched: %v", got[:1])
	}
	if d := p.get(10); d != a && d != b || len(p.bytes(d)) != 64 {
		t.Fatalf("get after dropFree: ref %d (holes %d, %d), %d bytes", d, a, b, len(p.bytes(d)))
	}
	if len(p.blocks) != 3 {
		t.Fatalf("%d block entries, want 3 (holes reused)", len(p.blocks))
	}
}
