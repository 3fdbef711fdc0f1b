package zhttp

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"syscall"

	zmq "github.com/pebbe/zmq4"
)

// This file is the ZeroMQ side of a worker: the sockets it sends requests and
// stream packets on and receives handler packets from, the receiving one
// registered in the worker's epoll through ZMQ_FD. ZMQ_FD is edge-triggered
// and only means "look again": the owner receives until EAGAIN, which leaves
// the fd armed for the next message (DESIGN.md "Threads and ZeroMQ").
//
// A socket is used only by the goroutine (locked OS thread) that created it
// and closed there explicitly.

// ErrWouldBlock is returned by sends that hit the high-water mark (or, for a
// PUSH socket, find no peer yet); the caller keeps the packet and retries.
var ErrWouldBlock = errors.New("zmq send would block")

// ErrUnroutable is returned when the ROUTER does not know the handler address.
var ErrUnroutable = errors.New("zmq send to: Host unreachable")

// Sock is one ZeroMQ socket with its ZMQ_FD.
type Sock struct {
	s  *zmq.Socket
	fd int
}

// Fd is the socket's ZMQ_FD, to register edge-triggered for reading.
func (k *Sock) Fd() int { return k.fd }

// Recv receives one message frame without blocking; ok is false when none is
// queued. more reports that further frames of the same message follow.
func (k *Sock) Recv() (msg []byte, more bool, ok bool, err error) {
	msg, err = k.s.RecvBytes(zmq.DONTWAIT)
	if err != nil {
		if zmq.AsErrno(err) == zmq.Errno(syscall.EAGAIN) {
			return nil, false, false, nil
		}
		return nil, false, false, err
	}
	more, _ = k.s.GetRcvmore()
	return msg, more, true, nil
}

// SkipRest discards the remaining frames of a multi-frame message.
func (k *Sock) SkipRest() {
	for {
		if more, _ := k.s.GetRcvmore(); !more {
			return
		}
		if _, err := k.s.RecvBytes(zmq.DONTWAIT); err != nil {
			return
		}
	}
}

// Send sends frames as one message without blocking. It returns ErrWouldBlock
// at the high-water mark and ErrUnroutable for an unknown ROUTER peer; a
// multi-frame message is atomic once its first frame is accepted.
func (k *Sock) Send(frames ...[]byte) error {
	for i, f := range frames {
		flags := zmq.DONTWAIT
		if i < len(frames)-1 {
			flags |= zmq.SNDMORE
		}
		if _, err := k.s.SendBytes(f, flags); err != nil {
			switch zmq.AsErrno(err) {
			case zmq.Errno(syscall.EAGAIN):
				return ErrWouldBlock
			case zmq.Errno(syscall.EHOSTUNREACH):
				return ErrUnroutable
			}
			return err
		}
	}
	return nil
}

// Close closes the socket with the given linger (milliseconds).
func (k *Sock) Close(lingerMs int) {
	if k.s == nil {
		return
	}
	k.s.SetLinger(msDuration(lingerMs))
	k.s.Close()
	k.s = nil
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
	return &Sock{s: s, fd: fd}, nil
}

// attach binds or connects s to every endpoint; after a bind to an ipc://
// endpoint the socket file gets ipcMode when it is non-zero.
func attach(s *Sock, endpoints []string, bind bool, ipcMode uint32) error {
	for _, ep := range endpoints {
		if bind {
			if err := s.s.Bind(ep); err != nil {
				return fmt.Errorf("bind %s: %w", ep, err)
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

// WorkerSockets are the stream-mode sockets of one worker.
//
// With --zclient-connect they connect straight to the handlers' endpoints:
// Out is a PUSH to every B-out, OutStream a ROUTER to every B-out-stream, In a
// SUB on every B-in filtered on "<instance-id> ". In bind mode (the default)
// the hub owns the bound sockets and the worker's are inproc pipes to it: a
// PUSH for requests, a PUSH carrying ROUTER frames, and a PULL the hub
// forwards this worker's handler messages to. Either way the worker sends and
// receives the same frames.
type WorkerSockets struct {
	Out       *Sock // request packets (first packet of a session)
	OutStream *Sock // frames [handler address, "", packet]
	In        *Sock // messages "<instance-id> T<dict>"
}

// Close closes every socket with a bounded linger.
func (w *WorkerSockets) Close(lingerMs int) {
	for _, s := range []*Sock{w.Out, w.OutStream, w.In} {
		if s != nil {
			s.Close(lingerMs)
		}
	}
}

// Hub inproc endpoints (bind mode).
const (
	hubOutEndpoint       = "inproc://condure-hub-out"
	hubOutStreamEndpoint = "inproc://condure-hub-out-stream"
)

func workerInEndpoint(worker int) string {
	return "inproc://condure-worker-in-" + strconv.Itoa(worker)
}

// StreamConfig says where and how the stream sockets attach.
type StreamConfig struct {
	InstanceID string
	Out        []string // B-out endpoints
	OutStream  []string // B-out-stream endpoints
	In         []string // B-in endpoints
	Connect    bool     // --zclient-connect
	HWM        int
	IPCMode    uint32
}

// NewWorkerSockets creates worker w's stream sockets. In bind mode the hub
// must have been started first (NewHub), on the same context.
func NewWorkerSockets(ctx *zmq.Context, cfg *StreamConfig, w int) (*WorkerSockets, error) {
	ws := &WorkerSockets{}
	var err error
	fail := func(e error) (*WorkerSockets, error) {
		ws.Close(0)
		return nil, e
	}
	if cfg.Connect {
		if ws.Out, err = newSock(ctx, zmq.PUSH, cfg.HWM); err != nil {
			return fail(err)
		}
		if err = attach(ws.Out, cfg.Out, false, 0); err != nil {
			return fail(err)
		}
		if ws.OutStream, err = newSock(ctx, zmq.ROUTER, cfg.HWM); err != nil {
			return fail(err)
		}
		ws.OutStream.s.SetRouterMandatory(1)
		// A restarted handler reusing its identity takes over the old
		// peer instead of being refused until the server next sends to it.
		ws.OutStream.s.SetRouterHandover(true)
		if err = attach(ws.OutStream, cfg.OutStream, false, 0); err != nil {
			return fail(err)
		}
		if ws.In, err = newSock(ctx, zmq.SUB, cfg.HWM); err != nil {
			return fail(err)
		}
		ws.In.s.SetSubscribe(cfg.InstanceID + " ")
		if err = attach(ws.In, cfg.In, false, 0); err != nil {
			return fail(err)
		}
		return ws, nil
	}
	if ws.Out, err = newSock(ctx, zmq.PUSH, cfg.HWM); err != nil {
		return fail(err)
	}
	if err = ws.Out.s.Connect(hubOutEndpoint); err != nil {
		return fail(err)
	}
	if ws.OutStream, err = newSock(ctx, zmq.PUSH, cfg.HWM); err != nil {
		return fail(err)
	}
	if err = ws.OutStream.s.Connect(hubOutStreamEndpoint); err != nil {
		return fail(err)
	}
	if ws.In, err = newSock(ctx, zmq.PULL, cfg.HWM); err != nil {
		return fail(err)
	}
	if err = ws.In.s.Bind(workerInEndpoint(w)); err != nil {
		return fail(err)
	}
	return ws, nil
}
