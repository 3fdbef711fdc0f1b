package snap

import (
	"os"
	"testing"
	"time"

	"github.com/condure-go/condure/bench/internal/proc"
	"github.com/condure-go/condure/bench/internal/result"
)

// The hold figures of a step: base before any connection, a once 512
// settled, b after the idle window; then a later step of 1536 above a
// warm-up of 512. Expected values are worked by hand from the inputs.
func TestPerConnAndAboveWarm(t *testing.T) {
	base := Snap{Server: proc.Sample{RSS: 10_000, Anon: 4_000}, Self: proc.Sample{RSS: 8_000}}
	a := Snap{Server: proc.Sample{RSS: 10_500}}
	b := Snap{Server: proc.Sample{RSS: 11_000, Anon: 4_256}, Self: proc.Sample{RSS: 8_128}}
	s := Sampler{Server: 42}
	r := &result.Result{}
	s.PerConn(r, base, a, b, 512)
	want := result.Result{
		SelfPerConn: 256, // 128 KiB / 512
		BaseRSSKiB:  10_000, BaseAnonKiB: 4_000,
		RSSPerConn:    2000, // 1000 KiB / 512
		AnonPerConn:   512,  // 256 KiB / 512
		RSSPerConnEst: 1000, // 500 KiB / 512
	}
	if r.SelfPerConn != want.SelfPerConn || r.BaseRSSKiB != want.BaseRSSKiB || r.BaseAnonKiB != want.BaseAnonKiB ||
		r.RSSPerConn != want.RSSPerConn || r.AnonPerConn != want.AnonPerConn || r.RSSPerConnEst != want.RSSPerConnEst {
		t.Fatalf("PerConn: got self %v base %v/%v rss %v anon %v est %v, want %+v",
			r.SelfPerConn, r.BaseRSSKiB, r.BaseAnonKiB, r.RSSPerConn, r.AnonPerConn, r.RSSPerConnEst, want)
	}

	// No server sampled: only this process's figure.
	r = &result.Result{}
	Sampler{}.PerConn(r, base, a, b, 512)
	if r.SelfPerConn != 256 || r.RSSPerConn != 0 || r.BaseRSSKiB != 0 {
		t.Fatalf("PerConn without a server: %+v", r)
	}
	// No connection: nothing (no division by zero).
	r = &result.Result{}
	s.PerConn(r, base, a, b, 0)
	if r.SelfPerConn != 0 || r.RSSPerConn != 0 {
		t.Fatalf("PerConn with 0 connections: %+v", r)
	}

	warm := &result.Result{Established: 512, Server: &result.ProcDelta{CPU: 0.5}}
	warmSnap := Snap{Server: proc.Sample{RSS: 20_000, Anon: 9_000}}
	later := Snap{Server: proc.Sample{RSS: 21_000, Anon: 9_500}}
	r = &result.Result{Server: &result.ProcDelta{CPU: 0.75}}
	s.AboveWarm(r, warm, warmSnap, later, 1536)
	if r.RSSPerConnMarginal != 1000 || r.AnonPerConnMarginal != 500 { // 1000 and 500 KiB over 1024 more
		t.Fatalf("AboveWarm: rss %v anon %v, want 1000 500", r.RSSPerConnMarginal, r.AnonPerConnMarginal)
	}
	if got, want := r.IdleCPUPerConnMarginal, 244.140625; got != want { // 0.25 s over 1024 more

		t.Fatalf("AboveWarm: idle cpu %v us/conn, want %v", got, want)
	}
	for _, tc := range []struct {
		name string
		s    Sampler
		est  int64
	}{{"no server", Sampler{}, 1536}, {"no more than the warm-up", s, 512}} {
		r = &result.Result{Server: &result.ProcDelta{CPU: 0.7}}
		tc.s.AboveWarm(r, warm, warmSnap, later, tc.est)
		if r.RSSPerConnMarginal != 0 || r.AnonPerConnMarginal != 0 || r.IdleCPUPerConnMarginal != 0 {
			t.Fatalf("AboveWarm %s: %+v", tc.name, r)
		}
	}
}

// Deltas: each process's change over the window, and the machine's load
// not charged to the three processes.
func TestDeltas(t *testing.T) {
	t0 := time.Unix(1000, 0)
	t1 := t0.Add(2 * time.Second)
	tck := proc.ClkTck()
	a := Snap{
		Server:  proc.Sample{Time: t0, CPU: 1, RSS: 100, ThreadCPU: map[string]float64{"worker": 0.5}},
		Handler: proc.Sample{Time: t0, CPU: 2},
		Self:    proc.Sample{Time: t0, CPU: 3},
		Sys:     proc.CPUTimes{Task: 0, IRQ: 0},
	}
	b := Snap{
		Server:  proc.Sample{Time: t1, CPU: 1.5, RSS: 300, Anon: 50, ThreadCPU: map[string]float64{"worker": 0.75}},
		Handler: proc.Sample{Time: t1, CPU: 2.25},
		Self:    proc.Sample{Time: t1, CPU: 3.25},
		Sys:     proc.CPUTimes{Task: 3 * tck, IRQ: tck},
	}
	r := &result.Result{}
	Sampler{Server: 7, Handler: 8}.Deltas(r, a, b, 200_000)
	if r.Server == nil || r.Server.PID != 7 || r.Server.CPU != 0.5 || r.Server.CPUPct != 25 || r.Server.CPUPer100k != 0.25 ||
		r.Server.RSSBeforeKiB != 100 || r.Server.RSSKiB != 300 || r.Server.AnonKiB != 50 || r.Server.ThreadCPU["worker"] != 0.25 {
		t.Fatalf("server delta: %+v", r.Server)
	}
	if r.Handler == nil || r.Handler.PID != 8 || r.Handler.CPU != 0.25 {
		t.Fatalf("handler delta: %+v", r.Handler)
	}
	if r.Client == nil || r.Client.PID != os.Getpid() || r.Client.CPU != 0.25 {
		t.Fatalf("client delta: %+v", r.Client)
	}
	// 3 s of task time in 2 s, 1 s of it ours; 1 s of irq.
	if r.TaskCores != 1.5 || r.IRQCores != 0.5 || r.OtherCores != 1 {
		t.Fatalf("cores: task %v irq %v other %v, want 1.5 0.5 1", r.TaskCores, r.IRQCores, r.OtherCores)
	}
	r = &result.Result{}
	Sampler{}.Deltas(r, a, b, 0)
	if r.Server != nil || r.Handler != nil || r.Client == nil || r.Client.CPUPer100k != 0 {
		t.Fatalf("no server, no handler: %+v", r)
	}
}

// Warmup: the first step of a -warm run is the warm-up; the next ones get
// their figures above it, and their human lines say so.
func TestWarmup(t *testing.T) {
	s := Sampler{Server: 42}
	var wu Warmup
	first := &result.Result{Established: 512, Server: &result.ProcDelta{CPU: 0.5}}
	wu.Step(s, first, Snap{Server: proc.Sample{RSS: 20_000, Anon: 9_000}}, 512, true)
	if !first.Warm || !wu.Done() || first.RSSPerConnMarginal != 0 {
		t.Fatalf("first step: warm %v done %v marginal %v", first.Warm, wu.Done(), first.RSSPerConnMarginal)
	}
	if got := Human(first, "hold"); got != "warm-up: hold" {
		t.Fatalf("warm-up line %q", got)
	}
	r := &result.Result{Established: 1536, Server: &result.ProcDelta{CPU: 0.75}}
	wu.Step(s, r, Snap{Server: proc.Sample{RSS: 21_000, Anon: 9_500}}, 1536, true)
	if r.Warm || r.RSSPerConnMarginal != 1000 || r.AnonPerConnMarginal != 500 || r.IdleCPUPerConnMarginal != 244.140625 {
		t.Fatalf("later step: %+v", r)
	}
	if got, want := Human(r, "hold"), "hold; above the warm-up: 500 B/conn anon (1000 rss), idle cpu 244.14 us/conn"; got != want {
		t.Fatalf("later line %q, want %q", got, want)
	}
	// Without -warm there is no warm-up and no figure above one.
	var none Warmup
	r = &result.Result{Server: &result.ProcDelta{CPU: 0.75}}
	none.Step(s, r, Snap{}, 1536, false)
	if r.Warm || none.Done() || r.RSSPerConnMarginal != 0 || Human(r, "hold") != "hold" {
		t.Fatalf("no warm-up: %+v", r)
	}
}
