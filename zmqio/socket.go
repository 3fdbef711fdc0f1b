package zmqio

import (
	"errors"
	"fmt"
	"os"
	"time"
	"unsafe"

	zmq "github.com/pebbe/zmq4"
)

// This file is the ZeroMQ side of a worker: the sockets it sends requests and
// stream packets on and receives handler packets from, the receiving one
// registered in the worker's epoll through ZMQ_FD. ZMQ_FD is edge-triggered
// and only means "look again": the owner receives until EAGAIN, which leaves
// the fd armed for the next message (docs/design.md "ZeroMQ in epoll").
//
// A socket is used only by the goroutine (locked OS thread) that created it
// and closed there explicitly.

// ErrWouldBlock is returned by sends that hit the high-water mark (or, for a
// PUSH socket, find no peer yet); the caller keeps the packet and retries.
var ErrWouldBlock = errors.New("zmq send would block")

// ErrUnroutable is returned when the ROUTER does not know the handler address.
var ErrUnroutable = errors.New("zmq send to: Host unreachable")

// SpecError is NewWorkerSockets' failure to create, bind or connect a
// socket (a bad or taken endpoint); its text is the cause's.
type SpecError struct{ Err error }

func (e *SpecError) Error() string { return e.Err.Error() }
func (e *SpecError) Unwrap() error { return e.Err }

// Sock is one ZeroMQ socket with its ZMQ_FD.
type Sock struct {
	s        *zmq.Socket
	raw      unsafe.Pointer // the libzmq socket, for recvFrame and send
	pending  unsafe.Pointer // an oversized frame between two cgo calls (recv.go)
	fd       int
	ipcFiles []string             // socket files of ipc endpoints it bound, removed on Close
	buf      []byte               // received frames of the current message (recv.go)
	keep     int                  // buf is dropped at the next message once over this (recv.go)
	frames   int                  // frames of the current message received so far
	inMsg    bool                 // the last frame received had more frames after it
	more     int32                // condure_recv's ZMQ_RCVMORE output (a C int)
	mon      *monitor             // its connections' events (monitor.go), or nil
	later    later                // messages held for the end of the owner's pass (later.go)
	heldOut  [5]int64             // condure_send_held's output (send.go)
	msgEnds  [recvMaxFrames]int64 // condure_recv_msg's frame ends (recv.go)
	msgOut   [2]int64             // condure_recv_msg's output (recv.go)
	q        *ring                // bind mode with the hub: a queue instead of a libzmq socket (ringsock.go)
}

// Fd is the socket's ZMQ_FD, to register edge-triggered for reading.
func (k *Sock) Fd() int { return k.fd }

// Recv receives one message frame without blocking; ok is false when none
// is queued. more reports that further frames of the same message follow.
// The frame is a view into the socket's buffer: valid until the next
// message starts (frames of one message stay valid together).
func (k *Sock) Recv() (msg []byte, more bool, ok bool, err error) {
	if k.q != nil {
		msg, more, ok = k.ringRecv()
		return msg, more, ok, nil
	}
	return k.recvFrame()
}

// Close closes the socket with the given linger (milliseconds).
func (k *Sock) Close(lingerMs int) {
	if k.s == nil {
		return
	}
	if k.mon != nil {
		k.mon.close()
		k.mon = nil
	}
	k.s.SetLinger(msDuration(lingerMs))
	k.s.Close()
	k.s = nil
	freePendingSlot(k.pending)
	k.pending = nil
	// condure removes its ipc socket files on shutdown (reference.md §2.1).
	for _, f := range k.ipcFiles {
		os.Remove(f)
	}
}

func newSock(ctx *zmq.Context, t zmq.Type, hwm int) (*Sock, error) {
	s, err := ctx.NewSocket(t)
	if err != nil {
		return nil, err
	}
	if hwm > 0 {
		s.SetSndhwm(hwm)
		s.SetRcvhwm(hwm)
	}
	fd, err := s.GetFd()
	if err != nil {
		s.Close()
		return nil, err
	}
	return &Sock{s: s, raw: rawSocket(s), pending: pendingSlot(), fd: fd, keep: recvBufKeep, later: later{max: hwm}}, nil
}

// limitInput sets ZMQ_MAXMSGSIZE (limits.go) on a socket that receives from
// handlers, before it binds or connects, and sizes its receive buffer for
// frames up to max (0: no limit).
func (k *Sock) limitInput(max int64) {
	if max > 0 {
		k.s.SetMaxmsgsize(max)
	}
	k.expect(max)
}

// attach binds or connects s to every endpoint; after a bind to an ipc://
// endpoint the socket file gets ipcMode when it is non-zero.
func attach(s *Sock, endpoints []string, bind bool, ipcMode uint32) error {
	for _, ep := range endpoints {
		if bind {
			if err := s.s.Bind(ep); err != nil {
				return fmt.Errorf("bind %s: %w", ep, err)
			}
			if len(ep) > 6 && ep[:6] == "ipc://" {
				s.ipcFiles = append(s.ipcFiles, ep[6:])
			}
			if ipcMode != 0 && len(ep) > 6 && ep[:6] == "ipc://" {
				if err := os.Chmod(ep[6:], os.FileMode(ipcMode)); err != nil {
					return fmt.Errorf("chmod %s: %w", ep, err)
				}
			}
		} else if err := s.s.Connect(ep); err != nil {
			return fmt.Errorf("connect %s: %w", ep, err)
		}
	}
	return nil
}

// WorkerSockets are the ZeroMQ sockets of one worker. Stream-mode sockets
// exist when a stream listener does, the req pair when a req listener does.
//
// With --zclient-connect they connect straight to the handlers' endpoints:
// Out is a PUSH to every B-out, OutStream a ROUTER to every B-out-stream, In a
// SUB on every B-in filtered on "<instance-id> ", and Req = ReqIn one DEALER
// to every --zclient-req spec. In bind mode (the default) the hub owns the
// bound sockets and the worker's are Go queues to and from it (ring.go,
// ringsock.go): for requests, ROUTER frames and req requests, and for this
// worker's handler messages and req replies; with Config.Direct (one worker) there
// is no hub and the sockets are connect mode's, bound instead. Either way the
// worker sends and receives the same frames.
type WorkerSockets struct {
	Out       *Sock // request packets (first packet of a session)
	OutStream *Sock // frames [handler address, "", packet]
	In        *Sock // messages "<instance-id> T<dict>"
	Req       *Sock // req mode: frames ["", packet]
	ReqIn     *Sock // req mode replies: frames [..., "", packet]; the same socket as Req in connect mode

	mons []*monitor // connect mode: the receiving sockets' connections
}

// MonitorFds are the fds that say connection events are waiting (connect
// mode only): register them like the sockets' and call Watch when one
// fires.
func (w *WorkerSockets) MonitorFds() []int {
	var fds []int
	for _, m := range w.mons {
		fds = append(fds, m.Fd())
	}
	return fds
}

// Watch handles connection events (connect mode; monitor.go): it connects
// again an endpoint libzmq dropped after a protocol error such as a
// message over the size limit. It returns how long until it must be
// called again (0: only when a monitor fd fires).
func (w *WorkerSockets) Watch() time.Duration {
	if len(w.mons) == 0 {
		return 0
	}
	now := time.Now()
	var next time.Duration
	for _, m := range w.mons {
		m.drain(now)
		if d := m.check(now); d > 0 && (next == 0 || d < next) {
			next = d
		}
	}
	return next
}

// Close closes every socket with a bounded linger.
func (w *WorkerSockets) Close(lingerMs int) {
	for _, s := range []*Sock{w.Out, w.OutStream, w.In, w.Req, w.ReqIn} {
		if s != nil {
			s.Close(lingerMs)
		}
	}
}

// Config says where and how the ZeroMQ sockets attach.
type Config struct {
	InstanceID string
	Stream     bool     // some listener is in stream mode
	Out        []string // B-out endpoints
	OutStream  []string // B-out-stream endpoints
	In         []string // B-in endpoints
	Req        []string // --zclient-req specs, used when some listener is in req mode
	Connect    bool     // --zclient-connect
	HWM        int
	IPCMode    uint32
	// ZMQ_MAXMSGSIZE of the sockets receiving from handlers (limits.go):
	// StreamMessageLimit and ReqMessageLimit of the flags; 0 for none.
	StreamMaxMsg, ReqMaxMsg int64
	// Direct: bind mode with one worker, which binds the endpoints itself
	// (no hub, no inproc pipes). Its sockets are the hub's external ones;
	// a handler that stops reading is refused by the ROUTER (EAGAIN) and
	// closes only its own gate, as in connect mode.
	Direct bool

	// rings: the hub's queues per worker (NewHub sets them; ringsock.go).
	rings []*workerRings
}

// HasReq reports whether req-mode sockets are set up.
func (c *Config) HasReq() bool { return len(c.Req) > 0 }

// NewWorkerSockets creates worker w's sockets. In bind mode the hub must have
// been started first (NewHub), on the same context. Call it on the worker's
// locked OS thread, which it names "worker-<w>" (threadname.go).
func NewWorkerSockets(ctx *zmq.Context, cfg *Config, w int) (*WorkerSockets, error) {
	nameThread(workerThreadName(w))
	ws := &WorkerSockets{}
	err := ws.open(ctx, cfg, w)
	if err != nil {
		ws.Close(0)
		return nil, &SpecError{err}
	}
	return ws, nil
}

// open creates the sockets; on error the caller closes what was made.
func (ws *WorkerSockets) open(ctx *zmq.Context, cfg *Config, w int) error {
	if cfg.Connect || cfg.Direct {
		return ws.openDirect(ctx, cfg)
	}
	if w >= len(cfg.rings) {
		return fmt.Errorf("no hub queues for worker %d", w)
	}
	r := cfg.rings[w]
	if cfg.Stream {
		ws.Out = ringSock(r.out, r.fd)
		ws.OutStream = ringSock(r.outStream, r.fd)
		ws.In = ringSock(r.in, r.fd)
	}
	if cfg.HasReq() {
		ws.Req = ringSock(r.req, r.fd)
		ws.ReqIn = ringSock(r.reqIn, r.fd)
	}
	return nil
}

// openDirect creates the sockets that attach to the handlers' endpoints
// themselves: connecting to them (--zclient-connect), or, with cfg.Direct,
// bound to them as the hub binds its own, with the same options, ipc file
// mode and monitors.
func (ws *WorkerSockets) openDirect(ctx *zmq.Context, cfg *Config) error {
	var err error
	mk := func(dst **Sock, t zmq.Type) error {
		*dst, err = newSock(ctx, t, cfg.HWM)
		return err
	}
	bind := !cfg.Connect
	// A connecting socket's monitor reconnects its endpoints (monitor.go);
	// a bound one's only logs.
	connects := func(eps []string) []string {
		if bind {
			return nil
		}
		return eps
	}
	if cfg.Stream {
		if mk(&ws.Out, zmq.PUSH) != nil {
			return err
		}
		ws.Out.limitInput(cfg.StreamMaxMsg) // PULL peers send nothing
		if !bind {
			// Requests go only to handlers that are connected: none queue
			// for an endpoint that is down, where their clients could not
			// take them back (docs/design.md "Backpressure").
			ws.Out.s.SetImmediate(true)
		}
		if err = attach(ws.Out, cfg.Out, bind, cfg.IPCMode); err != nil {
			return err
		}
		if mk(&ws.OutStream, zmq.ROUTER) != nil {
			return err
		}
		// A handler whose pipe is full is refused with EAGAIN while the
		// others take packets: the worker closes only its gate.
		ws.OutStream.s.SetRouterMandatory(1)
		// A restarted handler reusing its identity takes over the old
		// peer instead of being refused until the server next sends to it.
		ws.OutStream.s.SetRouterHandover(true)
		if !bind {
			// A pipe is dropped with its connection, so a handler restarted
			// under a new identity is routable (a kept pipe keeps the old one).
			ws.OutStream.s.SetImmediate(true)
		}
		if err = ws.watchInput(ctx, ws.OutStream, "stream out (ROUTER)", cfg.StreamMaxMsg, connects(cfg.OutStream)); err != nil {
			return err
		}
		if err = attach(ws.OutStream, cfg.OutStream, bind, cfg.IPCMode); err != nil {
			return err
		}
		if mk(&ws.In, zmq.SUB) != nil {
			return err
		}
		ws.In.s.SetSubscribe(cfg.InstanceID + " ")
		if err = ws.watchInput(ctx, ws.In, "stream in (SUB)", cfg.StreamMaxMsg, connects(cfg.In)); err != nil {
			return err
		}
		if err = attach(ws.In, cfg.In, bind, cfg.IPCMode); err != nil {
			return err
		}
	}
	if cfg.HasReq() {
		if mk(&ws.Req, zmq.DEALER) != nil {
			return err
		}
		if !bind {
			ws.Req.s.SetImmediate(true)
		}
		if err = ws.watchInput(ctx, ws.Req, "req (DEALER)", cfg.ReqMaxMsg, connects(cfg.Req)); err != nil {
			return err
		}
		if err = attach(ws.Req, cfg.Req, bind, cfg.IPCMode); err != nil {
			return err
		}
		ws.ReqIn = ws.Req
	}
	return nil
}

// watchInput limits a connecting socket's input and watches its
// connections (monitor.go).
func (ws *WorkerSockets) watchInput(ctx *zmq.Context, s *Sock, what string, max int64, endpoints []string) error {
	s.limitInput(max)
	m, err := watch(ctx, s, what, max, endpoints)
	if err != nil {
		return err
	}
	ws.mons = append(ws.mons, m)
	return nil
}
