package zmqio

/*
#cgo pkg-config: libzmq
#include <string.h>
#include <stdlib.h>
#include "zmqcall.h"

// condure_pending_new allocates the slot where a frame larger than the
// caller's buffer waits for condure_take. It lives in C memory, one per
// socket, so the two calls may run on different OS threads.
static zmq_msg_t *condure_pending_new(void) {
	zmq_msg_t *p = malloc(sizeof(zmq_msg_t));
	zmq_msg_init(p);
	return p;
}

static void condure_pending_free(zmq_msg_t *p) {
	zmq_msg_close(p);
	free(p);
}

// condure_recv receives one frame without blocking, copies it into buf when
// it fits and reports in *more whether frames of the same message follow.
// It returns the frame's size (kept in *pending for condure_take when over
// cap), or -errno. One cgo call per frame, and no allocation. Pointers come
// as integers (see cptr).
static long condure_recv(uintptr_t sp, uintptr_t pendingp, uintptr_t bufp, size_t cap, uintptr_t morep) {
	void *s = (void *)sp, *buf = (void *)bufp;
	zmq_msg_t *pending = (zmq_msg_t *)pendingp;
	int *more = (int *)morep;
	zmq_msg_t msg;
	zmq_msg_init(&msg);
	if (recv_msg(&msg, s) < 0) {
		int e = zmq_errno();
		zmq_msg_close(&msg);
		return -e;
	}
	*more = zmq_msg_more(&msg);
	size_t n = zmq_msg_size(&msg);
	if (n <= cap) {
		if (n > 0) memcpy(buf, zmq_msg_data(&msg), n);
		zmq_msg_close(&msg);
		return (long)n;
	}
	zmq_msg_move(pending, &msg); // releases what pending held before
	zmq_msg_close(&msg);
	return (long)n;
}

static int condure_skip(void *s);

// condure_recv_msg receives a message, or the rest of one, without
// blocking, in one cgo call: each frame is copied into buf after the one
// before (ends[i]: where frame i ends in buf), at most maxf frames (the
// rest is dropped). A frame larger than what is left of buf stops it: the
// frame waits in *pending for condure_take, out[1] is its size (else -1)
// and out[0] whether frames follow it. It returns the frames copied, or
// -errno when the first receive failed (EAGAIN: no message). A message
// arrives whole, so only the first receive can say EAGAIN.
static long condure_recv_msg(uintptr_t sp, uintptr_t pendingp, uintptr_t bufp, size_t cap, uintptr_t endsp, long maxf, uintptr_t outp) {
	void *s = (void *)sp;
	char *buf = (char *)bufp;
	zmq_msg_t *pending = (zmq_msg_t *)pendingp;
	long *ends = (long *)endsp, *out = (long *)outp;
	size_t off = 0;
	long i = 0;
	out[0] = 0;
	out[1] = -1;
	zmq_msg_t msg;
	zmq_msg_init(&msg);
	for (;;) {
		if (recv_msg(&msg, s) < 0) {
			int e = zmq_errno();
			zmq_msg_close(&msg);
			return i == 0 ? -e : i;
		}
		int more = zmq_msg_more(&msg);
		size_t n = zmq_msg_size(&msg);
		if (n > cap - off) {
			zmq_msg_move(pending, &msg); // releases what pending held before
			zmq_msg_close(&msg);
			out[0] = more;
			out[1] = (long)n;
			return i;
		}
		if (n > 0) memcpy(buf + off, zmq_msg_data(&msg), n);
		off += n;
		ends[i++] = (long)off;
		if (!more) break;
		if (i == maxf) {
			zmq_msg_close(&msg);
			condure_skip(s);
			return i;
		}
	}
	zmq_msg_close(&msg);
	return i;
}

// condure_skip receives and drops the rest of a message without copying
// it; 0 or -errno (a message arrives whole, so not EAGAIN).
static int condure_skip(void *s) {
	zmq_msg_t m;
	zmq_msg_init(&m);
	int more = 1;
	while (more) {
		if (recv_msg(&m, s) < 0) {
			int e = zmq_errno();
			zmq_msg_close(&m);
			return -e;
		}
		more = zmq_msg_more(&m);
	}
	zmq_msg_close(&m);
	return 0;
}

// condure_take copies the pending frame into buf (large enough) and frees it.
static void condure_take(zmq_msg_t *pending, void *buf) {
	memcpy(buf, zmq_msg_data(pending), zmq_msg_size(pending));
	zmq_msg_close(pending);
	zmq_msg_init(pending);
}

static int condure_socket_type(void *s) {
	int t = -1;
	size_t len = sizeof t;
	zmq_getsockopt(s, ZMQ_TYPE, &t, &len);
	return t;
}
*/
import "C"

import (
	"runtime"
	"syscall"
	"unsafe"

	zmq "github.com/pebbe/zmq4"
)

// Workers receive through libzmq directly (and send, in send.go; the hub's
// lanes do both in hub_lanes.go): zmq4's RecvBytes allocates a new slice
// for every message and needs a second cgo call for ZMQ_RCVMORE. Receiving
// into the socket's reused buffer makes the steady state allocation-free.

const (
	// 64 KiB: a socket's receive buffer to start with; it grows to hold
	// the largest message received.
	recvBufSize = 64 << 10
	// 256 KiB: a buffer that grew past this (or past two of the largest
	// frames the socket expects, if more) is dropped when the next message
	// starts, so one big message does not hold its memory for good.
	recvBufKeep = 256 << 10
	// Frames of one message kept, as the hub's route lane keeps (ZHTTP
	// uses at most a few); the rest is dropped without being copied.
	recvMaxFrames = 16
)

// expect sizes the buffer-keeping threshold for frames up to max bytes.
func (k *Sock) expect(max int64) {
	k.keep = recvBufKeep
	if max > 0 && 2*max > recvBufKeep {
		k.keep = int(2 * max)
	}
}

// rawSocket is the libzmq socket behind a zmq4 socket: the first field of
// zmq4.Socket (v1.4.0, pinned in go.mod; TestRawSocketMatches checks it).
func rawSocket(s *zmq.Socket) unsafe.Pointer {
	return *(*unsafe.Pointer)(unsafe.Pointer(s))
}

// startMsg empties the buffer for the next message's frames; one that grew
// past keep goes, back to the normal size (bufRoom).
func (k *Sock) startMsg() {
	if cap(k.buf) > k.keep {
		k.buf = nil
	}
	k.buf = k.buf[:0]
	k.frames = 0
}

// bufRoom grows the buffer, keeping the frames in it, when less than 4 KiB
// is left for the next frame.
func (k *Sock) bufRoom() {
	if cap(k.buf)-len(k.buf) < 4096 {
		k.buf = append(make([]byte, 0, 2*cap(k.buf)+recvBufSize), k.buf...)
	}
}

// recvFrame receives one frame into k.buf after the frames of the current
// message (so a message's frames stay valid together), without blocking.
// The recvMaxFrames-th frame of a message is reported as its last: the
// rest is dropped.
func (k *Sock) recvFrame() (frame []byte, more bool, ok bool, err error) {
	if !k.inMsg {
		k.startMsg()
	}
	k.bufRoom()
	start := len(k.buf)
	free := k.buf[start:cap(k.buf)]
	// more lives in the Sock: a local whose address goes to C escapes to
	// the heap, one allocation per frame.
	n := C.condure_recv(cptr(k.raw), cptr(k.pending), cptr(unsafe.Pointer(&free[0])), C.size_t(len(free)), cptr(unsafe.Pointer(&k.more)))
	runtime.KeepAlive(free)
	runtime.KeepAlive(k)
	if n < 0 {
		if syscall.Errno(-n) == syscall.EAGAIN {
			return nil, false, false, nil
		}
		return nil, false, false, zmq.Errno(-n)
	}
	if int(n) > len(free) {
		k.buf = append(k.buf, make([]byte, int(n))...)
		C.condure_take((*C.zmq_msg_t)(k.pending), unsafe.Pointer(&k.buf[start]))
	} else {
		k.buf = k.buf[:start+int(n)]
	}
	k.inMsg = k.more != 0
	k.frames++
	if k.inMsg && k.frames == recvMaxFrames {
		k.SkipRest()
	}
	return k.buf[start:len(k.buf):len(k.buf)], k.inMsg, true, nil
}

// RecvMsg receives one whole message without blocking, its frames appended
// to dst[:0]; ok is false when none is queued. It is Recv until the last
// frame, in one cgo call for a message whose frames fit the buffer (a
// req-mode reply is two: delimiter and packet): the frames are views into
// the socket's buffer, valid until the next message starts. The
// recvMaxFrames-th frame is the last kept: the rest is dropped. Frames
// received before an error other than EAGAIN are returned with ok.
func (k *Sock) RecvMsg(dst [][]byte) (frames [][]byte, ok bool, err error) {
	frames = dst[:0]
	if k.q != nil {
		return k.ringRecvMsg(frames)
	}
	k.SkipRest() // a message begun with Recv
	k.startMsg()
	for {
		k.bufRoom()
		start := len(k.buf)
		free := k.buf[start:cap(k.buf)]
		out := &k.msgOut // C writes it (cptr): not a local that would escape
		n := int(C.condure_recv_msg(cptr(k.raw), cptr(k.pending), cptr(unsafe.Pointer(&free[0])), C.size_t(len(free)),
			cptr(unsafe.Pointer(&k.msgEnds[0])), C.long(recvMaxFrames-k.frames), cptr(unsafe.Pointer(&out[0]))))
		runtime.KeepAlive(free)
		runtime.KeepAlive(k)
		if n < 0 {
			if len(frames) == 0 && syscall.Errno(-n) == syscall.EAGAIN {
				return frames, false, nil
			}
			return frames, len(frames) > 0, zmq.Errno(-n)
		}
		prev := start
		for _, end := range k.msgEnds[:n] {
			e := start + int(end)
			frames = append(frames, k.buf[prev:e:e])
			prev = e
		}
		k.buf = k.buf[:prev]
		k.frames += n
		if out[1] < 0 {
			return frames, true, nil // whole (or cut at recvMaxFrames)
		}
		// A frame over the space left waits in pending: take it into a
		// grown buffer (the frames before stay valid where they are).
		size := int(out[1])
		k.buf = append(make([]byte, 0, len(k.buf)+size+recvBufSize), k.buf...)
		at := len(k.buf)
		k.buf = k.buf[:at+size]
		if size > 0 {
			C.condure_take((*C.zmq_msg_t)(k.pending), unsafe.Pointer(&k.buf[at]))
		}
		frames = append(frames, k.buf[at:at+size:at+size])
		k.frames++
		if out[0] == 0 {
			return frames, true, nil
		}
		if k.frames == recvMaxFrames {
			k.inMsg = true
			k.SkipRest()
			return frames, true, nil
		}
	}
}

// SkipRest discards the remaining frames of a multi-frame message without
// copying them.
func (k *Sock) SkipRest() {
	if k.q != nil {
		k.q.frame = ringMaxFrames
		return
	}
	if k.inMsg {
		C.condure_skip(k.raw)
		k.inMsg = false
	}
}

// cptr passes a pointer to C as an integer, which cgo does not check. The
// per-message calls (condure_recv, condure_send) pass Go buffers that C
// only reads or fills during the call and never keeps, and libzmq handles:
// the checks cgo makes of every pointer argument (is it Go memory, does it
// hold Go pointers) were 1.5% of the server's CPU per request (issue #19).
// The caller keeps the Go memory alive across the call (runtime.KeepAlive);
// the garbage collector does not move heap objects, and a goroutine's
// stack does not move while it is in a C call.
func cptr(p unsafe.Pointer) C.uintptr_t { return C.uintptr_t(uintptr(p)) }

// pendingSlot is a socket's C-side slot for an oversized frame (see
// condure_recv); freePendingSlot releases it when the socket closes.
func pendingSlot() unsafe.Pointer      { return unsafe.Pointer(C.condure_pending_new()) }
func freePendingSlot(p unsafe.Pointer) { C.condure_pending_free((*C.zmq_msg_t)(p)) }

func socketType(s *zmq.Socket) int { return int(C.condure_socket_type(rawSocket(s))) }
