package server

import (
	"time"

	"github.com/condure-go/condure/internal/logging"
	"github.com/condure-go/condure/zhttp"
)

// Keep-alives to handlers (reference.md §4.5). Handlers expire a session after
// 60 s without a packet, so every session whose handler is known gets a
// keep-alive about every 45 s. A sweep visits a slice of the slots at a
// time, so a worker's sessions are spread evenly over the interval instead
// of all being sent in one burst, and sessions that share a handler address
// go out together in multi-id packets (Pushpin answers in kind).

const (
	keepAliveCycle = 45 * time.Second
	// A sweep visits about sweepSlots slots, and there are between
	// minSweeps (every 5 s) and maxSweeps (every 500 ms) per cycle: a small
	// server wakes rarely, a big one in slices short enough not to stall
	// its connections (a 1M-slot worker: 5.6k slots every 500 ms).
	// condure sweeps every 100 ms; each wake-up of a worker also wakes the
	// Go runtime's sysmon for a while (about 60 short sleeps): with 1k and
	// 15k idle WebSocket sessions, sweeps every 5 s instead of 500 ms cut
	// the server's idle CPU from 13.5 to 4.7 and from about 35 to 15 ms
	// per 10 s. Handlers see the same 45 s cycle either way, in batches of
	// up to 128 ids.
	sweepSlots = 4096
	minSweeps  = 9
	maxSweeps  = 90
	// 65000 bytes at most per batch packet, as condure.
	maxBatchBytes = zhttp.MaxPacketSize
)

// keepAliveSchedule gives the sweeps per cycle and the ticks between them
// for a worker with the given slots.
func keepAliveSchedule(slots int, cycle time.Duration) (sweeps int32, ticks uint64) {
	cycleTicks := max(uint64(cycle/tickDur), 1)
	n := min(max((slots+sweepSlots-1)/sweepSlots, minSweeps), maxSweeps)
	sweeps = int32(min(uint64(n), cycleTicks))
	return sweeps, cycleTicks / uint64(sweeps)
}

// batchable reports whether a session takes part in keep-alives and
// shutdown cancels: its handler is known and it is not paused for a handoff
// (§12 #14: nothing is sent between handoff-proceed and the next packet).
func batchable(s *session) bool {
	return s.addr != 0 && !s.isNew() && !s.paused() && !s.has(fHandoffPending)
}

// sweepSpan is how many session slots a cycle of sweeps visits: one per
// connection, or up to the session slab's high-water mark if HTTP/2 streams
// used more. With HTTP/2 the slab has two slots per connection, most never
// used; sweeping all of them made each sweep's slice twice as big, so a
// cycle's keep-alives went out in half as many bursts, each twice the bytes
// (issue #19: zmqio drops a held-sends buffer past laterKeep after each
// such burst and grows a new one at the next, garbage an idle server's GC
// does not collect: idle WebSocket RSS per connection up 30-60 B at 15k).
func (w *Worker) sweepSpan() int32 {
	return int32(max(w.conns.Cap(), w.sessions.HighWater()))
}

// sweepKeepAlives runs every kaTicks: it visits the next slice
// of slots and sends their keep-alives.
func (w *Worker) sweepKeepAlives() {
	n := w.sweepSpan()
	per := (n + w.kaSweeps - 1) / w.kaSweeps
	w.batch = w.batch[:0]
	for i := int32(0); i < per && n > 0; i++ {
		slot := w.kaCursor
		w.kaCursor = (w.kaCursor + 1) % n
		if w.sessions.InUse(slot) && batchable(w.sessions.Get(slot)) {
			w.batch = append(w.batch, slot)
		}
	}
	if len(w.batch) > 0 {
		if logging.Enabled(logging.LevelDebug) {
			logging.Debug(targetServer, "worker %d: sending keep alives for %d sessions", w.idx, len(w.batch))
		}
		w.sendBatched(zhttp.TypeKeepAlive)
	}
}

// skipSweeps moves the cursor as k sweeps that found no session would have,
// so the slots keep their place in the 45 s cycle while the worker slept.
func (w *Worker) skipSweeps(k uint64) {
	n := uint64(w.sweepSpan())
	if n == 0 || k == 0 {
		return
	}
	per := (n + uint64(w.kaSweeps) - 1) / uint64(w.kaSweeps)
	w.kaCursor = int32((uint64(w.kaCursor) + k%n*per) % n)
}

// sendBatched sends a packet of type t to every session in w.batch, one
// multi-id packet per handler address and at most MaxIDs ids each, every id
// with its session's next seq. A handler that takes no packet now gets no
// keep-alives (the next sweep sends them); its cancels are held (gates.go).
func (w *Worker) sendBatched(t zhttp.PacketType) {
	for len(w.batch) > 0 {
		addr := w.sessions.Get(w.batch[0]).addr
		ids := w.batchIDs[:0]
		arena := w.batchArena[:0]
		incl := w.bp.incl[:0]
		rest := w.batch[:0]
		size := 0
		for _, slot := range w.batch {
			c := w.sessions.Get(slot)
			if c.addr != addr || len(ids) == zhttp.MaxIDs || size > maxBatchBytes-256 {
				rest = append(rest, slot)
				continue
			}
			start := len(arena)
			arena = append(arena, w.appendID(slot, c)...)
			ids = append(ids, zhttp.IDSeq{ID: arena[start:len(arena):len(arena)], Seq: c.outSeq, HasSeq: true})
			incl = append(incl, slot)
			size += len(arena) - start + 32
		}
		w.bp.incl = incl
		g := w.streamBlocked(addr)
		if g == 0 {
			o := &w.out
			*o = zhttp.Out{From: w.instance, Multi: ids, Type: t}
			if len(ids) == 1 {
				// A lone session gets the plain id form, as the reference sends.
				*o = zhttp.Out{From: w.instance, ID: ids[0].ID, Seq: ids[0].Seq, Type: t}
			}
			w.pktBuf = zhttp.AppendPacket(w.pktBuf[:0], o)
			g = w.sendTo(addr, w.pktBuf)
		}
		for _, slot := range incl {
			c := w.sessions.Get(slot)
			switch {
			case g == 0:
				c.outSeq++
			case t == zhttp.TypeCancel:
				w.holdCancel(g, addr, slot, c.idCounter, c.outSeq)
				c.outSeq++
			}
		}
		w.batch = rest
	}
}
