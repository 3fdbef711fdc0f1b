// Package gctrace parses the lines GODEBUG=gctrace=1 makes a Go program
// write to stderr:
//
//	gc 40 @0.288s 6%: 0.45+1.9+0.003 ms clock, 0.90+0.24/0/0+0.007 ms cpu, 9->11->5 MB, 10 MB goal, 0 MB stacks, 0 MB globals, 2 P
//
// and summarizes the cycles of a time window: stop-the-world pauses and the
// CPU the collector used.
package gctrace

import (
	"bufio"
	"io"
	"strconv"
	"strings"

	"github.com/condure-go/condure/bench/internal/stats"
)

// Cycle is one GC cycle. Times are in milliseconds unless named otherwise.
type Cycle struct {
	N      int
	At     float64 // seconds since the program started
	CumPct float64 // share of CPU spent in GC since the start, percent
	Clock  [3]float64
	CPU    [5]float64 // sweep term, assist, background, idle, mark term
	HeapMB [3]float64 // at start, at end, live
	GoalMB float64
	Procs  int
	Forced bool
}

// Pause is the stop-the-world time of the cycle: sweep termination plus mark
// termination, wall clock.
func (c Cycle) Pause() float64 { return c.Clock[0] + c.Clock[2] }

// CPUms is the collector's CPU time without idle-time marking, which runs
// only on otherwise idle Ps (the accounting Go's GC CPU limiter uses).
func (c Cycle) CPUms() float64 { return c.CPU[0] + c.CPU[1] + c.CPU[2] + c.CPU[4] }

// CPUmsIdle is the CPU time of idle-time marking.
func (c Cycle) CPUmsIdle() float64 { return c.CPU[3] }

// ParseLine parses one gctrace line; ok is false for any other line.
func ParseLine(line string) (c Cycle, ok bool) {
	line = strings.TrimSpace(line)
	if !strings.HasPrefix(line, "gc ") {
		return c, false
	}
	head, rest, found := strings.Cut(line, ": ")
	if !found {
		return c, false
	}
	hf := strings.Fields(head) // gc N @Ts P%
	if len(hf) != 4 || !strings.HasPrefix(hf[2], "@") || !strings.HasSuffix(hf[2], "s") || !strings.HasSuffix(hf[3], "%") {
		return c, false
	}
	var err error
	if c.N, err = strconv.Atoi(hf[1]); err != nil {
		return c, false
	}
	if c.At, err = strconv.ParseFloat(hf[2][1:len(hf[2])-1], 64); err != nil {
		return c, false
	}
	if c.CumPct, err = strconv.ParseFloat(hf[3][:len(hf[3])-1], 64); err != nil {
		return c, false
	}
	if strings.HasSuffix(rest, "(forced)") {
		c.Forced = true
		rest = strings.TrimSpace(strings.TrimSuffix(rest, "(forced)"))
	}
	parts := strings.Split(rest, ", ")
	if len(parts) < 4 {
		return c, false
	}
	// clock: a+b+c ms clock
	clock, ok1 := strings.CutSuffix(parts[0], " ms clock")
	cpu, ok2 := strings.CutSuffix(parts[1], " ms cpu")
	heap, ok3 := strings.CutSuffix(parts[2], " MB")
	goal, ok4 := strings.CutSuffix(parts[3], " MB goal")
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return c, false
	}
	if !floats(strings.Split(clock, "+"), c.Clock[:]) {
		return c, false
	}
	// cpu: a+b/c/d+e
	cf := strings.Split(cpu, "+")
	if len(cf) != 3 {
		return c, false
	}
	mid := strings.Split(cf[1], "/")
	if len(mid) != 3 || !floats([]string{cf[0], mid[0], mid[1], mid[2], cf[2]}, c.CPU[:]) {
		return c, false
	}
	if !floats(strings.Split(heap, "->"), c.HeapMB[:]) {
		return c, false
	}
	if c.GoalMB, err = strconv.ParseFloat(goal, 64); err != nil {
		return c, false
	}
	last := parts[len(parts)-1]
	if p, found := strings.CutSuffix(last, " P"); found {
		c.Procs, _ = strconv.Atoi(p)
	}
	return c, true
}

func floats(s []string, dst []float64) bool {
	if len(s) != len(dst) {
		return false
	}
	for i, f := range s {
		v, err := strconv.ParseFloat(f, 64)
		if err != nil {
			return false
		}
		dst[i] = v
	}
	return true
}

// Read parses every gctrace line of r, skipping other output.
func Read(r io.Reader) ([]Cycle, error) {
	var out []Cycle
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		if c, ok := ParseLine(sc.Text()); ok {
			out = append(out, c)
		}
	}
	return out, sc.Err()
}

// Summary describes the cycles of a window.
type Summary struct {
	Cycles      int     `json:"cycles"`
	PauseP50ms  float64 `json:"pause_p50_ms"`
	PauseP99ms  float64 `json:"pause_p99_ms"`
	PauseMaxms  float64 `json:"pause_max_ms"`
	GCCPUs      float64 `json:"gc_cpu_s"`      // without idle marking
	GCIdleCPUs  float64 `json:"gc_idle_cpu_s"` // idle marking
	CPUFraction float64 `json:"gc_cpu_fraction"`
	CumPct      float64 `json:"cum_pct"` // the runtime's own figure at the last cycle
}

// Summarize takes the cycles that started within [from, to] (seconds since
// the program started) and relates their CPU to procCPU, the process's CPU
// seconds over the same window (CPUFraction is 0 when procCPU is 0).
func Summarize(cycles []Cycle, from, to, procCPU float64) Summary {
	var s Summary
	var pauses []float64
	for _, c := range cycles {
		if c.At < from || c.At > to {
			continue
		}
		s.Cycles++
		pauses = append(pauses, c.Pause())
		s.GCCPUs += c.CPUms() / 1000
		s.GCIdleCPUs += c.CPUmsIdle() / 1000
		s.CumPct = c.CumPct
	}
	if len(pauses) > 0 {
		p := stats.Percentiles(pauses, 0.5, 0.99, 1)
		s.PauseP50ms, s.PauseP99ms, s.PauseMaxms = p[0], p[1], p[2]
	}
	if procCPU > 0 {
		s.CPUFraction = s.GCCPUs / procCPU
	}
	return s
}
