// Command loadgen drives condure (or any HTTP/WebSocket server on
// 127.0.0.0/8) for the benchmarks.
//
//	loadgen hold -n 1000,5000,15000 -kind http|ws -addr 127.0.0.1:PORT [-sources 127.0.0.2-127.0.0.60] [-idle 10s] [-d 0]
//	loadgen http -c 100 -d 10s -addr 127.0.0.1:PORT
//	loadgen ws   -c 1000 -d 10s -size 64 -addr 127.0.0.1:PORT
//
// hold opens connections in steps, each doing one exchange (an HTTP
// keep-alive GET, or a WebSocket handshake and one echo) and then staying
// idle. After each step it measures the server for -idle and prints a
// result; after the last it holds everything for -d (0: until SIGINT).
// http and ws run a closed loop on -c connections for -d after a -warmup.
//
// With -pid the server process is sampled from /proc (CPU, RSS) around the
// measured window; -hpid does the same for the handler. Each result is one
// JSON line on stdout; a human-readable line goes to stderr.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/condure-go/condure/bench/internal/proc"
	"github.com/condure-go/condure/bench/internal/result"
	"github.com/condure-go/condure/bench/internal/snap"
	"github.com/condure-go/condure/bench/internal/stats"
)

func usage() {
	fmt.Fprintln(os.Stderr, `usage: loadgen hold|http|ws [flags]   (loadgen CMD -h for flags)`)
	os.Exit(2)
}

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "hold":
		err = cmdHold(os.Args[2:])
	case "http":
		err = cmdLoad(modeHTTP, os.Args[2:])
	case "ws":
		err = cmdLoad(modeWS, os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

// common flags
type opts struct {
	addr    string
	sources string
	threads int
	pid     int
	hpid    int
	xpids   string // more server processes (nginx workers), comma list
	perf    string // perf binary for -syscalls ("": off)
	path    string
	label   string
}

func (o *opts) register(fs *flag.FlagSet, defSources string) {
	fs.StringVar(&o.addr, "addr", "127.0.0.1:8000", "server address (127.0.0.0/8 only)")
	fs.StringVar(&o.sources, "sources", defSources, "source addresses: A-B ranges and/or a comma list in 127.0.0.0/8; empty: kernel's choice")
	fs.IntVar(&o.threads, "t", 2, "event-loop threads")
	fs.IntVar(&o.pid, "pid", 0, "server pid to sample (CPU, RSS)")
	fs.IntVar(&o.hpid, "hpid", 0, "handler pid to sample (CPU)")
	fs.StringVar(&o.xpids, "xpids", "", "more server pids whose CPU is added to -pid's (a multi-process server such as nginx)")
	fs.StringVar(&o.perf, "syscalls", "", "http/ws: count the server's syscalls over the window with this perf binary (by kind and by thread)")
	fs.StringVar(&o.path, "path", "/", "request path")
	fs.StringVar(&o.label, "label", "", "free text copied into the JSON result")
}

func (o *opts) config(m mode, ws bool) (*config, error) {
	ip, port, err := parseTarget(o.addr)
	if err != nil {
		return nil, err
	}
	srcs, err := parseSources(o.sources)
	if err != nil {
		return nil, err
	}
	cfg := &config{mode: m, ws: ws, dst: unix.SockaddrInet4{Addr: ip, Port: port}, sources: srcs}
	cfg.msgs[msgRequest] = httpRequest(o.addr, o.path)
	cfg.msgs[msgHandshake] = wsHandshake(o.addr, o.path)
	return cfg, nil
}

// engine is a set of loops sharing a connection table.
type engine struct {
	loops   []*loop
	wg      sync.WaitGroup
	measure atomic.Bool
}

// startEngine starts the loops; maxConns sizes the fd-indexed table (fds
// are dense, so the connections plus some slack).
func startEngine(cfg *config, threads, maxConns int) (*engine, error) {
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &rl); err != nil {
		return nil, err
	}
	if rl.Cur < rl.Max { // Go raises it at start-up already; be sure
		rl.Cur = rl.Max
		unix.Setrlimit(unix.RLIMIT_NOFILE, &rl)
		unix.Getrlimit(unix.RLIMIT_NOFILE, &rl)
	}
	table := make([]conn, min(rl.Cur, uint64(maxConns)+4096))
	e := &engine{}
	for i := 0; i < max(threads, 1); i++ {
		l, err := newLoop(i, cfg, table, &e.measure)
		if err != nil {
			return nil, err
		}
		e.loops = append(e.loops, l)
	}
	for _, l := range e.loops {
		e.wg.Add(1)
		go l.run(&e.wg)
	}
	return e, nil
}

// setTarget spreads n over the loops.
func (e *engine) setTarget(n int) {
	k := len(e.loops)
	for i, l := range e.loops {
		t := n / k
		if i < n%k {
			t++
		}
		l.target.Store(int64(t))
	}
}

// redoAll asks every loop for one more exchange on each idle connection.
func (e *engine) redoAll() {
	for _, l := range e.loops {
		l.redo.Add(1)
	}
}

func (e *engine) sum(f func(*counters) *atomic.Int64) int64 {
	var s int64
	for _, l := range e.loops {
		s += f(&l.c).Load()
	}
	return s
}

func (e *engine) lastErr() string {
	for _, l := range e.loops {
		if v, ok := l.lastErr.Load().(string); ok {
			return v
		}
	}
	return ""
}

func (e *engine) stop() {
	for _, l := range e.loops {
		l.stop.Store(true)
	}
	e.wg.Wait()
}

// ---- measurement ----

// The JSON schema of a result line, shared with bench/report.
type (
	Result    = result.Result
	ProcDelta = result.ProcDelta
	Latency   = result.Latency
)

// newSampler samples -pid (with -xpids) and -hpid.
func newSampler(o *opts) (snap.Sampler, error) {
	s := snap.Sampler{Server: o.pid, Handler: o.hpid}
	for _, f := range strings.Split(o.xpids, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		pid, err := strconv.Atoi(f)
		if err != nil || pid <= 0 {
			return s, fmt.Errorf("bad -xpids %q", o.xpids)
		}
		s.Extra = append(s.Extra, pid)
	}
	return s, nil
}

func latency(h *stats.Hist) *Latency {
	us := func(v int64) float64 { return float64(v) / 1e3 }
	return &Latency{P50: us(h.Quantile(0.5)), P90: us(h.Quantile(0.9)), P99: us(h.Quantile(0.99)),
		P999: us(h.Quantile(0.999)), Max: us(h.Max()), Mean: h.Mean() / 1e3}
}

func emit(r *Result, human string) {
	b, _ := json.Marshal(r)
	os.Stdout.Write(append(b, '\n'))
	fmt.Fprintln(os.Stderr, human)
}

func serverHuman(d *ProcDelta) string {
	if d == nil {
		return ""
	}
	s := fmt.Sprintf("  server cpu %.2fs (%.0f%%) rss %.1f MiB", d.CPU, d.CPUPct, float64(d.RSSKiB)/1024)
	if d.CPUPer100k > 0 {
		s += fmt.Sprintf("  cpu/100k %.2fs", d.CPUPer100k)
	}
	return s
}

// ---- http / ws ----

func cmdLoad(m mode, args []string) error {
	name := map[mode]string{modeHTTP: "http", modeWS: "ws"}[m]
	fs := flag.NewFlagSet(name, flag.ExitOnError)
	var o opts
	o.register(fs, "")
	c := fs.Int("c", 100, "concurrent connections")
	d := fs.Duration("d", 10*time.Second, "measured duration")
	warm := fs.Duration("warmup", time.Second, "unmeasured run-in")
	size := fs.Int("size", 64, "ws: message size in bytes")
	deflate := fs.Bool("deflate", false, "ws: offer permessage-deflate as browsers do and send the message compressed (the echo is any size)")
	jsonMsg := fs.Bool("json", false, "ws: the message is JSON-like (compressible as applications' are) rather than letters")
	fs.Parse(args)
	if *c <= 0 || *d <= 0 {
		return fmt.Errorf("need -c > 0 and -d > 0")
	}
	cfg, err := o.config(m, m == modeWS)
	if err != nil {
		return err
	}
	if m == modeWS {
		msg := wsFrame(*size)
		if *jsonMsg {
			msg = wsFrameOf(jsonMessage(*size))
		}
		cfg.msgs[msgFrame] = msg
		cfg.size = int64(*size)
		if o.path == "/" {
			cfg.msgs[msgHandshake] = wsHandshake(o.addr, "/ws")
		}
		if *deflate {
			cfg.msgs[msgHandshake] = wsDeflateHandshake(cfg.msgs[msgHandshake])
			cfg.msgs[msgFrame] = wsDeflateFrame(*size)
			if *jsonMsg {
				cfg.msgs[msgFrame] = wsDeflateFrameOf(jsonMessage(*size))
			}
			cfg.size = -1
		}
	}
	e, err := startEngine(cfg, min(o.threads, *c), *c)
	if err != nil {
		return err
	}
	e.setTarget(*c)
	// Every connection finishes one exchange before the warm-up starts.
	for t0 := time.Now(); e.sum(func(c *counters) *atomic.Int64 { return &c.established }) < int64(*c); {
		if time.Since(t0) > 30*time.Second || (time.Since(t0) > 2*time.Second &&
			e.sum(func(c *counters) *atomic.Int64 { return &c.established }) == 0 && e.sum(func(c *counters) *atomic.Int64 { return &c.bad }) >= int64(*c)) {
			e.stop()
			return fmt.Errorf("only %d of %d connections got going (last error: %s)",
				e.sum(func(c *counters) *atomic.Int64 { return &c.established }), *c, e.lastErr())
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(*warm)
	smp, err := newSampler(&o)
	if err != nil {
		e.stop()
		return err
	}
	var perf *perfStat
	if o.perf != "" && o.pid > 0 {
		if perf, err = startPerfStat(o.perf, smp.Pids()); err != nil {
			e.stop()
			return err
		}
		defer perf.kill()
	}
	a, err := smp.Take()
	if err != nil {
		e.stop()
		return err
	}
	if perf != nil {
		if err := perf.command("enable"); err != nil {
			e.stop()
			return fmt.Errorf("perf enable: %w", err)
		}
	}
	reopen0 := e.sum(func(c *counters) *atomic.Int64 { return &c.opened })
	e.measure.Store(true)
	t0 := time.Now()
	time.Sleep(*d)
	e.measure.Store(false)
	el := time.Since(t0)
	var sysKind, sysThread map[string]int64
	if perf != nil {
		perf.command("disable")
		if sysKind, sysThread, err = perf.stop(); err != nil {
			e.stop()
			return err
		}
	}
	b, err := smp.Take()
	e.stop()
	if err != nil {
		return err
	}
	var h stats.Hist
	for _, l := range e.loops {
		h.Merge(&l.hist)
	}
	n := e.sum(func(c *counters) *atomic.Int64 { return &c.done })
	r := &Result{
		Kind: name, Proto: name, Label: o.label, Addr: o.addr, Conns: *c, Threads: len(e.loops), Duration: el.Seconds(),
		Count: n, Rate: float64(n) / el.Seconds(), Lat: latency(&h),
		Bad:      e.sum(func(c *counters) *atomic.Int64 { return &c.bad }),
		Reopened: e.sum(func(c *counters) *atomic.Int64 { return &c.opened }) - reopen0,
		Err:      e.lastErr(),
	}
	if m == modeWS {
		r.Size = *size
	}
	r.Syscalls, r.SyscallsByThread = sysKind, sysThread
	smp.Deltas(r, a, b, n)
	unit := "req"
	if m == modeWS {
		unit = "msg"
	}
	human := fmt.Sprintf("%s c=%d %.1fs: %d %s, %.0f %s/s  latency p50 %.0fµs p90 %.0fµs p99 %.0fµs max %.0fµs  bad %d reopened %d",
		name, *c, el.Seconds(), n, unit, r.Rate, unit, r.Lat.P50, r.Lat.P90, r.Lat.P99, r.Lat.Max, r.Bad, r.Reopened) + serverHuman(r.Server)
	if r.Err != "" {
		human += "  last error: " + r.Err
	}
	emit(r, human)
	if n == 0 {
		return fmt.Errorf("no %s completed (last error: %s)", unit, r.Err)
	}
	return nil
}

// ---- hold ----

// warmRounds: exchanges repeated over the warm-up connections.
const warmRounds = 8

func cmdHold(args []string) error {
	fs := flag.NewFlagSet("hold", flag.ExitOnError)
	var o opts
	o.register(fs, "127.0.0.2-127.0.0.60")
	ns := fs.String("n", "1000", "connections, or increasing steps: 1000,5000,15000")
	kind := fs.String("kind", "http", "http or ws")
	idle := fs.Duration("idle", 10*time.Second, "measured idle time after each step")
	settle := fs.Duration("settle", time.Second, "pause between the last handshake of a step and the first sample")
	d := fs.Duration("d", 0, "hold time after the last step (0: until SIGINT/SIGTERM)")
	timeout := fs.Duration("timeout", 120*time.Second, "give up on a step after this long")
	inflight := fs.Int("inflight", 512, "handshakes in progress at once")
	refresh := fs.Duration("refresh", 0, "redo the exchange on each idle connection this often (0: never), e.g. to outlive a 60 s idle limit")
	size := fs.Int("size", 16, "ws: echo message size")
	deflate := fs.Bool("deflate", false, "ws: offer permessage-deflate as browsers do and send the message compressed (the echo is any size)")
	warm := fs.Int("warm", 0, "connections opened (and held) before the first step; marginal figures are measured above them")
	openings := fs.Int("warm-openings", 1024, "with -warm: short-lived connections (8 at a time) run before the warm-up, so the server's per-opening one-time costs are paid")
	fs.Parse(args)
	steps, err := parseCounts(*ns)
	if err != nil {
		return err
	}
	if *warm > 0 {
		if *warm >= steps[0] {
			return fmt.Errorf("-warm %d must be below the first step %d", *warm, steps[0])
		}
		steps = append([]int{*warm}, steps...)
	}
	if *kind != "http" && *kind != "ws" {
		return fmt.Errorf("-kind must be http or ws")
	}
	ws := *kind == "ws"
	cfg, err := o.config(modeHold, ws)
	if err != nil {
		return err
	}
	if ws {
		cfg.msgs[msgFrame] = wsFrame(*size)
		cfg.size = int64(*size)
		if o.path == "/" {
			cfg.msgs[msgHandshake] = wsHandshake(o.addr, "/ws")
		}
		if *deflate {
			cfg.msgs[msgHandshake] = wsDeflateHandshake(cfg.msgs[msgHandshake])
			cfg.msgs[msgFrame] = wsDeflateFrame(*size)
			cfg.size = -1
		}
	}
	cfg.refresh = *refresh
	cfg.inflight = max(1, *inflight/max(o.threads, 1))
	if len(cfg.sources) > 0 {
		// ~28k ephemeral ports per (source, destination) pair.
		if max := len(cfg.sources) * 28000; steps[len(steps)-1] > max {
			fmt.Fprintf(os.Stderr, "warning: %d connections from %d source addresses may exhaust ephemeral ports\n", steps[len(steps)-1], len(cfg.sources))
		}
	}
	if !ws && *refresh == 0 && (*d == 0 || *d > 50*time.Second) {
		fmt.Fprintln(os.Stderr, "note: condure closes idle HTTP connections 60 s after their last response; -refresh 30s keeps them open")
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)

	smp, err := newSampler(&o)
	if err != nil {
		return err
	}
	base, err := smp.Take()
	if err != nil {
		return err
	}
	base.Sock, _ = proc.ReadSockStat()
	e, err := startEngine(cfg, o.threads, steps[len(steps)-1])
	if err != nil {
		return err
	}
	defer e.stop()
	get := func(f func(*counters) *atomic.Int64) int64 { return e.sum(f) }
	// The warm-up step pays the one-time costs of a server's first traffic
	// (allocator high-water of the opening burst, first-use pages): above it,
	// RSS and idle CPU grow only with the connections themselves.
	var wu snap.Warmup
	// open sets the target to n and waits until every connection is
	// established or failed; it returns how long that took.
	open := func(n int) (time.Duration, error) {
		t0 := time.Now()
		e.setTarget(n)
		lastPrint := t0
		for {
			est := get(func(c *counters) *atomic.Int64 { return &c.established })
			failed := get(func(c *counters) *atomic.Int64 { return &c.failed })
			if est+failed >= int64(n) {
				break
			}
			if time.Since(t0) > *timeout {
				fmt.Fprintf(os.Stderr, "step %d: timed out with %d established, %d failed\n", n, est, failed)
				break
			}
			if time.Since(lastPrint) >= 5*time.Second {
				lastPrint = time.Now()
				fmt.Fprintf(os.Stderr, "  ... %d/%d established, %d failed (%s)\n", est, n, failed, e.lastErr())
			}
			select {
			case <-sig:
				return 0, fmt.Errorf("interrupted")
			case <-time.After(20 * time.Millisecond):
			}
		}
		if get(func(c *counters) *atomic.Int64 { return &c.established }) == 0 {
			return 0, fmt.Errorf("step %d: no connection established (last error: %s)", n, e.lastErr())
		}
		return time.Since(t0), nil
	}
	// bursts repeats the exchange on every open connection, all at once,
	// warmRounds times.
	bursts := func() {
		est := get(func(c *counters) *atomic.Int64 { return &c.established })
		for round := 0; round < warmRounds; round++ {
			want := get(func(c *counters) *atomic.Int64 { return &c.refreshed }) + est
			e.redoAll()
			for deadline := time.Now().Add(*timeout); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
				if get(func(c *counters) *atomic.Int64 { return &c.refreshed }) >= want {
					break
				}
			}
		}
	}
	if *warm > 0 && *openings > 0 {
		if err := warmOpenings(o.addr, ws, *openings, 8); err != nil {
			return err
		}
	}
	for _, n := range steps {
		estTime, err := open(n)
		if err != nil {
			return err
		}
		if *warm > 0 && !wu.Done() {
			bursts()
		}
		time.Sleep(*settle)
		a, err := smp.Take()
		if err != nil {
			return err
		}
		select {
		case <-sig:
			return fmt.Errorf("interrupted")
		case <-time.After(*idle):
		}
		b, err := smp.Take()
		if err != nil {
			return err
		}
		b.Sock, _ = proc.ReadSockStat()
		est := get(func(c *counters) *atomic.Int64 { return &c.established })
		r := &Result{
			Kind: "hold", Proto: *kind, Label: o.label, Addr: o.addr, Conns: n, Threads: len(e.loops), Duration: idle.Seconds(),
			Established: est,
			Failed:      get(func(c *counters) *atomic.Int64 { return &c.failed }),
			Closed:      get(func(c *counters) *atomic.Int64 { return &c.closed }),
			Refreshed:   get(func(c *counters) *atomic.Int64 { return &c.refreshed }),
			Bad:         get(func(c *counters) *atomic.Int64 { return &c.bad }),
			EstablishS:  estTime.Seconds(),
			Err:         e.lastErr(),
		}
		if ws {
			r.Size = *size
		}
		smp.Deltas(r, a, b, 0)
		smp.PerConn(r, base, a, b, est)
		if est > 0 {
			r.TCPInUse = b.Sock.InUse
			r.TCPMemPerConn = float64(b.Sock.MemPages-base.Sock.MemPages) * float64(os.Getpagesize()) / float64(est)
		}
		wu.Step(smp, r, b, est, *warm > 0)
		human := fmt.Sprintf("hold %s n=%d: %d established in %.2fs, %d failed, %d closed by server; loadgen %.0f B/conn",
			*kind, n, est, estTime.Seconds(), r.Failed, r.Closed, r.SelfPerConn)
		human = snap.Human(r, human)
		if r.Server != nil {
			human += fmt.Sprintf("; server rss %.1f MiB (base %.1f), %.0f B/conn, idle cpu %.3fs in %s",
				float64(b.Server.RSS)/1024, float64(base.Server.RSS)/1024, r.RSSPerConn, r.Server.CPU, idle.String())
		}
		if r.Err != "" {
			human += "; last error: " + r.Err
		}
		emit(r, human)
	}
	total := steps[len(steps)-1]
	fmt.Fprintf(os.Stderr, "steps done: %d of %d connections established; holding %s\n",
		get(func(c *counters) *atomic.Int64 { return &c.established }), total, holdText(*d))
	var deadline <-chan time.Time
	if *d > 0 {
		deadline = time.After(*d)
	}
	status := time.NewTicker(10 * time.Second)
	defer status.Stop()
	lastClosed := get(func(c *counters) *atomic.Int64 { return &c.closed })
wait:
	for {
		select {
		case <-sig:
			break wait
		case <-deadline:
			break wait
		case <-status.C:
			if cl := get(func(c *counters) *atomic.Int64 { return &c.closed }); cl != lastClosed {
				lastClosed = cl
				fmt.Fprintf(os.Stderr, "  %d open, %d closed by the server so far\n", get(func(c *counters) *atomic.Int64 { return &c.live }), cl)
			}
		}
	}
	fmt.Fprintf(os.Stderr, "releasing: %d still open, %d closed by server\n",
		get(func(c *counters) *atomic.Int64 { return &c.live }), get(func(c *counters) *atomic.Int64 { return &c.closed }))
	return nil
}

func holdText(d time.Duration) string {
	if d <= 0 {
		return "until SIGINT"
	}
	return "for " + d.String()
}
