package main

import (
	"os"
	"runtime/pprof"
)

// startProfile writes a CPU profile to $CONDURE_CPUPROFILE until the
// returned function is called (at shutdown), for `go tool pprof`.
func startProfile() func() {
	path := os.Getenv("CONDURE_CPUPROFILE")
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		return func() {}
	}
	pprof.StartCPUProfile(f)
	return func() { pprof.StopCPUProfile(); f.Close() }
}
