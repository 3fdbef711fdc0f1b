// libzmq checks a socket's command mailbox with poll() on its eventfd
// (signaler.cpp), and a send does so too, throttled to about once a
// millisecond: when that poll finds the fd ready, the send reads the signal
// and processes the commands, among them the one that says messages wait
// to be received, and the socket's edge-triggered ZMQ_FD will not fire for
// them. This definition in the executable interposes glibc's poll for
// libzmq (as getpid.c does getpid) and counts, per thread, the polls that
// found a fd ready, so a worker that sent on a socket it also reads knows
// whether it must read it again (send.go, condure_send_held). Go itself
// never calls libc's poll.
#define _GNU_SOURCE
#include <poll.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "pollgate.h"

__thread unsigned long condure_polls_ready;

// Gated mailboxes (pollgate.go). A libzmq socket's mailbox is an eventfd,
// its ZMQ_FD, and libzmq checks it with poll(fd, 1, 0) on every receive
// that finds nothing, twice per wake-up and on a send once a millisecond:
// 0.21 syscalls per request at one worker, each ~1.2 µs of CPU on this
// VM. A socket whose ZMQ_FD is in its owner's edge-triggered epoll needs
// the syscall only when epoll reported a write since the last check: every
// write to an eventfd raises an edge, and libzmq reads the eventfd right
// after a check that found it ready, so a write that came since is
// reported by the owner's next epoll_wait. condure_poll_gate[fd] is 0 for
// a fd that is not gated (a real poll), 1 for a gated one with nothing
// reported since its last check (no syscall: nothing ready), 2 for one
// reported by epoll (a real poll, after which it is 1 again).
unsigned char condure_poll_gate[CONDURE_GATED_FDS];

int poll(struct pollfd *fds, nfds_t n, int timeout) {
	if (n == 1 && timeout == 0 && (unsigned)fds[0].fd < CONDURE_GATED_FDS) {
		unsigned char *g = &condure_poll_gate[fds[0].fd];
		unsigned char st = __atomic_load_n(g, __ATOMIC_RELAXED);
		if (st == 1) {
			fds[0].revents = 0;
			return 0;
		}
		if (st == 2) __atomic_store_n(g, 1, __ATOMIC_RELAXED);
	}
#ifdef SYS_poll
	int rc = (int)syscall(SYS_poll, fds, n, timeout);
#else
	struct timespec ts, *tp = NULL;
	if (timeout >= 0) {
		ts.tv_sec = timeout / 1000;
		ts.tv_nsec = (long)(timeout % 1000) * 1000000;
		tp = &ts;
	}
	int rc = (int)syscall(SYS_ppoll, fds, n, tp, NULL, 8);
#endif
	if (rc > 0) condure_polls_ready++;
	return rc;
}
