package zmqio

import "testing"

// TestTrimThresholdKeepsArenaTop: with glibc's default threshold, freeing
// 640 KiB of small blocks in a thread arena gives most of their pages back
// (the madvise and page faults libzmq's threads paid under load); with
// mallocTrimThreshold they stay resident.
func TestTrimThresholdKeepsArenaTop(t *testing.T) {
	const n, size = 160, 4000
	pages := n * size / 4096
	defer raiseTrimThreshold()
	if !setTrimThreshold(128 << 10) { // glibc's default
		t.Fatal("mallopt refused the default threshold")
	}
	if r := trimProbe(n, size); r < 0 || r > pages/2 {
		t.Fatalf("default threshold: %d of ~%d pages resident after the frees, want under half (trimmed)", r, pages)
	}
	if !raiseTrimThreshold() {
		t.Fatal("mallopt refused mallocTrimThreshold")
	}
	if r := trimProbe(n, size); r < pages-2 {
		t.Fatalf("raised threshold: %d of ~%d pages resident after the frees, want all", r, pages)
	}
}
