package reactor

// Slab is a fixed-capacity pool of T addressed by int32 index, with a
// generation per slot bumped on every Free so stale references can be told
// apart. T should be pointer-free so the GC has nothing to scan.
//
// Generations start at 1 and skip 0 when they wrap, so a zero (index,
// generation) pair never names a live slot. Nothing allocates after
// NewSlab. A Slab is used by its owning thread only.
type Slab[T any] struct {
	items []T
	gens  []uint32
	inUse []uint64 // bitset, one bit per slot
	free  []int32  // stack of free indices; the top is handed out next
	used  int
	high  int // 1 + the highest index ever handed out
}

// NewSlab makes a slab of capacity slots (capacity ≤ 2^31-1), all free.
// Alloc hands out low indices first.
func NewSlab[T any](capacity int) *Slab[T] {
	if capacity < 0 {
		capacity = 0
	}
	s := &Slab[T]{
		items: make([]T, capacity),
		gens:  make([]uint32, capacity),
		inUse: make([]uint64, (capacity+63)/64),
		free:  make([]int32, capacity),
	}
	for i := range s.gens {
		s.gens[i] = 1
		s.free[i] = int32(capacity - 1 - i)
	}
	return s
}

// Alloc takes a free slot (zeroed) and returns its index and generation; ok is
// false when the slab is full.
func (s *Slab[T]) Alloc() (idx int32, gen uint32, ok bool) {
	n := len(s.free)
	if n == 0 {
		return -1, 0, false
	}
	idx = s.free[n-1]
	s.free = s.free[:n-1]
	var zero T
	s.items[idx] = zero
	s.inUse[idx>>6] |= 1 << (uint(idx) & 63)
	s.used++
	s.high = max(s.high, int(idx)+1)
	return idx, s.gens[idx], true
}

// Free returns a slot; its generation is bumped. Freeing a slot that is not
// in use is a no-op (it would otherwise be handed out twice).
func (s *Slab[T]) Free(idx int32) {
	if !s.InUse(idx) {
		return
	}
	s.inUse[idx>>6] &^= 1 << (uint(idx) & 63)
	g := s.gens[idx] + 1
	if g == 0 {
		g = 1
	}
	s.gens[idx] = g
	s.free = append(s.free, idx) // within capacity: never reallocates
	s.used--
}

// Get returns the slot (valid whether or not in use).
func (s *Slab[T]) Get(idx int32) *T { return &s.items[idx] }

// Gen returns the slot's current generation; InUse whether it is allocated.
func (s *Slab[T]) Gen(idx int32) uint32 { return s.gens[idx] }

// InUse reports whether idx is allocated; false for an index out of range.
func (s *Slab[T]) InUse(idx int32) bool {
	if idx < 0 || int(idx) >= len(s.items) {
		return false
	}
	return s.inUse[idx>>6]&(1<<(uint(idx)&63)) != 0
}

// Len returns the number of slots in use.
func (s *Slab[T]) Len() int { return s.used }

// HighWater returns 1 + the highest index ever allocated: every slot in
// use is below it. Alloc hands out low indices first and reuses freed ones
// before fresh ones, so it stays near the most slots in use at once, however
// big the capacity (a scan over the slots in use need not touch the rest).
func (s *Slab[T]) HighWater() int { return s.high }

// Cap returns the capacity given to NewSlab.
func (s *Slab[T]) Cap() int { return len(s.items) }
