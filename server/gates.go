package server

import (
	"time"

	"github.com/condure-go/condure/internal/logging"
	"github.com/condure-go/condure/zhttp"
	"github.com/condure-go/condure/zmqio"
)

// Backpressure (docs/design.md "Backpressure"). A packet for handlers goes
// through a gate: the PUSH socket (requests), the req DEALER, and for later
// packets of a session its handler's address (and, in bind mode, the pipe to
// the hub). When a send hits the high-water mark, or the hub says it holds
// messages for the address, the gate closes: the packet is not kept, the
// session undoes what it consumed to build it (the client's bytes stay in
// its read buffer or in the kernel) and waits on the gate, unread, in a
// FIFO threaded through the session slots. When the gate's socket signals room
// (ZMQ_FD), the hub clears the address, or condure's 50 ms retry comes
// round, the waiting sessions run again in order and rebuild their
// packets. So nothing is copied per waiting packet; a client that leaves
// just leaves its FIFO; and a handler that stops reading stops only its own
// sessions. Credits owed are coalesced in the session (owed), keep-alives
// for a closed gate are skipped (the next sweep sends them), and cancels,
// which outlive their slot, are held in a per-worker list bounded by the
// slot count.

// Gate ids: the three sockets, the Inflater pool, then one per handler address.
const (
	gateOut    int32 = 1 // PUSH: requests (stream mode)
	gateReq    int32 = 2 // DEALER: req-mode requests
	gateStream int32 = 3 // bind mode: the pipe to the hub's ROUTER lane
	gateInfl   int32 = 4 // --compression: the worker's Inflaters, all lent (ws_deflate.go)
	gateAddr0  int32 = 5 // gateAddr0+i: handler address i (addrTable index, 0-based)

	// 50 ms: condure retries a send that hit the high-water mark this
	// often; here it is the fallback when no ZMQ_FD signal comes.
	retryTicks = 5
)

// gate is one thing packets may have to wait for.
type gate struct {
	head, tail int32 // waiting slots, each +1; 0 = none
	blocked    bool  // the last send through it hit the high-water mark
	hub        bool  // bind mode: the hub holds messages for this address
	fresh      bool  // address gate not yet checked against the hub's set
	listed     bool  // on backpressure.retry
}

// heldCancel is a cancel for a closed session whose handler could not take
// it yet.
type heldCancel struct {
	addr    int32  // address reference, held
	slot    int32  // session slot
	counter uint64 // the session id's counter
	seq     int64
}

// backpressure is a worker's gate state.
type backpressure struct {
	socks      [4]gate
	next, prev []int32 // per session slot: neighbours in its gate's FIFO, +1
	on         []int32 // per session slot: the gate it waits on, 0 = none
	retry      []int32 // gates with waiters, held cancels or a closed state
	spare      []int32
	resuming   int32 // the gate whose waiters run now
	cancels    []heldCancel
	cancelTmp  []heldCancel
	incl       []int32 // slots of a batch being sent
	maxCancels int
	dropLog    *logging.Limiter // cancels dropped at maxCancels
	blockLog   *logging.Limiter
	blocks     *zmqio.Blocks // bind mode: the hub's blocked addresses
	blocksVer  uint64
	hubCleared bool   // an address left the hub's set: open its gate
	retryAt    uint64 // tick of the next timed retry
	timed      bool   // a listed gate is not the hub's to open (retryTimed)
	signalled  bool   // a ZeroMQ fd fired since the last retry
}

func (w *Worker) setupBackpressure(capacity int, blocks *zmqio.Blocks) {
	b := &w.bp
	b.next = make([]int32, capacity)
	b.prev = make([]int32, capacity)
	b.on = make([]int32, capacity)
	// A session owes at most one cancel; slots are reused, so this bounds
	// rather than guarantees.
	b.maxCancels = capacity
	b.dropLog = logging.NewLimiter(time.Second)
	b.blockLog = logging.NewLimiter(time.Second)
	if blocks != nil {
		b.blocks = blocks
		blocks.Subscribe(w.waker.Wake)
	}
}

func (w *Worker) gate(id int32) *gate {
	if id < gateAddr0 {
		return &w.bp.socks[id-1]
	}
	return &w.addrs.gates[id-gateAddr0]
}

func addrGate(addr int32) int32 { return gateAddr0 + addr - 1 }

// closed reports whether packets through gate id must wait now: it is
// blocked, or others wait on it and are not the ones being resumed.
func (w *Worker) closed(id int32) bool {
	g := w.gate(id)
	return g.blocked || g.hub || (g.head != 0 && w.bp.resuming != id)
}

// streamBlocked returns the gate that holds back packets for handler
// address addr now, or 0.
func (w *Worker) streamBlocked(addr int32) int32 {
	b := &w.bp
	if b.blocks != nil {
		if w.closed(gateStream) {
			return gateStream
		}
		if b.blocks.Version() != b.blocksVer {
			w.syncBlocks()
		}
	}
	id := addrGate(addr)
	if g := w.gate(id); g.fresh {
		g.fresh = false
		g.hub = b.blocks != nil && b.blocks.Has(w.addrs.names[addr-1])
	}
	if w.closed(id) {
		return id
	}
	return 0
}

// syncBlocks reads the hub's set of blocked addresses into the gates.
func (w *Worker) syncBlocks() {
	b := &w.bp
	b.blocksVer = b.blocks.Version()
	t := w.addrs
	for i := range t.gates {
		g := &t.gates[i]
		if t.refs[i] == 0 {
			g.hub = false
			continue
		}
		was := g.hub
		g.hub = b.blocks.Has(t.names[i])
		g.fresh = false
		if was && !g.hub {
			b.hubCleared = true
		}
	}
}

// wait puts slot at the end of gate id's FIFO (out of any other): it is not
// read until the gate runs it again.
func (w *Worker) wait(slot, id int32) {
	b := &w.bp
	if b.on[slot] == id {
		return
	}
	w.unwait(slot)
	g := w.gate(id)
	b.on[slot] = id
	b.prev[slot], b.next[slot] = g.tail, 0
	if g.tail != 0 {
		b.next[g.tail-1] = slot + 1
	} else {
		g.head = slot + 1
	}
	g.tail = slot + 1
	w.listGate(id)
}

// unwait takes slot out of the FIFO it waits in, if any.
func (w *Worker) unwait(slot int32) {
	b := &w.bp
	id := b.on[slot]
	if id == 0 {
		return
	}
	g := w.gate(id)
	p, n := b.prev[slot], b.next[slot]
	if p != 0 {
		b.next[p-1] = n
	} else {
		g.head = n
	}
	if n != 0 {
		b.prev[n-1] = p
	} else {
		g.tail = p
	}
	b.on[slot], b.prev[slot], b.next[slot] = 0, 0, 0
}

// waiting reports whether slot waits on a gate (and must not be read).
func (w *Worker) waiting(slot int32) bool { return w.bp.on[slot] != 0 }

// toFront moves a waiting slot to the head of its FIFO: a session that ran
// and was refused again keeps its turn.
func (w *Worker) toFront(slot int32) {
	b := &w.bp
	id := b.on[slot]
	g := w.gate(id)
	if g.head == slot+1 {
		return
	}
	w.unwait(slot)
	b.on[slot] = id
	b.prev[slot], b.next[slot] = 0, g.head
	b.prev[g.head-1] = slot + 1
	g.head = slot + 1
}

func (w *Worker) listGate(id int32) {
	g := w.gate(id)
	if !g.listed {
		g.listed = true
		w.bp.retry = append(w.bp.retry, id)
	}
	if !g.hub {
		w.bp.timed = true
	}
}

// blockedSocket marks a socket gate (or, in connect mode, an address gate)
// refused by the high-water mark.
func (w *Worker) block(id int32) int32 {
	w.m.mBlocked()
	w.gate(id).blocked = true
	w.listGate(id)
	if id >= gateAddr0 && logging.Enabled(logging.LevelDebug) && w.bp.blockLog.Allow(time.Now()) {
		logging.Debug(targetServer, "worker %d: handler %s not reading: its sessions wait%s", w.idx, w.addrs.names[id-gateAddr0], w.bp.blockLog.Note())
	}
	return id
}

// pendingSends reports gates or cancels to retry.
func (w *Worker) pendingSends() bool { return len(w.bp.retry) > 0 || len(w.bp.cancels) > 0 }

// retryTimed reports gates to retry on condure's 50 ms timer: those the hub
// holds are opened by its wake-up instead, so a handler stalled for hours
// does not wake the worker 20 times a second.
func (w *Worker) retryTimed() bool { return w.bp.timed }

// retryGates runs the sessions waiting on closed gates, in order, when a
// ZeroMQ fd fired, the hub cleared an address or 50 ms passed; then held
// cancels go out. Sends come before receives in a pass (pumpZmq), so the
// receive that ends it re-arms the edge-triggered fds.
func (w *Worker) retryGates(force bool) {
	b := &w.bp
	if !w.pendingSends() {
		return
	}
	if b.blocks != nil && b.blocks.Version() != b.blocksVer {
		w.syncBlocks()
	}
	if !force && !b.signalled && !b.hubCleared && w.now < b.retryAt {
		return
	}
	b.signalled, b.hubCleared = false, false
	b.retryAt = w.now + retryTicks
	ids := append(b.spare[:0], b.retry...)
	b.retry = b.retry[:0]
	for _, id := range ids {
		w.gate(id).listed = false
	}
	b.timed = false
	for _, id := range ids {
		w.openGate(id)
	}
	b.spare = ids
	w.flushCancels()
}

// openGate tries gate id again: its waiters run in order until one is
// refused (it keeps its place at the head).
func (w *Worker) openGate(id int32) {
	b := &w.bp
	g := w.gate(id)
	if g.hub { // the hub says when
		w.listGate(id)
		return
	}
	g.blocked = false
	b.resuming = id
	for g.head != 0 {
		slot := g.head - 1
		w.unwait(slot)
		if w.sessions.InUse(slot) {
			w.resume(slot, w.sessions.Get(slot))
		}
		if g.blocked || g.hub || (b.blocks != nil && w.bp.socks[gateStream-1].blocked) {
			if b.on[slot] == id {
				w.toFront(slot)
			}
			break
		}
	}
	b.resuming = 0
	if g.blocked || g.hub || g.head != 0 {
		w.listGate(id)
	}
}

// waitRequest makes a session whose request (or WebSocket upgrade) PUSH or
// the DEALER cannot take now wait on gate id, unless its client's FIN has
// already come (with the request): see finWhileWaiting.
func (w *Worker) waitRequest(ss int32, c *conn, id int32) {
	w.wait(ss, id)
	if c.has(fPeerFin) {
		w.finWhileWaiting(c)
	}
}

// finWhileWaiting answers a client whose FIN came while its request waits
// for a handler with room. A half-close cannot be told from a client that
// left, and the request cannot go now: it gets 503 at once and the
// connection closes, so a client that left releases everything at once
// (its read buffer, its slot, its fd). It reports whether it answered.
func (w *Worker) finWhileWaiting(c *conn) bool {
	ss, s, ok := w.connSession(c)
	if !ok {
		return false
	}
	if on := w.bp.on[ss]; on != gateOut && on != gateReq {
		return false
	}
	w.unwait(ss)
	logging.Debug(targetConn, "worker %d: conn %d: client closed while no handler could take its request", w.idx, s.conn)
	w.respondError(ss, s, c, 503, "Service Unavailable")
	return true
}

// resume runs a session that waited on a gate: the credit or
// handoff-proceed it owes, then whatever its state reads.
func (w *Worker) resume(ss int32, s *session) {
	c := w.conns.Get(s.conn)
	if s.kind == kindH2 && s.isNew() {
		w.h2Resume(ss, s, c)
		return
	}
	if c.wstart == c.wend && ((s.owed > 0 && !s.has(fRespLast)) || s.has(fHandoffPending)) {
		w.sessionWritten(ss, s)
		if w.waiting(ss) || !w.sessions.InUse(ss) {
			return
		}
	}
	w.advance(s.conn, c)
}

// sendTo sends a later packet of a session to handler address addr through
// the ROUTER. It returns 0, or the gate that refused the packet: nothing was
// sent, and the caller undoes what it consumed and waits on that gate. A
// packet for a handler that is gone is dropped (condure's log line, at most
// once a second with a count).
func (w *Worker) sendTo(addr int32, p []byte) int32 {
	if g := w.streamBlocked(addr); g != 0 {
		return g
	}
	if w.routerSend(w.addrs.name(addr), p) {
		return 0
	}
	if w.bp.blocks != nil {
		return w.block(gateStream) // the pipe to the hub is full
	}
	return w.block(addrGate(addr))
}

// sendToName sends p to a handler address no session holds (the cancel for
// a session that ended before its handler spoke): best effort, dropped when
// that handler or the pipe to the hub takes nothing now; nothing is kept.
func (w *Worker) sendToName(name, p []byte) {
	b := &w.bp
	if b.blocks != nil && (w.closed(gateStream) || b.blocks.Has(name)) {
		return
	}
	if i, ok := w.addrs.index[string(name)]; ok && w.closed(addrGate(i+1)) {
		return
	}
	if !w.routerSend(name, p) && b.blocks != nil {
		w.block(gateStream)
	}
}

// routerSend sends [name, "", p] on the ROUTER socket (in bind mode the pipe
// to the hub); false: the high-water mark, nothing sent.
func (w *Worker) routerSend(name, p []byte) bool {
	if logging.Enabled(logging.LevelTrace) {
		logging.Trace(targetServer, "OUT stream to %s %q", name, p)
	}
	switch err := w.fx.sendRouter(name, p); err {
	case nil:
		w.mPacketOut()
	case zmqio.ErrWouldBlock:
		return false
	default: // Host unreachable: the handler is gone, or its from is not its identity
		w.sendToError(err)
	}
	return true
}

// sendRequest sends the first packet of a session through PUSH. It returns
// false when PUSH cannot take it now: the caller leaves the request unread
// and waits on gateOut.
func (w *Worker) sendRequest(p []byte) bool {
	if w.closed(gateOut) {
		return false
	}
	if logging.Enabled(logging.LevelTrace) {
		logging.Trace(targetServer, "OUT stream %q", p)
	}
	switch err := w.fx.sendPush(p); err {
	case nil:
		w.mPacketOut()
	case zmqio.ErrWouldBlock:
		w.block(gateOut)
		return false
	default:
		w.sendOutError(err)
	}
	return true
}

// sendReq sends a req-mode request, ["", packet] on the DEALER (§2.2); false
// as for sendRequest, with gateReq.
func (w *Worker) sendReq(p []byte) bool {
	if w.closed(gateReq) {
		return false
	}
	if logging.Enabled(logging.LevelTrace) {
		logging.Trace(targetServer, "OUT req %q", p)
	}
	switch err := w.fx.sendReq(p); err {
	case nil:
		w.mPacketOut()
	case zmqio.ErrWouldBlock:
		w.block(gateReq)
		return false
	default:
		w.sendReqError(err)
	}
	return true
}

var emptyFrame = []byte{}

// cancel tells a session's handler that it ended (§4.6); when the handler's
// gate is closed the cancel is held until it opens.
func (w *Worker) cancel(ss int32, s *session) {
	if s.addr == 0 {
		return
	}
	g := w.streamBlocked(s.addr)
	if g == 0 {
		o := w.resetOut(ss, s)
		o.Type = zhttp.TypeCancel
		w.pktBuf = zhttp.AppendPacket(w.pktBuf[:0], o)
		if g = w.sendTo(s.addr, w.pktBuf); g == 0 {
			s.outSeq++
			return
		}
	}
	w.holdCancel(g, s.addr, ss, s.idCounter, s.outSeq)
	s.outSeq++
}

// holdCancel keeps a cancel for gate g; past maxCancels it is dropped and
// counted (the handler then expires the session after 60 s of silence).
func (w *Worker) holdCancel(g, addr, slot int32, counter uint64, seq int64) {
	b := &w.bp
	if len(b.cancels) >= b.maxCancels {
		if b.dropLog.Allow(time.Now()) {
			logging.Warn(targetServer, "worker %d: handlers not reading: cancel dropped%s", w.idx, b.dropLog.Note())
		}
		return
	}
	w.addrs.hold(addr)
	b.cancels = append(b.cancels, heldCancel{addr: addr, slot: slot, counter: counter, seq: seq})
	w.listGate(g)
}

// flushCancels sends the held cancels whose handlers take them again, one
// multi-id packet per address and at most MaxIDs ids.
func (w *Worker) flushCancels() {
	b := &w.bp
	if len(b.cancels) == 0 {
		return
	}
	all := b.cancels
	b.cancels, b.cancelTmp = b.cancelTmp[:0], all[:0]
	for len(all) > 0 {
		addr := all[0].addr
		n := 0 // up to MaxIDs cancels for addr moved to the front
		for i := range all {
			if all[i].addr == addr && n < zhttp.MaxIDs {
				all[n], all[i] = all[i], all[n]
				n++
			}
		}
		group := all[:n]
		if w.streamBlocked(addr) != 0 || !w.sendCancels(addr, group) {
			b.cancels = append(b.cancels, group...)
		} else {
			for range group {
				w.addrs.release(addr)
			}
		}
		all = all[n:]
	}
}

// sendCancels sends one cancel packet for the held cancels in group.
func (w *Worker) sendCancels(addr int32, group []heldCancel) bool {
	ids := w.batchIDs[:0]
	arena := w.batchArena[:0]
	for _, e := range group {
		start := len(arena)
		arena = append(arena, w.idText(e.slot, e.counter)...)
		ids = append(ids, zhttp.IDSeq{ID: arena[start:len(arena):len(arena)], Seq: e.seq, HasSeq: true})
	}
	o := &w.out
	*o = zhttp.Out{From: w.instance, Multi: ids, Type: zhttp.TypeCancel}
	if len(ids) == 1 {
		*o = zhttp.Out{From: w.instance, ID: ids[0].ID, Seq: ids[0].Seq, Type: zhttp.TypeCancel}
	}
	w.pktBuf = zhttp.AppendPacket(w.pktBuf[:0], o)
	return w.sendTo(addr, w.pktBuf) == 0
}
