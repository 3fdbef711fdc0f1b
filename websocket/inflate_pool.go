package websocket

// InflaterPool lends Inflaters to the connections of one worker, one per
// compressed client message in flight, so an idle connection holds none: it
// keeps only the InflaterID, a number, which fits the server's pointer-free
// connection slots. Inflaters are allocated on first need, up to the pool's
// size, and kept for reuse. When all are lent Get fails: the caller stops
// reading that connection (backpressure, as when credits run out) and tries
// again when one is Put back; nothing is allocated past the size. Not safe
// for concurrent use: one pool per worker goroutine.
type InflaterPool struct {
	all  []*Inflater  // index id-1; nil until first lent
	free []InflaterID // ids ready to lend, most recently returned last
	next int          // ids 1..next have been allocated
}

// InflaterID names an Inflater of a pool; 0 names none.
type InflaterID uint32

// NewInflaterPool returns a pool of at most size Inflaters (about 36 KiB
// each). It allocates only its index now.
func NewInflaterPool(size int) *InflaterPool {
	return &InflaterPool{all: make([]*Inflater, size), free: make([]InflaterID, 0, size)}
}

// Get lends an Inflater reset for a message of at most max inflated bytes
// (text: checked to be UTF-8), or returns 0 when all are lent. It allocates
// only the first time it lends a given id.
func (p *InflaterPool) Get(max int64, text bool) InflaterID {
	var id InflaterID
	switch {
	case len(p.free) > 0:
		id = p.free[len(p.free)-1]
		p.free = p.free[:len(p.free)-1]
	case p.next < len(p.all):
		p.all[p.next] = new(Inflater)
		p.next++
		id = InflaterID(p.next)
	default:
		return 0
	}
	p.all[id-1].Reset(max, text)
	return id
}

// At returns the Inflater id names; id must be lent and not yet Put.
func (p *InflaterPool) At(id InflaterID) *Inflater { return p.all[id-1] }

// Put takes back a lent Inflater (the message ended, or the connection
// did). Putting 0 does nothing.
func (p *InflaterPool) Put(id InflaterID) {
	if id != 0 {
		p.free = append(p.free, id)
	}
}

// Lent returns the number of Inflaters lent out.
func (p *InflaterPool) Lent() int { return p.next - len(p.free) }
