package zmqio

/*
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

// trim_run fills and frees 512 KiB in 8 KiB blocks in a new thread (its
// own arena, as libzmq's threads have), the last freed first so that all
// of it joins the arena's top, and sets *resident to 1 when the last
// block's pages are still in memory after the frees, 0 when free gave
// them back, -1 on failure.
static void *trim_run(void *arg) {
	int *resident = arg;
	enum { n = 64, size = 8192 };
	char *p[n];
	for (int i = 0; i < n; i++) {
		p[i] = malloc(size);
		if (p[i] == NULL) { *resident = -1; return NULL; }
		memset(p[i], 1, size);
	}
	long page = sysconf(_SC_PAGESIZE);
	char *hi = p[0];
	for (int i = 1; i < n; i++) if (p[i] > hi) hi = p[i];
	uintptr_t start = ((uintptr_t)hi + page - 1) & ~(uintptr_t)(page - 1);
	for (int i = n - 1; i >= 0; i--) free(p[i]);
	unsigned char v = 0;
	if (mincore((void *)start, page, &v) != 0) { *resident = -1; return NULL; }
	*resident = v & 1;
	return NULL;
}

static int trim_keeps_top(void) {
	int resident = -1;
	pthread_t t;
	if (pthread_create(&t, NULL, trim_run, &resident) != 0) return -1;
	pthread_join(t, NULL);
	return resident;
}
*/
import "C"

// trimKeepsTop reports whether 512 KiB freed at the top of a thread's
// malloc arena stays there (1) or goes back to the kernel (0); -1 on
// failure. malloctrim.c's threshold makes it stay.
func trimKeepsTop() int { return int(C.trim_keeps_top()) }
