package server

import (
	"github.com/condure-go/condure/internal/logging"
	"github.com/condure-go/condure/zhttp"
)

// Keep-alives to handlers (ZHTTP.md §4.5). Handlers expire a session after
// 60 s without a packet, so every session whose handler is known gets a
// keep-alive about every 45 s. A sweep visits a slice of the slots every
// 500 ms, so a worker's sessions are spread evenly over the interval instead
// of all being sent in one burst, and sessions that share a handler address
// go out together in multi-id packets (Pushpin answers in kind).

const (
	// 500 ms between sweeps; 90 sweeps cover every slot once (45 s).
	// condure sweeps every 100 ms; each wake-up of a worker also wakes the
	// Go runtime's sysmon for a while, so fewer, larger sweeps halve the
	// idle CPU of a server holding WebSocket sessions. Handlers see the
	// same 45 s cycle, in batches of up to 128 ids either way.
	keepAliveSweepTicks = 50
	keepAliveSweeps     = 90
	// 65000 bytes at most per batch packet, as condure.
	maxBatchBytes = zhttp.MaxPacketSize
)

// batchable reports whether a session takes part in keep-alives and
// shutdown cancels: its handler is known and it is not paused for a handoff
// (§12 #14: nothing is sent between handoff-proceed and the next packet).
func batchable(c *conn) bool {
	return c.addr != 0 && c.state != stRecvHeader && c.state != stHandoff && !c.has(fHandoffPending)
}

// sweepKeepAlives runs every keepAliveSweepTicks: it visits the next slice
// of slots and sends their keep-alives.
func (w *Worker) sweepKeepAlives() {
	n := int32(w.conns.Cap())
	per := (n + w.kaSweeps - 1) / w.kaSweeps
	w.batch = w.batch[:0]
	for i := int32(0); i < per && n > 0; i++ {
		slot := w.kaCursor
		w.kaCursor = (w.kaCursor + 1) % n
		if w.conns.InUse(slot) && batchable(w.conns.Get(slot)) {
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
	n := uint64(w.conns.Cap())
	if n == 0 || k == 0 {
		return
	}
	per := (n + uint64(w.kaSweeps) - 1) / uint64(w.kaSweeps)
	w.kaCursor = int32((uint64(w.kaCursor) + k%n*per) % n)
}

// sendBatched sends a packet of type t to every session in w.batch, one
// multi-id packet per handler address and at most MaxIDs ids each, every id
// with its session's next seq.
func (w *Worker) sendBatched(t zhttp.PacketType) {
	for len(w.batch) > 0 {
		addr := w.conns.Get(w.batch[0]).addr
		ids := w.batchIDs[:0]
		arena := w.batchArena[:0]
		rest := w.batch[:0]
		size := 0
		for _, slot := range w.batch {
			c := w.conns.Get(slot)
			if c.addr != addr || len(ids) == zhttp.MaxIDs || size > maxBatchBytes-256 {
				rest = append(rest, slot)
				continue
			}
			start := len(arena)
			arena = append(arena, w.appendID(slot, c)...)
			ids = append(ids, zhttp.IDSeq{ID: arena[start:len(arena):len(arena)], Seq: c.outSeq, HasSeq: true})
			size += len(arena) - start + 32
			c.outSeq++
		}
		o := &w.out
		*o = zhttp.Out{From: w.instance, Multi: ids, Type: t}
		if len(ids) == 1 {
			// A lone session gets the plain id form, as the reference sends.
			*o = zhttp.Out{From: w.instance, ID: ids[0].ID, Seq: ids[0].Seq, Type: t}
		}
		w.pktBuf = zhttp.AppendPacket(w.pktBuf[:0], o)
		w.sendTo(w.addrs.name(addr), w.pktBuf)
		w.batch = rest
	}
}
