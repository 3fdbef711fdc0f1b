package zmqio

import (
	"bytes"
	"sync/atomic"
	"time"

	zmq "github.com/pebbe/zmq4"

	"github.com/condure-go/condure/internal/logging"
	"github.com/condure-go/condure/reactor"
	"github.com/condure-go/condure/zhttp"
)

// The hub exists because an endpoint can be bound by one socket only: in bind
// mode (the default) it owns the bound PUSH B-out, ROUTER B-out-stream, SUB
// B-in and req DEALER sockets and shuttles frames between them and the
// workers over Go queues, one per worker and direction per socket (ring.go,
// hub_rings.go). Worker→handler messages are forwarded as they are;
// handler→worker messages are routed by the worker index at the front of
// each session id ("<worker>-<slot>-<counter>"), a multi-id packet going to
// every worker it names. It runs on its own locked OS thread with its own
// epoll.

const (
	hubTarget = "condure::zhttpsocket"
	// 50 ms: condure retries a send that hit the high-water mark this often.
	hubRetryMs = 50
	// Messages moved per lane per wake-up before the others get a turn.
	hubBudget = 256
)

// Hub is the bind-mode socket owner.
type Hub struct {
	instance []byte
	socks    []*Sock // every socket, for epoll and closing
	mons     []*monitor
	forwards []*forward
	routes   []*route

	waker *reactor.Waker
	rings []*workerRings // per worker (ringsock.go)
	stop  atomic.Bool
	done  chan struct{}
	pkt   zhttp.Packet
	seen  []bool  // per worker, while routing one message
	logs  hubLogs // limiters of the lines handlers can trigger
	// blocks publishes the handler addresses the ROUTER lane holds
	// messages for, so the workers pause those handlers' sessions.
	blocks *Blocks
	// Per socket (index in socks), the lanes to run when its fd fires:
	// those reading it; a socket some lane sends on also sets room
	// (hub_due.go).
	readers [][]*bool
	sender  []bool
	room    bool // a sending socket signalled: lanes waiting for room run
}

// hubLogInterval: a line a handler can trigger per message is written at
// most this often; the next one says how many were suppressed meanwhile.
const hubLogInterval = time.Second

// hubLogs are the hub's limiters, one per line (hub thread only). The zero
// value lets every line through.
type hubLogs struct {
	reqNoPayload, noAddr, notForUs, ids logging.Limiter
}

func newHubLogs() hubLogs {
	l := *logging.NewLimiter(hubLogInterval)
	return hubLogs{reqNoPayload: l, noAddr: l, notForUs: l, ids: l}
}

// NewHub binds the external endpoints and makes the queues of `workers`
// workers (kept in cfg for NewWorkerSockets). Workers must create their
// sockets after NewHub returns, with the same cfg. Call it on the hub's
// locked OS thread, which it names "zhttpsocket".
func NewHub(ctx *zmq.Context, cfg *Config, workers int) (*Hub, error) {
	nameThread(hubThreadName)
	h := &Hub{instance: []byte(cfg.InstanceID), done: make(chan struct{}), seen: make([]bool, workers), logs: newHubLogs(), blocks: NewBlocks()}
	if err := h.open(ctx, cfg, workers); err != nil {
		h.closeSockets(0)
		for _, r := range h.rings {
			r.close()
		}
		cfg.rings = nil
		return nil, err
	}
	return h, nil
}

func (h *Hub) sock(ctx *zmq.Context, t zmq.Type, hwm int) (*Sock, error) {
	s, err := newSock(ctx, t, hwm)
	if err == nil {
		h.socks = append(h.socks, s)
	}
	return s, err
}

// external creates a socket bound to endpoints that takes frames of at
// most max bytes from them (limits.go); what names a receiving socket
// whose connections are then watched (monitor.go).
func (h *Hub) external(ctx *zmq.Context, cfg *Config, t zmq.Type, endpoints []string, max int64, what string, setup func(*Sock)) (*Sock, error) {
	s, err := h.sock(ctx, t, cfg.HWM)
	if err != nil {
		return nil, err
	}
	if setup != nil {
		setup(s)
	}
	s.limitInput(max)
	if what != "" {
		m, err := watch(ctx, s, what, max, nil)
		if err != nil {
			return nil, err
		}
		h.mons = append(h.mons, m)
	}
	return s, attach(s, endpoints, true, cfg.IPCMode)
}

func (h *Hub) open(ctx *zmq.Context, cfg *Config, workers int) error {
	var err error
	// The ROUTER lane parks for a destination what was in flight to it when
	// it blocked: at most what the workers' queues hold (2 HWM per worker,
	// ring.go) and the batch the lane took from them (hubBudget), since
	// once it is published as blocked they produce nothing more for it.
	// The limit per destination is twice the queues plus a margin (it was
	// so with libzmq's inproc pipes, whose accounting let a few more
	// through: a limit equal to their capacity stopped the lane, and every
	// other handler, when both were full of one stalled handler's messages).
	parkLimit := 2*workers*2*max(cfg.HWM, 1) + hubBudget + 64
	h.waker, err = reactor.NewWaker()
	if err != nil {
		return err
	}
	// The workers' queues: as many messages as an inproc pipe held (both
	// sides' high-water marks).
	cfg.rings = nil
	for i := 0; i < workers; i++ {
		r, err := newWorkerRings(2*max(cfg.HWM, 1), cfg.Stream, cfg.HasReq(), h.waker.Wake)
		if err != nil {
			return err
		}
		h.rings = append(h.rings, r)
	}
	pick := func(f func(*workerRings) *ring) []*ring {
		qs := make([]*ring, workers)
		for i, r := range h.rings {
			qs[i] = f(r)
		}
		return qs
	}
	if cfg.Stream {
		out, err := h.external(ctx, cfg, zmq.PUSH, cfg.Out, cfg.StreamMaxMsg, "", nil) // PULL peers send nothing
		if err != nil {
			return err
		}
		h.forwards = append(h.forwards, &forward{dst: out, srcQ: pick(func(r *workerRings) *ring { return r.out })})
		stream, err := h.external(ctx, cfg, zmq.ROUTER, cfg.OutStream, cfg.StreamMaxMsg, "stream out (ROUTER)", func(s *Sock) {
			s.s.SetRouterMandatory(1)
			// A restarted handler reusing its identity takes over the old
			// peer instead of being refused until the server next sends to it.
			s.s.SetRouterHandover(true)
		})
		if err != nil {
			return err
		}
		h.forwards = append(h.forwards, newParkingForward(pick(func(r *workerRings) *ring { return r.outStream }), stream, h.blocks, parkLimit))
		in, err := h.external(ctx, cfg, zmq.SUB, cfg.In, cfg.StreamMaxMsg, "stream in (SUB)", func(s *Sock) { s.s.SetSubscribe(cfg.InstanceID + " ") })
		if err != nil {
			return err
		}
		r := newRoute(in, false)
		r.dstQ = pick(func(r *workerRings) *ring { return r.in })
		h.routes = append(h.routes, r)
	}
	if cfg.HasReq() {
		dealer, err := h.external(ctx, cfg, zmq.DEALER, cfg.Req, cfg.ReqMaxMsg, "req (DEALER)", nil)
		if err != nil {
			return err
		}
		h.forwards = append(h.forwards, &forward{dst: dealer, srcQ: pick(func(r *workerRings) *ring { return r.req })})
		r := newRoute(dealer, true)
		r.dstQ = pick(func(r *workerRings) *ring { return r.reqIn })
		h.routes = append(h.routes, r)
	}
	cfg.rings = h.rings
	return nil
}

func (h *Hub) closeSockets(lingerMs int) {
	for _, s := range h.socks {
		s.Close(lingerMs)
	}
	for _, f := range h.forwards {
		f.close()
	}
	for _, r := range h.routes {
		r.close()
	}
}

// Run moves messages until Stop; then it flushes for at most lingerMs and
// closes its sockets. Call it on the locked OS thread that called NewHub:
// a ZeroMQ socket is used only by the thread that created it.
func (h *Hub) Run(lingerMs int) {
	defer close(h.done)
	p, err := reactor.NewPoller(16)
	if err != nil {
		logging.Error(hubTarget, "hub poller: %v", err)
		return
	}
	defer p.Close()
	p.Add(h.waker.Fd(), reactor.EvIn, 0)
	// Every socket: receivers say "messages", senders "room again" after a
	// send hit the high-water mark (see Sock.Send). The tag is the socket's
	// index, so only the lanes it concerns run (lanes.go: due).
	for i, s := range h.socks {
		p.Add(s.Fd(), reactor.EvIn, hubTagSock+uint64(i))
	}
	for _, m := range h.mons {
		p.Add(m.Fd(), reactor.EvIn, hubTagMon)
	}
	// Until a reader has found its pipe empty, libzmq delivers without
	// signalling: drain once so the monitors' fds fire from now on, and
	// run every lane once (due starts all true).
	h.watch()
	h.initDue()
	start := time.Now()
	var yield reactor.Yielder
	for !h.stop.Load() {
		timeout := -1
		if h.pump() {
			timeout = 0
		} else if h.pending() {
			timeout = hubRetryMs
		}
		evs, _, _ := yield.Wait(p, timeout, start)
		if len(evs) == 0 && timeout != 0 {
			h.allDue() // the retry timer: every lane looks again
		}
		for _, ev := range evs {
			switch {
			case ev.Tag == hubTagWaker:
				h.waker.Drain()
				h.ringsDue()
			case ev.Tag == hubTagMon:
				h.watch()
			case ev.Tag >= hubTagSock:
				h.fired(int(ev.Tag - hubTagSock))
			}
		}
	}
	// Shutdown: give the workers' last packets (cancels) a bounded chance.
	deadline := time.Now().Add(time.Duration(lingerMs) * time.Millisecond)
	for time.Now().Before(deadline) {
		h.allDue()
		if !h.pump() && !h.pending() {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	h.closeSockets(lingerMs)
}

// Hub epoll tags.
const (
	hubTagWaker = 0
	hubTagMon   = 1
	hubTagSock  = 2 // + index in h.socks
)

// Blocks is the set of handler addresses whose messages the hub holds
// back (their ROUTER pipe is full); workers pause those sessions.
func (h *Hub) Blocks() *Blocks { return h.blocks }

// watch handles the monitors' connection events (monitor.go).
func (h *Hub) watch() {
	now := time.Now()
	for _, m := range h.mons {
		m.drain(now)
	}
}

// Stop asks Run to finish; Wait waits for it. Call both from one goroutine:
// the waker is closed by Wait, after Run is done with it and Stop's Wake has
// returned (closing it in Run could race a Wake onto a reused fd).
func (h *Hub) Stop() { h.stop.Store(true); h.waker.Wake() }

func (h *Hub) Wait() {
	<-h.done
	h.waker.Close()
	for _, r := range h.rings {
		r.close()
	}
}

// pump gives every due lane a turn (hub_due.go) and reports whether one
// ran out of budget.
func (h *Hub) pump() bool {
	busy := false
	room := h.room
	h.room = false
	for _, f := range h.forwards {
		if !f.due && !(room && f.pending()) {
			continue
		}
		f.due = false
		if f.pump() {
			f.due, busy = true, true
		}
		// A send on a socket may process its commands, and with them the
		// signal that its inbound pipe has messages: a lane reading that
		// socket looks again.
		if f.dstReader != nil {
			f.dstReader.due = true
		}
	}
	for _, r := range h.routes {
		if !r.due && !(room && r.next < len(r.pendW)) {
			continue
		}
		r.due = false
		if r.pump(h) {
			r.due, busy = true, true
		}
	}
	return busy
}

func (h *Hub) pending() bool {
	for _, f := range h.forwards {
		if f.pending() {
			return true
		}
	}
	for _, r := range h.routes {
		if r.next < len(r.pendW) {
			return true
		}
	}
	return false
}

// owners appends the workers named by the ids of a handler message.
func (h *Hub) owners(dst []int, frames [][]byte, req bool) []int {
	var body []byte
	if req {
		body = ReqPayload(frames)
		if body == nil {
			if l := &h.logs.reqNoPayload; l.Allow(time.Now()) {
				logging.Error(hubTarget, "req: reply without a payload after the envelope%s", l.Note())
			}
			return dst
		}
	} else {
		msg := frames[0]
		sp := bytes.IndexByte(msg, ' ')
		if sp < 0 {
			if l := &h.logs.noAddr; l.Allow(time.Now()) {
				logging.Warn(hubTarget, "unable to determine packet address%s", l.Note())
			}
			return dst
		}
		if !bytes.Equal(msg[:sp], h.instance) {
			if l := &h.logs.notForUs; l.Allow(time.Now()) {
				logging.Warn(hubTarget, "packet not for us%s", l.Note())
			}
			return dst
		}
		body = msg[sp+1:]
	}
	if err := h.pkt.ParseIDs(body); err != nil {
		if l := &h.logs.ids; l.Allow(time.Now()) {
			logging.Warn(hubTarget, "unable to determine packet id(s): %v%s", err, l.Note())
		}
		return dst
	}
	clear(h.seen)
	for _, id := range h.pkt.IDs {
		w, ok := zhttp.WorkerOf(id.ID)
		if !ok || w >= len(h.seen) || h.seen[w] {
			continue
		}
		h.seen[w] = true
		dst = append(dst, w)
	}
	return dst
}

// ReqPayload returns the packet of a req-mode reply: the frame after the
// first empty one (reference.md §2.2), or nil when there is none.
func ReqPayload(frames [][]byte) []byte {
	for i, f := range frames {
		if len(f) == 0 {
			if i+1 < len(frames) {
				return frames[i+1]
			}
			return nil
		}
	}
	return nil
}

func msDuration(ms int) time.Duration { return time.Duration(ms) * time.Millisecond }
