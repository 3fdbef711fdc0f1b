package zhttp

import (
	"bytes"
	"sync/atomic"
	"time"

	zmq "github.com/pebbe/zmq4"

	"github.com/condure-go/condure/internal/logging"
	"github.com/condure-go/condure/reactor"
)

// The hub exists because an endpoint can be bound by one socket only: in bind
// mode (the default) it owns the bound PUSH B-out, ROUTER B-out-stream and
// SUB B-in sockets and shuttles frames between them and the workers' inproc
// pipes. Worker→handler traffic is forwarded as is; handler→worker messages
// are routed by the worker index at the front of each session id
// ("<worker>-<slot>-<counter>"), a multi-id packet going to every worker it
// names. It runs on its own locked OS thread with its own epoll.

const (
	hubTarget = "condure::zhttpsocket"
	// 50 ms: condure retries a send that hit the high-water mark this often.
	hubRetryMs = 50
	// Messages moved per socket per wake-up before the others get a turn.
	hubBudget = 256
)

// Hub is the bind-mode socket owner.
type Hub struct {
	ctx        *zmq.Context
	instance   []byte
	extOut     *Sock
	extStream  *Sock
	extIn      *Sock
	fromOut    *Sock   // workers' request PUSHes connect here
	fromStream *Sock   // workers' stream PUSHes connect here
	toWorker   []*Sock // PUSH to each worker's In PULL

	waker *reactor.Waker
	stop  atomic.Bool
	done  chan struct{}

	pendOut    [][]byte // a request waiting for B-out to take it
	pendStream [][]byte // frames waiting for the ROUTER
	pendWorker [][]byte // message waiting for a worker, with its index in pendW
	pendW      []int
	pkt        Packet
}

// NewHub binds the external stream endpoints and the inproc pipes for
// `workers` workers. Workers must create their sockets after NewHub returns.
func NewHub(ctx *zmq.Context, cfg *StreamConfig, workers int) (*Hub, error) {
	h := &Hub{ctx: ctx, instance: []byte(cfg.InstanceID), done: make(chan struct{})}
	var err error
	fail := func(e error) (*Hub, error) {
		h.closeSockets(0)
		return nil, e
	}
	if h.extOut, err = newSock(ctx, zmq.PUSH, cfg.HWM); err != nil {
		return fail(err)
	}
	if err = attach(h.extOut, cfg.Out, true, cfg.IPCMode); err != nil {
		return fail(err)
	}
	if h.extStream, err = newSock(ctx, zmq.ROUTER, cfg.HWM); err != nil {
		return fail(err)
	}
	h.extStream.s.SetRouterMandatory(1)
	// A restarted handler reusing its identity takes over the old
	// peer instead of being refused until the server next sends to it.
	h.extStream.s.SetRouterHandover(true)
	if err = attach(h.extStream, cfg.OutStream, true, cfg.IPCMode); err != nil {
		return fail(err)
	}
	if h.extIn, err = newSock(ctx, zmq.SUB, cfg.HWM); err != nil {
		return fail(err)
	}
	h.extIn.s.SetSubscribe(cfg.InstanceID + " ")
	if err = attach(h.extIn, cfg.In, true, cfg.IPCMode); err != nil {
		return fail(err)
	}
	if h.fromOut, err = newSock(ctx, zmq.PULL, cfg.HWM); err != nil {
		return fail(err)
	}
	if err = h.fromOut.s.Bind(hubOutEndpoint); err != nil {
		return fail(err)
	}
	if h.fromStream, err = newSock(ctx, zmq.PULL, cfg.HWM); err != nil {
		return fail(err)
	}
	if err = h.fromStream.s.Bind(hubOutStreamEndpoint); err != nil {
		return fail(err)
	}
	for i := 0; i < workers; i++ {
		s, err := newSock(ctx, zmq.PUSH, cfg.HWM)
		if err != nil {
			return fail(err)
		}
		h.toWorker = append(h.toWorker, s)
		if err = s.s.Connect(workerInEndpoint(i)); err != nil {
			return fail(err)
		}
	}
	if h.waker, err = reactor.NewWaker(); err != nil {
		return fail(err)
	}
	return h, nil
}

func (h *Hub) all() []*Sock {
	return append([]*Sock{h.extOut, h.extStream, h.extIn, h.fromOut, h.fromStream}, h.toWorker...)
}

func (h *Hub) closeSockets(lingerMs int) {
	for _, s := range h.all() {
		if s != nil {
			s.Close(lingerMs)
		}
	}
}

// Run moves messages until Stop; then it flushes for at most lingerMs and
// closes its sockets. Call it on a goroutine locked to its OS thread: the
// sockets were created by NewHub on the caller's thread, and zmq sockets
// must not be used concurrently, so NewHub and Run run on the same thread.
func (h *Hub) Run(lingerMs int) {
	defer close(h.done)
	p, err := reactor.NewPoller(16)
	if err != nil {
		logging.Error(hubTarget, "hub poller: %v", err)
		return
	}
	defer p.Close()
	p.Add(h.waker.Fd(), reactor.EvIn, 0)
	// Receiving sockets only: they are read until EAGAIN, which re-arms
	// their ZMQ_FD; send-only sockets are retried on a timer when full.
	for _, s := range []*Sock{h.extIn, h.fromOut, h.fromStream} {
		p.Add(s.Fd(), reactor.EvIn, 1)
	}
	for !h.stop.Load() {
		busy := h.pump()
		timeout := -1
		if busy {
			timeout = 0
		} else if len(h.pendOut)+len(h.pendStream)+len(h.pendWorker) > 0 {
			timeout = hubRetryMs
		}
		evs, _ := p.Wait(timeout)
		for _, ev := range evs {
			if ev.Tag == 0 {
				h.waker.Drain()
			}
		}
	}
	// Shutdown: give the workers' last packets (cancels) a bounded chance.
	deadline := time.Now().Add(time.Duration(lingerMs) * time.Millisecond)
	for time.Now().Before(deadline) {
		if !h.pump() && len(h.pendOut)+len(h.pendStream) == 0 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	h.closeSockets(lingerMs)
	h.waker.Close()
}

// Stop asks Run to finish; Wait waits for it.
func (h *Hub) Stop() { h.stop.Store(true); h.waker.Wake() }
func (h *Hub) Wait() { <-h.done }

// pump moves what it can and reports whether a budget ran out (more to do).
func (h *Hub) pump() bool {
	busy := false
	// Worker → handler requests (PUSH B-out).
	if h.flushOut() {
		for i := 0; i < hubBudget; i++ {
			msg, more, ok, _ := h.fromOut.Recv()
			if !ok {
				break
			}
			if more {
				h.fromOut.SkipRest()
			}
			h.pendOut = append(h.pendOut, msg)
			if !h.flushOut() {
				break
			}
			if i == hubBudget-1 {
				busy = true
			}
		}
	}
	// Worker → handler stream frames (ROUTER B-out-stream).
	if h.flushStream() {
		for i := 0; i < hubBudget; i++ {
			frames, ok := h.recvFrames(h.fromStream)
			if !ok {
				break
			}
			h.pendStream = frames
			if !h.flushStream() {
				break
			}
			if i == hubBudget-1 {
				busy = true
			}
		}
	}
	// Handler → worker.
	if h.flushWorkers() {
		for i := 0; i < hubBudget; i++ {
			msg, more, ok, _ := h.extIn.Recv()
			if !ok {
				break
			}
			if more {
				h.extIn.SkipRest()
			}
			h.route(msg)
			if !h.flushWorkers() {
				break
			}
			if i == hubBudget-1 {
				busy = true
			}
		}
	}
	return busy
}

func (h *Hub) recvFrames(s *Sock) ([][]byte, bool) {
	var frames [][]byte
	for {
		msg, more, ok, _ := s.Recv()
		if !ok {
			return frames, len(frames) > 0
		}
		frames = append(frames, msg)
		if !more {
			return frames, true
		}
	}
}

// flushOut sends queued requests; it reports whether the queue is empty.
func (h *Hub) flushOut() bool {
	for len(h.pendOut) > 0 {
		if err := h.extOut.Send(h.pendOut[0]); err != nil {
			if err == ErrWouldBlock {
				return false
			}
			logging.Error(hubTarget, "stream zmq send: %v", err)
		}
		h.pendOut = h.pendOut[1:]
	}
	h.pendOut = nil
	return true
}

func (h *Hub) flushStream() bool {
	if len(h.pendStream) == 0 {
		return true
	}
	err := h.extStream.Send(h.pendStream...)
	if err == ErrWouldBlock {
		return false
	}
	if err == ErrUnroutable {
		logging.Error(hubTarget, "stream zmq send to: Host unreachable")
	} else if err != nil {
		logging.Error(hubTarget, "stream zmq send to: %v", err)
	}
	h.pendStream = nil
	return true
}

func (h *Hub) flushWorkers() bool {
	for len(h.pendWorker) > 0 {
		if err := h.toWorker[h.pendW[0]].Send(h.pendWorker[0]); err == ErrWouldBlock {
			return false
		}
		h.pendWorker, h.pendW = h.pendWorker[1:], h.pendW[1:]
	}
	h.pendWorker, h.pendW = nil, nil
	return true
}

// route queues msg for every worker named by its ids.
func (h *Hub) route(msg []byte) {
	sp := bytes.IndexByte(msg, ' ')
	if sp < 0 {
		logging.Warn(hubTarget, "unable to determine packet address")
		return
	}
	if !bytes.Equal(msg[:sp], h.instance) {
		logging.Warn(hubTarget, "packet not for us")
		return
	}
	if err := h.pkt.ParseIDs(msg[sp+1:]); err != nil {
		logging.Warn(hubTarget, "unable to determine packet id(s): %v", err)
		return
	}
	var sent uint64 // bit per worker for the first 64 workers, then linear check
	for _, id := range h.pkt.IDs {
		w, ok := WorkerOf(id.ID)
		if !ok || w >= len(h.toWorker) {
			continue
		}
		if w < 64 {
			if sent&(1<<uint(w)) != 0 {
				continue
			}
			sent |= 1 << uint(w)
		} else if containsInt(h.pendW, w) {
			continue
		}
		h.pendWorker = append(h.pendWorker, msg)
		h.pendW = append(h.pendW, w)
	}
}

func containsInt(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// WorkerOf returns the worker index an id was issued by: the decimal digits
// before its first '-'.
func WorkerOf(id []byte) (int, bool) {
	n := 0
	for i, c := range id {
		if c == '-' {
			return n, i > 0
		}
		if c < '0' || c > '9' || i > 4 {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return 0, false
}

func msDuration(ms int) time.Duration { return time.Duration(ms) * time.Millisecond }
