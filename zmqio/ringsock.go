package zmqio

import (
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The worker's end of the hub's queues (ring.go): a Sock whose Send,
// SendLater, Flush, Recv and SkipRest work on a ring instead of a libzmq
// socket, so the worker's code is the same either way. Its Fd is the
// worker's ring eventfd, written by the hub when it published messages
// while the worker slept on the inbound ring, or made room the worker
// waited for on an outbound one; edge-triggered epoll reports every write,
// so the worker never reads it (the counter cannot reach its 2^64 limit).

// workerRings are one worker's queues to and from the hub (nil for the
// mode no listener uses).
type workerRings struct {
	out, outStream *ring // worker → hub: requests, ROUTER frames [address, "", packet]
	in             *ring // hub → worker: handler packets
	req            *ring // worker → hub: req requests ["", packet]
	reqIn          *ring // hub → worker: req replies [envelope..., "", packet]
	fd             int   // the worker's eventfd
}

// newWorkerRings makes a worker's queues of at most limit messages each;
// the hub is woken by hubWake.
func newWorkerRings(limit int, stream, req bool, hubWake func()) (*workerRings, error) {
	fd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("ring eventfd: %w", err)
	}
	r := &workerRings{fd: fd}
	wakeWorker := func() { ringSignal(fd) }
	mk := func(toHub bool) *ring {
		q := newRing(limit)
		if toHub {
			q.wakeConsumer, q.wakeProducer = hubWake, wakeWorker
		} else {
			q.wakeConsumer, q.wakeProducer = wakeWorker, hubWake
		}
		return q
	}
	if stream {
		r.out, r.outStream, r.in = mk(true), mk(true), mk(false)
	}
	if req {
		r.req, r.reqIn = mk(true), mk(false)
	}
	return r, nil
}

func (r *workerRings) close() {
	if r.fd >= 0 {
		unix.Close(r.fd)
		r.fd = -1
	}
}

var ringOne uint64 = 1

// ringSignal adds one to an eventfd (EAGAIN, a saturated counter, is
// readable anyway).
func ringSignal(fd int) {
	for {
		_, _, e := unix.Syscall(unix.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(&ringOne)), 8)
		if e != unix.EINTR {
			return
		}
	}
}

// ringSock is the worker's end of q, signalled on fd.
func ringSock(q *ring, fd int) *Sock { return &Sock{q: q, fd: fd} }

// ringPut writes a message into the queue, published at the next Flush;
// ErrWouldBlock when the queue is full (the Sock's fd then signals room).
func (k *Sock) ringPut(frames [][]byte) error {
	if !k.q.put(frames...) {
		return ErrWouldBlock
	}
	return nil
}

// ringRecvMsg is RecvMsg over the queue: the next whole message's frames
// (a queued message has at most ringMaxFrames, recvMaxFrames, as a libzmq
// socket would give), valid until the next message is asked for.
func (k *Sock) ringRecvMsg(frames [][]byte) ([][]byte, bool, error) {
	k.SkipRest() // a message begun with Recv
	for {
		f, more, ok := k.ringRecv()
		if !ok {
			return frames, len(frames) > 0, nil
		}
		frames = append(frames, f)
		if !more {
			return frames, true, nil
		}
	}
}

// ringRecv returns the next frame; a message is released (its room given
// back) when the next one is asked for, so a message's frames stay valid
// together.
func (k *Sock) ringRecv() (frame []byte, more, ok bool) {
	q := k.q
	if q.held {
		m := &q.msgs[q.chead&uint64(len(q.msgs)-1)]
		if q.frame < int(m.n) {
			f := q.frameOf(m, q.frame)
			q.frame++
			return f, q.frame < int(m.n), true
		}
		q.held = false
		q.release()
	}
	m := q.peek()
	if m == nil {
		return nil, false, false
	}
	q.held, q.frame = true, 1
	return q.frameOf(m, 0), m.n > 1, true
}
