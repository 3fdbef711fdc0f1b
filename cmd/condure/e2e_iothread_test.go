package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// threadPolicies maps the names of process pid's threads to their
// scheduling policies (/proc/PID/task/TID/stat field 41).
func threadPolicies(t *testing.T, pid int) map[string][]int {
	t.Helper()
	stats, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/stat", pid))
	if err != nil || len(stats) == 0 {
		t.Fatalf("threads of %d: %v", pid, err)
	}
	m := map[string][]int{}
	for _, f := range stats {
		b, err := os.ReadFile(f)
		if err != nil {
			continue // the thread ended
		}
		s := string(b)
		open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		fields := strings.Fields(s[end+1:]) // from field 3 (state) on
		if open < 0 || end < open || len(fields) < 39 {
			t.Fatalf("%s: %q", f, s)
		}
		p, err := strconv.Atoi(fields[41-3])
		if err != nil {
			t.Fatalf("%s: policy %q", f, fields[41-3])
		}
		name := s[open+1 : end]
		m[name] = append(m[name], p)
	}
	return m
}

// TestIOThreadSchedBatch: with one worker libzmq's I/O thread runs under
// SCHED_BATCH (3), so its wake-ups do not preempt the worker
// (zmqio/context.go); with two (and the hub), where that did not pay, it
// keeps the default policy (0), as the Go threads always do.
func TestIOThreadSchedBatch(t *testing.T) {
	for _, tc := range []struct {
		workers string
		policy  int
	}{{"1", 3}, {"2", 0}} {
		workers := tc.workers
		t.Run("workers="+workers, func(t *testing.T) {
			s := startServer(t, "--workers", workers)
			var m map[string][]int
			// The I/O thread starts with the first socket, before the
			// listener, but give /proc a moment under load.
			eventually(t, 5*time.Second, func() bool {
				m = threadPolicies(t, s.cmd.Process.Pid)
				return len(m["ZMQbg/IO/0"]) > 0 && len(m["worker-0"]) > 0
			})
			if got := m["ZMQbg/IO/0"]; len(got) != 1 || got[0] != tc.policy {
				t.Errorf("I/O thread policy %v, want [%d]; threads %v", got, tc.policy, m)
			}
			for name, ps := range m {
				if strings.HasPrefix(name, "ZMQbg/") {
					continue
				}
				for _, p := range ps {
					if p != 0 {
						t.Errorf("thread %q has policy %d, want 0 (SCHED_OTHER)", name, p)
					}
				}
			}
		})
	}
}
