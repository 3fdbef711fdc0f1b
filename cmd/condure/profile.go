package main

import (
	"os"
	"runtime"
	"runtime/pprof"
)

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
	if mem != "" {
		runtime.MemProfileRate = 512
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
