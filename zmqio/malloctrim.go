package zmqio

/*
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

static int set_trim_threshold(int bytes) { return mallopt(M_TRIM_THRESHOLD, bytes); }

// trim_probe runs on a thread of its own (so in a glibc thread arena, as
// libzmq's threads are): it allocates n blocks of size bytes, frees them
// all (the arena's top grows to hold them), and returns how many of the
// pages the blocks covered are still resident (mincore), or -1. Trimmed
// pages were given back with MADV_DONTNEED and are not resident.
struct probe { int n, size, resident; };

static void *probe_run(void *arg) {
	struct probe *p = arg;
	void **b = calloc(p->n, sizeof(void *));
	if (b == NULL) return NULL;
	uintptr_t lo = UINTPTR_MAX, hi = 0;
	for (int i = 0; i < p->n; i++) {
		b[i] = malloc(p->size);
		if (b[i] == NULL) return NULL;
		((volatile char *)b[i])[0] = 1;
		((volatile char *)b[i])[p->size - 1] = 1;
		uintptr_t a = (uintptr_t)b[i];
		if (a < lo) lo = a;
		if (a + p->size > hi) hi = a + p->size;
	}
	for (int i = p->n - 1; i >= 0; i--) free(b[i]);
	free(b);
	long pg = sysconf(_SC_PAGESIZE);
	lo = (lo + pg - 1) & ~(uintptr_t)(pg - 1);
	hi &= ~(uintptr_t)(pg - 1);
	if (hi <= lo) return NULL;
	size_t pages = (hi - lo) / pg;
	unsigned char *v = malloc(pages);
	if (v == NULL || mincore((void *)lo, hi - lo, v) != 0) return NULL;
	int r = 0;
	for (size_t i = 0; i < pages; i++) r += v[i] & 1;
	free(v);
	p->resident = r;
	return NULL;
}

static int trim_probe(int n, int size) {
	struct probe p = {n, size, -1};
	pthread_t t;
	if (pthread_create(&t, NULL, probe_run, &p) != 0) return -1;
	pthread_join(t, NULL);
	return p.resident;
}
*/
import "C"

// mallocTrimThreshold is glibc's M_TRIM_THRESHOLD for this process: free
// memory at the top of a malloc arena is given back to the OS only beyond
// this. glibc's default, 128 KiB, made the arena of libzmq's I/O thread
// shrink and regrow under load: the thread that receives a batch frees the
// I/O thread's receive buffers (libzmq's zero-copy decoder), and the arena
// was trimmed by 16-86 KiB at a time with madvise(MADV_DONTNEED), 50-290
// µs each on this VM (a TLB shootdown on every CPU running the process),
// then faulted back in page by page. The churn stays under 256 KiB; 1 MiB
// per arena is what each of libzmq's threads may keep resident beyond
// glibc's default after a load.
const mallocTrimThreshold = 1 << 20

// raiseTrimThreshold sets mallocTrimThreshold (before libzmq's threads
// start). Setting it also fixes glibc's mmap threshold at its 128 KiB
// default, which otherwise grows after large frees. It reports whether
// glibc accepted it.
func raiseTrimThreshold() bool { return setTrimThreshold(mallocTrimThreshold) }

// setTrimThreshold sets M_TRIM_THRESHOLD to bytes.
func setTrimThreshold(bytes int) bool { return C.set_trim_threshold(C.int(bytes)) == 1 }

// trimProbe frees n blocks of size bytes in a fresh thread arena and
// returns how many of their pages stayed resident (-1: the probe failed).
func trimProbe(n, size int) int { return int(C.trim_probe(C.int(n), C.int(size))) }
