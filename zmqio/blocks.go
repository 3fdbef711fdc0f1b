package zmqio

import (
	"sync"
	"sync/atomic"
)

// Blocks is what the hub tells the workers about handler addresses whose
// ROUTER pipe is full (bind mode): the hub holds their messages in order,
// and the workers stop producing packets for them (their sessions wait
// unread) until the address leaves the set. docs/design.md "Backpressure".
//
// The set changes rarely; a worker looks at Version (one atomic load) before
// each send and reads the set only when it moved.
type Blocks struct {
	ver    atomic.Uint64
	mu     sync.Mutex
	names  map[string]struct{}
	wakers []func()
}

// NewBlocks returns an empty set.
func NewBlocks() *Blocks { return &Blocks{names: map[string]struct{}{}} }

// Version changes whenever the set does.
func (b *Blocks) Version() uint64 { return b.ver.Load() }

// Subscribe registers f, called from the hub's thread whenever an address
// leaves the set (a worker's waker: its waiting sessions may send again).
func (b *Blocks) Subscribe(f func()) {
	b.mu.Lock()
	b.wakers = append(b.wakers, f)
	b.mu.Unlock()
}

// Has reports whether name is blocked now.
func (b *Blocks) Has(name []byte) bool {
	b.mu.Lock()
	_, ok := b.names[string(name)]
	b.mu.Unlock()
	return ok
}

// Len is the number of blocked addresses.
func (b *Blocks) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.names)
}

// set makes names the blocked set (the hub's park, after a change), and
// wakes the subscribers if an address left it.
func (b *Blocks) set(names [][]byte) {
	b.mu.Lock()
	cleared := false
	for k := range b.names {
		found := false
		for _, n := range names {
			if string(n) == k {
				found = true
				break
			}
		}
		if !found {
			delete(b.names, k)
			cleared = true
		}
	}
	for _, n := range names {
		if _, ok := b.names[string(n)]; !ok {
			b.names[string(n)] = struct{}{}
		}
	}
	b.ver.Add(1)
	wakers := b.wakers
	b.mu.Unlock()
	if cleared {
		for _, f := range wakers {
			f()
		}
	}
}
