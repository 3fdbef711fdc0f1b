package zmqio

/*
#cgo pkg-config: libzmq
#include <stdlib.h>
#include <string.h>
#include "zmqcall.h"

// ---- the ROUTER lane: per-destination parking ----
//
// A handler that stops reading fills its ROUTER pipe; with ROUTER_MANDATORY
// a send to it then fails with EAGAIN while the other handlers' pipes still
// take messages. Instead of holding the lane on that message (which froze
// every handler behind one), the lane parks it, copied from the workers'
// queue, in the destination's list and goes on; every later message for a parked
// destination goes behind it, so each session's order holds. Go publishes
// the parked destinations to the workers (Blocks), which stop producing for
// them, so a park holds at most what was in flight: limit bounds the
// messages parked per blocked destination (the total may reach limit times
// the destinations parked), past which the lane stops reading as before.

enum { parkMaxFrames = 3, parkMaxID = 255 };

typedef struct parked {
	struct parked *next;
	int n;
	zmq_msg_t f[parkMaxFrames];
} parked_t;

typedef struct {
	unsigned char id[parkMaxID];
	size_t idlen;
	parked_t *head, *tail;
} park_dest_t;

typedef struct {
	park_dest_t *d; // blocked destinations, d[0..n)
	int n, cap;
	int total;      // messages parked
	int limit;      // parked messages per parked destination at which the lane stops reading
	int changed;    // the set of destinations changed since Go last looked
	parked_t cur;   // the message being forwarded
} condure_park_t;

static condure_park_t *condure_park_new(int limit) {
	condure_park_t *p = calloc(1, sizeof *p);
	p->limit = limit;
	for (int i = 0; i < parkMaxFrames; i++) zmq_msg_init(&p->cur.f[i]);
	return p;
}

static void parked_close(parked_t *m) {
	for (int i = 0; i < parkMaxFrames; i++) {
		zmq_msg_close(&m->f[i]);
		zmq_msg_init(&m->f[i]);
	}
	m->n = 0;
}

static void condure_park_free(condure_park_t *p) {
	for (int i = 0; i < p->n; i++) {
		for (parked_t *m = p->d[i].head, *next; m; m = next) {
			next = m->next;
			parked_close(m);
			free(m);
		}
	}
	parked_close(&p->cur);
	free(p->d);
	free(p);
}

// park_send sends m to dst. It returns 0 (m's frames are gone), or the errno
// of the first frame (EAGAIN, EHOSTUNREACH: nothing sent, m intact).
static int park_send(parked_t *m, void *dst) {
	for (int i = 0; i < m->n; i++) {
		if (send_msg(&m->f[i], dst, i < m->n - 1) < 0) {
			if (i == 0) return zmq_errno();
			break; // cannot happen: the rest of a message is always taken
		}
	}
	parked_close(m);
	return 0;
}

static park_dest_t *park_find(condure_park_t *p, const void *id, size_t len) {
	for (int i = 0; i < p->n; i++)
		if (p->d[i].idlen == len && memcmp(p->d[i].id, id, len) == 0) return &p->d[i];
	return NULL;
}

// park_append moves m's frames to the end of d's list.
static void park_append(condure_park_t *p, park_dest_t *d, parked_t *m) {
	parked_t *q = malloc(sizeof *q);
	q->next = NULL;
	q->n = m->n;
	for (int i = 0; i < parkMaxFrames; i++) {
		zmq_msg_init(&q->f[i]);
		if (i < m->n) zmq_msg_move(&q->f[i], &m->f[i]);
	}
	m->n = 0;
	if (d->tail) d->tail->next = q; else d->head = q;
	d->tail = q;
	p->total++;
}

static park_dest_t *park_add(condure_park_t *p, const void *id, size_t len) {
	if (p->n == p->cap) {
		p->cap = p->cap ? 2 * p->cap : 8;
		p->d = realloc(p->d, p->cap * sizeof *p->d);
	}
	park_dest_t *d = &p->d[p->n++];
	d->idlen = len < parkMaxID ? len : parkMaxID;
	memcpy(d->id, id, d->idlen);
	d->head = d->tail = NULL;
	p->changed = 1;
	return d;
}

// ---- the ROUTER lane fed by the workers' queues (hub_rings.go) ----

// condure_park_send_held forwards messages the hub took from the workers'
// queues, held back to back as a later holds them
// (later.go, condure_send_held's layout): a message for a parked
// destination, or one the ROUTER refuses with EAGAIN, is copied into the
// park. It stops before a message when the park is at its limit (out[3]
// set). out: [0] sent, [1] unroutable, [2] the last other errno. It returns
// the messages done (sent, parked or dropped).
static long condure_park_send_held(uintptr_t s, condure_park_t *p, uintptr_t bufp, uintptr_t endsp,
		uintptr_t framesp, long head, long nmsgs, long fi, uintptr_t outp) {
	void *dst = (void *)s;
	const char *buf = (const char *)bufp;
	const long *ends = (const long *)endsp;
	const unsigned char *frames = (const unsigned char *)framesp;
	long *out = (long *)outp;
	long m = head;
	for (; m < nmsgs; m++) {
		if (p->total >= p->limit * (p->n > 0 ? p->n : 1)) {
			out[3] = 1;
			break;
		}
		int n = frames[m];
		void *b[parkMaxFrames];
		size_t l[parkMaxFrames];
		if (n < 2 || n > parkMaxFrames) { // not [address, "", packet]
			fi += n;
			continue;
		}
		held_frames(buf, ends, fi, n, b, l);
		fi += n;
		park_dest_t *d = park_find(p, b[0], l[0]);
		if (!d) {
			int e = send_message(dst, n, b, l);
			if (e == 0) {
				out[0]++;
				continue;
			}
			if (e != EAGAIN) {
				if (e == EHOSTUNREACH) out[1]++; else out[2] = e;
				continue;
			}
			d = park_add(p, b[0], l[0]);
		}
		parked_t q;
		q.n = n;
		for (int i = 0; i < n; i++) {
			zmq_msg_init_size(&q.f[i], l[i]);
			if (l[i] > 0) memcpy(zmq_msg_data(&q.f[i]), b[i], l[i]);
		}
		for (int i = n; i < parkMaxFrames; i++) zmq_msg_init(&q.f[i]);
		park_append(p, d, &q);
		for (int i = 0; i < parkMaxFrames; i++) zmq_msg_close(&q.f[i]);
	}
	return m - head;
}

// condure_park_retry sends parked messages, oldest first per destination,
// until the ROUTER refuses again; a destination that is gone
// (EHOSTUNREACH) has its messages dropped and counted. Destinations left
// empty leave the park.
static void condure_park_retry(void *dst, condure_park_t *p, int *unroutable) {
	if (p->n == 0) return;
	int room = has_room(dst); // drains the mailbox, so ZMQ_FD fires on room
	(void)room;
	for (int i = 0; i < p->n;) {
		park_dest_t *d = &p->d[i];
		while (d->head) {
			int e = park_send(d->head, dst);
			if (e == EAGAIN) break;
			if (e == EHOSTUNREACH) (*unroutable)++;
			parked_t *m = d->head;
			d->head = m->next;
			parked_close(m);
			free(m);
			p->total--;
		}
		if (d->head) {
			i++;
			continue;
		}
		d->tail = NULL;
		p->d[i] = p->d[--p->n];
		p->changed = 1;
	}
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

*/
import "C"

import (
	"runtime"
	"syscall"
	"time"
	"unsafe"

	zmq "github.com/pebbe/zmq4"

	"github.com/condure-go/condure/internal/logging"
)

// The hub's lanes: from the workers' queues (ring.go) to the bound sockets
// a batch per cgo call (hub_rings.go), and from the bound sockets to the
// workers' queues a message per cgo call, received as zmq_msg_t and read
// in place.

// forward moves whole messages from the workers' queues to a bound
// socket. The ROUTER lane parks per destination (park, blocks); the PUSH
// and DEALER lanes, which have no destination to tell apart, hold what
// dst refused and stop reading until it went.
type forward struct {
	dst   *Sock
	srcQ  []*ring // per worker
	state struct {
		unroutable, err C.int
	}
	park   *C.condure_park_t // ROUTER lane only
	blocks *Blocks           // where the parked destinations are published
	names  [][]byte
	unreach
	due       bool                  // run on the next pump (hub_due.go)
	dstReader *route                // the lane reading dst, if any (the req DEALER)
	rr        int                   // the queue read first next time
	tmp       [ringMaxFrames][]byte // one message's frames, for later.add
}

// newParkingForward is the ROUTER lane: at most limit messages parked.
func newParkingForward(srcQ []*ring, dst *Sock, blocks *Blocks, limit int) *forward {
	return &forward{dst: dst, srcQ: srcQ, park: C.condure_park_new(C.int(limit)), blocks: blocks}
}

// pending reports messages waiting for room in dst.
func (f *forward) pending() bool {
	return (f.park != nil && f.park.n > 0) || f.dst.later.head < len(f.dst.later.frames)
}

// pump moves messages until the queues are empty (the hub's waker then
// signals more), dst is full, or the budget runs out; it reports whether
// the budget ran out.
func (f *forward) pump() bool {
	s := &f.state
	if f.park != nil {
		C.condure_park_retry(f.dst.raw, f.park, &s.unroutable)
	}
	busy := f.pumpRings()
	if f.park != nil && f.park.changed != 0 {
		f.publish()
	}
	if s.unroutable > 0 {
		f.unreach.dropped(int(s.unroutable))
		s.unroutable = 0
	}
	if s.err != 0 {
		logging.Error(hubTarget, "zmq forward: %v", zmq.Errno(syscall.Errno(s.err)))
		s.err = 0
	}
	return busy
}

// sendHeldPark hands the messages held on the ROUTER (taken from the
// workers' queues) to condure_park_send_held in one cgo call, and reports
// whether some stay held (the park is at its limit).
func (f *forward) sendHeldPark() bool {
	k := f.dst
	l := &k.later
	if l.head >= len(l.frames) {
		return false
	}
	out := &k.heldOut
	*out = [len(k.heldOut)]int64{}
	buf := l.base()
	done := int(C.condure_park_send_held(cptr(k.raw), f.park, cptr(buf), cptr(unsafe.Pointer(&l.ends[0])),
		cptr(unsafe.Pointer(&l.frames[0])), C.long(l.head), C.long(len(l.frames)), C.long(l.frame), cptr(unsafe.Pointer(&out[0]))))
	runtime.KeepAlive(k)
	runtime.KeepAlive(l.buf)
	runtime.KeepAlive(l.ends)
	runtime.KeepAlive(l.frames)
	l.handed(done)
	f.state.unroutable += C.int(out[1])
	if out[2] != 0 {
		f.state.err = C.int(out[2])
	}
	if l.head < len(l.frames) {
		return true
	}
	l.reset()
	return false
}

// publish tells the workers which destinations are parked now.
func (f *forward) publish() {
	f.park.changed = 0
	f.names = f.names[:0]
	for i := 0; i < int(f.park.n); i++ {
		d := &unsafe.Slice(f.park.d, f.park.n)[i]
		f.names = append(f.names, C.GoBytes(unsafe.Pointer(&d.id[0]), C.int(d.idlen)))
	}
	if logging.Enabled(logging.LevelDebug) {
		logging.Debug(hubTarget, "handlers not reading: %d, messages held: %d", len(f.names), int(f.park.total))
	}
	if f.blocks != nil {
		f.blocks.set(f.names)
	}
}

func (f *forward) close() {
	if f.park != nil {
		C.condure_park_free(f.park)
		f.park = nil
	}
}

// unreach rate-limits condure's "Host unreachable" line: a handler that
// went away leaves one unroutable message per packet for it.
type unreach struct{ lim *logging.Limiter }

func (u *unreach) dropped(n int) {
	if u.lim == nil {
		u.lim = logging.NewLimiter(hubLogInterval)
	}
	if u.lim.AllowN(time.Now(), n) {
		logging.Error(hubTarget, "stream zmq send to: Host unreachable%s", u.lim.Note())
	}
}

// route moves handler messages from a bound socket to the queues of the
// workers that own their ids.
type route struct {
	src    *Sock
	req    bool // req replies: [envelope..., "", packet]; else "<instance> T<dict>"
	c      *C.condure_route_t
	frames [][]byte // views of c's frames, for owners
	dstQ   []*ring  // per worker
	pendW  []int    // workers still owed the held message are pendW[next:]
	next   int
	due    bool // run on the next pump (hub_due.go)
}

func newRoute(src *Sock, req bool) *route {
	return &route{src: src, req: req, c: C.condure_route_new()}
}

func (r *route) pump(h *Hub) bool {
	for i := 0; i < hubBudget; i++ {
		count := C.int(1) // frames after the first are ignored (reference.md §2.3)
		if r.req {
			count = r.c.n
		}
		for ; r.next < len(r.pendW); r.next++ {
			if !r.dstQ[r.pendW[r.next]].put(r.frames[:count]...) {
				r.commit()
				return false // the worker's Recv makes room and wakes the hub
			}
		}
		n := C.condure_route_recv(r.c, r.src.raw)
		if n <= 0 {
			if n < 0 {
				logging.Error(hubTarget, "zmq recv: %v", zmq.Errno(syscall.Errno(-n)))
			}
			r.pendW = r.pendW[:0]
			r.commit()
			return false
		}
		r.frames = r.frames[:0]
		for j := 0; j < int(n); j++ {
			r.frames = append(r.frames, unsafe.Slice((*byte)(r.c.data[j]), int(r.c.size[j])))
		}
		r.pendW, r.next = h.owners(r.pendW[:0], r.frames, r.req), 0
	}
	r.commit()
	return true
}

func (r *route) close() {
	C.condure_route_free(r.c)
	r.c = nil
}
