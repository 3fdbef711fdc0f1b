// Command tlsload is make bench's TLS client (issue #18): the TLS
// counterpart of bench/loadgen, with Go's crypto/tls as the client, printing
// the same JSON result lines (bench/internal/result) for bench/report.
//
//	tlsload hold -kind http|ws -n 1000,5000,15000 -warm 256 -addr 127.0.0.1:PORT -pid P [-idle 5s]
//	tlsload get  -c 50 -d 5s -addr 127.0.0.1:PORT -pid P
//	tlsload hs   -n 1000 -c 4 [-resume] -addr 127.0.0.1:PORT -pid P
//
// hold opens connections in steps the way loadgen hold does (warm-up
// openings, a warm-up step whose connections exchange 8 more times, then
// each step measured over -idle), each connection doing one exchange (an
// HTTPS keep-alive GET, or a wss upgrade and one echo) and staying idle.
// get runs a closed loop of keep-alive HTTPS GETs on -c connections and
// divides the server's CPU by the requests. hs runs -n TLS 1.2 ECDSA
// handshakes (P-256 key exchange, which the reference offers; -resume: each
// resumes the first one's session by its ticket), -c at a time, each on a
// new TCP connection closed right after, and divides the server's CPU by n.
// Only the server's CPU counts: the client's is on the same cores, so
// rates would measure the client as much as the server.
package main

import (
	"bufio"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/condure-go/condure/bench/internal/result"
	"github.com/condure-go/condure/bench/internal/snap"
)

// warmRounds: exchanges repeated over the warm-up connections (as loadgen).
const warmRounds = 8

// ioTimeout bounds every exchange and handshake.
const ioTimeout = 30 * time.Second

type opts struct {
	addr, sni, label string
	pid, hpid        int
	sources          int // client source addresses 127.0.0.2.. (ephemeral ports)
}

// sampler samples -pid and -hpid.
func (o *opts) sampler() snap.Sampler { return snap.Sampler{Server: o.pid, Handler: o.hpid} }

func (o *opts) register(fs *flag.FlagSet) {
	fs.StringVar(&o.addr, "addr", "127.0.0.1:8443", "server TLS address")
	fs.StringVar(&o.sni, "sni", "localhost", "server name")
	fs.StringVar(&o.label, "label", "", "free text copied into the JSON result")
	fs.IntVar(&o.pid, "pid", 0, "server pid (CPU, RSS)")
	fs.IntVar(&o.hpid, "hpid", 0, "handler pid (CPU)")
	fs.IntVar(&o.sources, "sources", 59, "source addresses 127.0.0.2 onwards (~28k connections each)")
}

func (o *opts) dialer(i int) *net.Dialer {
	d := &net.Dialer{Timeout: ioTimeout}
	if o.sources > 0 {
		d.LocalAddr = &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(2+i%o.sources))}
	}
	return d
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: tlsload hold|get|hs [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "hold":
		err = cmdHold(os.Args[2:])
	case "get":
		err = cmdGet(os.Args[2:])
	case "hs":
		err = cmdHS(os.Args[2:])
	default:
		fmt.Fprintln(os.Stderr, "usage: tlsload hold|get|hs [flags]")
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "tlsload:", err)
		os.Exit(1)
	}
}

func emit(r *result.Result, human string) {
	b, _ := json.Marshal(r)
	os.Stdout.Write(append(b, '\n'))
	fmt.Fprintln(os.Stderr, human)
}

// ---- the exchanges ----

// conn is one client connection with its reader.
type conn struct {
	c  *tls.Conn
	br *bufio.Reader
}

// wsEcho is a masked 16-byte text frame (mask 0: the payload as is), the
// size loadgen hold echoes.
var wsEcho = append([]byte{0x81, 0x90, 0, 0, 0, 0}, "abcdefghijklmnop"...)

// open dials, handshakes and does the opening exchange.
func open(o *opts, i int, cfg *tls.Config, ws bool) (*conn, error) {
	c, err := tls.DialWithDialer(o.dialer(i), "tcp", o.addr, cfg)
	if err != nil {
		return nil, err
	}
	cn := &conn{c: c, br: bufio.NewReaderSize(c, 1024)}
	c.SetDeadline(time.Now().Add(ioTimeout))
	if ws {
		fmt.Fprintf(c, "GET /ws HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
			"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n", cfg.ServerName)
		resp, err := http.ReadResponse(cn.br, nil)
		if err == nil && resp.StatusCode != http.StatusSwitchingProtocols {
			err = fmt.Errorf("status %d, want 101", resp.StatusCode)
		}
		if err != nil {
			c.Close()
			return nil, fmt.Errorf("after the handshake: %w", err)
		}
	}
	if err := cn.exchange(cfg.ServerName, ws); err != nil {
		c.Close()
		return nil, fmt.Errorf("after the handshake: %w", err)
	}
	return cn, nil
}

// exchange is one GET and its whole response, or one echo.
func (cn *conn) exchange(host string, ws bool) error {
	cn.c.SetDeadline(time.Now().Add(ioTimeout))
	defer cn.c.SetDeadline(time.Time{})
	if ws {
		if _, err := cn.c.Write(wsEcho); err != nil {
			return err
		}
		var h [2]byte
		if _, err := io.ReadFull(cn.br, h[:]); err != nil {
			return err
		}
		if h[0] != 0x81 || h[1] != 16 {
			return fmt.Errorf("echo frame head %x", h)
		}
		_, err := cn.br.Discard(16)
		return err
	}
	if _, err := fmt.Fprintf(cn.c, "GET / HTTP/1.1\r\nHost: %s\r\n\r\n", host); err != nil {
		return err
	}
	resp, err := http.ReadResponse(cn.br, nil)
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("status %d", resp.StatusCode)
	}
	return err
}

// parallel runs f(i) for i in [from, to), par at a time; it returns the
// number of failures and the first error.
func parallel(from, to, par int, f func(i int) error) (int64, error) {
	var next atomic.Int64
	next.Store(int64(from))
	var failed atomic.Int64
	var first atomic.Value
	var wg sync.WaitGroup
	for range par {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1) - 1; i < int64(to); i = next.Add(1) - 1 {
				if err := f(int(i)); err != nil {
					failed.Add(1)
					first.CompareAndSwap(nil, err.Error())
				}
			}
		}()
	}
	wg.Wait()
	if s, ok := first.Load().(string); ok {
		return failed.Load(), errors.New(s)
	}
	return 0, nil
}

func clientConfig() *tls.Config {
	return &tls.Config{InsecureSkipVerify: true, ServerName: "localhost"}
}

// ---- hold ----

func cmdHold(args []string) error {
	fs := flag.NewFlagSet("hold", flag.ExitOnError)
	var o opts
	o.register(fs)
	ns := fs.String("n", "1000", "connections, or increasing steps: 1000,5000,15000")
	kind := fs.String("kind", "http", "http (HTTPS keep-alive) or ws (wss)")
	idle := fs.Duration("idle", 5*time.Second, "measured idle time after each step")
	settle := fs.Duration("settle", time.Second, "pause between a step's last exchange and the first sample")
	warmSettle := fs.Duration("warm-settle", -1, "-settle for the warm-up step (-1: -settle)")
	inflight := fs.Int("inflight", 64, "handshakes in progress at once")
	warm := fs.Int("warm", 0, "connections opened (and held) before the first step; marginal figures are measured above them")
	openings := fs.Int("warm-openings", 1024, "with -warm: short-lived connections (8 at a time) run first, so the server's one-time costs are paid")
	fs.Parse(args)
	smp := o.sampler()
	var steps []int
	for _, f := range strings.Split(*ns, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || (len(steps) > 0 && n <= steps[len(steps)-1]) {
			return fmt.Errorf("bad -n %q", *ns)
		}
		steps = append(steps, n)
	}
	if *warm > 0 {
		if *warm >= steps[0] {
			return fmt.Errorf("-warm %d must be below the first step %d", *warm, steps[0])
		}
		steps = append([]int{*warm}, steps...)
	}
	ws := *kind == "ws"
	if !ws && *kind != "http" {
		return fmt.Errorf("-kind must be http or ws")
	}
	cfg := clientConfig()
	cfg.ServerName = o.sni
	base, err := smp.Take()
	if err != nil {
		return err
	}
	if *warm > 0 && *openings > 0 {
		// Short-lived connections: the opening exchange, then closed.
		if _, err := parallel(0, *openings, 8, func(i int) error {
			cn, err := open(&o, i, cfg, ws)
			if err == nil {
				cn.c.Close()
			}
			return err
		}); err != nil {
			return fmt.Errorf("warm-up openings: %w", err)
		}
	}
	conns := make([]*conn, steps[len(steps)-1])
	var failed int64
	var lastErr string
	var wu snap.Warmup
	have := 0
	for _, n := range steps {
		t0 := time.Now()
		f, err := parallel(have, n, *inflight, func(i int) error {
			cn, err := open(&o, i, cfg, ws)
			conns[i] = cn
			return err
		})
		est := time.Since(t0)
		failed += f
		if err != nil {
			lastErr = err.Error()
		}
		have = n
		if *warm > 0 && !wu.Done() {
			for range warmRounds {
				parallel(0, n, n, func(i int) error {
					if conns[i] == nil {
						return nil
					}
					return conns[i].exchange(cfg.ServerName, ws)
				})
			}
		}
		if *warm > 0 && !wu.Done() && *warmSettle >= 0 {
			time.Sleep(*warmSettle)
		} else {
			time.Sleep(*settle)
		}
		a, err := smp.Take()
		if err != nil {
			return err
		}
		time.Sleep(*idle)
		b, err := smp.Take()
		if err != nil {
			return err
		}
		live := int64(n) - failed
		r := &result.Result{Kind: "hold", Proto: map[bool]string{false: "https", true: "wss"}[ws], Label: o.label,
			Addr: o.addr, Conns: n, Threads: *inflight, Duration: idle.Seconds(), Established: live, Failed: failed,
			EstablishS: est.Seconds(), Err: lastErr}
		if ws {
			r.Size = 16
		}
		smp.Deltas(r, a, b, 0)
		smp.PerConn(r, base, a, b, live)
		wu.Step(smp, r, b, live, *warm > 0)
		human := fmt.Sprintf("hold %s n=%d: %d established in %.2fs, %d failed; client %.0f B/conn",
			r.Proto, n, live, est.Seconds(), failed, r.SelfPerConn)
		human = snap.Human(r, human)
		if r.Server != nil {
			human += fmt.Sprintf("; server rss %.1f MiB (base %.1f), %.0f B/conn", float64(b.Server.RSS)/1024,
				float64(base.Server.RSS)/1024, r.RSSPerConn)
		}
		if lastErr != "" {
			human += "; last error: " + lastErr
		}
		emit(r, human)
	}
	for _, cn := range conns {
		if cn != nil {
			cn.c.Close()
		}
	}
	return nil
}

// ---- get ----

func cmdGet(args []string) error {
	fs := flag.NewFlagSet("get", flag.ExitOnError)
	var o opts
	o.register(fs)
	c := fs.Int("c", 50, "connections")
	d := fs.Duration("d", 5*time.Second, "measured duration")
	warm := fs.Duration("warmup", time.Second, "unmeasured run-in")
	fs.Parse(args)
	smp := o.sampler()
	cfg := clientConfig()
	cfg.ServerName = o.sni
	conns := make([]*conn, *c)
	if _, err := parallel(0, *c, 8, func(i int) error {
		var err error
		conns[i], err = open(&o, i, cfg, false)
		return err
	}); err != nil {
		return err
	}
	var measure, stop atomic.Bool
	var done, bad atomic.Int64
	var lastErr atomic.Value
	var wg sync.WaitGroup
	for _, cn := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				err := cn.exchange(cfg.ServerName, false)
				if err != nil {
					bad.Add(1)
					lastErr.Store(err.Error())
					return
				}
				if measure.Load() {
					done.Add(1)
				}
			}
		}()
	}
	time.Sleep(*warm)
	a, err := smp.Take()
	if err != nil {
		return err
	}
	measure.Store(true)
	t0 := time.Now()
	time.Sleep(*d)
	measure.Store(false)
	el := time.Since(t0)
	b, err := smp.Take()
	stop.Store(true)
	wg.Wait()
	for _, cn := range conns {
		cn.c.Close()
	}
	if err != nil {
		return err
	}
	n := done.Load()
	r := &result.Result{Kind: "https", Proto: "https", Label: o.label, Addr: o.addr, Conns: *c, Duration: el.Seconds(),
		Count: n, Rate: float64(n) / el.Seconds(), Bad: bad.Load()}
	if s, ok := lastErr.Load().(string); ok {
		r.Err = s
	}
	smp.Deltas(r, a, b, n)
	human := fmt.Sprintf("https c=%d %.1fs: %d req, %.0f req/s, bad %d", *c, el.Seconds(), n, r.Rate, r.Bad)
	if r.Server != nil {
		human += fmt.Sprintf("; server CPU %.1f us/request", r.Server.CPUPer100k*10)
	}
	emit(r, human)
	if n == 0 {
		return fmt.Errorf("no request completed (last error: %s)", r.Err)
	}
	return nil
}

// ---- hs ----

func cmdHS(args []string) error {
	fs := flag.NewFlagSet("hs", flag.ExitOnError)
	var o opts
	o.register(fs)
	n := fs.Int("n", 1000, "handshakes")
	c := fs.Int("c", 4, "handshakes at a time")
	resume := fs.Bool("resume", false, "resume the first handshake's session (TLS 1.2 ticket) on every handshake")
	warm := fs.Int("warmup", 200, "unmeasured handshakes first (the server's one-time costs)")
	fs.Parse(args)
	smp := o.sampler()
	cfg := clientConfig()
	cfg.ServerName = o.sni
	cfg.MinVersion, cfg.MaxVersion = tls.VersionTLS12, tls.VersionTLS12
	cfg.CurvePreferences = []tls.CurveID{tls.CurveP256}
	if *resume {
		cfg.ClientSessionCache = tls.NewLRUClientSessionCache(64)
		if _, err := handshake(&o, 0, cfg); err != nil { // the ticket
			return err
		}
	}
	if _, err := parallel(0, *warm, *c, func(i int) error { _, err := handshake(&o, i, cfg); return err }); err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}
	var resumed atomic.Int64
	a, err := smp.Take()
	if err != nil {
		return err
	}
	t0 := time.Now()
	failed, ferr := parallel(0, *n, *c, func(i int) error {
		did, err := handshake(&o, i, cfg)
		if did {
			resumed.Add(1)
		}
		return err
	})
	el := time.Since(t0)
	b, err := smp.Take()
	if err != nil {
		return err
	}
	okN := int64(*n) - failed
	proto := "tls12-p256-full"
	if *resume {
		proto = "tls12-p256-resumed"
	}
	r := &result.Result{Kind: "tlshs", Proto: proto, Label: o.label, Addr: o.addr, Conns: *c, Duration: el.Seconds(),
		Count: okN, Rate: float64(okN) / el.Seconds(), Bad: failed, Resumed: resumed.Load()}
	if ferr != nil {
		r.Err = ferr.Error()
	}
	smp.Deltas(r, a, b, okN)
	human := fmt.Sprintf("%s: %d handshakes (%d resumed, %d failed) in %.1fs", proto, okN, resumed.Load(), failed, el.Seconds())
	if r.Server != nil {
		human += fmt.Sprintf("; server CPU %.1f us/handshake", r.Server.CPUPer100k*10)
	}
	emit(r, human)
	if okN == 0 {
		return fmt.Errorf("no handshake completed (%v)", ferr)
	}
	return nil
}

// handshake dials, completes a handshake and closes.
func handshake(o *opts, i int, cfg *tls.Config) (resumed bool, err error) {
	c, err := o.dialer(i).Dial("tcp", o.addr)
	if err != nil {
		return false, err
	}
	defer c.Close()
	tc := tls.Client(c, cfg)
	tc.SetDeadline(time.Now().Add(ioTimeout))
	if err := tc.Handshake(); err != nil {
		return false, err
	}
	return tc.ConnectionState().DidResume, nil
}
