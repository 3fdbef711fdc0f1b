package server

import (
	"time"

	"github.com/condure-go/condure/internal/logging"
	"github.com/condure-go/condure/zhttp"
)

// Cancels for sessions that ended before their handler spoke (reference.md
// §4.6). A client that goes away before the handler's first packet frees its
// slot at once (§12 #3), when no handler address is known to tell. The
// handler learns of it when it speaks: its first packet for the ended
// session is answered with a cancel to its `from`, as condure 1.9.1 does
// (it notices the client's EOF only then, and sends `cancel` with seq 1).
//
// Nothing is kept per ended session. A packet is taken to be a handler's
// first for a session of ours that ended when its id names this worker, a
// slot in range and a counter already issued (never a future id) but no
// live session, and it carries seq 0 (or no seq: handlers that omit it
// cannot be told apart). Its later packets (seq ≥ 1), packets for sessions
// whose handler was told or finished them, and cancel and error packets get
// no answer, as before. Answers are budgeted per worker, so a flood of
// packets for dead ids costs a bounded amount of work.

const (
	// Cancels for ended sessions per worker per 10 ms tick (6400/s): far
	// above what clients leaving ahead of their handlers produce, and a
	// handler flooding dead ids gets at most that back.
	endedCancelsPerTick = 64
	// Seq of the answer: the session sent its request (seq 0) and nothing
	// after, since body and messages flow only once the handler has spoken.
	endedCancelSeq = 1
)

// endedCancels is a worker's budget of those cancels.
type endedCancels struct {
	tick uint64 // the tick the budget is for, +1 (0: none yet, so tick 0 has a budget too)
	left int    // cancels left in it
}

// cancelEnded answers a handler packet naming id, for which lookup found no
// live session, with a cancel if id names a session of ours that ended before the
// handler's first packet.
func (w *Worker) cancelEnded(p *zhttp.Packet, id *zhttp.IDSeq) {
	if p.Type == zhttp.TypeCancel || p.Type == zhttp.TypeError || (id.HasSeq && id.Seq != 0) {
		return
	}
	if len(p.From) == 0 || len(p.From) > zhttp.MaxFromLen || !w.endedID(id.ID) {
		return
	}
	e := &w.ended
	if e.tick != w.now+1 {
		e.tick, e.left = w.now+1, endedCancelsPerTick
	}
	if e.left == 0 {
		if l := w.logs.endedOver; l.Allow(time.Now()) {
			logging.Warn(targetServer, "worker %d: cancels for ended sessions over budget (%d per 10 ms): one not sent%s",
				w.idx, endedCancelsPerTick, l.Note())
		}
		return
	}
	e.left--
	if logging.Enabled(logging.LevelDebug) {
		logging.Debug(targetConn, "conn %s: handler packet for a session that ended before it spoke: cancel", id.ID)
	}
	o := &w.out
	*o = zhttp.Out{From: w.instance, ID: id.ID, Seq: endedCancelSeq, Type: zhttp.TypeCancel}
	w.pktBuf = zhttp.AppendPacket(w.pktBuf[:0], o)
	w.sendToName(p.From, w.pktBuf)
}

// endedID reports whether id, which lookup found no live session for, names
// a session this worker issued: a slot in range and a counter below the
// next one issued.
func (w *Worker) endedID(id []byte) bool {
	_, counter, ok := w.parseID(id)
	return ok && counter < w.idCounter
}
