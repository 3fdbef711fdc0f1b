// glibc's free gives the top of a malloc arena back to the kernel
// (madvise MADV_DONTNEED in a thread's arena, brk in the main one) once it
// exceeds M_TRIM_THRESHOLD, 128 KiB by default. libzmq's I/O thread
// allocates its decoder's buffers and each request over 33 bytes, and the
// worker frees them: under load the arena's top crossed the threshold back
// and forth, about 30 madvise calls a second in the worker, each a TLB
// shootdown across the CPUs (1.5% of the worker's CPU), and some 150 page
// faults a second in the I/O thread refilling the pages. A 1 MiB threshold
// keeps that memory in the arena (at most 1 MiB per arena above its peak
// use; at 256 KiB a few madvise calls remained). MALLOC_TRIM_THRESHOLD_ or
// glibc.malloc.trim_threshold in GLIBC_TUNABLES still win.
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#define CONDURE_TRIM_THRESHOLD (1 << 20)

__attribute__((constructor)) static void condure_trim_init(void) {
	const char *t = getenv("GLIBC_TUNABLES");
	if (getenv("MALLOC_TRIM_THRESHOLD_") != NULL || (t != NULL && strstr(t, "trim_threshold") != NULL)) {
		return;
	}
	mallopt(M_TRIM_THRESHOLD, CONDURE_TRIM_THRESHOLD);
}
