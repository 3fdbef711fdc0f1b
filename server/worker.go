// Package server holds the worker event loop, the client connections and
// the ZHTTP sessions on them. A worker is one goroutine locked to its OS
// thread that owns its epoll set, its listeners, its connections and its
// ZeroMQ sockets outright: nothing on the data path is shared with another
// worker.
//
// Layout (docs/design.md "Connections and sessions"): worker.go the loop
// and handler-message intake; conn.go and transport.go the connection (fd,
// buffers, readiness, timers, writes, close); tls.go and tls_handshake.go
// its TLS layer; h1conn.go the HTTP/1 cycle from an idle connection to a
// session and back; session.go the session slot and the checks every
// handler packet passes; phases.go the phase types and transition tables;
// stream_http.go, req_http.go, ws.go one machine per session kind;
// gates.go backpressure; keepalive.go, ended.go, drain.go; effects.go the
// interface to sockets and ZeroMQ that tests fake (rig_test.go).
//
// Comments cite docs/reference.md: protocol sections as "§N.M", decisions
// as "§12 #N".
package server

import (
	"crypto/tls"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	zmq "github.com/pebbe/zmq4"
	"golang.org/x/sys/unix"

	"github.com/condure-go/condure/http1"
	"github.com/condure-go/condure/http2"
	"github.com/condure-go/condure/internal/logging"
	"github.com/condure-go/condure/internal/tlsrecord"
	"github.com/condure-go/condure/reactor"
	"github.com/condure-go/condure/websocket"
	"github.com/condure-go/condure/zhttp"
	"github.com/condure-go/condure/zmqio"
)

const (
	targetServer = "condure::server"
	targetConn   = "condure::connection"

	// 10 ms: timer resolution; every timeout here is seconds long.
	tickDur = 10 * time.Millisecond
	// 60 s: handlers expire a session after 60 s of silence, and condure
	// closes idle keep-alive connections after the same time (reference.md §4.5).
	sessionTimeoutTicks = 6000
	// Connections accepted per listener per wake-up, so one busy port
	// cannot starve the others.
	acceptBudget = 64
	// Reads per connection per pass; a connection cut off is queued for
	// another pass (edge-triggered epoll will not report it again).
	readBudget = 4
	// Handler messages received per wake-up before connections get a turn.
	zmqBudget = 1024
	// Epoll events per wait.
	maxEvents = 512
	// After an EMFILE the worker stops accepting for this long.
	fdLimitBackoff = 100 * time.Millisecond
	// Bytes the write buffer may hold beyond the credits granted and their
	// framing: the response head. More means the handler ignored credits.
	writeSlack = 16384
	// Framing bytes per body byte at most: credits count body bytes only
	// (ZHTTP.md §4.2) and a one-byte chunk goes out as "1\r\n", the byte,
	// "\r\n" (a WebSocket frame of one byte adds two).
	maxFramingPerByte = 5
)

// Epoll tags: kind in the top byte; connections carry slot and generation.
const (
	tagWaker    = 1 << 56
	tagZmq      = 2 << 56
	tagListener = 3 << 56
	tagConn     = 4 << 56
	tagZmqMon   = 5 << 56 // connection events of connecting ZeroMQ sockets
	tagKindMask = 0xff << 56
	tagZmqIn    = 1 // with tagZmq: a receiving socket (pumpZmq receives only when one fired)
)

func connTag(slot int32, gen uint32) uint64 {
	return tagConn | uint64(gen&0xffffff)<<32 | uint64(uint32(slot))
}

// Listen is one listening port.
type Listen struct {
	Addr        string // "host:port", or the socket path when Local
	Req         bool   // req mode (else stream)
	TLS         bool   // terminate TLS (ignored on unix sockets)
	DefaultCert string // identity for handshakes without a matching SNI name
	// Fd is a listening socket opened once by the caller (a unix socket:
	// no SO_REUSEPORT for them; or one inherited from systemd); each
	// worker watches a dup of it. 0: each worker opens its own TCP socket.
	Fd int
}

// ListenError is a listening socket that could not be opened.
type ListenError struct {
	Addr string
	Err  error
}

func (e *ListenError) Error() string { return "listen on " + e.Addr + ": " + e.Err.Error() }
func (e *ListenError) Unwrap() error { return e.Err }

// listener is a worker's socket for one Listen.
type listener struct {
	Listen
	scheme string // "http" or "https"
	fd     int
	tls    *tls.Config
}

// Connection modes, indexing per-mode counts and limits.
const (
	modeStream = 0
	modeReq    = 1
)

func (l *listener) mode() int {
	if l.Req {
		return modeReq
	}
	return modeStream
}

// Options are what a worker needs from the command line.
type Options struct {
	InstanceID     string
	Workers        int
	StreamMaxConn  int // stream connections per worker
	ReqMaxConn     int // req connections per worker
	BufferSize     int
	BodyBufferSize int  // req mode: largest request body
	MessagesMax    int  // WebSocket: handler messages queued per connection
	WSMaxMessage   int  // WebSocket: largest client message, 0 = no limit
	Compression    bool // WebSocket: permessage-deflate offered by clients is accepted (ws_deflate.go)
	// HTTP2: h2c by prior knowledge on stream listeners, ALPN h2 on tls
	// ones (h2conn.go); HTTP2MaxStreams streams open at once per connection.
	HTTP2           bool
	HTTP2MaxStreams int
	StreamTimeout   time.Duration
	ReqTimeout      time.Duration
	Listens         []Listen
	ZMQ             *zmqio.Config
	Certs           *CertStore // --tls-identities-dir, when a listener has tls
	Ctx             *zmq.Context
	// ShutdownLinger bounds how long a stopping worker flushes cancels.
	ShutdownLinger time.Duration
	// Test hooks (0 = condure's values): the handler silence after which a
	// session ends (60 s), and the keep-alive interval (45 s).
	SessionTimeout    time.Duration
	KeepAliveInterval time.Duration
	// Test hooks (0 = 512, 2048): TLS handshakes running at once, and
	// waiting for their clients, per worker.
	MaxHandshakes int
	MaxParked     int

	// Blocks (bind mode): the handler addresses the hub holds messages for.
	Blocks *zmqio.Blocks

	Metrics bool // --prometheus: count for scrapes (metrics.go)
}

// Worker is one event loop.
type Worker struct {
	idx  int
	opts *Options
	// releaseReq: the memory trimmer asks the worker to drop its pools'
	// free blocks and cached AEADs (ReleaseFree); the worker clears it when
	// done.
	releaseReq atomic.Bool

	poller   *reactor.Poller
	waker    *reactor.Waker
	acceptor *reactor.Acceptor
	writer   reactor.Writer
	fx       effects // sockets and ZeroMQ sends on the data path (effects.go)
	zs       *zmqio.WorkerSockets

	listeners []listener
	open      [2]int    // connections per mode
	maxOpen   [2]int    // --stream-maxconn, --req-maxconn per worker
	atMax     [2]bool   // accepting paused at maxconn, per mode
	fdBackoff time.Time // accepting paused after EMFILE until then

	conns    *reactor.Slab[conn]    // client connections (conn.go, transport.go)
	sessions *reactor.Slab[session] // ZHTTP sessions, named by their ids (session.go)
	timers   *reactor.TimerWheel
	bufs     *bufPool
	bodyBufs *bufPool // req mode: head + whole body
	addrs    *addrTable
	ended    endedCancels // answers to handlers of sessions that ended early (ended.go)

	idCounter    uint64
	sessionTicks uint64 // handler silence that ends a session
	reqTicks     uint64 // --req-timeout
	start        time.Time
	now          uint64          // ticks since start
	yield        reactor.Yielder // through the Go scheduler now and then (reactor/yield.go)

	pkt      zhttp.Packet
	out      zhttp.Out
	req      http1.Request
	instance []byte // --id, the `from` of every packet we send
	uri      []byte
	peer     []byte
	frame    []byte         // chunk or WebSocket framing being built
	hdrs     []zhttp.Header // handler headers being filtered
	pktBuf   []byte         // packet being built
	head     []byte         // response head being built
	scratch  []byte         // chunked request body being gathered
	iov      [][]byte       // writev argument being built
	idBuf    [32]byte

	kaCursor   int32   // next slot the keep-alive sweep visits
	kaSweeps   int32   // sweeps per keep-alive interval
	kaTicks    uint64  // ticks between sweeps
	kaNext     uint64  // tick of the next sweep
	kaQuiet    bool    // no sessions at the last sweep: not waking for the next
	batch      []int32 // sessions of a batched send
	batchIDs   []zhttp.IDSeq
	batchArena []byte // id text of batchIDs; sized so it never moves
	fullLog    *logging.Limiter
	logs       peerLogs // limiters of the lines peers can trigger (peerlog.go)
	// zmqWatch: when to call zs.Watch again (connect mode); -1 at once.
	zmqWatch time.Duration

	runq    []int32      // connections with input left to process (-1-i: listener i)
	zmqBusy bool         // the receive budget ran out
	zmqIn   bool         // a receiving socket's ZMQ_FD fired (or must be looked at)
	reqSent bool         // a flush on the req DEALER took a signal since it was last read to EAGAIN
	capped  bool         // a held-sends buffer refused for its count and is empty again (flushZmq)
	bp      backpressure // sessions waiting for room to send (gates.go)
	frames  [][]byte     // a multi-frame message being received

	// --compression (ws_deflate.go): one compressor for all connections,
	// Inflaters lent per message in flight, and their scratch buffers.
	deflater *websocket.Deflater
	infl     *websocket.InflaterPool
	inflBuf  []byte // inflated bytes of a packet being built
	dscratch []byte // compressed payload of a frame being built

	// TLS (tls.go): sessions beside the slots, events from handshake
	// goroutines, buffers for ciphertext.
	tlsSess    []*tlsSession
	evMu       sync.Mutex
	events     []tlsEvent
	spare      []tlsEvent
	hs         handshakes
	tlsScratch []byte
	plain      []byte
	cipher     []byte
	tlsIov     [][]byte // encryptTLS's result
	// The record layer (tls_record.go): record states (tls_store.go),
	// ciphertext blocks and AEADs.
	recs       recStore
	tlsBufs    *bufPool
	tlsCiphers []tlsrecord.Ciphers
	tlsReply   []byte // records of our own: KeyUpdate answers, alerts

	// Drain (drain.go): requested, begun on this thread, Drained closed.
	drainReq  atomic.Bool
	draining  bool
	drainDone bool
	drainedCh chan struct{}

	m metrics // counters for --prometheus (metrics.go)

	// HTTP/2 (h2conn.go, h2stream.go): connection blocks, and scratch for
	// frames and header blocks.
	h2s      h2slab
	h2big    *bufPool  // 4096-byte HPACK tables lent while a client may use one (h2hpack.go)
	h2ctl    []byte    // control frames gathered during a pass, written once
	h2frame  []byte    // a HEADERS frame being built
	h2blk    []byte    // a header block gathered from HEADERS and CONTINUATION
	h2arena  []byte    // decoded request fields
	h2fields []byte    // response fields being checked
	h2req    h2Request // the request being opened
	h2hpack  []byte    // Huffman scratch of the HPACK decoder

	h2ws h2wsScratch // WebSocket over HTTP/2 (h2ws.go)

	stopping atomic.Bool
	done     chan struct{}
	ready    chan error
}

// NewWorker prepares worker idx; Start runs it.
func NewWorker(idx int, opts *Options) *Worker {
	return &Worker{idx: idx, opts: opts, done: make(chan struct{}), ready: make(chan error, 1), drainedCh: make(chan struct{})}
}

// Start runs the worker on its own locked OS thread and returns once its
// sockets are set up (or failed to be).
func (w *Worker) Start() error {
	go w.run()
	return <-w.ready
}

// Stop asks the worker to shut down; Wait blocks until it has.
func (w *Worker) Stop() {
	w.stopping.Store(true)
	if w.waker != nil {
		w.waker.Wake()
	}
}

func (w *Worker) Wait() { <-w.done }

// ReleaseFree asks the worker to drop the free blocks its buffer pools
// keep; any goroutine. Released reports when it has.
func (w *Worker) ReleaseFree() {
	w.releaseReq.Store(true)
	w.waker.Wake()
}

// Released reports whether the last ReleaseFree was handled.
func (w *Worker) Released() bool { return !w.releaseReq.Load() }

// dropFreeBlocks lets the pools' free blocks go, and the record layer's
// cached AEADs (tls_record.go): after a burst the cache holds up to
// tlsCipherCache pairs built by the burst's last connections, scattered among
// its garbage, where they would keep partly used spans resident; a
// connection that sends again rebuilds its pair (about a microsecond, once
// per trim).
func (w *Worker) dropFreeBlocks() {
	for _, p := range []*bufPool{w.bufs, w.bodyBufs, w.tlsBufs, w.h2big} {
		if p != nil {
			p.dropFree()
		}
	}
	for i := range w.tlsCiphers {
		w.tlsCiphers[i].Reset()
	}
}

func (w *Worker) setup() error {
	var err error
	o := w.opts
	if w.poller, err = reactor.NewPoller(maxEvents); err != nil {
		return err
	}
	if w.waker, err = reactor.NewWaker(); err != nil {
		return err
	}
	if w.acceptor, err = reactor.NewAcceptor(); err != nil {
		return err
	}
	w.maxOpen = [2]int{o.StreamMaxConn, o.ReqMaxConn}
	capacity := 0
	for _, l := range o.Listens {
		if l.Req {
			capacity = max(capacity, o.ReqMaxConn+o.StreamMaxConn)
		} else {
			capacity = max(capacity, o.StreamMaxConn)
		}
	}
	w.fx = osEffects{w}
	w.initState(capacity)

	if w.zs, err = zmqio.NewWorkerSockets(o.Ctx, o.ZMQ, w.idx); err != nil {
		return err
	}
	w.poller.Add(w.waker.Fd(), reactor.EvIn, tagWaker)
	// Sending sockets join epoll too: a send that hit the high-water mark
	// is retried when the socket signals room, not only on condure's 50 ms
	// timer (kept as the fallback) — 1000 WebSocket echoes had a 175 ms p99
	// waiting for that timer.
	seen := map[int]bool{}
	for _, s := range []*zmqio.Sock{w.zs.In, w.zs.ReqIn, w.zs.Out, w.zs.OutStream, w.zs.Req} {
		if s != nil && !seen[s.Fd()] {
			seen[s.Fd()] = true
			tag := uint64(tagZmq)
			if s == w.zs.In || s == w.zs.ReqIn {
				tag |= tagZmqIn
			}
			w.poller.Add(s.Fd(), reactor.EvIn, tag)
		}
	}
	w.zmqIn = true // the first pass receives: until then libzmq does not signal
	for _, fd := range w.zs.MonitorFds() {
		w.poller.Add(fd, reactor.EvIn, tagZmqMon)
		w.zmqWatch = -1 // drained once before its fd signals
	}
	for i, l := range o.Listens {
		ln := listener{Listen: l, scheme: "http"}
		if l.Fd > 0 {
			ln.fd, err = unix.Dup(l.Fd)
		} else {
			ln.fd, err = reactor.Listen(l.Addr, true, 1024)
		}
		if err != nil {
			return &ListenError{Addr: l.Addr, Err: err}
		}
		if l.TLS { // the caller sets TLS on TCP listeners only
			ln.scheme = "https"
			ln.tls = o.Certs.TLSConfig(l.DefaultCert)
			if w.tlsSess == nil {
				w.tlsSess = make([]*tlsSession, capacity)
				w.recs.init(capacity)
				w.tlsScratch = make([]byte, tlsReadChunk)
				w.tlsBufs = newBufPool(tlsRecordBuf)
				w.tlsBufs.maxFree = tlsFreeBlocks
				w.tlsCiphers = make([]tlsrecord.Ciphers, tlsCipherCache)
				w.hs.init(o.MaxHandshakes, o.MaxParked)
			}
		}
		w.listeners = append(w.listeners, ln)
		// A shared socket (l.Fd) wakes every worker; the first to accept
		// wins. Not EPOLLEXCLUSIVE: it wakes the first idle worker in the
		// wait queue, so at a low connection rate one worker took all
		// 1000 connections, where without it they split 600/400
		// (README "Operating it").
		w.poller.Add(ln.fd, reactor.EvIn, tagListener|uint64(i))
	}
	return nil
}

// initState makes the worker's data-path state for capacity connections:
// slabs, timers, buffers, gates. Nothing here touches the OS (tests build
// workers with it and a fake effects).
func (w *Worker) initState(capacity int) {
	o := w.opts
	w.conns = reactor.NewSlab[conn](capacity)
	// One session slot per connection: HTTP/1 and WebSocket connections
	// carry at most one session at a time. HTTP/2 streams take theirs from
	// the same slab: a second slot per connection is added for them
	// (docs/design.md "HTTP/2"); a stream that finds none is refused.
	sessCap := capacity
	if o.HTTP2 {
		sessCap = 2 * capacity
	}
	w.sessions = reactor.NewSlab[session](sessCap)
	w.start = time.Now()
	w.timers = reactor.NewTimerWheel(capacity*connTimers+sessCap, 0)
	w.bufs = newBufPool(o.BufferSize)
	w.bodyBufs = newBufPool(o.BufferSize + o.BodyBufferSize)
	w.initDeflate()
	w.addrs = newAddrTable()
	w.pktBuf = make([]byte, 0, 2*o.BufferSize+zhttp.MaxPacketSize)
	w.head = make([]byte, 0, 4096)
	w.scratch = make([]byte, 0, o.BufferSize)
	w.iov = make([][]byte, 0, 8)
	w.instance = []byte(o.InstanceID)
	w.uri = make([]byte, 0, http1.MaxURI+64)
	w.peer = make([]byte, 0, 64)
	w.frame = make([]byte, 0, 256)
	w.hdrs = make([]zhttp.Header, 0, http1.MaxHeaders)
	w.batchIDs = make([]zhttp.IDSeq, 0, zhttp.MaxIDs)
	w.batchArena = make([]byte, 0, zhttp.MaxIDs*32)
	cycle := keepAliveCycle
	if o.KeepAliveInterval > 0 {
		cycle = o.KeepAliveInterval
	}
	// Paced by the connections, as before HTTP/2 doubled the session slots:
	// twice the sweeps would wake an idle worker twice as often.
	w.kaSweeps, w.kaTicks = keepAliveSchedule(capacity, cycle)
	w.sessionTicks = sessionTimeoutTicks
	if o.SessionTimeout > 0 {
		w.sessionTicks = uint64(max(o.SessionTimeout/tickDur, 1))
	}
	w.fullLog = logging.NewLimiter(time.Second)
	w.logs = newPeerLogs()
	w.setupBackpressure(sessCap, o.Blocks)
	w.reqTicks = uint64(max(o.ReqTimeout/tickDur, 1))
	w.initMetrics(w.conns.Cap(), w.sessions.Cap())
	if o.HTTP2 {
		w.h2big = newBufPool(h2BigTableLen)
		w.h2ctl = make([]byte, 0, 4096)
		w.h2frame = make([]byte, 0, 4096)
		w.h2blk = make([]byte, 0, o.BufferSize)
		w.h2arena = make([]byte, 0, 3*o.BufferSize)
		w.h2fields = make([]byte, 0, o.BufferSize)
		w.h2req.headers = make([]zhttp.Header, 0, http1.MaxHeaders)
		w.h2hpack = make([]byte, 0, max(o.BufferSize, h2TableSize))
	}
}

func (w *Worker) run() {
	runtime.LockOSThread()
	defer close(w.done)
	if err := w.setup(); err != nil {
		w.teardown()
		w.ready <- err
		return
	}
	w.ready <- nil
	for !w.stopping.Load() {
		w.loopOnce()
	}
	w.shutdown()
}

func (w *Worker) loopOnce() {
	timeout := w.waitTimeout()
	evs, elapsed, err := w.yield.Wait(w.poller, timeout, w.start)
	if err != nil {
		logging.Error(targetServer, "worker %d: epoll wait: %v", w.idx, err)
		return
	}
	w.now = uint64(elapsed / tickDur)
	w.mWake(elapsed, w.yield.WaitStart())
	for _, ev := range evs {
		switch ev.Tag & tagKindMask {
		case tagWaker:
			w.waker.Drain()
			if w.releaseReq.Load() {
				w.dropFreeBlocks()
				w.releaseReq.Store(false)
			}
			w.tlsEvents()
			w.publishMetrics()
		case tagZmq:
			// handled by pumpZmq below: ZMQ_FD only says "look again"
			w.bp.signalled = true
			if ev.Tag&tagZmqIn != 0 {
				w.zmqIn = true
			}
		case tagZmqMon:
			w.zmqWatch = -1 // look below
		case tagListener:
			w.accept(int(ev.Tag & 0xffff))
		case tagConn:
			w.connEvent(ev.Tag, ev.Events)
		}
	}
	if !w.draining && w.drainReq.Load() {
		w.beginDrain()
	}
	if w.zmqWatch != 0 {
		w.zmqWatch = w.zs.Watch()
		w.zmqIn = true // a reconnect processes the socket's commands
	}
	w.pumpZmq()
	w.runQueue()
	w.timers.Advance(w.now, w.timerFired)
	if w.now >= w.kaNext {
		if w.kaQuiet { // the sweeps skipped meanwhile would have found nothing
			w.skipSweeps((w.now - w.kaNext) / w.kaTicks)
		}
		w.kaNext = w.now + w.kaTicks
		w.sweepKeepAlives()
		// Without sessions there is nothing to keep alive: the worker then
		// sleeps until its next timer instead of waking for every sweep.
		w.kaQuiet = w.addrs.live == 0
	}
	if !w.fdBackoff.IsZero() && time.Now().After(w.fdBackoff) {
		w.fdBackoff = time.Time{}
		w.resumeAccept()
	}
	w.checkDrained()
	w.flushZmq()
}

// idleWakeMs bounds a worker's sleep when no timer is due: only a safety
// net (timers, the waker and ZMQ_FD wake it for everything it does), and
// long because on a virtual machine every wake-up of an idle server costs
// 0.1-0.3 ms of CPU in context switches (with 1 s, two thirds of an idle
// server's CPU).
const idleWakeMs = 10000

// waitTimeout is the epoll timeout in milliseconds: until the next timer, or
// 0 while work is queued.
func (w *Worker) waitTimeout() int {
	if len(w.runq) > 0 || w.zmqBusy || w.capped || w.reqSent && w.zs.ReqIn == w.zs.Req {
		return 0
	}
	ms := idleWakeMs
	if w.retryTimed() || w.zmqHeld() {
		ms = retryTicks * int(tickDur/time.Millisecond) // retry sends that hit the high-water mark, as condure does
	}
	if !w.fdBackoff.IsZero() {
		ms = min(ms, int(fdLimitBackoff/time.Millisecond))
	}
	if w.zmqWatch > 0 { // a dropped connection to check (zmqio/monitor.go)
		ms = min(ms, int(w.zmqWatch/time.Millisecond)+1)
	}
	if w.kaNext > 0 && (!w.kaQuiet || w.addrs.live > 0) { // quiet until a session appears
		ms = min(ms, int(tickDur/time.Millisecond)*int(max(w.kaNext, w.now+1)-w.now))
	}
	if t, ok := w.timers.Next(); ok {
		now := uint64(time.Since(w.start) / tickDur)
		if t <= now {
			return 0
		}
		ms = min(ms, int((t-now)*uint64(tickDur/time.Millisecond)))
	}
	return ms
}

// accept takes new connections from listener li until EAGAIN, the budget,
// or its mode's maxconn.
func (w *Worker) accept(li int) {
	l := &w.listeners[li]
	m := l.mode()
	if w.atMax[m] || !w.fdBackoff.IsZero() || w.stopping.Load() || w.draining {
		return
	}
	for i := 0; i < acceptBudget; i++ {
		if w.open[m] >= w.maxOpen[m] {
			// At maxconn clients wait in the kernel backlog (§12 #1).
			w.atMax[m] = true
			w.maxConnLog(m)
			w.m.mPause(PauseMaxConn)
			return
		}
		fd, peer, err := w.acceptor.Accept(l.fd)
		if err != nil {
			if err == unix.EAGAIN {
				return
			}
			if err == reactor.ErrFdLimit {
				w.fdLimitLog()
				w.m.mPause(PauseFdLimit)
				w.fdBackoff = time.Now().Add(fdLimitBackoff)
				return
			}
			w.acceptError(err)
			return
		}
		w.newConn(fd, peer, li)
	}
	// Budget spent: come back after the others had a turn.
	w.runq = append(w.runq, -1-int32(li))
}

// released notes that a connection of mode m closed; a listener paused at
// maxconn accepts again. Pending connections sit in the backlog and raise no
// new edge, so the accept is queued.
func (w *Worker) released(m int) {
	w.open[m]--
	if w.atMax[m] {
		w.atMax[m] = false
		for i := range w.listeners {
			if w.listeners[i].mode() == m {
				w.runq = append(w.runq, -1-int32(i))
			}
		}
	}
}

// resumeAccept accepts on every listener after an EMFILE back-off.
func (w *Worker) resumeAccept() {
	for i := range w.listeners {
		w.accept(i)
	}
}

// runQueue gives connections cut off by a budget another pass.
func (w *Worker) runQueue() {
	q := w.runq
	w.runq = nil
	for _, slot := range q {
		if slot < 0 {
			w.accept(int(-1 - slot))
			continue
		}
		if w.conns.InUse(slot) {
			c := w.conns.Get(slot)
			c.flags &^= fQueued
			w.advance(slot, c)
		}
	}
	if cap(q) <= 1024 && w.runq == nil {
		w.runq = q[:0]
	}
}

func (w *Worker) queue(slot int32, c *conn) {
	if c.flags&fQueued == 0 {
		c.flags |= fQueued
		w.runq = append(w.runq, slot)
	}
}

// ---- ZeroMQ side ----

// pumpZmq runs the sessions waiting for room to send, then receives handler packets
// until each socket says EAGAIN or the budget runs out. Ending every pass
// with a receive that says EAGAIN is what re-arms an edge-triggered ZMQ_FD
// (a send on the same socket can consume the edge, hence sends first);
// reading ZMQ_EVENTS instead would cost a cgo call, and often a syscall, per
// message. A socket is read only when its ZMQ_FD fired or the budget ran
// out: a receive that finds it empty costs a getpid and a poll in libzmq.
// The req DEALER of connect mode and of one worker (no hub), which is also
// sent on, is read after a flush on it that processed the socket's
// commands (zmqio.Sock.TookSignal): libzmq does so in a send about once a
// millisecond, and may so take the signal that replies wait. Such a flush
// at the end of a pass makes the next epoll wait not sleep (waitTimeout),
// so its pass reads the socket. Reading it after every flush cost a pass
// and a receive that found nothing (a poll in libzmq) per batch.
func (w *Worker) pumpZmq() {
	recv := w.zmqIn || w.zmqBusy
	w.zmqIn, w.zmqBusy = false, false
	w.flushZmq()  // held messages before the sessions waiting for room
	if w.capped { // refused for the count held, now sent: no fd will say so
		w.capped = false
		w.bp.signalled = true
	}
	w.retryGates(false)
	sent := w.reqSent
	w.reqSent = false
	if w.zs.In != nil && recv {
		for i := 0; ; i++ {
			if i == zmqBudget {
				w.zmqBusy = true // more may be queued: poll again without sleeping
				break
			}
			msg, more, ok, err := w.zs.In.Recv()
			if err != nil {
				w.zmqRecvError(err)
				break
			}
			if !ok {
				break
			}
			if more {
				w.zs.In.SkipRest()
			}
			w.handlerMessage(msg)
		}
	}
	if w.zs.ReqIn != nil && (recv || sent && w.zs.ReqIn == w.zs.Req) {
		for i := 0; ; i++ {
			if i == zmqBudget {
				w.zmqBusy = true
				break
			}
			frames, ok := w.recvFrames(w.zs.ReqIn)
			if !ok {
				break
			}
			w.reqMessage(frames)
		}
	}
}

// flushZmq sends the packets held during the pass (zmqio/later.go): back
// to back, they wake the thread reading the pipe (libzmq's I/O thread, or
// the hub) about once per pass instead of once per packet.
func (w *Worker) flushZmq() {
	if w.zs == nil { // the in-process rig's fake effects send at once
		return
	}
	if w.zs.Out != nil {
		if _, dropped, err := w.zs.Out.Flush(); dropped > 0 {
			w.sendOutError(err)
		}
	}
	if w.zs.OutStream != nil {
		if _, dropped, err := w.zs.OutStream.Flush(); dropped > 0 {
			w.sendToError(err)
		}
	}
	if w.zs.Req != nil {
		_, dropped, err := w.zs.Req.Flush()
		if dropped > 0 {
			w.sendReqError(err)
		}
		if w.zs.Req.TookSignal() { // even when nothing went: a send at the high-water mark reads ZMQ_EVENTS
			w.reqSent = true // the sends took a signal, maybe of replies waiting (pumpZmq)
		}
	}
	for _, s := range []*zmqio.Sock{w.zs.Out, w.zs.OutStream, w.zs.Req} {
		if s != nil && s.Capped() {
			w.capped = true
		}
	}
}

// zmqHeld reports whether held requests wait for room.
func (w *Worker) zmqHeld() bool {
	if w.zs == nil {
		return false
	}
	for _, s := range []*zmqio.Sock{w.zs.Out, w.zs.OutStream, w.zs.Req} {
		if s != nil && s.Held() {
			return true
		}
	}
	return false
}

// recvFrames receives one whole message into w.frames, in one cgo call
// (zmqio.Sock.RecvMsg).
func (w *Worker) recvFrames(s *zmqio.Sock) ([][]byte, bool) {
	var ok bool
	w.frames, ok, _ = s.RecvMsg(w.frames)
	return w.frames, ok
}

// reqMessage handles a req-mode reply: [envelope..., "", packet].
func (w *Worker) reqMessage(frames [][]byte) {
	body := zmqio.ReqPayload(frames)
	if body == nil {
		w.reqNoPayloadLog()
		return
	}
	if logging.Enabled(logging.LevelTrace) {
		logging.Trace(targetServer, "IN req %q", body)
	}
	p := &w.pkt
	if err := p.Parse(body); err != nil {
		w.packetError(body, err)
		return
	}
	w.m.mPacketIn(p.Type)
	for i := range p.IDs {
		ss, ok := w.lookup(p.IDs[i].ID)
		if !ok {
			continue // unknown or stale id
		}
		if s := w.sessions.Get(ss); s.kind == kindReq && s.req() == reqAwait {
			w.reqReply(ss, s, w.conns.Get(s.conn), p)
		} else if s.kind == kindH2 && s.has(fH2Req) && s.h2Phase() == h2AwaitResponse {
			w.h2ReqReply(ss, s, w.conns.Get(s.conn), p)
		}
	}
}

// handlerMessage routes one "<instance-id> T<dict>" message to the sessions
// it names.
func (w *Worker) handlerMessage(msg []byte) {
	sp := -1
	for i, b := range msg {
		if b == ' ' {
			sp = i
			break
		}
	}
	if sp < 0 {
		w.noAddrLog()
		return
	}
	if string(msg[:sp]) != w.opts.InstanceID {
		w.notForUsLog()
		return
	}
	body := msg[sp+1:]
	if logging.Enabled(logging.LevelTrace) {
		logging.Trace(targetServer, "IN stream %q", body)
	}
	p := &w.pkt
	if err := p.Parse(body); err != nil {
		w.packetError(body, err)
		return
	}
	w.m.mPacketIn(p.Type)
	for i := range p.IDs {
		id := &p.IDs[i]
		ss, ok := w.lookup(id.ID)
		if !ok {
			// Unknown or stale id: dropped silently (reference.md §2.4), unless
			// its session ended before this handler spoke (ended.go).
			w.cancelEnded(p, id)
			continue
		}
		if s := w.sessions.Get(ss); s.kind != kindReq && !(s.kind == kindH2 && s.has(fH2Req)) {
			w.handlerPacket(ss, s, w.conns.Get(s.conn), p, id)
		}
	}
}

// lookup finds the session an id names: "<worker>-<slot>-<counter hex>".
func (w *Worker) lookup(id []byte) (int32, bool) {
	ss, counter, ok := w.parseID(id)
	if !ok || !w.sessions.InUse(ss) {
		return 0, false
	}
	s := w.sessions.Get(ss)
	if s.idCounter != counter || s.isNew() {
		return 0, false
	}
	return ss, true
}

// parseID reads an id of this worker (zhttp.SessionID), with slot within
// the slab.
func (w *Worker) parseID(id []byte) (int32, uint64, bool) {
	sid, ok := zhttp.ParseSessionID(id)
	if !ok || sid.Worker != w.idx || int(sid.Slot) >= w.sessions.Cap() {
		return 0, 0, false
	}
	return sid.Slot, sid.Counter, true
}

// appendID writes a session's id into w.idBuf.
func (w *Worker) appendID(ss int32, s *session) []byte { return w.idText(ss, s.idCounter) }

// idText writes the id of a session (zhttp.SessionID) into w.idBuf.
func (w *Worker) idText(slot int32, counter uint64) []byte {
	return zhttp.SessionID{Worker: w.idx, Slot: slot, Counter: counter}.Append(w.idBuf[:0])
}

// ---- shutdown ----

// shutdown drops every client connection and sends `cancel` to the handler
// of every session whose handler is known (reference.md §8.5, §12 #17), then
// closes the sockets with a bounded linger.
func (w *Worker) shutdown() {
	for _, l := range w.listeners {
		if l.fd >= 0 { // -1: closed by a drain
			unix.Close(l.fd)
		}
	}
	w.listeners = nil
	w.batch = w.batch[:0]
	for ss := int32(0); ss < int32(w.sessions.Cap()); ss++ {
		if w.sessions.InUse(ss) && batchable(w.sessions.Get(ss)) {
			w.batch = append(w.batch, ss)
		}
	}
	if len(w.batch) > 0 {
		logging.Debug(targetServer, "worker %d: cancelling %d sessions", w.idx, len(w.batch))
		w.sendBatched(zhttp.TypeCancel) // cancels a handler cannot take are held
	}
	w.flushZmq()
	for slot := int32(0); slot < int32(w.conns.Cap()); slot++ {
		if !w.conns.InUse(slot) {
			continue
		}
		if c := w.conns.Get(slot); c.has(fH2) && !c.has(fHandshake) {
			w.h2ctl = http2.AppendGoAway(w.h2ctl[:0], w.h2(c).lastID, http2.ErrNo, nil) // best effort
			if !w.h2Flush(slot, c) {
				continue
			}
		}
		w.closeConn(slot, w.conns.Get(slot), false, CauseOther)
	}
	deadline := time.Now().Add(w.opts.ShutdownLinger)
	for len(w.bp.cancels) > 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
		w.flushZmq()
		w.retryGates(true)
		w.flushZmq()
	}
	w.teardown()
}

func (w *Worker) teardown() {
	if w.zs != nil {
		w.zs.Close(int(w.opts.ShutdownLinger / time.Millisecond))
	}
	for _, l := range w.listeners {
		unix.Close(l.fd)
	}
	if w.acceptor != nil {
		w.acceptor.Close()
	}
	if w.poller != nil {
		w.poller.Close()
	}
}

// timerFired dispatches an expired timer: a connection's (conn.go) or a
// session's.
func (w *Worker) timerFired(id int32) {
	if n := int32(w.conns.Cap()) * connTimers; id >= n {
		w.sessionExpired(id - n)
		return
	}
	w.connTimerFired(id/connTimers, id%connTimers)
}
