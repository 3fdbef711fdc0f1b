package zmqio

/*
#define _GNU_SOURCE
#include <dlfcn.h>
#include <poll.h>
#include <unistd.h>

extern __thread unsigned long condure_polls_ready; // pollcount.c

// poll_counted: the poll that libzmq's calls resolve to (the global scope,
// as dlsym sees it) counts a poll that finds a fd ready, and not one that
// finds none. 1 when so, 0 when not, -1 on failure.
static int poll_counted(void) {
	int (*f)(struct pollfd *, nfds_t, int) = (int (*)(struct pollfd *, nfds_t, int))dlsym(RTLD_DEFAULT, "poll");
	int p[2];
	if (f == NULL || pipe(p) != 0) return -1;
	struct pollfd pfd = {.fd = p[0], .events = POLLIN};
	unsigned long before = condure_polls_ready;
	int idle = f(&pfd, 1, 0);
	unsigned long afterIdle = condure_polls_ready;
	int ok = write(p[1], "x", 1) == 1;
	int ready = f(&pfd, 1, 0);
	unsigned long afterReady = condure_polls_ready;
	close(p[0]);
	close(p[1]);
	if (!ok || idle != 0 || ready != 1) return -1;
	return afterIdle == before && afterReady == before + 1;
}
*/
import "C"

// pollCounted reports whether poll, as libzmq resolves it, is pollcount.c's
// (1), libc's (0), or failed (-1).
func pollCounted() int { return int(C.poll_counted()) }
