package server

// The record states of a worker's connections, indexed by slot, in chunks
// (docs/design.md "The 1k step"). A connection's record state used to be a
// 288-byte heap object allocated at the end of its handshake, in the middle
// of the handshake's own garbage: each survivor of a burst pinned a span of
// that garbage (resident, and unreturnable by the trimmer). Here the state
// lives in a chunk of its own, a large object allocated once for
// recChunk slots and kept: an idle connection on the record layer holds no
// heap object of its own at all. Only the worker touches the store; a
// handshake goroutine never does (its state stays in the tlsSession, a
// heap object of its own), so a slot closed and reused while the goroutine
// still runs cannot be written by it.

// recChunk is how many record states a chunk holds: 256 × 248 bytes, ~62
// KiB, over the 32 KiB past which Go gives an object a span of its own.
const recChunk = 256

// recStore is a worker's slot-indexed record states.
type recStore struct {
	chunks []*[recChunk]recState // nil until a slot in its range switches
}

// init sizes the chunk index for capacity slots; no chunk is allocated.
func (st *recStore) init(capacity int) {
	st.chunks = make([]*[recChunk]recState, (capacity+recChunk-1)/recChunk)
}

// alloc returns slot's record state, allocating its chunk if it has none.
func (st *recStore) alloc(slot int32) *recState {
	ch := &st.chunks[uint32(slot)/recChunk]
	if *ch == nil {
		*ch = new([recChunk]recState)
	}
	return &(*ch)[uint32(slot)%recChunk]
}

// get returns slot's record state; its chunk exists (the slot switched to
// the record layer).
func (st *recStore) get(slot int32) *recState {
	return &st.chunks[uint32(slot)/recChunk][uint32(slot)%recChunk]
}
