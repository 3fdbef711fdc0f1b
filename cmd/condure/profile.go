package main

import (
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"syscall"
)

// reportMallocs is a test hook (CONDURE_TEST_MALLOCS=1): on SIGUSR1 the
// process prints how many heap objects it has allocated since it started,
// so an end-to-end test can check that the steady state allocates nothing
// (e2e_allocs_test.go). Tiny allocations (a few bytes, which never make the
// GC run in a short benchmark) are counted too.
func reportMallocs() {
	if os.Getenv("CONDURE_TEST_MALLOCS") == "" {
		return
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGUSR1)
	go func() {
		var m runtime.MemStats
		for range sig {
			runtime.ReadMemStats(&m)
			fmt.Fprintf(os.Stderr, "test: mallocs %d\n", m.Mallocs)
		}
	}()
}

// memProfileRate: the allocation profile's sampling, off unless
// $CONDURE_MEMPROFILE asks for a profile. The runtime's default (one sample
// per 512 KiB allocated) keeps a record for every new allocation stack it
// samples, in a 1.4 MiB hash table whose pages become resident one by one
// as records land in them: a burst of TLS handshakes (~40 KB of garbage
// each, from varied stacks) left 130-200 KB of that table and its records
// resident for good, over 200 B per connection at 1k idle wss connections
// (docs/design.md "The first burst's high-water").
func memProfileRate(memProfile string) int {
	if memProfile == "" {
		return 0
	}
	return 512
}

// Set in init, as early as the main package can, so that allocations made
// before main() are not sampled either.
func init() { runtime.MemProfileRate = memProfileRate(os.Getenv("CONDURE_MEMPROFILE")) }

// startProfile writes a CPU profile to $CONDURE_CPUPROFILE and an
// allocation profile to $CONDURE_MEMPROFILE until the returned function is
// called (at shutdown), for `go tool pprof`.
func startProfile() func() {
	cpu, mem := os.Getenv("CONDURE_CPUPROFILE"), os.Getenv("CONDURE_MEMPROFILE")
	var f *os.File
	if cpu != "" {
		var err error
		if f, err = os.Create(cpu); err == nil {
			pprof.StartCPUProfile(f)
		}
	}
	return func() {
		if f != nil {
			pprof.StopCPUProfile()
			f.Close()
		}
		if mem != "" {
			if m, err := os.Create(mem); err == nil {
				runtime.GC() // the profile shows allocations up to the last completed cycle
				pprof.Lookup("allocs").WriteTo(m, 0)
				m.Close()
			}
		}
	}
}
