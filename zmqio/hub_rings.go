package zmqio

import (
	"github.com/condure-go/condure/internal/logging"
)

// The hub's lanes to and from the workers' queues (ring.go), bind mode
// with two or more workers: the PUSH, ROUTER and req DEALER lanes take
// the workers' messages from their queues, copy a batch (at most hubBudget)
// into the external socket's held buffer (later.go) and send it in one cgo
// call; the SUB and DEALER lanes copy each handler message into the queue
// of every worker it names. A queue that finds the hub asleep wakes it through the
// hub's waker, which makes the queue lanes due (hubRingsDue).

// hubBatchBytes: a lane stops taking messages from the queues for one
// cgo call once this much is held, so the held buffer stays under
// laterKeep and is reused, not allocated again for the next batch.
const hubBatchBytes = 32 << 10

// pumpRings moves messages from the workers' queues to dst until they are
// empty, dst refuses, or the budget runs out (reported). What dst refused
// stays held, and the queues are not read until it went.
func (f *forward) pumpRings() bool {
	if f.flushHeld() {
		return false
	}
	l := &f.dst.later
	n := 0
	full := false
	for i := 0; i < len(f.srcQ) && !full; i++ {
		q := f.srcQ[(f.rr+i)%len(f.srcQ)]
		for !full {
			m := q.peek()
			if m == nil {
				break
			}
			fr := f.tmp[:m.n]
			for j := range fr {
				fr[j] = q.frameOf(m, j)
			}
			l.add(fr)
			q.release()
			n++
			full = n == hubBudget || len(l.buf) >= hubBatchBytes
		}
	}
	f.rr++
	if n > 0 {
		f.flushHeld()
	}
	return full
}

// flushHeld sends what dst holds and reports whether some stays held.
func (f *forward) flushHeld() bool {
	if f.park != nil {
		return f.sendHeldPark()
	}
	if _, dropped, err := f.dst.Flush(); dropped > 0 {
		logging.Error(hubTarget, "zmq forward: %v", err)
	}
	return f.dst.later.full
}

// commit publishes the messages routed to the workers' queues, once per
// pump (publishing each at once was tried: one run on a swamped machine,
// inconclusive, docs/design.md "Worker–hub queues").
func (r *route) commit() {
	for _, q := range r.dstQ {
		q.commit()
	}
}

// ringsDue marks the lanes that read or write the workers' queues due: the
// hub's waker fired, for messages or for room.
func (h *Hub) ringsDue() {
	for _, f := range h.forwards {
		f.due = true
	}
	h.room = true
}
