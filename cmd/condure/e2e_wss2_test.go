package main

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// TestMemProfileStillWritten: with allocation sampling off by default
// (profile.go), $CONDURE_MEMPROFILE still gets a profile at shutdown with
// samples from the server's own allocations (its slot tables, allocated at
// start, so sampled only if the rate was set before main ran them).
func TestMemProfileStillWritten(t *testing.T) {
	prof := filepath.Join(t.TempDir(), "mem.prof")
	s := startServerEnv(t, "ipc://"+t.TempDir()+"/c", []string{"CONDURE_MEMPROFILE=" + prof})
	if !s.stop() {
		t.Fatal("server did not stop within 5 s")
	}
	f, err := os.Open(prof)
	if err != nil {
		t.Fatalf("no memory profile: %v", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("memory profile is not gzip'd pprof: %v", err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	// The profile's string table names the functions of its samples.
	if !bytes.Contains(b, []byte("github.com/condure-go/condure/server.")) {
		t.Fatalf("memory profile (%d bytes) has no sample from the server package", len(b))
	}
}
