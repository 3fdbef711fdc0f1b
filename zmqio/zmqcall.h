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
