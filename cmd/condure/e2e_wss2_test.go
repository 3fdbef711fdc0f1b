package main

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestMemProfileStillWritten: with allocation sampling off by default
// (profile.go), $CONDURE_MEMPROFILE still gets a profile at shutdown with
// samples from the server's own allocations (its slot tables, allocated at
// start, so sampled only if the rate was set before main ran them).
func TestMemProfileStillWritten(t *testing.T) {
	prof := filepath.Join(t.TempDir(), "mem.prof")
	s := &testServer{t: t, base: "ipc://" + t.TempDir() + "/c", log: &syncBuffer{}, exited: make(chan struct{})}
	s.addr = fmt.Sprintf("127.0.0.1:%d", freePort(t))
	s.cmd = exec.Command(binPath, "--listen", s.addr, "--zclient-stream", s.base, "--workers", defaultWorkers(), "--log-level", "3")
	s.cmd.Env = append(os.Environ(), "CONDURE_MEMPROFILE="+prof)
	s.start()
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.Dial("tcp", s.addr)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("server did not start: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(5 * time.Second):
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
