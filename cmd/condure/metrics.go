package main

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/condure-go/condure/config"
	"github.com/condure-go/condure/internal/logging"
	"github.com/condure-go/condure/server"
)

// --prometheus: /metrics in the Prometheus text format, served by net/http
// on goroutines of its own, outside the workers' loops. The worker counters
// are read at scrape time (server/metrics.go: each worker copies them into
// a snapshot when asked); README "Operating it" lists the metrics.

const (
	// How long a scrape waits for a worker's fresh snapshot before using
	// its last one: a loop iteration takes far less unless it is stuck.
	snapshotTimeout = 200 * time.Millisecond
	// Scrapes served at once; more are refused with 503 (Pushpin: 10).
	maxScrapes = 10
	// Bounds a scrape connection: a client that trickles its request or
	// stops reading is dropped.
	scrapeIOTimeout = 10 * time.Second
)

// metricsServer serves /metrics until Close.
type metricsServer struct {
	ln  net.Listener
	srv *http.Server
}

// startMetrics opens the --prometheus listener and serves the workers'
// metrics, with the process and Go runtime collectors, every name behind
// p.Prefix.
func startMetrics(p *config.Prometheus, workers []*server.Worker, listens []server.Listen) (*metricsServer, error) {
	network := "tcp"
	if p.Local {
		network = "unix"
		if err := os.Remove(p.Addr); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("prometheus listener: %w", err)
		}
	}
	ln, err := net.Listen(network, p.Addr)
	if err != nil {
		return nil, fmt.Errorf("prometheus listener: %w", err)
	}
	reg := prometheus.NewRegistry()
	wrapped := prometheus.WrapRegistererWithPrefix(p.Prefix, reg)
	wrapped.MustRegister(newWorkerCollector(workers, listens),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewGoCollector())
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorHandling:       promhttp.ContinueOnError,
		MaxRequestsInFlight: maxScrapes,
		Timeout:             scrapeIOTimeout,
	}))
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: scrapeIOTimeout,
		WriteTimeout:      scrapeIOTimeout,
		IdleTimeout:       scrapeIOTimeout,
		ErrorLog:          nil,
	}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logging.Error(target, "prometheus: %v", err)
		}
	}()
	logging.Info(target, "prometheus metrics on %s %s", network, ln.Addr())
	return &metricsServer{ln: ln, srv: srv}, nil
}

// Close stops serving.
func (m *metricsServer) Close() { m.srv.Close() }

// workerCollector turns the workers' snapshots into metrics.
type workerCollector struct {
	workers []*server.Worker
	listens []listenLabels

	mu    sync.Mutex // one scrape at a time reads the workers
	stats []server.Stats

	open, accepted, closed, pauses        *prometheus.Desc
	requests, responses, badInput         *prometheus.Desc
	wsMessages, wsBytes                   *prometheus.Desc
	packets, sendsBlocked, blockedSeconds *prometheus.Desc
	handlers, tls, tlsLatency, firstByte  *prometheus.Desc
	busy, loops, stale                    *prometheus.Desc
}

type listenLabels struct{ addr, mode string }

func newWorkerCollector(workers []*server.Worker, listens []server.Listen) *workerCollector {
	c := &workerCollector{workers: workers, stats: make([]server.Stats, len(workers))}
	seen := map[string]bool{}
	for i, l := range listens {
		ll := listenLabels{addr: l.Addr, mode: "stream"}
		if l.Req {
			ll.mode = "req"
		}
		if seen[ll.addr+" "+ll.mode] { // the same address twice: keep the series apart
			ll.addr += "#" + strconv.Itoa(i)
		}
		seen[ll.addr+" "+ll.mode] = true
		c.listens = append(c.listens, ll)
	}
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("condure_"+name, help, labels, nil)
	}
	c.open = d("connections_open", "Client connections open, by listener, mode and kind (http, ws, tls-handshake).", "listener", "mode", "kind")
	c.accepted = d("connections_accepted_total", "Client connections accepted, by listener and mode.", "listener", "mode")
	c.closed = d("connections_closed_total", "Client connections closed, by kind at close and cause.", "kind", "cause")
	c.pauses = d("accept_pauses_total", "Times accepting paused: maxconn reached, or out of file descriptors (one pending connection shed).", "reason")
	c.requests = d("requests_total", "Requests (and WebSocket upgrades) sent to handlers, by mode.", "mode")
	c.responses = d("responses_total", "Response heads written (the handler's or condure's own), by mode and status class.", "mode", "class")
	c.badInput = d("bad_requests_total", "Bad client input answered by condure itself, by status code.", "status")
	c.wsMessages = d("websocket_messages_total", "WebSocket messages relayed: in = client to handler, out = handler to client.", "direction")
	c.wsBytes = d("websocket_bytes_total", "WebSocket message payload bytes relayed, by direction as for messages.", "direction")
	c.packets = d("zhttp_packets_total", "ZHTTP packets: in = from handlers, out = to handlers, by type.", "direction", "type")
	c.sendsBlocked = d("zhttp_sends_blocked_total", "Sends to handlers refused by the ZeroMQ high-water mark (the session waits).", "worker")
	c.blockedSeconds = d("zhttp_send_blocked_seconds_total", "Time during which sends to handlers were held back (a gate closed or sessions waiting).", "worker")
	c.handlers = d("handler_addresses", "Handler addresses known (sessions with a handler refer to them), per worker.", "worker")
	c.tls = d("tls_handshakes_total", "TLS handshakes by version and result (ok, error, abandoned: closed before the end).", "version", "result")
	c.tlsLatency = d("tls_handshake_duration_seconds", "Time from accept to a finished TLS handshake.")
	c.firstByte = d("response_first_byte_seconds", "Time from the request sent to the handler to the response head (loop-iteration resolution).")
	c.busy = d("worker_busy_seconds_total", "Time each worker's event loop spent working, not waiting in epoll.", "worker")
	c.loops = d("worker_loop_iterations_total", "Event loop iterations, per worker.", "worker")
	c.stale = d("metrics_stale_workers", "Workers that did not answer this scrape in time (their last snapshot is reported).")
	return c
}

// Describe sends every descriptor.
func (c *workerCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.open, c.accepted, c.closed, c.pauses, c.requests, c.responses, c.badInput,
		c.wsMessages, c.wsBytes, c.packets, c.sendsBlocked, c.blockedSeconds, c.handlers, c.tls, c.tlsLatency,
		c.firstByte, c.busy, c.loops, c.stale} {
		ch <- d
	}
}

var (
	modeNames      = [2]string{"stream", "req"}
	classNames     = [6]string{"", "1xx", "2xx", "3xx", "4xx", "5xx"}
	directionNames = [2]string{"in", "out"}
)

// Collect snapshots every worker (at once) and sends the sums.
func (c *workerCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var wg sync.WaitGroup
	fresh := make([]bool, len(c.workers))
	for i, w := range c.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fresh[i] = w.Snapshot(&c.stats[i], snapshotTimeout)
		}()
	}
	wg.Wait()

	stale := 0
	var sum server.Stats
	for i := range c.stats {
		if !fresh[i] {
			stale++
		}
		addStats(&sum, &c.stats[i])
	}
	counter := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	for li, l := range c.listens {
		for k := 0; k < server.NumKinds; k++ {
			gauge(c.open, float64(sum.Open[li][k]), l.addr, l.mode, server.KindNames[k])
		}
		counter(c.accepted, float64(sum.Accepted[li]), l.addr, l.mode)
	}
	for k := 0; k < server.NumKinds; k++ {
		for cause := 0; cause < server.NumCauses; cause++ {
			counter(c.closed, float64(sum.Closed[k][cause]), server.KindNames[k], server.CauseNames[cause])
		}
	}
	for r := 0; r < server.NumPauses; r++ {
		counter(c.pauses, float64(sum.AcceptPauses[r]), server.PauseNames[r])
	}
	for m := range modeNames {
		counter(c.requests, float64(sum.Requests[m]), modeNames[m])
		for cl := 1; cl < len(classNames); cl++ {
			counter(c.responses, float64(sum.Responses[m][cl]), modeNames[m], classNames[cl])
		}
	}
	for i, n := range sum.BadInput {
		if n > 0 { // 200 codes, few ever used
			counter(c.badInput, float64(n), strconv.Itoa(400+i))
		}
	}
	for d := range directionNames {
		counter(c.wsMessages, float64(sum.WSMessages[d]), directionNames[d])
		counter(c.wsBytes, float64(sum.WSBytes[d]), directionNames[d])
	}
	for t := 0; t < server.NumPacketTypes; t++ {
		counter(c.packets, float64(sum.PacketsIn[t]), "in", server.PacketTypeName(t))
		counter(c.packets, float64(sum.PacketsOut[t]), "out", server.PacketTypeName(t))
	}
	for i := range c.stats {
		s, w := &c.stats[i], strconv.Itoa(i)
		counter(c.sendsBlocked, float64(s.SendsBlocked), w)
		counter(c.blockedSeconds, float64(s.BlockedNs)/1e9, w)
		gauge(c.handlers, float64(s.Handlers), w)
		counter(c.busy, float64(s.BusyNs)/1e9, w)
		counter(c.loops, float64(s.Loops), w)
	}
	for v := range server.TLSVersionNames {
		for r := 0; r < server.NumTLSResults; r++ {
			if v == len(server.TLSVersionNames)-1 || r == server.TLSOk { // no version without a finished handshake
				counter(c.tls, float64(sum.TLS[v][r]), server.TLSVersionNames[v], server.TLSResultNames[r])
			}
		}
	}
	ch <- histogram(c.tlsLatency, &sum.TLSLatency)
	ch <- histogram(c.firstByte, &sum.FirstByte)
	gauge(c.stale, float64(stale))
}

// histogram turns fixed buckets (not cumulative) into a constant histogram.
func histogram(d *prometheus.Desc, h *server.Histogram) prometheus.Metric {
	buckets := make(map[float64]uint64, len(server.LatencyBounds))
	var n uint64
	for i, le := range server.LatencyBounds {
		n += h.Counts[i]
		buckets[le] = n
	}
	n += h.Counts[len(server.LatencyBounds)]
	return prometheus.MustNewConstHistogram(d, n, float64(h.SumNs)/1e9, buckets)
}

// addStats adds s into sum (gauges too: every worker holds a share).
func addStats(sum, s *server.Stats) {
	for li := range s.Open {
		for k := range s.Open[li] {
			sum.Open[li][k] += s.Open[li][k]
		}
		sum.Accepted[li] += s.Accepted[li]
	}
	for k := range s.Closed {
		for c := range s.Closed[k] {
			sum.Closed[k][c] += s.Closed[k][c]
		}
	}
	for i := range s.AcceptPauses {
		sum.AcceptPauses[i] += s.AcceptPauses[i]
	}
	for m := range s.Requests {
		sum.Requests[m] += s.Requests[m]
		for cl := range s.Responses[m] {
			sum.Responses[m][cl] += s.Responses[m][cl]
		}
	}
	for i := range s.BadInput {
		sum.BadInput[i] += s.BadInput[i]
	}
	for d := range s.WSMessages {
		sum.WSMessages[d] += s.WSMessages[d]
		sum.WSBytes[d] += s.WSBytes[d]
	}
	for t := range s.PacketsIn {
		sum.PacketsIn[t] += s.PacketsIn[t]
		sum.PacketsOut[t] += s.PacketsOut[t]
	}
	for v := range s.TLS {
		for r := range s.TLS[v] {
			sum.TLS[v][r] += s.TLS[v][r]
		}
	}
	addHistogram(&sum.TLSLatency, &s.TLSLatency)
	addHistogram(&sum.FirstByte, &s.FirstByte)
}

func addHistogram(sum, h *server.Histogram) {
	for i := range h.Counts {
		sum.Counts[i] += h.Counts[i]
	}
	sum.SumNs += h.SumNs
}
