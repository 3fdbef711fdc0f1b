// Command condure is condure-go: an HTTP/1 and WebSocket connection manager
// that hands requests to handler processes as ZHTTP packets over ZeroMQ,
// command-line compatible with condure 1.4.0.
package main

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"os/user"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	zmq "github.com/pebbe/zmq4"

	"github.com/condure-go/condure/config"
	"github.com/condure-go/condure/internal/logging"
	"github.com/condure-go/condure/reactor"
	"github.com/condure-go/condure/server"
	"github.com/condure-go/condure/zmqio"
)

const (
	target = "condure"
	// 1 s: shutdown flushes cancels this long at most, well inside the 4 s
	// Pushpin's runner waits before it kills (reference.md §12 #17).
	shutdownLinger = time.Second
	// How long shutdown waits for zmq_ctx_term once every socket is closed
	// (with shutdownLinger), before it exits without it: the linger and a
	// margin. libzmq 4.3.4 was seen to hang there for good, every thread
	// idle (reaper and I/O thread in epoll_wait without a timer), about
	// once in 500 stops on a loaded 2-core machine, just after a handler
	// went away.
	ctxTermWait = shutdownLinger + 500*time.Millisecond
)

func main() { os.Exit(run(os.Args[1:])) }

func run(args []string) int {
	cfg, err := config.Parse(args)
	if err != nil {
		if errors.Is(err, config.ErrUsage) {
			fmt.Fprintf(os.Stderr, "error: %v\n\n%s", err, config.Usage())
			return 2
		}
		logging.Error(target, "%v", err)
		return 1
	}
	if cfg.ShowHelp {
		fmt.Print(config.Usage())
		return 0
	}
	if cfg.ShowVersion {
		fmt.Printf("condure %s\n", config.Version)
		return 0
	}
	if cfg.Sizes {
		for _, s := range server.Sizes(cfg.BufferSize, cfg.BodyBufferSize) {
			fmt.Printf("%s: %d bytes (%s)\n", s.Name, s.Bytes, s.Note)
		}
		return 0
	}
	logging.SetLevel(cfg.LogLevel)
	if err := unsupported(cfg); err != nil {
		logging.Error(target, "%v", err)
		return 1
	}
	// Read (and unset) before anything could start a child process.
	sockets, err := inheritedSockets()
	if err != nil {
		logging.Error(target, "%v", err)
		return 1
	}
	logging.Info(target, "starting...")
	stopProfile := startProfile()
	reportMallocs()
	defer stopProfile()
	// Caught from here on, so a drain asked for during start-up is not lost.
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, drainSignal)
	a, err := start(cfg, sockets)
	if err != nil {
		logging.Error(target, "%v", err)
		return 1
	}
	logging.Info(target, "started")

	if sig := <-sigs; sig == drainSignal {
		a.drain(time.Duration(cfg.DrainTimeout)*time.Second, sigs)
	}
	logging.Info(target, "stopping...")
	go func() {
		<-sigs // one more signal: give up at once (reference.md §8.5)
		os.Exit(1)
	}()
	a.stop()
	logging.Info(target, "stopped")
	return 0
}

// unsupported refuses flags whose features are not built yet, rather than
// accepting and ignoring them (none today: --compression was the last).
func unsupported(cfg *config.Config) error {
	return nil
}

// listeners turns the --listen entries into the workers' listen specs.
// A socket handed in by systemd (activation.go) serves the entry it
// matches, shared by the workers; otherwise unix sockets are opened here
// once (no SO_REUSEPORT for them) and shared, and TCP ports are opened by
// each worker. owned are the shared sockets opened here, which a drain
// closes (inherited ones stay open: the kernel keeps queueing on them).
func listeners(cfg *config.Config, sockets []inherited) (out []server.Listen, owned []int, certs *server.CertStore, err error) {
	for _, l := range cfg.Listens {
		sl := server.Listen{Addr: l.Addr, Req: l.Mode == config.ModeReq, DefaultCert: l.DefaultCert}
		if fd := claim(sockets, l); fd >= 0 {
			sl.Fd = fd
		} else if l.FdName != "" {
			return nil, nil, nil, fmt.Errorf("--listen %s: no inherited socket named %q", l.Addr, l.FdName)
		} else if l.Local {
			perm, err := socketFilePerm(l)
			if err != nil {
				return nil, nil, nil, err
			}
			fd, err := reactor.ListenUnix(l.Addr, 1024, perm)
			if err != nil {
				return nil, nil, nil, err // "failed to bind <path>: …" and the like
			}
			sl.Fd = fd
			owned = append(owned, fd)
		}
		if l.TLS && !l.Local { // tls is ignored on unix sockets, as in condure
			if certs == nil {
				if certs, err = server.NewCertStore(cfg.TLSIdentitiesDir); err != nil {
					return nil, nil, nil, err
				}
				certs.HTTP2 = cfg.HTTP2
			}
			sl.TLS = true
		}
		out = append(out, sl)
	}
	closeUnclaimed(sockets)
	return out, owned, certs, nil
}

// socketFilePerm resolves mode=, user= and group= of a unix socket
// listener; ListenUnix applies them before the socket accepts.
func socketFilePerm(l config.Listen) (reactor.UnixPerm, error) {
	perm := reactor.UnixPerm{Mode: l.FileMode, UID: -1, GID: -1}
	if l.User != "" {
		u, err := user.Lookup(l.User)
		if err != nil {
			return perm, fmt.Errorf("failed to set user %q on %s: %w", l.User, l.Addr, err)
		}
		perm.UID, _ = strconv.Atoi(u.Uid)
	}
	if l.Group != "" {
		g, err := user.LookupGroup(l.Group)
		if err != nil {
			return perm, fmt.Errorf("failed to set group %q on %s: %w", l.Group, l.Addr, err)
		}
		perm.GID, _ = strconv.Atoi(g.Gid)
	}
	return perm, nil
}

// start sets up ZeroMQ, the hub (bind mode, 2+ workers) and the workers on the
// listening sockets, those inherited from systemd first.
func start(cfg *config.Config, sockets []inherited) (*app, error) {
	// One worker: libzmq's I/O thread under SCHED_BATCH (zmqio/context.go).
	ctx, err := zmqio.NewContext(cfg.Workers == 1)
	if err != nil {
		return nil, fmt.Errorf("zmq context: %w", err)
	}
	sc := &zmqio.Config{
		InstanceID: cfg.ID,
		Connect:    cfg.ZClientConnect,
		HWM:        max((cfg.ReqMaxConn+cfg.StreamMaxConn)/20, 1),
		IPCMode:    cfg.IPCFileMode,
		// Handlers' messages are bounded by what the buffers can take.
		StreamMaxMsg: zmqio.StreamMessageLimit(cfg.ID, cfg.BufferSize),
		ReqMaxMsg:    zmqio.ReqMessageLimit(cfg.BufferSize, cfg.BodyBufferSize),
		// One worker binds the endpoints itself: a hub thread would only
		// pass its frames on (docs/design.md "ZeroMQ in epoll").
		Direct: !cfg.ZClientConnect && cfg.Workers == 1,
	}
	// The stream sockets exist only if a listener is in stream mode, the req
	// socket only if one is in req mode (reference.md §2.1).
	for _, l := range cfg.Listens {
		if l.Mode == config.ModeReq {
			sc.Req = cfg.ZClientReq
		} else {
			sc.Stream = true
		}
	}
	if sc.Stream {
		for _, base := range cfg.ZClientStream {
			out, outStream, in, err := config.StreamSpecs(base)
			if err != nil {
				return nil, err
			}
			sc.Out = append(sc.Out, out)
			sc.OutStream = append(sc.OutStream, outStream)
			sc.In = append(sc.In, in)
		}
	}
	loops := cfg.Workers + 1 // workers and the hub
	if sc.Direct {
		loops = cfg.Workers
	}
	procsDefault := reservePs(loops)
	var hub *zmqio.Hub
	if !cfg.ZClientConnect && !sc.Direct {
		if hub, err = startHub(ctx, sc, cfg.Workers); err != nil {
			return nil, fmt.Errorf("failed to set zhttp client specs: %w", err)
		}
	}
	verb := "bind"
	if cfg.ZClientConnect {
		verb = "connect"
	}
	if sc.HasReq() {
		logging.Info("condure::app", "zhttp client %s %s", verb, strings.Join(sc.Req, " "))
	}
	for i := range sc.Out {
		logging.Info("condure::app", "zhttp client %s %s %s %s", verb, sc.Out[i], sc.OutStream[i], sc.In[i])
	}

	opts := &server.Options{
		InstanceID:      cfg.ID,
		Workers:         cfg.Workers,
		StreamMaxConn:   cfg.StreamMaxConn / cfg.Workers,
		ReqMaxConn:      cfg.ReqMaxConn / cfg.Workers,
		BufferSize:      cfg.BufferSize,
		BodyBufferSize:  cfg.BodyBufferSize,
		MessagesMax:     cfg.MessagesMax,
		WSMaxMessage:    cfg.WSMaxMessage,
		Compression:     cfg.Compression,
		HTTP2:           cfg.HTTP2,
		HTTP2MaxStreams: cfg.HTTP2MaxStreams,
		StreamTimeout:   time.Duration(cfg.StreamTimeout) * time.Second,
		ReqTimeout:      time.Duration(cfg.ReqTimeout) * time.Second,
		ZMQ:             sc,
		Ctx:             ctx,
		Blocks:          hubBlocks(hub),
		ShutdownLinger:  shutdownLinger,
		Metrics:         cfg.Prometheus != nil,
		// Test hooks, so tests need not wait 60 s: not flags, because
		// condure has none for these.
		SessionTimeout:    envDuration("CONDURE_TEST_SESSION_TIMEOUT"),
		KeepAliveInterval: envDuration("CONDURE_TEST_KEEPALIVE_INTERVAL"),
		MaxHandshakes:     envInt("CONDURE_TEST_TLS_HANDSHAKES"),
		MaxParked:         envInt("CONDURE_TEST_TLS_PARKED"),
	}
	var workers []*server.Worker
	stopAll := func() {
		for _, w := range workers {
			w.Stop()
		}
		for _, w := range workers {
			w.Wait()
		}
		if hub != nil {
			hub.Stop()
			hub.Wait()
		}
		termCtx(ctx, ctxTermWait)
	}
	var owned []int
	if opts.Listens, owned, opts.Certs, err = listeners(cfg, sockets); err != nil {
		stopAll()
		return nil, err
	}
	for i := 0; i < cfg.Workers; i++ {
		w := server.NewWorker(i, opts)
		if err := w.Start(); err != nil {
			stopAll()
			var le *server.ListenError
			if errors.As(err, &le) {
				return nil, bindError(le.Addr, le.Err)
			}
			var se *zmqio.SpecError
			if sc.Direct && errors.As(err, &se) {
				// The hub's message, where the worker binds instead.
				return nil, fmt.Errorf("failed to set zhttp client specs: %w", err)
			}
			return nil, err
		}
		workers = append(workers, w)
	}
	// Start-up garbage (flag parsing, certificates, socket set-up) goes back
	// to the OS now rather than by the background scavenger later, while
	// connections come and go.
	debug.FreeOSMemory()
	for _, l := range opts.Listens {
		if l.Fd > 0 && !slices.Contains(owned, l.Fd) {
			logging.Info("condure::server", "listening on %s (inherited fd %d)", l.Addr, l.Fd)
		} else {
			logging.Info("condure::server", "listening on %s", l.Addr)
		}
	}
	stop := stopAll
	if cfg.Prometheus != nil {
		ms, err := startMetrics(cfg.Prometheus, workers, opts.Listens)
		if err != nil {
			stopAll()
			return nil, err
		}
		stop = func() { ms.Close(); stopAll() }
	}
	if slices.ContainsFunc(opts.Listens, func(l server.Listen) bool { return l.TLS }) {
		// TLS handshakes leave garbage an idle server never collects:
		// the trimmer returns it to the OS after each burst.
		trimStop := make(chan struct{})
		go server.RunMemTrimmer(trimStop, procsDefault, workers)
		inner := stop
		stop = func() { close(trimStop); inner() }
	}
	return &app{workers: workers, owned: owned, stop: stop}, nil
}

// reservePs raises GOMAXPROCS (unless set in the environment) so the event
// loops, each on its locked OS thread, leave a P idle for everything else.
// With no idle P the runtime's sysmon takes a P from a loop blocked in
// epoll_wait after 20 µs and hands it back when the wait ends, thousands of
// times a second under load (see reactor/yield.go). It reports whether
// GOMAXPROCS is still the runtime's default (set by neither).
func reservePs(loops int) bool {
	if os.Getenv("GOMAXPROCS") != "" {
		return false
	}
	if runtime.GOMAXPROCS(0) < loops+1 {
		runtime.GOMAXPROCS(loops + 1)
		return false
	}
	return true
}

// termCtx terminates the ZeroMQ context, waiting at most wait: what the
// sockets held has had its linger by then, and the process is about to
// exit, which ends a context libzmq could not terminate.
func termCtx(ctx *zmq.Context, wait time.Duration) {
	done := make(chan struct{})
	go func() {
		ctx.Term()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(wait):
		logging.Warn(target, "the ZeroMQ context did not terminate within %v: exiting without it", wait)
	}
}

// startHub creates and runs the hub on its own locked OS thread, so its
// sockets are used only by the thread that made them.
func startHub(ctx *zmq.Context, sc *zmqio.Config, workers int) (*zmqio.Hub, error) {
	type result struct {
		hub *zmqio.Hub
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		hub, err := zmqio.NewHub(ctx, sc, workers)
		ch <- result{hub, err}
		if err == nil {
			hub.Run(int(shutdownLinger / time.Millisecond))
		}
	}()
	r := <-ch
	return r.hub, r.err
}

// hubBlocks is the hub's set of handlers not reading (nil in connect mode).
func hubBlocks(h *zmqio.Hub) *zmqio.Blocks {
	if h == nil {
		return nil
	}
	return h.Blocks()
}

// envDuration reads a Go duration from the environment (0 when unset or bad).
func envDuration(name string) time.Duration {
	d, _ := time.ParseDuration(os.Getenv(name))
	return d
}

// envInt reads a decimal integer from the environment (0 when unset or bad).
func envInt(name string) int {
	n, _ := strconv.Atoi(os.Getenv(name))
	return n
}

// bindError is condure's message for a port or path it cannot listen on:
// "failed to bind <addr>: <os error>" (reference.md §8.2).
func bindError(addr string, err error) error {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return fmt.Errorf("failed to bind %s: %s", addr, errno.Error())
	}
	return fmt.Errorf("failed to bind %s: %v", addr, err)
}
