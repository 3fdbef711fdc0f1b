package zmqio

/*
#cgo pkg-config: libzmq
#include "zmqcall.h"

extern __thread unsigned long condure_polls_ready; // pollcount.c

// MAX_FRAMES is maxFrames: the most frames in one message a worker sends.
#define MAX_FRAMES 3

// condure_send sends n (1 to 3) frames as one message without blocking and
// returns 0 or an errno. Only the first frame can fail with EAGAIN or
// EHOSTUNREACH: libzmq takes the rest of a message once it took its first
// frame. At the high-water mark it reads ZMQ_EVENTS, which processes the
// socket's pending commands (so its ZMQ_FD fires again on room), and tries
// once more if they made room, as condure_route_send does. One cgo call per
// message, and an empty frame needs no buffer. Pointers come as integers
// (see Sock.Send).
static int condure_send(uintptr_t s, int n, uintptr_t b0, size_t l0, uintptr_t b1, size_t l1, uintptr_t b2, size_t l2) {
	void *b[MAX_FRAMES] = {(void *)b0, (void *)b1, (void *)b2};
	size_t l[MAX_FRAMES] = {l0, l1, l2};
	return send_message((void *)s, n, b, l);
}

// condure_send_held sends the held messages of a later (later.go) from
// message head on, each as condure_send would, in one cgo call: frames[i]
// frames per message, ends[j] where frame j ends in buf (frame fi is the
// first frame of message head). It stops at the first message refused
// with EAGAIN, which stays held. out: [0] messages handed to libzmq, [1]
// messages dropped for another error, [2] the last such errno, [3] 1 when
// stopped at EAGAIN, [4] 1 when libzmq found a signal in the socket's
// mailbox meanwhile (pollcount.c): the sends processed its commands. It
// returns the messages done (sent or dropped).
static long condure_send_held(uintptr_t s, uintptr_t bufp, uintptr_t endsp, uintptr_t framesp, long head, long nmsgs, long fi, uintptr_t outp) {
	const char *buf = (const char *)bufp;
	const long *ends = (const long *)endsp;
	const unsigned char *frames = (const unsigned char *)framesp;
	long *out = (long *)outp;
	unsigned long ready = condure_polls_ready;
	long m = head;
	for (; m < nmsgs; m++) {
		int n = frames[m];
		void *b[MAX_FRAMES];
		size_t l[MAX_FRAMES];
		held_frames(buf, ends, fi, n, b, l);
		int e = send_message((void *)s, n, b, l);
		if (e == EAGAIN) {
			out[3] = 1;
			break;
		}
		if (e != 0) {
			out[1]++;
			out[2] = e;
		} else {
			out[0]++;
		}
		fi += n;
	}
	out[4] = condure_polls_ready != ready;
	return m - head;
}
*/
import "C"

import (
	"runtime"
	"syscall"
	"unsafe"

	zmq "github.com/pebbe/zmq4"
)

// condure_send_held reads a later's ends ([]int) as C longs.
var (
	_ [unsafe.Sizeof(int(0)) - unsafe.Sizeof(C.long(0))]struct{}
	_ [unsafe.Sizeof(C.long(0)) - unsafe.Sizeof(int(0))]struct{}
)

// sendHeld hands the held messages of l (later.go) to libzmq from l.head
// on in one cgo call, advancing l.head and l.frame past the ones done. It
// stops at the first refused with EAGAIN (blocked true); others refused are
// dropped: dropped counts them, err is the last one's error.
func (k *Sock) sendHeld(l *later) (sent, dropped int, err error, blocked bool) {
	out := &k.heldOut // a local the compiler would not see C write (cptr)
	*out = [5]int64{}
	buf := l.base()
	done := int(C.condure_send_held(cptr(k.raw), cptr(buf), cptr(unsafe.Pointer(&l.ends[0])), cptr(unsafe.Pointer(&l.frames[0])),
		C.long(l.head), C.long(len(l.frames)), C.long(l.frame), cptr(unsafe.Pointer(&out[0]))))
	runtime.KeepAlive(k)
	runtime.KeepAlive(l)
	runtime.KeepAlive(l.buf)
	runtime.KeepAlive(l.ends)
	runtime.KeepAlive(l.frames)
	l.handed(done)
	if out[1] > 0 {
		err = zmq.Errno(syscall.Errno(out[2]))
	}
	if out[4] != 0 {
		l.tookSignal = true
	}
	return int(out[0]), int(out[1]), err, out[3] != 0
}

// Workers send through libzmq directly, like they receive (recv.go):
// zmq4's SendBytes allocates a one-byte buffer for every empty frame (the
// delimiter before each ROUTER and DEALER packet) and costs a cgo call per
// frame.

// maxFrames is the most frames a worker sends in one message: handler
// address, empty delimiter, packet.
const maxFrames = C.MAX_FRAMES

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
	if k.q != nil {
		if err := k.ringPut(frames); err != nil {
			return err
		}
		k.q.commit()
		return nil
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
