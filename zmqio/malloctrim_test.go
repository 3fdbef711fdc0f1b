package zmqio

import "testing"

// Memory freed at the top of a thread's arena stays there up to 1 MiB
// (malloctrim.c): with glibc's 128 KiB default the worker gave it back by
// madvise about 30 times a second under load, and the I/O thread faulted
// it in again.
func TestMallocTrimThreshold(t *testing.T) {
	if r := trimKeepsTop(); r != 1 {
		t.Fatalf("512 KiB freed at an arena's top: resident %d, want 1 (0: given back to the kernel, -1: failed)", r)
	}
}
