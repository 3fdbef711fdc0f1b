package main

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/condure-go/condure/bench/internal/result"
)

// Sections (f)-(h): CPU per request beside nginx `return 200` (the floor),
// and where it goes: the server's syscalls by kind and its CPU by thread,
// per request (per message for the WebSocket echo).

type loadScn struct {
	label, scn string
	match      func(*record) bool
}

func (r *runner) loadScns() []loadScn {
	var out []loadScn
	for _, scn := range []string{"http", "req"} {
		if !r.o.only[scn] {
			continue
		}
		for _, w := range r.o.workers {
			w := w
			out = append(out, loadScn{fmt.Sprintf("HTTP %s workers=%d", map[string]string{"http": "stream", "req": "req"}[scn], w), scn, func(rec *record) bool { return rec.Workers == w }})
		}
	}
	if r.o.only["ws"] {
		for _, w := range r.o.wsWorkers {
			w := w
			out = append(out, loadScn{fmt.Sprintf("WS echo/msg workers=%d", w), "ws", func(rec *record) bool { return rec.Workers == w }})
		}
	}
	return out
}

func (r *runner) serverNames() []string {
	var out []string
	for _, s := range r.servers {
		out = append(out, s.name)
	}
	return out
}

var displayName = map[string]string{"ours": "ours", "base": "base", "ref": "reference", "nginx": "nginx"}

// floorTable is (f).
func (r *runner) floorTable(t *tableWriter) {
	scns := r.loadScns()
	if len(scns) == 0 {
		return
	}
	names := r.serverNames()
	fmt.Fprintf(&t.b, "\n(f) server CPU µs per request, same run (nginx: `return 200` itself, the floor)\n  %-30s", "")
	for _, n := range names {
		fmt.Fprintf(&t.b, " %14s", displayName[n])
	}
	for _, n := range names[1:] {
		fmt.Fprintf(&t.b, " %11s", "ours/"+n)
	}
	t.b.WriteString("\n")
	cpu := srvM(func(d *result.ProcDelta) float64 { return d.CPUPer100k * 10 }) // s/100k = 10 µs/request
	for _, sc := range scns {
		fmt.Fprintf(&t.b, "  %-30s", sc.label)
		var means []float64
		for _, n := range names {
			v := r.vals(sc.scn, n, sc.match, cpu)
			means = append(means, mean(v))
			fmt.Fprintf(&t.b, " %14s", cell(v))
		}
		for i := range names[1:] {
			ratio := "-"
			if d := means[i+1]; d > 0 && !math.IsNaN(d) && !math.IsNaN(means[0]) {
				ratio = fmt.Sprintf("%.2f", means[0]/d)
			}
			fmt.Fprintf(&t.b, " %11s", ratio)
		}
		t.b.WriteString("\n")
	}
	fmt.Fprintf(&t.b, "  latency p50 / p99 ms\n")
	for _, sc := range scns {
		fmt.Fprintf(&t.b, "  %-30s", sc.label)
		for _, n := range names {
			p50 := r.vals(sc.scn, n, sc.match, latM(func(p50, _ float64) float64 { return p50 / 1000 }))
			p99 := r.vals(sc.scn, n, sc.match, latM(func(_, p99 float64) float64 { return p99 / 1000 }))
			c := "-"
			if len(p50) > 0 {
				c = num(mean(p50)) + " / " + num(mean(p99))
			}
			fmt.Fprintf(&t.b, " %14s", c)
		}
		t.b.WriteString("\n")
	}
}

// perRequest is a breakdown of one record divided by its count.
type perRequest func(rec *record) map[string]float64

func sysPerReq(rec *record) map[string]float64 {
	if rec.Result.Syscalls == nil || rec.Result.Count == 0 {
		return nil
	}
	out := map[string]float64{}
	n := float64(rec.Result.Count)
	listed := int64(0)
	for k, v := range rec.Result.Syscalls {
		out[k] = float64(v) / n
		if k != "total" {
			listed += v
		}
	}
	out["(other)"] = float64(rec.Result.Syscalls["total"]-listed) / n
	for k, v := range rec.Result.SyscallsByThread {
		out["thread "+k] = float64(v) / n
	}
	return out
}

func threadCPUPerReq(rec *record) map[string]float64 {
	if rec.Result.Server == nil || rec.Result.Server.ThreadCPU == nil || rec.Result.Count == 0 {
		return nil
	}
	out := map[string]float64{}
	for k, v := range rec.Result.Server.ThreadCPU {
		out[k] = v / float64(rec.Result.Count) * 1e6
	}
	return out
}

// breakdown writes one block per load scenario: a row per key, a column
// per server; rows under min for every server are left out.
func (r *runner) breakdown(t *tableWriter, title string, f perRequest, min float64) {
	names := r.serverNames()
	any := false
	for _, sc := range r.loadScns() {
		vals := map[string]map[string][]float64{} // key -> server -> rounds
		for _, n := range names {
			for i := range r.recs {
				rec := &r.recs[i]
				if rec.Scenario != sc.scn || rec.Server != n || rec.Error != "" || rec.Result == nil || (sc.match != nil && !sc.match(rec)) {
					continue
				}
				for k, v := range f(rec) {
					if vals[k] == nil {
						vals[k] = map[string][]float64{}
					}
					vals[k][n] = append(vals[k][n], v)
				}
			}
		}
		if len(vals) == 0 {
			continue
		}
		if !any {
			fmt.Fprintf(&t.b, "\n%s\n", title)
			any = true
		}
		fmt.Fprintf(&t.b, "  %-30s", sc.label)
		for _, n := range names {
			fmt.Fprintf(&t.b, " %14s", displayName[n])
		}
		t.b.WriteString("\n")
		var keys []string
		for k, byS := range vals {
			keep := false
			for _, v := range byS {
				keep = keep || mean(v) >= min
			}
			if keep {
				keys = append(keys, k)
			}
		}
		// total first, then threads, then kinds by our count, largest first
		rank := func(k string) int {
			switch {
			case k == "total":
				return 0
			case strings.HasPrefix(k, "thread "):
				return 1
			case k == "(other)":
				return 3
			}
			return 2
		}
		sort.Slice(keys, func(i, j int) bool {
			a, b := keys[i], keys[j]
			if rank(a) != rank(b) {
				return rank(a) < rank(b)
			}
			va, vb := mean(vals[a]["ours"]), mean(vals[b]["ours"])
			if math.IsNaN(va) {
				va = -1
			}
			if math.IsNaN(vb) {
				vb = -1
			}
			if va != vb {
				return va > vb
			}
			return a < b
		})
		for _, k := range keys {
			fmt.Fprintf(&t.b, "    %-28s", k)
			for _, n := range names {
				fmt.Fprintf(&t.b, " %14s", cell(vals[k][n]))
			}
			t.b.WriteString("\n")
		}
	}
}
