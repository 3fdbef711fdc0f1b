package main

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/condure-go/condure/bench/internal/result"
)

// metric extracts one number from a record; ok is false when it has none.
type metric func(rec *record) (float64, bool)

// vals collects a metric over the rounds of one scenario and server.
func (r *runner) vals(scn, srv string, match func(*record) bool, m metric) []float64 {
	var out []float64
	for i := range r.recs {
		rec := &r.recs[i]
		if rec.Scenario != scn || rec.Server != srv || rec.Error != "" || rec.Result == nil {
			continue
		}
		if match != nil && !match(rec) {
			continue
		}
		if v, ok := m(rec); ok && !math.IsNaN(v) {
			out = append(out, v)
		}
	}
	return out
}

func mean(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := 0.0
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

// spread is half the min–max range relative to the mean, in percent.
func spread(v []float64) float64 {
	if len(v) < 2 {
		return 0
	}
	lo, hi := v[0], v[0]
	for _, x := range v {
		lo, hi = min(lo, x), max(hi, x)
	}
	m := mean(v)
	if m == 0 {
		return 0
	}
	return 50 * (hi - lo) / math.Abs(m)
}

func num(v float64) string {
	switch a := math.Abs(v); {
	case math.IsNaN(v):
		return "n/a"
	case a >= 10000:
		return commas(int64(math.Round(v)))
	case a >= 100:
		return fmt.Sprintf("%.0f", v)
	case a >= 10:
		return fmt.Sprintf("%.1f", v)
	case a >= 1:
		return fmt.Sprintf("%.2f", v)
	case a == 0:
		return "0"
	default:
		return fmt.Sprintf("%.3f", v)
	}
}

func commas(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func cell(v []float64) string {
	if len(v) == 0 {
		return "n/a"
	}
	s := num(mean(v))
	if sp := spread(v); sp >= 0.5 {
		s += fmt.Sprintf(" ±%.0f%%", sp)
	}
	return s
}

type tableWriter struct {
	b      strings.Builder
	hasRef bool
}

func (t *tableWriter) head(title string) {
	fmt.Fprintf(&t.b, "\n%s\n", title)
	if t.hasRef {
		fmt.Fprintf(&t.b, "  %-46s %16s %16s %9s  %s\n", "", "ours", "reference", "ours/ref", "better")
	} else {
		fmt.Fprintf(&t.b, "  %-46s %16s  %s\n", "", "ours", "better")
	}
}

func (t *tableWriter) row(label string, ours, ref []float64, better string) {
	if !t.hasRef {
		fmt.Fprintf(&t.b, "  %-46s %16s  %s\n", label, cell(ours), better)
		return
	}
	ratio := "-"
	if len(ours) > 0 && len(ref) > 0 && mean(ref) != 0 {
		ratio = fmt.Sprintf("%.2f", mean(ours)/mean(ref))
	}
	fmt.Fprintf(&t.b, "  %-46s %16s %16s %9s  %s\n", label, cell(ours), cell(ref), ratio, better)
}

func (r *runner) both(scn string, match func(*record) bool, m metric) (ours, ref []float64) {
	return r.vals(scn, "ours", match, m), r.vals(scn, "ref", match, m)
}

func srvM(f func(*result.ProcDelta) float64) metric {
	return func(rec *record) (float64, bool) {
		if rec.Result.Server == nil {
			return 0, false
		}
		return f(rec.Result.Server), true
	}
}

func latM(f func(p50, p99 float64) float64) metric {
	return func(rec *record) (float64, bool) {
		if rec.Result.Lat == nil {
			return 0, false
		}
		return f(rec.Result.Lat.P50, rec.Result.Lat.P99), true
	}
}

var rateM metric = func(rec *record) (float64, bool) { return rec.Result.Rate, rec.Result.Count > 0 }

func gcM(f func(rec *record) float64) metric {
	return func(rec *record) (float64, bool) {
		if rec.GC == nil {
			return 0, false
		}
		return f(rec), true
	}
}

func (r *runner) table() string {
	o := r.o
	t := &tableWriter{hasRef: len(r.servers) > 1}
	fmt.Fprintf(&t.b, "condure-go benchmark report, %s (%s)\n", time.Now().Format("2006-01-02 15:04"), r.elapsed.Round(time.Second))
	fmt.Fprintf(&t.b, "host: %s\n", hostLine())
	for _, s := range r.servers {
		fmt.Fprintf(&t.b, "%-4s %s (%s)\n", s.name+":", s.bin, version(s.bin))
	}
	fmt.Fprintf(&t.b, "handler %s, load %s (%d threads); %d round(s), servers alternated; values are means, ±half the range over rounds\n",
		o.handler, o.loadgen, o.threads, o.rounds)

	if o.only["http"] {
		t.head(fmt.Sprintf("(a) HTTP keep-alive load, c=%d, %s", o.httpC, o.httpD))
		for _, w := range o.workers {
			w := w
			wm := func(rec *record) bool { return rec.Workers == w }
			p := fmt.Sprintf("workers=%d ", w)
			a, b := r.both("http", wm, rateM)
			t.row(p+"requests/s", a, b, "higher")
			a, b = r.both("http", wm, srvM(func(d *result.ProcDelta) float64 { return d.CPUPer100k }))
			t.row(p+"server CPU s/100k requests", a, b, "lower")
			a, b = r.both("http", wm, latM(func(p50, _ float64) float64 { return p50 / 1000 }))
			t.row(p+"latency p50 ms", a, b, "lower")
			a, b = r.both("http", wm, latM(func(_, p99 float64) float64 { return p99 / 1000 }))
			t.row(p+"latency p99 ms", a, b, "lower")
		}
	}
	for _, kind := range []string{"http", "ws"} {
		if !o.only["idle-"+kind] {
			continue
		}
		letter := map[string]string{"http": "(b) idle HTTP", "ws": "(c) idle WebSocket"}[kind]
		t.head(fmt.Sprintf("%s connections (2 workers), server measured over %s idle", letter, o.idle))
		scn := "idle-" + kind
		r.idleRows(t, scn, "loadgen", o.steps)
		if w := o.warmConns(); w > 0 {
			fmt.Fprintf(&t.b, "  (bytes/conn: (RSS - RSS before any connection) / N. Above the warm-up: (anonymous RSS - the\n"+
				"  same with %d connections open and used, after 1024 short-lived ones) / (N - %d): what each further\n"+
				"  connection costs, without one-time costs of the first traffic or executable pages the kernel maps\n"+
				"  64 KiB at a time when code first runs. Idle CPU from schedstat.)\n", w, w)
		}
	}
	if o.only["ws"] {
		t.head(fmt.Sprintf("(d) WebSocket echo, c=%d, %d-byte messages, %s (2 workers)", o.wsC, o.wsSize, o.wsD))
		a, b := r.both("ws", nil, rateM)
		t.row("messages/s", a, b, "higher")
		a, b = r.both("ws", nil, srvM(func(d *result.ProcDelta) float64 { return d.CPUPer100k }))
		t.row("server CPU s/100k messages", a, b, "lower")
		a, b = r.both("ws", nil, latM(func(p50, _ float64) float64 { return p50 / 1000 }))
		t.row("round trip p50 ms", a, b, "lower")
		a, b = r.both("ws", nil, latM(func(_, p99 float64) float64 { return p99 / 1000 }))
		t.row("round trip p99 ms", a, b, "lower")
	}
	if o.only["http"] || o.only["ws"] {
		t.b.WriteString("\n(e) GC of our server under load (GODEBUG=gctrace=1)\n")
		fmt.Fprintf(&t.b, "  %-24s %9s %10s %10s %10s %14s\n", "", "cycles/s", "pause p50", "pause p99", "pause max", "GC CPU share")
		gcRow := func(label, scn string, match func(*record) bool) {
			cyc := r.vals(scn, "ours", match, gcM(func(rec *record) float64 { return float64(rec.GC.Cycles) / rec.Result.Duration }))
			p50 := r.vals(scn, "ours", match, gcM(func(rec *record) float64 { return rec.GC.PauseP50ms }))
			p99 := r.vals(scn, "ours", match, gcM(func(rec *record) float64 { return rec.GC.PauseP99ms }))
			pmax := r.vals(scn, "ours", match, gcM(func(rec *record) float64 { return rec.GC.PauseMaxms }))
			frac := r.vals(scn, "ours", match, gcM(func(rec *record) float64 { return 100 * rec.GC.CPUFraction }))
			if len(cyc) == 0 {
				fmt.Fprintf(&t.b, "  %-24s %9s\n", label, "n/a")
				return
			}
			fmt.Fprintf(&t.b, "  %-24s %9s %8s ms %8s ms %8s ms %13s%%\n", label, num(mean(cyc)), num(mean(p50)), num(mean(p99)), num(maxOf(pmax)), num(mean(frac)))
		}
		if o.only["http"] {
			for _, w := range o.workers {
				w := w
				gcRow(fmt.Sprintf("HTTP load, workers=%d", w), "http", func(rec *record) bool { return rec.Workers == w })
			}
		}
		if o.only["ws"] {
			gcRow("WebSocket echo", "ws", nil)
		}
		t.b.WriteString("  (pause = STW sweep termination + mark termination; GC CPU share = GC CPU without idle marking / server CPU)\n")
	}
	r.floorTable(t)
	r.breakdown(t, "(g) server syscalls per request (WebSocket: per message), by kind and by thread (perf stat, same window)", sysPerReq, 0.005)
	r.breakdown(t, "(h) server CPU µs per request (WebSocket: per message), by thread", threadCPUPerReq, 0.05)
	r.tlsTable(t)
	// Problems, one line per distinct message with the rounds it hit.
	type problem struct {
		key    string
		rounds []string
	}
	var probs []*problem
	byKey := map[string]*problem{}
	for _, rec := range r.recs {
		msg := ""
		switch {
		case rec.Error != "":
			msg = rec.Error
		case rec.Result != nil && rec.Result.Kind == "hold" && (rec.Result.Failed > 0 || rec.Result.Closed > 0):
			msg = fmt.Sprintf("N=%d: %d failed, %d closed by the server (%s)", rec.Result.Conns, rec.Result.Failed, rec.Result.Closed, rec.Result.Err)
		case rec.Result != nil && rec.Result.Bad > 0:
			msg = fmt.Sprintf("%d bad responses (%s)", rec.Result.Bad, rec.Result.Err)
		case rec.Result != nil && rec.Result.OtherCores > busyWarn:
			msg = fmt.Sprintf("%s: other processes used %.2f cores meanwhile", what(&rec), rec.Result.OtherCores)
		}
		if msg == "" {
			continue
		}
		key := rec.Scenario + " " + rec.Server + ": " + msg
		p := byKey[key]
		if p == nil {
			p = &problem{key: key}
			byKey[key] = p
			probs = append(probs, p)
		}
		p.rounds = append(p.rounds, fmt.Sprint(rec.Round))
	}
	if len(probs) > 0 {
		t.b.WriteString("\nproblems:\n")
		for _, p := range probs {
			fmt.Fprintf(&t.b, "  %s (round %s)\n", p.key, strings.Join(p.rounds, ", "))
		}
	}
	return t.b.String()
}

// idleRows are the rows of an idle section (scenario scn), per step.
func (r *runner) idleRows(t *tableWriter, scn, client string, steps []int) {
	for _, n := range steps {
		n := n
		nm := func(rec *record) bool { return rec.Result.Conns == n && rec.Result.Established > 0 }
		p := fmt.Sprintf("N=%-7d ", n)
		a, b := r.both(scn, nm, func(rec *record) (float64, bool) { return rec.Result.RSSPerConn, true })
		t.row(p+"server RSS bytes/conn", a, b, "lower")
		a, b = r.both(scn, nm, func(rec *record) (float64, bool) {
			return rec.Result.AnonPerConnMarginal, rec.Result.AnonPerConnMarginal != 0
		})
		t.row(p+"  anon bytes/conn above the warm-up", a, b, "lower")
		a, b = r.both(scn, nm, srvM(func(d *result.ProcDelta) float64 { return float64(d.RSSKiB) / 1024 }))
		t.row(p+"server RSS MiB", a, b, "lower")
		a, b = r.both(scn, nm, srvM(func(d *result.ProcDelta) float64 { return d.CPU * 1000 }))
		t.row(p+"server CPU ms while idle", a, b, "lower")
		a, b = r.both(scn, nm, func(rec *record) (float64, bool) {
			return rec.Result.IdleCPUPerConnMarginal, rec.Result.AnonPerConnMarginal != 0
		})
		t.row(p+"  idle CPU us/conn above the warm-up", a, b, "lower")
		a, b = r.both(scn, nm, func(rec *record) (float64, bool) { return rec.Result.EstablishS, true })
		t.row(p+"time to open all, s", a, b, "lower")
	}
	a, b := r.both(scn, func(rec *record) bool { return rec.Result.Conns == steps[len(steps)-1] },
		func(rec *record) (float64, bool) { return rec.Result.SelfPerConn, rec.Result.Established > 0 })
	t.row(client+" RSS bytes/conn (at max N)", a, b, "")
}

func maxOf(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	m := v[0]
	for _, x := range v {
		m = max(m, x)
	}
	return m
}

// busyWarn is the CPU (in cores) other processes may use during a
// measurement before the report flags it as disturbed.
const busyWarn = 0.15

func what(rec *record) string {
	switch rec.Scenario {
	case "http":
		return fmt.Sprintf("workers=%d", rec.Workers)
	case "idle-http", "idle-ws", "idle-https", "idle-wss":
		return fmt.Sprintf("N=%d", rec.Result.Conns)
	}
	return rec.Scenario
}
