package zhttp

/*
#cgo pkg-config: libzmq
#include "zmqcall.h"

// condure_send sends n (1 to 3) frames as one message without blocking and
// returns 0 or -errno. Only the first frame can fail with EAGAIN or
// EHOSTUNREACH: libzmq takes the rest of a message once it took its first
// frame. One cgo call per message, and an empty frame needs no buffer.
static int condure_send(void *s, int n, void *b0, size_t l0, void *b1, size_t l1, void *b2, size_t l2) {
	void *b[3] = {b0, b1, b2};
	size_t l[3] = {l0, l1, l2};
	for (int i = 0; i < n; i++)
		if (send_buf(s, b[i], l[i], i < n - 1) < 0)
			return -zmq_errno();
	return 0;
}
*/
import "C"

import (
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

func (k *Sock) send(frames [][]byte) error {
	if len(frames) == 0 || len(frames) > maxFrames {
		panic("zhttp: Send takes 1 to 3 frames")
	}
	var b [maxFrames]unsafe.Pointer
	var l [maxFrames]C.size_t
	for i, f := range frames {
		if len(f) > 0 {
			b[i], l[i] = unsafe.Pointer(&f[0]), C.size_t(len(f))
		}
	}
	rc := C.condure_send(k.raw, C.int(len(frames)), b[0], l[0], b[1], l[1], b[2], l[2])
	switch {
	case rc == 0:
		return nil
	case syscall.Errno(-rc) == syscall.EAGAIN:
		return ErrWouldBlock
	case syscall.Errno(-rc) == syscall.EHOSTUNREACH:
		return ErrUnroutable
	}
	return zmq.Errno(-rc)
}
