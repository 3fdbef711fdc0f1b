package zhttp

/*
#cgo pkg-config: libzmq
#include <zmq.h>
#include <errno.h>

enum { fwdSrcEmpty = 0, fwdDstFull = 1, fwdBudget = 2 };

// condure_forward moves whole messages from src to dst, frame by frame as
// zmq_msg_t (no copy), until src is empty, dst is full or budget messages
// have moved. A first frame dst refused at the high-water mark waits in
// *pend (*has_pend set) for the next call; the rest of its message is still
// queued in src. A message dst refuses for another reason is dropped:
// *unroutable counts EHOSTUNREACH, *err keeps any other errno.
static int condure_forward(void *src, void *dst, zmq_msg_t *pend, int *has_pend,
		int budget, int *unroutable, int *err) {
	for (int n = 0; n < budget; n++) {
		if (!*has_pend) {
			if (zmq_msg_recv(pend, src, ZMQ_DONTWAIT) < 0) {
				if (zmq_errno() != EAGAIN) *err = zmq_errno();
				return fwdSrcEmpty;
			}
			*has_pend = 1;
		}
		int more = zmq_msg_more(pend);
		int rc = zmq_msg_send(pend, dst, ZMQ_DONTWAIT | (more ? ZMQ_SNDMORE : 0));
		if (rc < 0 && zmq_errno() == EAGAIN) {
			// Drain dst's commands (so its ZMQ_FD fires on room) and retry
			// once if they made room.
			int ev = 0;
			size_t len = sizeof ev;
			zmq_getsockopt(dst, ZMQ_EVENTS, &ev, &len);
			if (!(ev & ZMQ_POLLOUT)) return fwdDstFull;
			rc = zmq_msg_send(pend, dst, ZMQ_DONTWAIT | (more ? ZMQ_SNDMORE : 0));
			if (rc < 0 && zmq_errno() == EAGAIN) return fwdDstFull;
		}
		*has_pend = 0;
		int drop = rc < 0;
		if (drop) {
			if (zmq_errno() == EHOSTUNREACH) (*unroutable)++; else *err = zmq_errno();
		}
		// The rest of the message: a multi-frame message is atomic once its
		// first frame is accepted, and complete in src once the first arrived.
		while (more) {
			zmq_msg_t m;
			zmq_msg_init(&m);
			if (zmq_msg_recv(&m, src, ZMQ_DONTWAIT) < 0) {
				zmq_msg_close(&m);
				break;
			}
			more = zmq_msg_more(&m);
			if (drop || zmq_msg_send(&m, dst, ZMQ_DONTWAIT | (more ? ZMQ_SNDMORE : 0)) < 0) {
				zmq_msg_close(&m);
			}
		}
	}
	return fwdBudget;
}
*/
import "C"

import (
	"syscall"
	"unsafe"

	zmq "github.com/pebbe/zmq4"

	"github.com/condure-go/condure/internal/logging"
)

// forward moves whole messages from a workers' inproc PULL to a bound
// socket. It runs in C: the frames go from one socket to the other as they
// are, one cgo call per wake-up instead of two per frame and two copies.
type forward struct {
	src, dst *Sock
	pend     unsafe.Pointer // C zmq_msg_t: a first frame dst would not take yet
	state    struct {       // C ints written by condure_forward
		hasPend, unroutable, err C.int
	}
}

func newForward(src, dst *Sock) *forward {
	return &forward{src: src, dst: dst, pend: pendingSlot()}
}

// pending reports a message waiting for room in dst.
func (f *forward) pending() bool { return f.state.hasPend != 0 }

// pump moves messages until src is empty (re-arming its ZMQ_FD), dst is
// full, or the budget runs out; it reports whether the budget ran out.
func (f *forward) pump() bool {
	s := &f.state
	r := C.condure_forward(f.src.raw, f.dst.raw, (*C.zmq_msg_t)(f.pend), &s.hasPend,
		C.int(hubBudget), &s.unroutable, &s.err)
	for ; s.unroutable > 0; s.unroutable-- { // condure's line, once per message
		logging.Error(hubTarget, "stream zmq send to: Host unreachable")
	}
	if s.err != 0 {
		logging.Error(hubTarget, "zmq forward: %v", zmq.Errno(syscall.Errno(s.err)))
		s.err = 0
	}
	return r == C.fwdBudget
}

func (f *forward) close() {
	freePendingSlot(f.pend)
	f.pend = nil
}
