// Non-blocking libzmq calls shared by the cgo files of package zmqio
// (recv.go, send.go, hub_lanes.go). They retry when a signal (the Go runtime's
// preemption) interrupts libzmq: EINTR is not "empty", and only EAGAIN
// re-arms the edge-triggered ZMQ_FD. Error conventions: doc.go.
#include <zmq.h>
#include <errno.h>

static inline int recv_msg(zmq_msg_t *m, void *s) {
	int rc;
	do rc = zmq_msg_recv(m, s, ZMQ_DONTWAIT); while (rc < 0 && zmq_errno() == EINTR);
	return rc;
}

static inline int send_msg(zmq_msg_t *m, void *s, int more) {
	int rc;
	do rc = zmq_msg_send(m, s, ZMQ_DONTWAIT | (more ? ZMQ_SNDMORE : 0));
	while (rc < 0 && zmq_errno() == EINTR);
	return rc;
}

static inline int send_buf(void *s, void *buf, size_t len, int more) {
	int rc;
	do rc = zmq_send(s, buf, len, ZMQ_DONTWAIT | (more ? ZMQ_SNDMORE : 0));
	while (rc < 0 && zmq_errno() == EINTR);
	return rc;
}

// has_room reads ZMQ_EVENTS, which drains the socket's command mailbox (so
// its edge-triggered ZMQ_FD fires again on room) and tells whether a send
// may now succeed.
static inline int has_room(void *s) {
	int ev = 0, rc;
	size_t len = sizeof ev;
	do rc = zmq_getsockopt(s, ZMQ_EVENTS, &ev, &len); while (rc < 0 && zmq_errno() == EINTR);
	return (ev & ZMQ_POLLOUT) != 0;
}

// send_frames sends n frames as one message; 0 or the errno.
static inline int send_frames(void *s, int n, void **b, size_t *l) {
	for (int i = 0; i < n; i++)
		if (send_buf(s, b[i], l[i], i < n - 1) < 0)
			return zmq_errno();
	return 0;
}

// send_message sends one message of n frames; at the high-water mark it
// reads ZMQ_EVENTS (has_room), which processes the socket's pending
// commands, and tries once more if they made room.
static inline int send_message(void *s, int n, void **b, size_t *l) {
	int e = send_frames(s, n, b, l);
	if (e == EAGAIN && has_room(s)) e = send_frames(s, n, b, l);
	return e;
}

// held_frames points b and l at the n frames of a held message (later.go:
// frames back to back in buf, ends[i] where frame i ends) starting at
// frame fi.
static inline void held_frames(const char *buf, const long *ends, long fi, int n, void **b, size_t *l) {
	for (int i = 0; i < n; i++) {
		long start = fi + i > 0 ? ends[fi + i - 1] : 0;
		l[i] = (size_t)(ends[fi + i] - start);
		b[i] = (void *)(buf + start);
	}
}
