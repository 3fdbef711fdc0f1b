package server

// bufPool lends fixed-size byte blocks to connections that must keep bytes
// (a partial request, an unsent response) and takes them back as soon as they
// drain, so idle connections hold no buffer (docs/design.md "Memory"). A
// connection refers to a block by index (1-based, 0 = none) so the connection
// slot stays free of Go pointers. A block can be swapped for a larger one
// when a response head does not fit; larger blocks are dropped on return.
type bufPool struct {
	size    int
	maxFree int // returned standard blocks kept for reuse at most (0: all); more are dropped
	blocks  [][]byte
	free    []int32 // indices (0-based) of returned standard blocks
	holes   []int32 // indices whose block was dropped, reusable for new entries
}

func newBufPool(size int) *bufPool { return &bufPool{size: size} }

// get returns a block of at least n bytes (n ≤ size gives a standard block).
func (p *bufPool) get(n int) int32 {
	if n <= p.size && len(p.free) > 0 {
		i := p.free[len(p.free)-1]
		p.free = p.free[:len(p.free)-1]
		return i + 1
	}
	if n < p.size {
		n = p.size
	}
	b := make([]byte, n)
	if len(p.holes) > 0 {
		i := p.holes[len(p.holes)-1]
		p.holes = p.holes[:len(p.holes)-1]
		p.blocks[i] = b
		return i + 1
	}
	p.blocks = append(p.blocks, b)
	return int32(len(p.blocks))
}

// put takes a block back. 0 is ignored.
func (p *bufPool) put(ref int32) {
	if ref == 0 {
		return
	}
	i := ref - 1
	if len(p.blocks[i]) == p.size && (p.maxFree == 0 || len(p.free) < p.maxFree) {
		p.free = append(p.free, i)
		return
	}
	p.blocks[i] = nil
	p.holes = append(p.holes, i)
}

// bytes returns the block behind ref (nil for 0).
func (p *bufPool) bytes(ref int32) []byte {
	if ref == 0 {
		return nil
	}
	return p.blocks[ref-1]
}

// dropFree lets the returned standard blocks go (the GC takes them back):
// what a burst left in the pool is not kept until the next one.
func (p *bufPool) dropFree() {
	for _, i := range p.free {
		p.blocks[i] = nil
		p.holes = append(p.holes, i)
	}
	p.free = p.free[:0]
}
