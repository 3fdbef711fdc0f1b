package zmqio

/*
#include <sys/types.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <dlfcn.h>

// getpid, defined in the executable, takes the place of libc's for the
// shared libraries that call it through the PLT: libzmq, which asks for
// the pid to detect a fork each time it checks a mailbox (signaler_t::wait)
// or signals one (signaler_t::send). On a virtual machine that was a
// syscall of 1-2 µs, 0.3 to 1 per request (issue #19). This process never
// forks a child that goes on running C code (the Go runtime starts
// programs with clone and exec, without libc), so the pid read once stays
// right; the first call reads it (racing first calls store the same value).
pid_t getpid(void) {
	static pid_t pid;
	pid_t p = __atomic_load_n(&pid, __ATOMIC_RELAXED);
	if (p == 0) {
		p = (pid_t)syscall(SYS_getpid);
		__atomic_store_n(&pid, p, __ATOMIC_RELAXED);
	}
	return p;
}

// condure_getpid_interposed tells whether the dynamic linker resolves
// getpid, for the libraries, to the one above.
static int condure_getpid_interposed(void) {
	return dlsym(RTLD_DEFAULT, "getpid") == (void *)getpid;
}
*/
import "C"

// cachedPid is the getpid above, and getpidInterposed whether libzmq's
// calls reach it; for its test.
func cachedPid() int         { return int(C.getpid()) }
func getpidInterposed() bool { return C.condure_getpid_interposed() != 0 }
