package gctrace

import (
	"math"
	"strings"
	"testing"
)

const sample = `[INFO] 2026-01-01 00:00:00.000 [condure] starting...
gc 1 @0.012s 2%: 0.010+0.50+0.003 ms clock, 0.020+0.10/0.40/0.8+0.006 ms cpu, 4->4->0 MB, 4 MB goal, 0 MB stacks, 0 MB globals, 2 P
gc 40 @0.288s 6%: 0.45+1.9+0.003 ms clock, 0.90+0.24/0/0+0.007 ms cpu, 9->11->5 MB, 10 MB goal, 0 MB stacks, 0 MB globals, 2 P
scvg: something else
gc 43 @1.300s 7%: 0.066+0.33+0.004 ms clock, 0.13+0/0.053/0.17+0.006 ms cpu, 5->5->5 MB, 10 MB goal, 0 MB stacks, 0 MB globals, 2 P (forced)
gc x @1s 1%: garbage
`

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestParseLine(t *testing.T) {
	c, ok := ParseLine("gc 40 @0.288s 6%: 0.45+1.9+0.003 ms clock, 0.90+0.24/0/0+0.007 ms cpu, 9->11->5 MB, 10 MB goal, 0 MB stacks, 0 MB globals, 2 P")
	if !ok {
		t.Fatal("not parsed")
	}
	if c.N != 40 || c.At != 0.288 || c.CumPct != 6 || c.Clock != [3]float64{0.45, 1.9, 0.003} ||
		c.CPU != [5]float64{0.90, 0.24, 0, 0, 0.007} || c.HeapMB != [3]float64{9, 11, 5} || c.GoalMB != 10 || c.Procs != 2 || c.Forced {
		t.Fatalf("got %+v", c)
	}
	if !near(c.Pause(), 0.453) || !near(c.CPUms(), 1.147) {
		t.Fatalf("pause %v cpu %v", c.Pause(), c.CPUms())
	}
	c, ok = ParseLine("gc 43 @1.300s 7%: 0.066+0.33+0.004 ms clock, 0.13+0/0.053/0.17+0.006 ms cpu, 5->5->5 MB, 10 MB goal, 0 MB stacks, 0 MB globals, 2 P (forced)")
	if !ok || !c.Forced || c.CPUmsIdle() != 0.17 || c.Procs != 2 {
		t.Fatalf("forced line: %+v %v", c, ok)
	}
	for _, bad := range []string{"", "gc", "gc 1 @0.1s 1%", "gc x @1s 1%: garbage", "[INFO] gc 1 @0.1s",
		"gc 1 @0.1s 1%: 1+2 ms clock, 1+1/1/1+1 ms cpu, 1->1->1 MB, 1 MB goal, 1 P"} {
		if _, ok := ParseLine(bad); ok {
			t.Errorf("parsed %q", bad)
		}
	}
}

func TestReadSummarize(t *testing.T) {
	cs, err := Read(strings.NewReader(sample))
	if err != nil || len(cs) != 3 {
		t.Fatalf("got %d cycles, %v", len(cs), err)
	}
	s := Summarize(cs, 0.1, 2, 0.1)
	if s.Cycles != 2 || !near(s.PauseMaxms, 0.453) || !near(s.PauseP50ms, 0.07) || !near(s.PauseP99ms, 0.453) {
		t.Fatalf("summary %+v", s)
	}
	wantCPU := (1.147 + 0.189) / 1000
	if !near(s.GCCPUs, wantCPU) || !near(s.CPUFraction, wantCPU/0.1) || s.CumPct != 7 || !near(s.GCIdleCPUs, 0.00017) {
		t.Fatalf("summary %+v", s)
	}
	if s := Summarize(cs, 5, 6, 1); s.Cycles != 0 || s.PauseP99ms != 0 {
		t.Fatalf("empty window %+v", s)
	}
}
