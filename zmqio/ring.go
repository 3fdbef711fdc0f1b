package zmqio

import (
	"math/bits"
	"sync/atomic"
)

// A ring is a bounded single-producer single-consumer queue of messages
// between a worker and the hub (bind mode, two or more workers), in place
// of a libzmq inproc pipe: a message costs the producer a copy into the
// ring and two atomic operations at commit, no cgo call and no mailbox
// (docs/design.md "Worker–hub queues").
//
// Messages (1 to maxFrames frames) are laid out back to back in a byte
// ring, each contiguous (a message that would wrap starts at the beginning
// again, the gap counted as used); one larger than a quarter of the byte
// ring gets a buffer of its own. The ring is full at limit messages (the
// inproc pipe's: both sides' high-water marks) or when the bytes do not fit.
// A message put on a drained ring starts a new lap of both the bytes and
// the descriptors, so a lightly loaded ring keeps to its first pages.
//
// Wake-ups, as libzmq's pipes do: the consumer that finds the ring empty
// says it sleeps (sleeping), then looks once more; the producer publishes
// (tail) and then, if the consumer sleeps, clears the flag and wakes it.
// Both are sequentially consistent atomics, so either the consumer's
// second look sees the message or the producer sees the flag. Room is
// signalled the same way the other way round (wantRoom).
type ring struct {
	head     atomic.Uint64 // messages released by the consumer
	hbytes   atomic.Uint64 // byte position after the last released message
	_        [48]byte
	tail     atomic.Uint64 // messages published by the producer
	_        [56]byte
	sleeping atomic.Bool // the consumer found it empty and waits for wakeConsumer
	wantRoom atomic.Bool // the producer found it full and waits for wakeProducer
	_        [62]byte

	// producer only
	ptail  uint64 // messages written (published up to tail at commit)
	pbytes uint64 // byte position after the last written message
	pbase  uint64 // byte position before which all is free: the start of a lap begun on an empty ring
	pmbase uint64 // message count before which all is free, as pbase for the descriptors
	skips  uint64 // descriptors skipped since the last commit (not messages)
	// consumer only
	chead uint64 // the message being read is chead-1 when reading
	frame int    // next frame of message chead-1 to return (Recv)
	held  bool   // message chead-1 is being read, not yet released

	msgs  []ringMsg
	data  []byte
	limit uint64

	wakeConsumer, wakeProducer func()
}

// ringMsg describes one message; the producer writes it before publishing,
// the consumer reads it before releasing.
type ringMsg struct {
	// seq is the message's number: a descriptor whose seq is not the
	// number the consumer expects was skipped by the producer (put).
	seq        atomic.Uint64
	start, end uint64 // byte positions: the frames, and after the message (gap before it included)
	ends       [ringMaxFrames]uint32
	n          uint8
	big        []byte // the frames, when they are too large for data
}

const (
	// Frames per message: a req reply's envelope may have several (the
	// hub keeps recvMaxFrames of them); workers send at most maxFrames.
	ringMaxFrames = recvMaxFrames
	// Byte ring per queue: about 128 bytes per message the limit allows,
	// between 64 KiB and 1 MiB (a request packet is a few hundred bytes).
	ringBytesPerMsg = 128
	ringMinBytes    = 64 << 10
	ringMaxBytes    = 1 << 20
	// Messages per queue at most, whatever the high-water mark: what the
	// largest byte ring holds at 128 bytes each. At 1M connections 2 H is
	// 100000, and descriptors for that many (112 bytes each, with a
	// pointer the GC scans) would be 14 MiB per queue for messages the
	// byte ring could not hold anyway.
	ringMaxMsgs = ringMaxBytes / ringBytesPerMsg
)

// newRing makes a ring of at most limit (1 to ringMaxMsgs) messages.
func newRing(limit int) *ring {
	limit = min(max(limit, 1), ringMaxMsgs)
	n := 1 << bits.Len(uint(limit-1))
	b := min(max(1<<bits.Len(uint(limit*ringBytesPerMsg-1)), ringMinBytes), ringMaxBytes)
	return &ring{msgs: make([]ringMsg, n), data: make([]byte, b), limit: uint64(limit)}
}

// reserve finds room for a message of size bytes (producer): the byte
// position of its frames, or ok false when the ring is full (it then asks
// for a room wake-up).
func (q *ring) reserve(size int) (pos uint64, big bool, ok bool) {
	for try := 0; ; try++ {
		head := q.head.Load()
		if head == q.ptail {
			q.restart()
		}
		if q.ptail-max(head, q.pmbase) < q.limit {
			if size > len(q.data)/4 {
				return q.pbytes, true, true
			}
			pos = q.pbytes
			d := uint64(len(q.data))
			if off := pos & (d - 1); off+uint64(size) > d {
				pos += d - off // the gap to the end, so the message stays contiguous
			}
			if pos+uint64(size)-max(q.hbytes.Load(), q.pbase) <= d {
				return pos, false, true
			}
		}
		if try == 1 {
			return 0, false, false
		}
		// Full: ask for a wake-up, then look again (the consumer may have
		// released everything before seeing the flag).
		q.wantRoom.Store(true)
	}
}

// restart begins a new lap of the descriptors and of the bytes on a
// drained ring (producer; every message written is released, and hbytes
// with it: the consumer stores it before head), so a ring that drains
// between messages keeps using its first pages instead of touching all of
// them in turn. What is skipped is free: pmbase and pbase say so until
// the consumer's head and hbytes pass them; commit does not count the
// skipped descriptors as messages, and the consumer finds their seq stale
// and follows (peek).
func (q *ring) restart() {
	mask := uint64(len(q.msgs) - 1)
	if q.ptail&mask != 0 {
		next := (q.ptail | mask) + 1
		q.skips += next - q.ptail
		q.ptail, q.pmbase = next, next
	}
	d := uint64(len(q.data))
	if off := q.pbytes & (d - 1); off != 0 {
		q.pbytes += d - off
		q.pbase = q.pbytes
	}
}

// put writes frames as one message (producer), unpublished until commit.
func (q *ring) put(frames ...[]byte) bool {
	size := 0
	for _, f := range frames {
		size += len(f)
	}
	pos, big, ok := q.reserve(size)
	if !ok {
		return false
	}
	m := &q.msgs[q.ptail&uint64(len(q.msgs)-1)]
	m.seq.Store(q.ptail)
	m.n = uint8(len(frames))
	var dst []byte
	if big {
		m.big = make([]byte, size)
		dst = m.big
		m.start, m.end = pos, pos
	} else {
		off := pos & uint64(len(q.data)-1)
		dst = q.data[off : off+uint64(size)]
		m.start, m.end = pos, pos+uint64(size)
		q.pbytes = m.end
	}
	at := 0
	for i, f := range frames {
		at += copy(dst[at:], f)
		m.ends[i] = uint32(at)
	}
	q.ptail++
	return true
}

// commit publishes what put wrote and wakes a sleeping consumer; it
// returns the messages published.
func (q *ring) commit() int {
	n := q.ptail - q.tail.Load()
	if n == 0 {
		return 0
	}
	q.tail.Store(q.ptail)
	if q.sleeping.Load() && q.sleeping.Swap(false) {
		q.wakeConsumer()
	}
	n -= q.skips
	q.skips = 0
	return int(n)
}

// peek returns the next message (consumer) without releasing it, or nil
// when the ring is empty: the consumer is then asleep until wakeConsumer.
func (q *ring) peek() *ringMsg {
	if q.chead == q.tail.Load() {
		q.sleeping.Store(true)
		if q.chead == q.tail.Load() {
			return nil
		}
		q.sleeping.Store(false)
	}
	mask := uint64(len(q.msgs) - 1)
	m := &q.msgs[q.chead&mask]
	if m.seq.Load() != q.chead {
		// Skipped (put): the next message is the next lap's first. Its
		// seq, published with tail, is the one to trust; a skipped
		// descriptor holds an older lap's number, or a later one the
		// producer has written since.
		q.chead = (q.chead | mask) + 1
		m = &q.msgs[0]
	}
	return m
}

// frameOf is frame i of m, a view valid until m is released.
func (q *ring) frameOf(m *ringMsg, i int) []byte {
	from := uint32(0)
	if i > 0 {
		from = m.ends[i-1]
	}
	if m.big != nil {
		return m.big[from:m.ends[i]:m.ends[i]]
	}
	off := m.start & uint64(len(q.data)-1)
	return q.data[off+uint64(from) : off+uint64(m.ends[i]) : off+uint64(m.ends[i])]
}

// release frees the message peek returned (consumer) and wakes a producer
// waiting for room.
func (q *ring) release() {
	m := &q.msgs[q.chead&uint64(len(q.msgs)-1)]
	m.big = nil
	q.chead++
	q.hbytes.Store(m.end)
	q.head.Store(q.chead)
	if q.wantRoom.Load() && q.wantRoom.Swap(false) {
		q.wakeProducer()
	}
}

// empty reports (consumer) that nothing is published beyond what it read.
func (q *ring) empty() bool { return q.chead == q.tail.Load() }
