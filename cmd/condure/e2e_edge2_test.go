package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Independent black-box checks of issue #13 (edge correctness): inputs that
// are odd but valid per RFC 3986 / 9110 / 9112 must reach the handler with a
// well-formed uri; a validator that is too strict would answer 400.

// setCork sets TCP_CORK on c: what it writes waits for a full segment, the
// cork's removal or a shutdown.
func setCork(t *testing.T, c *net.TCPConn) {
	t.Helper()
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_CORK, 1)
	}); err != nil || serr != nil {
		t.Fatalf("TCP_CORK: %v %v", err, serr)
	}
}

// TestOddButValidHosts sends Host fields and targets that RFC 3986 allows
// and checks the uri the handler gets. condure 1.9.1 (side by side) serves
// all of them, passing the authority verbatim.
func TestOddButValidHosts(t *testing.T) {
	s := startServer(t)
	h := s.handler("h1")
	long := strings.Repeat("a", 63) + "." + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + ".example"
	for _, tc := range []struct{ name, req, uri string }{
		{"trailing_dot", "GET / HTTP/1.1\r\nHost: example.com.\r\n\r\n", "http://example.com./"},
		{"upper_case", "GET / HTTP/1.1\r\nHost: EXAMPLE.COM\r\n\r\n", "http://EXAMPLE.COM/"},
		{"underscore", "GET / HTTP/1.1\r\nHost: my_service.internal:8080\r\n\r\n", "http://my_service.internal:8080/"},
		{"port_zero", "GET / HTTP/1.1\r\nHost: localhost:0\r\n\r\n", "http://localhost:0/"},
		{"pct_encoded", "GET / HTTP/1.1\r\nHost: my%20host\r\n\r\n", "http://my%20host/"},
		{"long_reg_name", "GET / HTTP/1.1\r\nHost: " + long + "\r\n\r\n", "http://" + long + "/"},
		{"ipv6_port", "GET / HTTP/1.1\r\nHost: [2001:db8::1]:443\r\n\r\n", "http://[2001:db8::1]:443/"},
		{"query_mark_only", "GET /? HTTP/1.1\r\nHost: a\r\n\r\n", "http://a/?"},
		{"double_slash", "GET /a//b HTTP/1.1\r\nHost: a\r\n\r\n", "http://a/a//b"},
		{"pct_dot_segments", "GET /%2e%2e/ HTTP/1.1\r\nHost: a\r\n\r\n", "http://a/%2e%2e/"},
		{"absolute_form_query", "GET http://h/p?q HTTP/1.1\r\nHost: a\r\n\r\n", "http://h/p?q"},
		// RFC 3986 §3.2.3: port = *DIGIT, so "a:" is valid; §6.2.3 normalizes
		// it to "a". condure-go before: 400.
		{"host_empty_port", "GET /x HTTP/1.1\r\nHost: example.com:\r\n\r\n", "http://example.com/x"},
		{"host_ipv6_empty_port", "GET /x HTTP/1.1\r\nHost: [::1]:\r\n\r\n", "http://[::1]/x"},
		{"absolute_form_empty_port", "GET http://h:/x HTTP/1.1\r\nHost: a\r\n\r\n", "http://h/x"},
		// RFC 3986 §3.2.2: IP-literal = "[" ( IPv6address / IPvFuture ) "]".
		// condure-go before: 400.
		{"host_ipvfuture", "GET /x HTTP/1.1\r\nHost: [v1.fe80::a+en1]:81\r\n\r\n", "http://[v1.fe80::a+en1]:81/x"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := s.dial()
			io.WriteString(c, tc.req)
			br := bufio.NewReader(c)
			req := recv(t, h, "")
			if str(req, "uri") != tc.uri {
				t.Fatalf("uri %q, want %q", str(req, "uri"), tc.uri)
			}
			newSession(t, h, req).respond(200, "OK", "ok", false)
			if resp, body := readResponse(t, br, str(req, "method")); resp.StatusCode != 200 || body != "ok" {
				t.Fatalf("response %v %q", resp.Status, body)
			}
		})
	}
}

// halfCloseExchange sends raw, closes its sending side (as nc -N does) and
// returns everything read until the server closes.
//
// raw and the FIN go in one segment (TCP_CORK holds raw until the
// shutdown, which puts the FIN on it), so the server reads the FIN with
// the request whatever the load. Sent apart, a client descheduled between
// them long enough for the response to start (~10 ms through Pushpin)
// has its FIN taken for a client leaving a streamed response, which the
// server closes by design (finIsAbort): the response came cut short.
func halfCloseExchange(t *testing.T, addr, raw string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	tc := c.(*net.TCPConn)
	setCork(t, tc)
	if _, err := io.WriteString(c, raw); err != nil {
		t.Fatal(err)
	}
	if err := tc.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("%q: read: %v (got %q)", raw, err, b)
	}
	return string(b)
}

// TestPushpinOddClients runs requests real clients send through Pushpin 1.36
// with condure-go in front (CONDURE_BIN_UNDER_TEST=/usr/bin/condure for the
// reference): HTTP/1.0 without Host, absolute-form, a Host with a port, odd
// but valid hosts, half-closed clients (nc -N) and pipelining before a FIN.
// Each must be proxied to the origin with the path and query intact.
// condure 1.9.1 fails every case here: to a client that half-closed it sends
// nothing once Pushpin has answered (measured, Pushpin 1.36).
func TestPushpinOddClients(t *testing.T) {
	org := startOrigin(t)
	p := startPushpin(t, org)
	for _, tc := range []struct{ name, raw, uri string }{
		{"http10_no_host", "GET /echo?x=1 HTTP/1.0\r\nX-Req-Test: hello there\r\n\r\n", "/echo?x=1"},
		{"http10_host_port", "GET /echo HTTP/1.0\r\nHost: " + p.httpAddr + "\r\n\r\n", "/echo"},
		{"http11_host_port", "GET /echo?q HTTP/1.1\r\nHost: example.com:8080\r\n\r\n", "/echo?q"},
		{"absolute_form", "GET http://example.com:8080/echo?q=1 HTTP/1.1\r\nHost: example.com:8080\r\n\r\n", "/echo?q=1"},
		{"underscore_host", "GET /echo HTTP/1.1\r\nHost: my_service.internal\r\n\r\n", "/echo"},
		{"trailing_dot_host", "GET /echo HTTP/1.1\r\nHost: EXAMPLE.com.\r\n\r\n", "/echo"},
		{"empty_port", "GET /echo HTTP/1.1\r\nHost: example.com:\r\n\r\n", "/echo"},
		{"ipv6_host", "GET /echo HTTP/1.1\r\nHost: [::1]:7999\r\n\r\n", "/echo"},
		{"query_mark_only", "GET /echo? HTTP/1.1\r\nHost: a\r\n\r\n", "/echo?"},
		{"post_body", "POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello", "/echo"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := halfCloseExchange(t, p.httpAddr, tc.raw)
			if !strings.HasPrefix(got, "HTTP/1.") || !strings.Contains(got[:15], " 20") ||
				!strings.Contains(got, `"uri":"`+tc.uri+`"`) {
				t.Fatalf("got %q, want a 2xx from the origin with uri %q", got, tc.uri)
			}
		})
	}
	t.Run("pipelined_before_fin", func(t *testing.T) {
		got := halfCloseExchange(t, p.httpAddr, "GET /echo?n=1 HTTP/1.1\r\nHost: a\r\n\r\n"+
			"GET /echo?n=2 HTTP/1.1\r\nHost: a\r\n\r\nGET /echo?n=3 HTTP/1.1\r\nHost: a\r\n\r\n")
		for i := 1; i <= 3; i++ {
			if !strings.Contains(got, fmt.Sprintf(`"uri":"/echo?n=%d"`, i)) {
				t.Fatalf("response %d missing: %q", i, got)
			}
		}
	})
}

// TestPushpinLongPollClients holds GRIP long-polls (Grip-Hold: response)
// for a kept-open HTTP/1.1 client, a half-closed one (nc -N) and a
// half-closed HTTP/1.0 one without Host, and checks each gets the published
// response. condure 1.9.1 drops the half-closed ones when Pushpin answers.
func TestPushpinLongPollClients(t *testing.T) {
	base := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: startOrigin(t).addr})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		if r.URL.Path != "/poll" { // startPushpin's readiness probes
			base.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Grip-Hold", "response")
		w.Header().Set("Grip-Channel", r.URL.Query().Get("ch"))
		w.Header().Set("Grip-Timeout", "30")
		io.WriteString(w, "timeout\n")
	}), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	p := startPushpin(t, &origin{addr: l.Addr().String()})
	ch := fmt.Sprintf("lp-%d", time.Now().UnixNano())
	reqs := map[string]string{
		"http11_open":       "GET /poll?ch=" + ch + " HTTP/1.1\r\nHost: a\r\n\r\n",
		"http11_half_close": "GET /poll?ch=" + ch + " HTTP/1.1\r\nHost: a:80\r\n\r\n",
		"http10_half_close": "GET /poll?ch=" + ch + " HTTP/1.0\r\n\r\n",
	}
	results := make(chan string, len(reqs))
	for name, raw := range reqs {
		go func() {
			c, err := net.DialTimeout("tcp", p.httpAddr, 5*time.Second)
			if err != nil {
				results <- name + ": " + err.Error()
				return
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(20 * time.Second))
			io.WriteString(c, raw)
			if name != "http11_open" {
				c.(*net.TCPConn).CloseWrite()
			}
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				results <- name + ": " + err.Error()
				return
			}
			b, err := io.ReadAll(resp.Body)
			results <- fmt.Sprintf("%s: %d %q %v", name, resp.StatusCode, b, err)
		}()
	}
	// Publish until every hold has answered: a hold not yet subscribed
	// misses a publish, so repeat it.
	body, _ := json.Marshal(map[string]any{"items": []any{map[string]any{
		"channel": ch, "formats": map[string]any{"http-response": map[string]any{"body": "published\n"}},
	}}})
	var got []string
	deadline := time.After(20 * time.Second)
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for len(got) < len(reqs) {
		select {
		case r := <-results:
			got = append(got, r)
		case <-tick.C:
			resp, err := http.Post(p.publishURL, "application/json", bytes.NewReader(body))
			if err == nil {
				resp.Body.Close()
			}
		case <-deadline:
			t.Fatalf("only %d of %d answered: %q", len(got), len(reqs), got)
		}
	}
	for _, r := range got {
		if !strings.HasSuffix(r, ` 200 "published\n" <nil>`) {
			t.Errorf("%s", r)
		}
	}
}

// wsEchoOrigin is a Python websockets echo server (Pushpin's WebSocket
// origin); it prints its port once listening.
const wsEchoOrigin = `
import asyncio, websockets
async def echo(ws, path=None):
    async for m in ws:
        await ws.send(m)
async def main():
    async with websockets.serve(echo, "127.0.0.1", 0) as s:
        print(s.sockets[0].getsockname()[1], flush=True)
        await asyncio.Future()
asyncio.run(main())
`

// wsThroughPushpin is a Python websockets client: messages echoed through
// Pushpin, then a clean close.
const wsThroughPushpin = `
import asyncio, sys, websockets
async def main():
    async with websockets.connect(sys.argv[1]) as ws:
        for m in ["hello", "x" * 5000, b"\x00\x01bin"]:
            await ws.send(m)
            r = await ws.recv()
            assert r == m, (r[:20], m[:20])
    assert ws.close_code == 1000, ws.close_code
    print("OK")
asyncio.run(main())
`

// TestPushpinWebSocket proxies a real WebSocket client through Pushpin with
// condure-go in front to a real WebSocket origin, then closes cleanly.
func TestPushpinWebSocket(t *testing.T) {
	if err := exec.Command(python, "-c", "import websockets").Run(); err != nil {
		t.Skipf("python3-websockets is not installed: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	srv := exec.CommandContext(ctx, python, "-c", wsEchoOrigin)
	out, err := srv.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Process.Kill(); srv.Wait() })
	port, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("ws origin: %v", err)
	}
	wsURL := &url.URL{Scheme: "http", Host: "127.0.0.1:" + strings.TrimSpace(port)}
	base := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: startOrigin(t).addr})
	ws := httputil.NewSingleHostReverseProxy(wsURL) // passes Upgrade through
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	front := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "" {
			ws.ServeHTTP(w, r)
			return
		}
		base.ServeHTTP(w, r)
	}), ReadHeaderTimeout: 10 * time.Second}
	go front.Serve(l)
	t.Cleanup(func() { front.Close() })
	p := startPushpin(t, &origin{addr: l.Addr().String()})
	cl := exec.CommandContext(ctx, python, "-c", wsThroughPushpin, "ws://"+p.httpAddr+"/ws?x=1")
	cl.WaitDelay = 2 * time.Second
	var stdout, stderr bytes.Buffer
	cl.Stdout, cl.Stderr = &stdout, &stderr
	if err := cl.Run(); err != nil || strings.TrimSpace(stdout.String()) != "OK" {
		t.Fatalf("client: %v\nstdout: %s\nstderr: %s", err, stdout.String(), stderr.String())
	}
}

// TestPushpinBigResponseHalfClosed fetches responses larger than one ZHTTP
// packet through Pushpin (which streams them in many packets) with a client
// that half-closed after its request, as nc -N does.
func TestPushpinBigResponseHalfClosed(t *testing.T) {
	org := startOrigin(t)
	p := startPushpin(t, org)
	for _, n := range []int{100000, 1000000} {
		got := halfCloseExchange(t, p.httpAddr, fmt.Sprintf("GET /big?n=%d HTTP/1.1\r\nHost: a\r\n\r\n", n))
		i := strings.Index(got, "\r\n\r\n")
		if !strings.HasPrefix(got, "HTTP/1.1 200 ") || i < 0 || got[i+4:] != string(pattern(n)) {
			t.Fatalf("n=%d: got %d bytes: %.200q", n, len(got), got)
		}
	}
}

// TestStreamTimeoutTLSIdle: on a tls listener, a connection that never sends
// a byte is idle like any other, so --stream-timeout closes it when that is
// shorter than the 10 s handshake bound. condure 1.9.1 with --stream-timeout
// 3 closes it at 3.0 s (measured); condure-go closed it at 10 s.
func TestStreamTimeoutTLSIdle(t *testing.T) {
	ts := startTLSServer(t, newTLSEnv(t), "--stream-timeout", "1")
	c, err := net.Dial("tcp", ts.tlsAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	closedWithin(t, c, 500*time.Millisecond, 3*time.Second)
}
