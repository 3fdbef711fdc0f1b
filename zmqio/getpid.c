// libzmq checks getpid() on every signal it sends and every mailbox check
// it makes (signaler.cpp: its guard against use in a forked child), which
// on the hot path is about one syscall per request. This definition in the
// executable interposes glibc's (which stopped caching the pid in 2.25):
// the pid is read once and kept, and a fork() through libc clears it in the
// child. Go itself never calls it (os.Getpid is a raw syscall), and the Go
// runtime starts children with clone+exec, never running libc in between.
#include <pthread.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

static pid_t condure_pid;

static void condure_pid_forget(void) { __atomic_store_n(&condure_pid, 0, __ATOMIC_RELAXED); }

__attribute__((constructor)) static void condure_pid_init(void) {
	pthread_atfork(NULL, NULL, condure_pid_forget);
}

pid_t getpid(void) {
	pid_t p = __atomic_load_n(&condure_pid, __ATOMIC_RELAXED);
	if (p == 0) {
		p = (pid_t)syscall(SYS_getpid);
		__atomic_store_n(&condure_pid, p, __ATOMIC_RELAXED);
	}
	return p;
}
