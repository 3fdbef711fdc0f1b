// Command report runs the standard benchmark scenarios (make bench) on this
// machine for our server and, when it exists, for the reference condure,
// alternating the two (A B A B), and writes a report table, the raw JSON
// results and an SVG chart.
//
// Scenarios:
//
//	http     HTTP keep-alive load (c=100, 10 s) with 1 and 2 workers: req/s,
//	         server CPU per 100k requests, p50/p99
//	idle-http idle HTTP connections at N = 1000, 5000, 15000: server RSS per
//	         connection and server CPU while idle
//	idle-ws  idle WebSocket connections at the same N
//	ws       WebSocket echo with 1000 connections: msgs/s, p99, CPU per 100k
//	gc       (from the http and ws runs of our server, which runs with
//	         GODEBUG=gctrace=1) GC pause p99 and GC CPU fraction under load
//
// Every server gets bench/echohandler as its handler (stream mode over ipc)
// and is driven by bench/loadgen, which samples it from /proc.
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/condure-go/condure/bench/internal/gctrace"
	"github.com/condure-go/condure/bench/internal/result"
)

type options struct {
	ours, ref, loadgen, handler, out string
	oursArgs, refArgs                string // extra server flags, space-separated
	rounds                           int
	steps                            []int
	warm                             int
	inflight                         int
	sources                          string
	httpC                            int
	httpD, idle, wsD, refresh        time.Duration
	workers                          []int
	wsC, wsSize                      int
	only                             map[string]bool
	port                             int
	threads                          int
	nginx                            string // nginx binary for the floor in (a) ("": none)
	perf                             string // perf binary counting syscalls in the load runs ("": none)
	// TLS sections (tls.go)
	tlsload                  string
	tlsIdle, tlsSettle, tlsD time.Duration
	tlsRounds, tlsC, tlsHS   int
	tlsOpenings              int
	tlsSteps                 []int
}

func main() {
	var o options
	var steps, workers, only string
	flag.StringVar(&o.ours, "server", "bin/condure", "our server binary")
	flag.StringVar(&o.ref, "ref", "/usr/bin/condure", "reference condure binary (skipped when missing; \"\" to skip)")
	flag.StringVar(&o.oursArgs, "server-args", "", "extra flags for our server, space-separated (e.g. \"--prometheus 127.0.0.1:19099\")")
	flag.StringVar(&o.refArgs, "ref-args", "", "extra flags for the reference server, space-separated")
	flag.StringVar(&o.loadgen, "loadgen", "bin/loadgen", "loadgen binary")
	flag.StringVar(&o.handler, "handler", "bin/echohandler", "handler binary")
	flag.StringVar(&o.out, "out", "bench/results", "output directory")
	flag.IntVar(&o.rounds, "rounds", 2, "rounds (each runs every server once per scenario, alternating)")
	flag.StringVar(&steps, "conns", envOr("CONNS", "15000"), "idle connection counts: a list, or one N meaning N/15,N/3,N ($CONNS)")
	flag.IntVar(&o.warm, "warm", 256, "idle runs: connections opened before the first step; per-connection figures are also given above them (0: none)")
	flag.IntVar(&o.inflight, "inflight", 64, "idle runs: handshakes in progress at once while opening a step (the warm-up's bursts are larger, so a step's opening does not raise the allocators' high-water)")
	flag.StringVar(&o.sources, "sources", envOr("SOURCES", "127.0.0.2-127.0.0.60"), "client source addresses ($SOURCES)")
	flag.IntVar(&o.httpC, "http-c", 100, "HTTP load connections")
	flag.DurationVar(&o.httpD, "http-d", 10*time.Second, "HTTP load duration")
	flag.StringVar(&workers, "workers", "1,2", "worker counts for the HTTP load")
	flag.DurationVar(&o.idle, "idle", 10*time.Second, "idle measurement per step")
	flag.DurationVar(&o.refresh, "refresh", -1, "hold: redo the exchange on idle HTTP connections this often (-1: 30s above 20000 connections, else never)")
	flag.IntVar(&o.wsC, "ws-c", 1000, "WebSocket echo connections")
	flag.DurationVar(&o.wsD, "ws-d", 10*time.Second, "WebSocket echo duration")
	flag.IntVar(&o.wsSize, "ws-size", 64, "WebSocket message size")
	flag.StringVar(&only, "only", "http,idle-http,idle-ws,ws,idle-https,idle-wss,tls", "scenarios to run")
	flag.StringVar(&o.tlsload, "tlsload", "bin/tlsload", "TLS load tool (the idle-https, idle-wss and tls scenarios)")
	flag.DurationVar(&o.tlsIdle, "tls-idle", time.Second, "idle-https/idle-wss: idle measurement per step")
	flag.DurationVar(&o.tlsSettle, "tls-settle", 11*time.Second, "idle-https/idle-wss: pause before a step's first sample: ours trims the handshakes' garbage at most 11 s after a burst (one trim per 10 s; one may come mid-burst on a loaded machine)")
	flag.IntVar(&o.tlsRounds, "tls-rounds", 1, "rounds of the TLS scenarios")
	tlsConns := flag.String("tls-conns", "", "idle-https/idle-wss: connection counts as -conns (default: -conns's), e.g. 1000,15000 for a shorter run")
	flag.IntVar(&o.tlsOpenings, "tls-openings", 256, "idle-https/idle-wss: short-lived connections before the warm-up")
	flag.IntVar(&o.tlsC, "tls-c", 50, "tls: keep-alive HTTPS connections")
	flag.DurationVar(&o.tlsD, "tls-d", 4*time.Second, "tls: keep-alive HTTPS duration")
	flag.IntVar(&o.tlsHS, "tls-hs", 1000, "tls: handshakes per case (full, resumed)")
	flag.IntVar(&o.port, "port", 19100, "first listen port (each server run takes the next)")
	flag.IntVar(&o.threads, "t", 2, "loadgen threads")
	flag.StringVar(&o.nginx, "nginx", envSet("NGINX", "/usr/sbin/nginx"), "nginx binary: `return 200` beside the reference in the HTTP load, as the floor (skipped when missing; \"\" to skip) ($NGINX)")
	flag.StringVar(&o.perf, "syscalls", envSet("PERF", "perf"), "perf binary: count the server's syscalls by kind and thread in the load runs (skipped when unusable; \"\" to skip) ($PERF)")
	flag.Parse()

	var err error
	if o.steps, err = parseSteps(steps); err != nil {
		fatal(err)
	}
	o.tlsSteps = o.steps
	if *tlsConns != "" {
		if o.tlsSteps, err = parseSteps(*tlsConns); err != nil {
			fatal(err)
		}
	}
	for _, w := range strings.Split(workers, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(w))
		if err != nil || n < 1 {
			fatal(fmt.Errorf("bad -workers %q", workers))
		}
		o.workers = append(o.workers, n)
	}
	o.only = map[string]bool{}
	for _, s := range strings.Split(only, ",") {
		o.only[strings.TrimSpace(s)] = true
	}
	if o.refresh < 0 {
		o.refresh = 0
		if o.steps[len(o.steps)-1] > 20000 {
			o.refresh = 30 * time.Second
		}
	}
	servers := []server{{name: "ours", bin: o.ours, gc: true, args: strings.Fields(o.oursArgs)}}
	if o.ref != "" {
		if _, err := os.Stat(o.ref); err == nil {
			// A condure-go binary as the reference (A/B runs of one
			// build with different flags) gets the same GC trace.
			goRef := strings.HasSuffix(version(o.ref), "-go")
			servers = append(servers, server{name: "ref", bin: o.ref, gc: goRef, args: strings.Fields(o.refArgs)})
		} else {
			fmt.Fprintf(os.Stderr, "reference %s not found: ours only\n", o.ref)
		}
	}
	if o.nginx != "" {
		if _, err := os.Stat(o.nginx); err == nil {
			servers = append(servers, server{name: "nginx", bin: o.nginx, nginx: true})
		} else {
			fmt.Fprintf(os.Stderr, "nginx %s not found: no floor\n", o.nginx)
		}
	}
	if o.perf != "" && !perfUsable(o.perf) {
		fmt.Fprintf(os.Stderr, "perf %s cannot count syscalls here: no syscall counts\n", o.perf)
		o.perf = ""
	}
	for _, b := range []string{o.ours, o.loadgen, o.handler} {
		if _, err := os.Stat(b); err != nil {
			fatal(fmt.Errorf("%s: %v (run scripts/bench.sh, which builds it)", b, err))
		}
	}
	checkLimits(o.steps[len(o.steps)-1])
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		fatal(err)
	}

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-sig
		fmt.Fprintln(os.Stderr, "interrupted: stopping")
		stopAll()
		os.Exit(130)
	}()

	r := &runner{o: o, servers: servers, port: o.port}
	start := time.Now()
	r.run()
	r.elapsed = time.Since(start)
	if err := r.write(); err != nil {
		fatal(err)
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "report:", err)
	stopAll()
	os.Exit(1)
}

// envSet is envOr where a variable set to "" means "" (NGINX= skips nginx).
func envSet(k, def string) string {
	if v, ok := os.LookupEnv(k); ok {
		return v
	}
	return def
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

// parseSteps: "1000,5000,15000", or one N meaning N/15, N/3, N.
func parseSteps(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		mul := 1
		if strings.HasSuffix(f, "k") {
			mul, f = 1000, f[:len(f)-1]
		} else if strings.HasSuffix(f, "M") {
			mul, f = 1000000, f[:len(f)-1]
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("bad connection count %q", s)
		}
		out = append(out, n*mul)
	}
	if len(out) == 1 && out[0] >= 15 {
		n := out[0]
		out = []int{n / 15, n / 3, n}
	}
	for i := 1; i < len(out); i++ {
		if out[i] <= out[i-1] {
			return nil, fmt.Errorf("connection counts must increase: %v", out)
		}
	}
	return out, nil
}

// checkLimits warns when the open-file limit (inherited by the server and
// the load generator, one process each) is below what the run needs.
func checkLimits(maxN int) {
	var rl unix.Rlimit
	if unix.Getrlimit(unix.RLIMIT_NOFILE, &rl) == nil && uint64(maxN)+200 > rl.Max {
		fmt.Fprintf(os.Stderr, "warning: %d connections but the open-file limit is %d per process\n", maxN, rl.Max)
	}
}

// ---- processes ----

type server struct {
	name  string
	bin   string
	gc    bool     // run with GODEBUG=gctrace=1 (a Go server)
	nginx bool     // nginx answering `return 200` itself: the HTTP load only (nginx.go)
	args  []string // extra flags
}

type running struct {
	srv      server
	dir      string
	port     int
	cmd, hnd *exec.Cmd
	gcFile   string
	pids     []int // nginx: the worker processes, which do the work
}

var live struct {
	sync.Mutex
	cmds []*exec.Cmd
}

func track(c *exec.Cmd) {
	live.Lock()
	live.cmds = append(live.cmds, c)
	live.Unlock()
}

// stopAll kills the processes this program started that are still running.
func stopAll() {
	live.Lock()
	defer live.Unlock()
	for _, c := range live.cmds {
		if c.Process != nil && c.ProcessState == nil {
			c.Process.Signal(syscall.SIGKILL)
		}
	}
}

// startServer starts s with handler; with tlsDir the listener is TLS, its
// default identity in tlsDir (tls.go).
func startServer(s server, port, workers, maxconn int, handler, tlsDir string) (*running, error) {
	if s.nginx {
		return startNginx(s, port, workers, maxconn)
	}
	dir, err := os.MkdirTemp("", "condure-bench-")
	if err != nil {
		return nil, err
	}
	rn := &running{srv: s, dir: dir, port: port}
	spec := "ipc://" + filepath.Join(dir, "c")
	args := []string{"--listen", fmt.Sprintf("127.0.0.1:%d,stream", port), "--zclient-stream", spec,
		"--workers", strconv.Itoa(workers), "--stream-maxconn", strconv.Itoa(maxconn)}
	if tlsDir != "" {
		args[1] = fmt.Sprintf("127.0.0.1:%d,tls,default-cert=default", port)
		args = append(args, "--tls-identities-dir", tlsDir)
	}
	args = append(args, s.args...)
	rn.cmd = exec.Command(s.bin, args...)
	logf, _ := os.Create(filepath.Join(dir, "server.log"))
	rn.gcFile = filepath.Join(dir, "server.err")
	errf, _ := os.Create(rn.gcFile)
	rn.cmd.Stdout, rn.cmd.Stderr = logf, errf
	rn.cmd.Env = os.Environ()
	if s.gc {
		rn.cmd.Env = append(rn.cmd.Env, "GODEBUG=gctrace=1")
	}
	if err := rn.cmd.Start(); err != nil {
		return nil, err
	}
	track(rn.cmd)
	go rn.cmd.Wait()
	if err := waitListen(port, 5*time.Second); err != nil {
		rn.stop()
		return nil, fmt.Errorf("%s did not listen: %v (log %s)", s.name, err, tail(filepath.Join(dir, "server.log")))
	}
	rn.hnd = exec.Command(handler, "-spec", spec)
	hf, _ := os.Create(filepath.Join(dir, "handler.err"))
	rn.hnd.Stdout, rn.hnd.Stderr = hf, hf
	if err := rn.hnd.Start(); err != nil {
		rn.stop()
		return nil, err
	}
	track(rn.hnd)
	go rn.hnd.Wait()
	if err := probe(port, tlsDir != "", 5*time.Second); err != nil {
		rn.stop()
		return nil, fmt.Errorf("%s: no answer through the handler: %v", s.name, err)
	}
	return rn, nil
}

func tail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 400 {
		b = b[len(b)-400:]
	}
	return strings.TrimSpace(string(b))
}

func waitListen(port int, d time.Duration) error {
	var err error
	for t0 := time.Now(); time.Since(t0) < d; time.Sleep(50 * time.Millisecond) {
		var c net.Conn
		if c, err = net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second); err == nil {
			c.Close()
			return nil
		}
	}
	return err
}

// probe sends GET / until a 200 comes back (the handler has to be connected
// and past the PUB/SUB slow-joiner delay).
func probe(port int, overTLS bool, d time.Duration) error {
	err := errors.New("timeout")
	for t0 := time.Now(); time.Since(t0) < d; time.Sleep(100 * time.Millisecond) {
		c, e := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
		if e != nil {
			err = e
			continue
		}
		if overTLS {
			c = tls.Client(c, &tls.Config{InsecureSkipVerify: true, ServerName: "localhost"})
		}
		c.SetDeadline(time.Now().Add(time.Second))
		fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: probe\r\nConnection: close\r\n\r\n")
		line, e := bufio.NewReader(c).ReadString('\n')
		c.Close()
		if e == nil && strings.HasPrefix(line, "HTTP/1.1 200") {
			return nil
		}
		if e != nil {
			err = e
		} else {
			err = fmt.Errorf("got %q", strings.TrimSpace(line))
		}
	}
	return err
}

// stop ends the server (SIGTERM, then SIGKILL after 3 s) and the handler.
func (rn *running) stop() {
	for _, c := range []*exec.Cmd{rn.cmd, rn.hnd} {
		if c == nil || c.Process == nil {
			continue
		}
		c.Process.Signal(syscall.SIGTERM)
		done := false
		for t0 := time.Now(); time.Since(t0) < 3*time.Second; time.Sleep(20 * time.Millisecond) {
			if c.Process.Signal(syscall.Signal(0)) != nil {
				done = true
				break
			}
		}
		if !done {
			c.Process.Signal(syscall.SIGKILL)
		}
	}
}

func (rn *running) cleanup() { os.RemoveAll(rn.dir) }

// warmConns is the warm-up of an idle run: -warm, at most half the first
// step.
func (o *options) warmConns() int { return min(o.warm, o.steps[0]/2) }

// ---- results ----

// record is one line of results.raw.
type record struct {
	Scenario string           `json:"scenario"`
	Server   string           `json:"server"`
	Binary   string           `json:"binary"`
	Round    int              `json:"round"`
	Workers  int              `json:"workers"`
	Error    string           `json:"error,omitempty"`
	GC       *gctrace.Summary `json:"gc,omitempty"`
	Result   *result.Result   `json:"-"`
	Raw      json.RawMessage  `json:"loadgen,omitempty"`
}

type runner struct {
	o       options
	servers []server
	port    int
	recs    []record
	elapsed time.Duration
}

func (r *runner) nextPort() int { r.port++; return r.port - 1 }

// loadgen runs the load generator and returns its JSON lines.
func (r *runner) loadgen(timeout time.Duration, args ...string) ([]json.RawMessage, error) {
	return r.run1(r.o.loadgen, timeout, args...)
}

// run1 runs a load tool (bin/loadgen or bin/tlsload) and returns its JSON
// lines.
func (r *runner) run1(bin string, timeout time.Duration, args ...string) ([]json.RawMessage, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	var out bytes.Buffer
	var stderr bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = io.MultiWriter(&prefixWriter{w: os.Stderr, prefix: "    "}, &stderr)
	err := cmd.Start()
	if err == nil {
		track(cmd)
		err = cmd.Wait()
	}
	var lines []json.RawMessage
	for _, l := range bytes.Split(out.Bytes(), []byte{'\n'}) {
		if l = bytes.TrimSpace(l); len(l) > 0 && l[0] == '{' {
			lines = append(lines, json.RawMessage(append([]byte(nil), l...)))
		}
	}
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if i := strings.LastIndex(msg, "loadgen: "); i >= 0 {
			msg = msg[i+len("loadgen: "):]
		}
		return lines, fmt.Errorf("%v: %s", err, msg)
	}
	return lines, nil
}

type prefixWriter struct {
	w      io.Writer
	prefix string
	mid    bool
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	n := len(b)
	for len(b) > 0 {
		if !p.mid {
			io.WriteString(p.w, p.prefix)
			p.mid = true
		}
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			p.w.Write(b)
			break
		}
		p.w.Write(b[:i+1])
		p.mid = false
		b = b[i+1:]
	}
	return n, nil
}

func (r *runner) add(rec record, raw json.RawMessage) {
	if raw != nil {
		rec.Raw = raw
		var res result.Result
		if json.Unmarshal(raw, &res) == nil {
			rec.Result = &res
		}
	}
	r.recs = append(r.recs, rec)
}

// gcSummary reads the gctrace lines of a Go server for the window the load
// generator measured.
func gcSummary(rn *running, res *result.Result) *gctrace.Summary {
	if !rn.srv.gc || res == nil || res.Server == nil {
		return nil
	}
	f, err := os.Open(rn.gcFile)
	if err != nil {
		return nil
	}
	defer f.Close()
	cs, err := gctrace.Read(f)
	if err != nil {
		return nil
	}
	s := gctrace.Summarize(cs, res.Server.Window[0], res.Server.Window[1], res.Server.CPU)
	return &s
}

func (r *runner) run() {
	o := r.o
	maxN := o.steps[len(o.steps)-1]
	holdMax := maxN + 1000
	loadMax := max(10000, o.wsC+1000, o.httpC+1000)
	section := func(s string) { fmt.Fprintf(os.Stderr, "\n== %s\n", s) }
	if o.only["http"] {
		section(fmt.Sprintf("HTTP keep-alive load, c=%d, %s", o.httpC, o.httpD))
		for round := 1; round <= o.rounds; round++ {
			for _, w := range o.workers {
				for _, s := range r.servers {
					r.loadRun("http", s, round, w, loadMax, "http", "-c", strconv.Itoa(o.httpC), "-d", o.httpD.String())
				}
			}
		}
	}
	for _, kind := range []string{"http", "ws"} {
		if !o.only["idle-"+kind] {
			continue
		}
		section(fmt.Sprintf("idle %s connections, N=%v, %s idle each", kind, o.steps, o.idle))
		for round := 1; round <= o.rounds; round++ {
			for _, s := range r.servers {
				if !s.nginx {
					r.holdRun(kind, s, round, 2, holdMax)
				}
			}
		}
	}
	if o.only["ws"] {
		section(fmt.Sprintf("WebSocket echo, c=%d, %d B, %s", o.wsC, o.wsSize, o.wsD))
		for round := 1; round <= o.rounds; round++ {
			for _, s := range r.servers {
				if !s.nginx {
					r.loadRun("ws", s, round, 2, loadMax, "ws", "-c", strconv.Itoa(o.wsC), "-d", o.wsD.String(), "-size", strconv.Itoa(o.wsSize))
				}
			}
		}
	}
	r.runTLS()
}

func (r *runner) loadRun(scn string, s server, round, workers, maxconn int, args ...string) {
	rec := record{Scenario: scn, Server: s.name, Binary: s.bin, Round: round, Workers: workers}
	fmt.Fprintf(os.Stderr, "-- %s round %d, %d worker(s)\n", s.name, round, workers)
	port := r.nextPort()
	rn, err := startServer(s, port, workers, maxconn, r.o.handler, "")
	if err != nil {
		rec.Error = err.Error()
		fmt.Fprintln(os.Stderr, "    error:", err)
		r.add(rec, nil)
		return
	}
	defer rn.cleanup()
	args = append(args, "-addr", fmt.Sprintf("127.0.0.1:%d", port), "-t", strconv.Itoa(r.o.threads), "-label", s.name)
	if rn.hnd != nil {
		args = append(args, "-pid", strconv.Itoa(rn.cmd.Process.Pid), "-hpid", strconv.Itoa(rn.hnd.Process.Pid))
	} else { // nginx: its workers
		args = append(args, "-pid", strconv.Itoa(rn.pids[0]))
		if len(rn.pids) > 1 {
			var x []string
			for _, p := range rn.pids[1:] {
				x = append(x, strconv.Itoa(p))
			}
			args = append(args, "-xpids", strings.Join(x, ","))
		}
	}
	if r.o.perf != "" {
		args = append(args, "-syscalls", r.o.perf)
	}
	lines, err := r.loadgen(5*time.Minute, args...)
	rn.stop()
	if err != nil {
		rec.Error = err.Error()
	}
	var raw json.RawMessage
	if len(lines) > 0 {
		raw = lines[len(lines)-1]
	}
	r.add(rec, raw)
	last := &r.recs[len(r.recs)-1]
	last.GC = gcSummary(rn, last.Result)
}

func (r *runner) holdRun(kind string, s server, round, workers, maxconn int) {
	fmt.Fprintf(os.Stderr, "-- %s round %d\n", s.name, round)
	port := r.nextPort()
	rn, err := startServer(s, port, workers, maxconn, r.o.handler, "")
	if err != nil {
		fmt.Fprintln(os.Stderr, "    error:", err)
		r.add(record{Scenario: "idle-" + kind, Server: s.name, Binary: s.bin, Round: round, Workers: workers, Error: err.Error()}, nil)
		return
	}
	defer rn.cleanup()
	steps := make([]string, len(r.o.steps))
	for i, n := range r.o.steps {
		steps[i] = strconv.Itoa(n)
	}
	args := []string{"hold", "-kind", kind, "-n", strings.Join(steps, ","), "-idle", r.o.idle.String(), "-d", "1ms",
		"-sources", r.o.sources, "-addr", fmt.Sprintf("127.0.0.1:%d", port), "-pid", strconv.Itoa(rn.cmd.Process.Pid),
		"-hpid", strconv.Itoa(rn.hnd.Process.Pid), "-t", strconv.Itoa(r.o.threads), "-label", s.name}
	if w := r.o.warmConns(); w > 0 {
		args = append(args, "-warm", strconv.Itoa(w))
	}
	args = append(args, "-inflight", strconv.Itoa(r.o.inflight))
	if kind == "http" && r.o.refresh > 0 {
		args = append(args, "-refresh", r.o.refresh.String())
	}
	timeout := time.Duration(len(r.o.steps))*(r.o.idle+3*time.Minute) + time.Minute
	lines, err := r.loadgen(timeout, args...)
	rn.stop()
	for _, l := range lines {
		r.add(record{Scenario: "idle-" + kind, Server: s.name, Binary: s.bin, Round: round, Workers: workers}, l)
	}
	if err != nil {
		r.add(record{Scenario: "idle-" + kind, Server: s.name, Binary: s.bin, Round: round, Workers: workers, Error: err.Error()}, nil)
	}
}

// ---- output ----

func (r *runner) write() error {
	var raw bytes.Buffer
	for _, rec := range r.recs {
		b, _ := json.Marshal(rec)
		raw.Write(append(b, '\n'))
	}
	if err := os.WriteFile(filepath.Join(r.o.out, "results.raw"), raw.Bytes(), 0o644); err != nil {
		return err
	}
	txt := r.table()
	fmt.Print(txt)
	if err := os.WriteFile(filepath.Join(r.o.out, "report.txt"), []byte(txt), 0o644); err != nil {
		return err
	}
	svg := r.svg()
	if err := os.WriteFile(filepath.Join(r.o.out, "bench.svg"), []byte(svg), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "\nwrote %s/{report.txt,bench.svg,results.raw} in %s\n", r.o.out, r.elapsed.Round(time.Second))
	return nil
}

func version(bin string) string {
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		return "?"
	}
	return strings.TrimSpace(strings.SplitN(string(out), "\n", 2)[0])
}

func hostLine() string {
	kernel := "?"
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		kernel = unix.ByteSliceToString(u.Release[:])
	}
	var rl unix.Rlimit
	unix.Getrlimit(unix.RLIMIT_NOFILE, &rl)
	mem := "?"
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		if f := strings.Fields(string(b)); len(f) > 1 {
			if kb, err := strconv.ParseFloat(f[1], 64); err == nil {
				mem = fmt.Sprintf("%.0f GiB", kb/1024/1024)
			}
		}
	}
	return fmt.Sprintf("%d cores, %s, Linux %s, %s, nofile %d", runtime.NumCPU(), mem, kernel, runtime.Version(), rl.Max)
}
