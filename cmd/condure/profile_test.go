package main

import (
	"os"
	"runtime"
	"testing"
)

// TestMemProfileOffByDefault: without $CONDURE_MEMPROFILE the process
// samples no allocations (no profile records, no pages of the runtime's
// bucket table touched by a burst of handshakes); with it, every 512 bytes.
func TestMemProfileOffByDefault(t *testing.T) {
	if got := memProfileRate(""); got != 0 {
		t.Fatalf("memProfileRate(\"\") = %d, want 0", got)
	}
	if got := memProfileRate("/tmp/mem.prof"); got != 512 {
		t.Fatalf("memProfileRate(path) = %d, want 512", got)
	}
	if os.Getenv("CONDURE_MEMPROFILE") != "" {
		t.Skip("CONDURE_MEMPROFILE is set for this test binary")
	}
	if runtime.MemProfileRate != 0 {
		t.Fatalf("runtime.MemProfileRate after init = %d, want 0", runtime.MemProfileRate)
	}
	// Nothing allocated from here on is sampled: the profile gains no record.
	before, _ := runtime.MemProfile(nil, true)
	var keep [][]byte
	for range 4096 {
		keep = append(keep, make([]byte, 4096))
	}
	runtime.GC()
	runtime.GC()
	after, _ := runtime.MemProfile(nil, true)
	if after > before {
		t.Fatalf("memory profile records grew from %d to %d with sampling off", before, after)
	}
	runtime.KeepAlive(keep)
}
