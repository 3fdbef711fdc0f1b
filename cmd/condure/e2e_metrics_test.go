package main

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// --prometheus: the metrics move with traffic, the output passes
// `promtool check metrics`, and a real Prometheus scrapes it.

// series is one scrape: "name{k="v",...}" (labels sorted) -> value.
type series map[string]float64

// scrapeMetrics fetches /metrics from addr and parses the text format.
func scrapeMetrics(t *testing.T, addr string) (series, []byte) {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("scrape: %d %v", resp.StatusCode, err)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Fatalf("content type %q", ct)
	}
	s := series{}
	for _, line := range strings.Split(string(body), "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("bad sample line %q", line)
		}
		s[line[:i]] = v
	}
	return s, body
}

// key builds a series key as client_golang writes it: labels sorted by name.
func key(name string, labels ...string) string {
	if len(labels) == 0 {
		return name
	}
	var b strings.Builder
	b.WriteString(name + "{")
	for i := 0; i+1 < len(labels); i += 2 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%s=%q", labels[i], labels[i+1])
	}
	b.WriteByte('}')
	return b.String()
}

// must returns the value of a series that must exist.
func (s series) must(t *testing.T, name string, labels ...string) float64 {
	t.Helper()
	k := key(name, labels...)
	v, ok := s[k]
	if !ok {
		t.Fatalf("series %s missing", k)
	}
	return v
}

// waitMetric scrapes until cond holds for the series, 10 s at most.
func waitMetric(t *testing.T, addr string, cond func(float64) bool, name string, labels ...string) series {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s, _ := scrapeMetrics(t, addr)
		if v, ok := s[key(name, labels...)]; ok && cond(v) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: condition not met, last %v", key(name, labels...), s[key(name, labels...)])
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitScrape scrapes until cond holds, 10 s at most.
func waitScrape(t *testing.T, addr string, cond func(series) bool) series {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s, _ := scrapeMetrics(t, addr)
		if cond(s) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("condition not met in 10 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func startMetricsServer(t *testing.T, extra ...string) (*testServer, string) {
	t.Helper()
	maddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	s := startServer(t, append([]string{"--prometheus", maddr}, extra...)...)
	s.waitLog("prometheus metrics on tcp " + maddr)
	return s, maddr
}

func TestMetricsMoveWithTraffic(t *testing.T) {
	s, maddr := startMetricsServer(t)
	h := s.handler("h1")
	before, _ := scrapeMetrics(t, maddr)
	if v := before.must(t, "condure_requests_total", "mode", "stream"); v != 0 {
		t.Fatalf("requests before traffic: %v", v)
	}
	if before.must(t, "process_open_fds") <= 0 || before.must(t, "process_resident_memory_bytes") <= 0 {
		t.Fatal("process collector missing")
	}
	before.must(t, "go_goroutines")

	// Three keep-alive requests: 200, 200, 404.
	c := s.dial()
	br := bufio.NewReader(c)
	for i, code := range []int{200, 200, 404} {
		fmt.Fprintf(c, "GET /m%d HTTP/1.1\r\nHost: x\r\n\r\n", i)
		req := recv(t, h, "")
		newSession(t, h, req).respond(code, "R", "body", false)
		if resp, _ := readResponse(t, br, "GET"); resp.StatusCode != code {
			t.Fatalf("status %d", resp.StatusCode)
		}
	}
	// Bad input: answered 400 by condure, connection closed.
	bad := s.dial()
	io.WriteString(bad, "NOT A REQUEST\r\n\r\n")
	if out := readAllUntilClose(t, bad); !strings.HasPrefix(out, "HTTP/1.1 400 ") {
		t.Fatalf("bad request answered %q", out)
	}
	// A WebSocket session: two client messages, one handler message.
	wc, wbr, ss := wsOpen(t, s, h)
	readHead(t, wbr)
	wc.Write(clientFrame(true, 1, []byte("hello")))
	wc.Write(clientFrame(true, 2, []byte("abc")))
	recv(t, h, "")
	recv(t, h, "")
	ss.send(map[string]any{"content-type": "text", "body": "welcome"})
	readFrame(t, wbr)

	m := waitMetric(t, maddr, func(v float64) bool { return v == 2 }, "condure_websocket_messages_total", "direction", "in")
	want := []struct {
		v      float64
		name   string
		labels []string
	}{
		{4, "condure_requests_total", []string{"mode", "stream"}},
		{2, "condure_responses_total", []string{"class", "2xx", "mode", "stream"}},
		{2, "condure_responses_total", []string{"class", "4xx", "mode", "stream"}}, // 404 + the 400
		{1, "condure_responses_total", []string{"class", "1xx", "mode", "stream"}}, // 101
		{1, "condure_bad_requests_total", []string{"status", "400"}},
		{8, "condure_websocket_bytes_total", []string{"direction", "in"}},
		{1, "condure_websocket_messages_total", []string{"direction", "out"}},
		{7, "condure_websocket_bytes_total", []string{"direction", "out"}},
		{1, "condure_connections_open", []string{"kind", "ws", "listener", s.addr, "mode", "stream"}},
		{1, "condure_connections_closed_total", []string{"cause", "client_protocol_error", "kind", "http"}},
		{4, "condure_response_first_byte_seconds_count", nil},
		{0, "condure_metrics_stale_workers", nil},
	}
	for _, w := range want {
		if got := m.must(t, w.name, w.labels...); got != w.v {
			t.Errorf("%s = %v, want %v", key(w.name, w.labels...), got, w.v)
		}
	}
	// Handler packets in: 3 responses + 101 + 1 message; out: 4 requests,
	// 2 messages, credits for the handler's message.
	if in := m.must(t, "condure_zhttp_packets_total", "direction", "in", "type", "data"); in != 5 {
		t.Errorf("data packets in = %v, want 5", in)
	}
	if out := m.must(t, "condure_zhttp_packets_total", "direction", "out", "type", "data"); out != 6 {
		t.Errorf("data packets out = %v, want 6", out)
	}
	// accepted counts the probe of startServer too.
	if acc := m.must(t, "condure_connections_accepted_total", "listener", s.addr, "mode", "stream"); acc < 3 {
		t.Errorf("accepted = %v, want at least 3", acc)
	}
	var busy, addrs float64
	for i := range workersOf(nil) {
		busy += m.must(t, "condure_worker_busy_seconds_total", "worker", strconv.Itoa(i))
		addrs += m.must(t, "condure_handler_addresses", "worker", strconv.Itoa(i))
	}
	if busy <= 0 {
		t.Errorf("busy seconds %v", busy)
	}
	if addrs < 1 {
		t.Errorf("no handler address known")
	}
	// The client leaves the WebSocket: the handler gets a cancel, and the
	// session is counted closed by the client.
	wc.Close()
	recv(t, h, "cancel")
	m = waitMetric(t, maddr, func(v float64) bool { return v == 0 }, "condure_connections_open", "kind", "ws", "listener", s.addr, "mode", "stream")
	if v := m.must(t, "condure_connections_closed_total", "cause", "client_close", "kind", "ws"); v != 1 {
		t.Errorf("ws closed by client = %v", v)
	}
	if v := m.must(t, "condure_zhttp_packets_total", "direction", "out", "type", "cancel"); v != 1 {
		t.Errorf("cancels out = %v", v)
	}
	// The keep-alive client leaves between requests: closed by the client
	// (startServer's probe connection already was).
	closedBefore := m.must(t, "condure_connections_closed_total", "cause", "client_close", "kind", "http")
	c.Close()
	waitMetric(t, maddr, func(v float64) bool { return v == closedBefore+1 }, "condure_connections_closed_total", "cause", "client_close", "kind", "http")
	if v := m.must(t, "condure_connections_closed_total", "cause", "other", "kind", "http"); v != 0 {
		t.Errorf("connections closed for no known cause: %v", v)
	}
}

// TestMetricsPromtoolAccepts runs `promtool check metrics` on a scrape
// taken after some traffic (histograms with observations, TLS included).
func TestMetricsPromtoolAccepts(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Skip("promtool not installed (scripts/deps.sh prometheus)")
	}
	env := newTLSEnv(t)
	maddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	s := startTLSServer(t, env, "--prometheus", maddr+",prefix=edge_")
	h := s.handler("h1")
	s.goodClient(t, h) // a TLS handshake and a request
	// The client refuses the certificate: its alert fails the handshake,
	// or its close abandons it first.
	if _, err := tlsDial(t, s.tlsAddr, &tls.Config{RootCAs: x509Pool(env), ServerName: "nomatch.invalid"}); err == nil {
		t.Fatal("handshake with a wrong name succeeded")
	}
	failed := func(m series) float64 {
		return m.must(t, "edge_condure_tls_handshakes_total", "result", "error", "version", "none") +
			m.must(t, "edge_condure_tls_handshakes_total", "result", "abandoned", "version", "none")
	}
	waitScrape(t, maddr, func(m series) bool { return failed(m) == 1 })
	errorsBefore := waitScrape(t, maddr, func(series) bool { return true }).must(t, "edge_condure_tls_handshakes_total", "result", "error", "version", "none")
	// Plain text on the TLS port: the handshake fails.
	pc, err := net.Dial("tcp", s.tlsAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	io.WriteString(pc, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	m := waitScrape(t, maddr, func(m series) bool { return failed(m) == 2 })
	if v := m.must(t, "edge_condure_tls_handshakes_total", "result", "error", "version", "none"); v != errorsBefore+1 {
		t.Errorf("failed handshakes %v, want %v", v, errorsBefore+1)
	}
	if v := m.must(t, "edge_condure_connections_closed_total", "cause", "tls_handshake_error", "kind", "tls-handshake"); v != errorsBefore+1 {
		t.Errorf("closed by a failed handshake = %v", v)
	}
	if v := m.must(t, "edge_condure_tls_handshakes_total", "result", "ok", "version", "1.3"); v != 1 {
		t.Errorf("TLS 1.3 handshakes ok = %v", v)
	}
	if v := m.must(t, "edge_condure_tls_handshake_duration_seconds_count"); v != 1 {
		t.Errorf("handshake durations observed = %v", v)
	}
	if v := m.must(t, "edge_condure_connections_accepted_total", "listener", s.tlsAddr, "mode", "stream"); v < 2 {
		t.Errorf("accepted on the tls port = %v", v)
	}
	_, body := scrapeMetrics(t, maddr)
	for _, line := range strings.Split(string(body), "\n") {
		if line != "" && line[0] != '#' && !strings.HasPrefix(line, "edge_") {
			t.Fatalf("line without the prefix: %q", line)
		}
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = bytes.NewReader(body)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("promtool check metrics: %v\n%s", err, out)
	}
}

func x509Pool(env *tlsEnv) *x509.CertPool { return env.pool }

// TestMetricsScrapedByPrometheus starts Debian's prometheus with a 1 s
// scrape interval against condure and queries its HTTP API for the request
// counter that traffic moved.
func TestMetricsScrapedByPrometheus(t *testing.T) {
	prom, err := exec.LookPath("prometheus")
	if err != nil {
		t.Skip("prometheus not installed (scripts/deps.sh prometheus)")
	}
	s, maddr := startMetricsServer(t, "--log-level", "2")
	h := s.handler("h1")
	c := s.dial()
	br := bufio.NewReader(c)
	for i := 0; i < 3; i++ {
		fmt.Fprintf(c, "GET /p%d HTTP/1.1\r\nHost: x\r\n\r\n", i)
		newSession(t, h, recv(t, h, "")).respond(200, "OK", "ok", false)
		readResponse(t, br, "GET")
	}

	dir := t.TempDir()
	cfg := fmt.Sprintf("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n"+
		"  - job_name: condure\n    static_configs:\n      - targets: ['%s']\n", maddr)
	cfgFile := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	paddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	plog := &syncBuffer{}
	cmd := exec.Command(prom, "--config.file="+cfgFile, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+paddr, "--log.level=warn")
	cmd.Stdout, cmd.Stderr = plog, plog
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
		}
		if t.Failed() {
			t.Logf("prometheus log:\n%s", plog.String())
		}
	})

	// Poll the query API until the scraped counter shows the 3 requests.
	query := `sum(condure_requests_total{job="condure",mode="stream"})`
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(60 * time.Second)
	last := ""
	for {
		select {
		case <-exited:
			t.Fatalf("prometheus exited:\n%s", plog.String())
		default:
		}
		if v, raw, ok := promQuery(client, paddr, query); ok && v == 3 {
			break
		} else {
			last = raw
		}
		if time.Now().After(deadline) {
			t.Fatalf("prometheus never saw 3 requests; last answer %s", last)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// The scrape is healthy as Prometheus sees it.
	if v, raw, ok := promQuery(client, paddr, `up{job="condure"}`); !ok || v != 1 {
		t.Fatalf("up = %s", raw)
	}
}

// promQuery asks Prometheus's /api/v1/query for an instant vector with one
// sample and returns its value.
func promQuery(c *http.Client, addr, q string) (float64, string, bool) {
	resp, err := c.Get("http://" + addr + "/api/v1/query?query=" + url.QueryEscape(q))
	if err != nil {
		return 0, err.Error(), false
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var r struct {
		Status string
		Data   struct {
			Result []struct {
				Value [2]any
			}
		}
	}
	if json.Unmarshal(body, &r) != nil || r.Status != "success" || len(r.Data.Result) != 1 {
		return 0, string(body), false
	}
	s, _ := r.Data.Result[0].Value[1].(string)
	v, err := strconv.ParseFloat(s, 64)
	return v, string(body), err == nil
}

// With --prometheus the data path still allocates nothing (scrapes are
// not part of the measured window).
func TestSteadyStateAllocatesNothingWithMetrics(t *testing.T) {
	steadyStateAllocs(t, "--prometheus", fmt.Sprintf("127.0.0.1:%d", freePort(t)))
}

// Close causes and accept pauses: a handler's cancel answered with 502, a
// request head that never ends (stream timeout), and maxconn.
func TestMetricsCausesAndPauses(t *testing.T) {
	s, maddr := startMetricsServer(t, "--workers", "1", "--stream-maxconn", "2", "--stream-timeout", "1")
	h := s.handler("h1")
	c := s.dial()
	io.WriteString(c, "GET /c HTTP/1.1\r\nHost: x\r\n\r\n")
	newSession(t, h, recv(t, h, "")).send(map[string]any{"type": "cancel"})
	if out := readAllUntilClose(t, c); !strings.HasPrefix(out, "HTTP/1.1 502 ") {
		t.Fatalf("answer to a cancel: %q", out)
	}
	m := waitMetric(t, maddr, func(v float64) bool { return v == 1 }, "condure_connections_closed_total", "cause", "handler_cancel", "kind", "http")
	if v := m.must(t, "condure_responses_total", "class", "5xx", "mode", "stream"); v != 1 {
		t.Errorf("5xx responses = %v", v)
	}
	if v := m.must(t, "condure_zhttp_packets_total", "direction", "in", "type", "cancel"); v != 1 {
		t.Errorf("cancels in = %v", v)
	}
	for k := range m {
		if strings.HasPrefix(k, "condure_bad_requests_total") {
			t.Errorf("a 502 counted as bad input: %s", k)
		}
	}
	// Two connections fill maxconn (a partial head each, cut by the 1 s
	// stream timeout); a third waits in the backlog.
	a, b := s.dial(), s.dial()
	io.WriteString(a, "GET /slow HTTP/1.1\r\n")
	io.WriteString(b, "GET /slow HTTP/1.1\r\n")
	third := s.dial()
	defer third.Close()
	waitMetric(t, maddr, func(v float64) bool { return v >= 1 }, "condure_accept_pauses_total", "reason", "maxconn")
	waitMetric(t, maddr, func(v float64) bool { return v == 2 }, "condure_connections_closed_total", "cause", "stream_timeout", "kind", "http")
}
