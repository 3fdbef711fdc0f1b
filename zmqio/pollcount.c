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

__thread unsigned long condure_polls_ready;

int poll(struct pollfd *fds, nfds_t n, int timeout) {
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
