package zmqio

/*
#cgo pkg-config: libzmq
#include "zmqcall.h"

static int send_frames(void *s, int n, void **b, size_t *l) {
	for (int i = 0; i < n; i++)
		if (send_buf(s, b[i], l[i], i < n - 1) < 0)
			return zmq_errno();
	return 0;
}

// condure_send sends n (1 to 3) frames as one message without blocking and
// returns 0 or an errno. Only the first frame can fail with EAGAIN or
// EHOSTUNREACH: libzmq takes the rest of a message once it took its first
// frame. At the high-water mark it reads ZMQ_EVENTS, which processes the
// socket's pending commands (so its ZMQ_FD fires again on room), and tries
// once more if they made room, as condure_route_send does. One cgo call per
// message, and an empty frame needs no buffer. Pointers come as integers
// (see Sock.Send).
static int condure_send(uintptr_t s, int n, uintptr_t b0, size_t l0, uintptr_t b1, size_t l1, uintptr_t b2, size_t l2) {
	void *b[3] = {(void *)b0, (void *)b1, (void *)b2};
	size_t l[3] = {l0, l1, l2};
	int e = send_frames((void *)s, n, b, l);
	if (e == EAGAIN && has_room((void *)s)) e = send_frames((void *)s, n, b, l);
	return e;
}
*/
import "C"

import (
	"runtime"
	"syscall"
	"unsafe"

	zmq "github.com/pebbe/zmq4"
)

// Workers send through libzmq directly, like they receive (recv.go):
// zmq4's SendBytes allocates a one-byte buffer for every empty frame (the
// delimiter before each ROUTER and DEALER packet) and costs a cgo call per
// frame.

// maxFrames is the most frames a worker sends in one message: handler
// address, empty delimiter, packet.
const maxFrames = 3

// Send sends frames as one message without blocking. It returns ErrWouldBlock
// at the high-water mark and ErrUnroutable for an unknown ROUTER peer; a
// multi-frame message is atomic once its first frame is accepted.
//
// After ErrWouldBlock the socket's ZMQ_FD signals when it may have room
// again, so an owner that registered the fd can retry then instead of on a
// timer: Send has processed the socket's pending commands (ZMQ_EVENTS), and
// it retried once if they made room.
func (k *Sock) Send(frames ...[]byte) error {
	if len(frames) == 0 || len(frames) > maxFrames {
		panic("zmqio: Send takes 1 to 3 frames")
	}
	var b [maxFrames]C.uintptr_t
	var l [maxFrames]C.size_t
	for i, f := range frames {
		if len(f) > 0 {
			b[i], l[i] = cptr(unsafe.Pointer(&f[0])), C.size_t(len(f))
		}
	}
	e := syscall.Errno(C.condure_send(cptr(k.raw), C.int(len(frames)), b[0], l[0], b[1], l[1], b[2], l[2]))
	runtime.KeepAlive(frames)
	switch e {
	case 0:
		return nil
	case syscall.EAGAIN:
		return ErrWouldBlock
	case syscall.EHOSTUNREACH:
		return ErrUnroutable
	default:
		return zmq.Errno(e)
	}
}
