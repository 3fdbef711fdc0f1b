package zhttp

/*
#cgo pkg-config: libzmq
#include <stdlib.h>
#include "zmqcall.h"

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
			if (recv_msg(pend, src) < 0) {
				if (zmq_errno() != EAGAIN) *err = zmq_errno();
				return fwdSrcEmpty;
			}
			*has_pend = 1;
		}
		int more = zmq_msg_more(pend);
		int rc = send_msg(pend, dst, more);
		if (rc < 0 && zmq_errno() == EAGAIN) {
			if (!has_room(dst)) return fwdDstFull;
			rc = send_msg(pend, dst, more);
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
			if (recv_msg(&m, src) < 0) {
				zmq_msg_close(&m);
				break;
			}
			more = zmq_msg_more(&m);
			if (drop || send_msg(&m, dst, more) < 0) {
				zmq_msg_close(&m);
			}
		}
	}
	return fwdBudget;
}

enum { routeMaxFrames = 16 };

// A route lane's current message: frames received as zmq_msg_t, with their
// data and sizes for Go to read the ids from.
typedef struct {
	zmq_msg_t frames[routeMaxFrames];
	void *data[routeMaxFrames];
	size_t size[routeMaxFrames];
	int n;
} condure_route_t;

static condure_route_t *condure_route_new(void) {
	condure_route_t *r = calloc(1, sizeof *r);
	for (int i = 0; i < routeMaxFrames; i++) zmq_msg_init(&r->frames[i]);
	return r;
}

static void condure_route_free(condure_route_t *r) {
	for (int i = 0; i < routeMaxFrames; i++) zmq_msg_close(&r->frames[i]);
	free(r);
}

// condure_route_recv releases the previous message and receives the next
// whole one (frames past routeMaxFrames are discarded). It returns the
// number of frames held, 0 when src is empty, or -errno.
static int condure_route_recv(condure_route_t *r, void *src) {
	for (int i = 0; i < r->n; i++) {
		zmq_msg_close(&r->frames[i]);
		zmq_msg_init(&r->frames[i]);
	}
	r->n = 0;
	for (;;) {
		zmq_msg_t extra, *m = r->n < routeMaxFrames ? &r->frames[r->n] : &extra;
		if (m == &extra) zmq_msg_init(&extra);
		if (recv_msg(m, src) < 0) {
			int e = zmq_errno();
			if (m == &extra) zmq_msg_close(&extra);
			if (r->n > 0) return r->n; // cannot happen: messages arrive whole
			return e == EAGAIN ? 0 : -e;
		}
		int more = zmq_msg_more(m);
		if (m == &extra) {
			zmq_msg_close(&extra);
		} else {
			r->data[r->n] = zmq_msg_data(m);
			r->size[r->n] = zmq_msg_size(m);
			r->n++;
		}
		if (!more) return r->n;
	}
}

static int route_send_frames(condure_route_t *r, void *dst, int count) {
	for (int i = 0; i < count; i++) {
		zmq_msg_t c;
		zmq_msg_init(&c);
		zmq_msg_copy(&c, &r->frames[i]); // shared, not copied, when large
		if (send_msg(&c, dst, i < count - 1) < 0) {
			int e = zmq_errno();
			zmq_msg_close(&c);
			return e;
		}
	}
	return 0;
}

// condure_route_send sends the first count frames of the held message to
// dst, keeping it for other workers. It returns 0 or the errno of the first
// frame (EAGAIN: nothing sent; dst's ZMQ_FD fires when it has room).
static int condure_route_send(condure_route_t *r, void *dst, int count) {
	int e = route_send_frames(r, dst, count);
	if (e == EAGAIN && has_room(dst)) e = route_send_frames(r, dst, count);
	return e;
}
*/
import "C"

import (
	"syscall"
	"unsafe"

	zmq "github.com/pebbe/zmq4"

	"github.com/condure-go/condure/internal/logging"
)

// The hub's lanes move messages in C, as zmq_msg_t: frames go from one
// socket to the other without being copied into Go and out again (and
// without a malloc per message), in one or two cgo calls per message or
// wake-up instead of two per frame.

// forward moves whole messages from a workers' inproc PULL to a bound
// socket.
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

// route moves handler messages from a bound socket to the workers that own
// their ids.
type route struct {
	src    *Sock
	dst    []*Sock // per worker
	req    bool    // req replies: [envelope..., "", packet]; else "<instance> T<dict>"
	c      *C.condure_route_t
	frames [][]byte // views of c's frames, for owners
	pendW  []int    // workers still owed the held message are pendW[next:]
	next   int
}

func newRoute(src *Sock, req bool) *route {
	return &route{src: src, req: req, c: C.condure_route_new()}
}

func (r *route) pump(h *Hub) bool {
	for i := 0; i < hubBudget; i++ {
		count := C.int(1) // frames after the first are ignored (ZHTTP.md §2.3)
		if r.req {
			count = r.c.n
		}
		for ; r.next < len(r.pendW); r.next++ {
			e := C.condure_route_send(r.c, r.dst[r.pendW[r.next]].raw, count)
			if e == C.EAGAIN {
				return false
			}
			if e != 0 {
				logging.Error(hubTarget, "zmq send to worker: %v", zmq.Errno(syscall.Errno(e)))
			}
		}
		n := C.condure_route_recv(r.c, r.src.raw)
		if n <= 0 {
			if n < 0 {
				logging.Error(hubTarget, "zmq recv: %v", zmq.Errno(syscall.Errno(-n)))
			}
			r.pendW = r.pendW[:0]
			return false
		}
		r.frames = r.frames[:0]
		for j := 0; j < int(n); j++ {
			r.frames = append(r.frames, unsafe.Slice((*byte)(r.c.data[j]), int(r.c.size[j])))
		}
		r.pendW, r.next = h.owners(r.pendW[:0], r.frames, r.req), 0
	}
	return true
}

func (r *route) close() {
	C.condure_route_free(r.c)
	r.c = nil
}
