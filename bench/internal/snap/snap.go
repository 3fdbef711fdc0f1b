// Package snap samples what a bench measures (the server, the handler,
// the bench itself, the machine) and turns samples into a result's
// process deltas, machine load and per-connection figures: one place for
// that arithmetic, so bench/loadgen and bench/tlsload report alike.
package snap

import (
	"fmt"
	"os"

	"github.com/condure-go/condure/bench/internal/proc"
	"github.com/condure-go/condure/bench/internal/result"
)

// Sampler names the processes of interest; a 0 pid is not sampled. The
// CPU, memory and thread CPU of Extra (more server processes, such as
// nginx workers) are added to the server's.
type Sampler struct {
	Server, Handler int
	Extra           []int
}

// Pids are the server's processes.
func (s Sampler) Pids() []int { return append([]int{s.Server}, s.Extra...) }

// Snap is one sample of the processes and the machine. Sock is filled
// only by a caller that reads it (proc.ReadSockStat): Take leaves it zero.
type Snap struct {
	Server, Handler, Self proc.Sample
	Sock                  proc.SockStat
	Sys                   proc.CPUTimes
}

// Take samples the server (with Extra), the handler, this process and the
// machine's CPU times.
func (s Sampler) Take() (sn Snap, err error) {
	if s.Server > 0 {
		if sn.Server, err = proc.Take(s.Server); err != nil {
			return sn, fmt.Errorf("server pid %d: %w", s.Server, err)
		}
		for _, pid := range s.Extra {
			x, err := proc.Take(pid)
			if err != nil {
				return sn, fmt.Errorf("server pid %d: %w", pid, err)
			}
			sn.Server.CPU += x.CPU
			sn.Server.RSS += x.RSS
			sn.Server.Anon += x.Anon
			if sn.Server.ThreadCPU == nil {
				sn.Server.ThreadCPU = map[string]float64{}
			}
			for k, v := range x.ThreadCPU {
				sn.Server.ThreadCPU[k] += v
			}
		}
	}
	if s.Handler > 0 {
		if sn.Handler, err = proc.Take(s.Handler); err != nil {
			return sn, fmt.Errorf("handler pid %d: %w", s.Handler, err)
		}
	}
	sn.Sys, _ = proc.ReadCPUTimes()
	sn.Self, err = proc.Take(0)
	return sn, err
}

// Delta is what happened to a process between samples a and b; count
// (requests, messages; 0: none) gives the CPU per 100k.
func Delta(a, b proc.Sample, count int64) *result.ProcDelta {
	d := &result.ProcDelta{
		CPU: b.CPU - a.CPU, RSSBeforeKiB: a.RSS, RSSKiB: b.RSS, AnonKiB: b.Anon, PrivateKiB: b.Private,
		HWMKiB: b.HWM, Threads: b.Threads, Window: [2]float64{a.SinceRun, b.SinceRun},
	}
	for k, v := range b.ThreadCPU {
		if d.ThreadCPU == nil {
			d.ThreadCPU = map[string]float64{}
		}
		d.ThreadCPU[k] = v - a.ThreadCPU[k]
	}
	if wall := b.Time.Sub(a.Time).Seconds(); wall > 0 {
		d.CPUPct = 100 * d.CPU / wall
	}
	if count > 0 {
		d.CPUPer100k = d.CPU / float64(count) * 1e5
	}
	return d
}

// Deltas sets r's process deltas over the window a..b and the machine's
// load meanwhile.
func (s Sampler) Deltas(r *result.Result, a, b Snap, count int64) {
	if s.Server > 0 {
		r.Server = Delta(a.Server, b.Server, count)
		r.Server.PID = s.Server
	}
	if s.Handler > 0 {
		r.Handler = Delta(a.Handler, b.Handler, count)
		r.Handler.PID = s.Handler
	}
	r.Client = Delta(a.Self, b.Self, count)
	r.Client.PID = os.Getpid()
	// Everything else the machine did meanwhile: other processes (tests,
	// builds) make a benchmark on a small box noisy.
	if wall := b.Self.Time.Sub(a.Self.Time).Seconds(); wall > 0 {
		tck := float64(proc.ClkTck())
		task := float64(b.Sys.Task-a.Sys.Task) / tck
		ours := r.Client.CPU
		if r.Server != nil {
			ours += r.Server.CPU
		}
		if r.Handler != nil {
			ours += r.Handler.CPU
		}
		r.TaskCores = task / wall
		r.IRQCores = float64(b.Sys.IRQ-a.Sys.IRQ) / tck / wall
		r.OtherCores = max(0, task-ours) / wall
	}
}

// PerConn sets the memory per connection of a hold step that holds est
// connections: base was taken before any opened, a once they settled, b
// after the idle window. Nothing is set when est is 0; the server's
// figures only when it is sampled.
func (s Sampler) PerConn(r *result.Result, base, a, b Snap, est int64) {
	if est <= 0 {
		return
	}
	r.SelfPerConn = float64(b.Self.RSS-base.Self.RSS) * 1024 / float64(est)
	if s.Server > 0 {
		r.BaseRSSKiB, r.BaseAnonKiB = base.Server.RSS, base.Server.Anon
		r.RSSPerConn = float64(b.Server.RSS-base.Server.RSS) * 1024 / float64(est)
		r.AnonPerConn = float64(b.Server.Anon-base.Server.Anon) * 1024 / float64(est)
		r.RSSPerConnEst = float64(a.Server.RSS-base.Server.RSS) * 1024 / float64(est)
	}
}

// AboveWarm sets the server's memory and idle CPU per connection of a
// hold step r (est connections, sampled at b) above the warm-up step
// (warm, sampled at warmSnap): what each connection beyond the warm-up
// costs, without the one-time costs of the first traffic. Nothing is set
// when the server is not sampled or r holds no more than the warm-up.
func (s Sampler) AboveWarm(r, warm *result.Result, warmSnap, b Snap, est int64) {
	if s.Server <= 0 || est <= warm.Established {
		return
	}
	above := float64(est - warm.Established)
	r.RSSPerConnMarginal = float64(b.Server.RSS-warmSnap.Server.RSS) * 1024 / above
	r.AnonPerConnMarginal = float64(b.Server.Anon-warmSnap.Server.Anon) * 1024 / above
	r.IdleCPUPerConnMarginal = (r.Server.CPU - warm.Server.CPU) * 1e6 / above
}

// Warmup keeps the warm-up step of a hold run (-warm): its result and its
// last sample, which the later steps are measured above. The zero value
// has none yet.
type Warmup struct {
	res *result.Result
	at  Snap
}

// Done reports whether the warm-up step has been measured.
func (w *Warmup) Done() bool { return w.res != nil }

// Step ends hold step r (est connections, sampled at b): with warming (a
// -warm run) and no warm-up kept yet, r is the warm-up; after one, r gets
// its figures above it (AboveWarm).
func (w *Warmup) Step(s Sampler, r *result.Result, b Snap, est int64, warming bool) {
	if warming && w.res == nil {
		r.Warm = true
		w.res, w.at = r, b
		return
	}
	if w.res != nil {
		s.AboveWarm(r, w.res, w.at, b, est)
	}
}

// Human marks the human line of hold step r as the warm-up, or adds its
// figures above the warm-up.
func Human(r *result.Result, human string) string {
	if r.Warm {
		return "warm-up: " + human
	}
	if r.RSSPerConnMarginal != 0 {
		human += fmt.Sprintf("; above the warm-up: %.0f B/conn anon (%.0f rss), idle cpu %.2f us/conn",
			r.AnonPerConnMarginal, r.RSSPerConnMarginal, r.IdleCPUPerConnMarginal)
	}
	return human
}
