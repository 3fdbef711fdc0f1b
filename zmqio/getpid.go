package zmqio

/*
#define _GNU_SOURCE
#include <dlfcn.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

// getpid_interposed: the getpid that libzmq's calls resolve to (the global
// scope, as dlsym sees it) caches the pid: it gives the right pid, and a
// child forked by the raw syscall (no atfork handlers) still sees the
// parent's. It returns 1 when cached, 0 when not, -1 on failure.
static int getpid_interposed(void) {
	pid_t (*f)(void) = (pid_t (*)(void))dlsym(RTLD_DEFAULT, "getpid");
	if (f == NULL || f() != (pid_t)syscall(SYS_getpid)) return -1;
	pid_t parent = f();
	pid_t c = (pid_t)syscall(SYS_fork);
	if (c == 0) _exit(f() == parent ? 1 : 0);
	if (c < 0) return -1;
	int st = 0;
	if (waitpid(c, &st, 0) != c || !WIFEXITED(st)) return -1;
	return WEXITSTATUS(st);
}

// getpid_fork_check forks a child that exits 0 when getpid gives the
// child's own pid (the cache was cleared by fork), 1 otherwise; it returns
// the child's exit status, or -1.
static int getpid_fork_check(void) {
	(void)getpid(); // fill the cache before forking
	pid_t c = fork();
	if (c == 0) _exit(getpid() == (pid_t)syscall(SYS_getpid) ? 0 : 1);
	if (c < 0) return -1;
	int st = 0;
	if (waitpid(c, &st, 0) != c || !WIFEXITED(st)) return -1;
	return WEXITSTATUS(st);
}
*/
import "C"

// The cached getpid of getpid.c, seen from Go for its tests.

// getpidInterposed reports whether getpid, as libzmq resolves it, caches
// the pid: 1 cached, 0 a syscall each time, -1 failure (or a wrong pid).
func getpidInterposed() int { return int(C.getpid_interposed()) }

// getpidForkCheck reports a forked child's verdict on its getpid: 0 when it
// gave the child's pid, 1 when the parent's cached one, -1 on failure.
func getpidForkCheck() int { return int(C.getpid_fork_check()) }
