package main

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"net"
	"strings"
	"testing"
	"time"
)

// Request-target and Host checks (RFC 9112 §3.2, RFC 9110 §7.2) in every
// session kind, and the handler's response framing and credits (issue #13,
// items 4 and 5).

// badTargets are requests condure 1.9.1 serves with a uri no handler should
// trust; condure-go answers each with 400 and never asks a handler. The
// comment gives the uri /usr/bin/condure hands the handler (run side by side:
// condure --listen PORT --zclient-stream ipc:///tmp/x).
var badTargets = []struct{ name, line, headers string }{
	{"target_userinfo_glued_to_host", "GET @evil.internal/admin", "Host: good.com\r\n"}, // http://good.com@evil.internal/admin
	{"target_extends_host", "GET .evil.com/x", "Host: good.com\r\n"},                    // http://good.com.evil.com/x
	{"host_with_path", "GET /x", "Host: good.com/admin?\r\n"},                           // http://good.com/admin?/x
	{"two_hosts", "GET /x", "Host: a.com\r\nHost: b.com\r\n"},                           // http://a.com/x
	{"no_host_http11", "GET /x", ""},                                                    // http://localhost/x
	{"empty_host_http11", "GET /x", "Host:\r\n"},                                        // http:///x
	{"host_port_out_of_range", "GET /x", "Host: a.com:99999\r\n"},                       // http://a.com:99999/x
	{"host_userinfo", "GET /x", "Host: user@a.com\r\n"},                                 // http://user@a.com/x
	{"asterisk_not_options", "GET *", "Host: a.com\r\n"},                                // http://a.com*
	{"absolute_form_userinfo", "GET http://good.com@evil.com/x", "Host: good.com\r\n"},  // http://good.comhttp://good.com@evil.com/x
}

// expect400 sends a raw request and checks the answer is a 400 and a close.
func expect400(t *testing.T, c net.Conn, req string) {
	t.Helper()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, req)
	all := readAllUntilClose(t, c)
	if !strings.HasPrefix(all, "HTTP/1.1 400 Bad Request\r\n") || !strings.Contains(all, "Connection: close\r\n") {
		t.Fatalf("%q: got %q, want a 400 and a close", req, all)
	}
}

func TestTargetAndHostRefused(t *testing.T) {
	s := startServer(t)
	h := s.handler("h1")
	for _, tc := range badTargets {
		t.Run(tc.name, func(t *testing.T) {
			expect400(t, s.dial(), tc.line+" HTTP/1.1\r\n"+tc.headers+"\r\n")
		})
	}
	// None of them reached the handler: the next request it sees is this one.
	c := s.dial()
	fmt.Fprintf(c, "GET /after HTTP/1.1\r\nHost: good.com\r\n\r\n")
	if req := recv(t, h, ""); str(req, "uri") != "http://good.com/after" {
		t.Fatalf("handler got %v", req)
	}
	s.waitLog("bad request: invalid host (400)")
	s.waitLog("bad request: invalid request target (400)")
}

func TestTargetAndHostAccepted(t *testing.T) {
	s := startServer(t)
	h := s.handler("h1")
	for _, tc := range []struct{ name, req, uri string }{
		// As condure: an HTTP/1.0 request may omit Host.
		{"http10_no_host", "GET /x HTTP/1.0\r\n\r\n", "http://localhost/x"},
		// RFC 9112 §3.2.2: the target's authority, the Host ignored
		// (condure: http://good.comhttp://other.com/y).
		{"absolute_form_host_differs", "GET http://other.com/y HTTP/1.1\r\nHost: good.com\r\n\r\n", "http://other.com/y"},
		{"absolute_form_empty_host", "GET http://other.com:8080 HTTP/1.1\r\nHost:\r\n\r\n", "http://other.com:8080/"},
		{"ipv6_host", "GET /x HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n", "http://[::1]:8080/x"},
		// RFC 9112 §3.3: an empty path (condure: http://a.com*).
		{"options_asterisk", "OPTIONS * HTTP/1.1\r\nHost: a.com\r\n\r\n", "http://a.com"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := s.dial()
			io.WriteString(c, tc.req)
			req := recv(t, h, "")
			if str(req, "uri") != tc.uri {
				t.Fatalf("uri %q, want %q", str(req, "uri"), tc.uri)
			}
			newSession(t, h, req).respond(200, "OK", "ok", false)
			if resp, body := readResponse(t, bufio.NewReader(c), str(req, "method")); resp.StatusCode != 200 || body != "ok" {
				t.Fatalf("response %v %q", resp.Status, body)
			}
		})
	}
}

func TestTargetAndHostReqMode(t *testing.T) {
	s := startReqServer(t)
	h := reqHandler(t, s.reqSpec)
	for _, tc := range badTargets {
		t.Run(tc.name, func(t *testing.T) {
			// condure in req mode: the same uris as in stream mode.
			expect400(t, s.dialReq(), tc.line+" HTTP/1.1\r\n"+tc.headers+"\r\n")
		})
	}
	// With a body too: refused before it is read or 100 Continue is sent.
	expect400(t, s.dialReq(), "POST @evil/x HTTP/1.1\r\nHost: good.com\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
	c := s.dialReq()
	fmt.Fprintf(c, "GET http://other.com/y HTTP/1.1\r\nHost: good.com\r\n\r\n")
	r := recvReq(t, h) // the first request the handler sees
	if str(r.Packet, "uri") != "http://other.com/y" {
		t.Fatalf("handler got %v", r.Packet)
	}
	h.Reply(r, map[string]any{"code": 200, "reason": "OK", "body": "ok"})
	if resp, body := readResponse(t, bufio.NewReader(c), "GET"); resp.StatusCode != 200 || body != "ok" {
		t.Fatalf("response %v %q", resp.Status, body)
	}
}

func TestTargetAndHostWebSocket(t *testing.T) {
	s := startServer(t)
	h := s.handler("h1")
	const upgrade = "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
	for _, tc := range []struct{ name, line, headers string }{
		{"target_userinfo_glued_to_host", "GET @evil.internal/chat", "Host: good.com\r\n"}, // condure: ws://good.com@evil.internal/chat
		{"host_with_path", "GET /chat", "Host: good.com/admin?\r\n"},                       // condure: ws://good.com/admin?/chat
		{"no_host", "GET /chat", ""},                                 // condure: ws://localhost/chat
		{"two_hosts", "GET /chat", "Host: a.com\r\nHost: b.com\r\n"}, // condure: ws://a.com/chat
	} {
		t.Run(tc.name, func(t *testing.T) {
			expect400(t, s.dial(), tc.line+" HTTP/1.1\r\n"+tc.headers+upgrade)
		})
	}
	// Absolute-form: condure gives ws://good.comhttp://other.com/chat.
	c := s.dial()
	io.WriteString(c, "GET http://other.com/chat HTTP/1.1\r\nHost: good.com\r\n"+upgrade)
	req := recv(t, h, "") // the first request the handler sees
	if str(req, "uri") != "ws://other.com/chat" {
		t.Fatalf("handler got %v", req)
	}
	newSession(t, h, req).send(map[string]any{"code": 101, "reason": "Switching Protocols", "credits": 1024})
	if head := readHead(t, bufio.NewReader(c)); !strings.HasPrefix(head, "HTTP/1.1 101 ") {
		t.Fatalf("handshake %q", head)
	}
}

func TestHandlerContentLengthRepeated(t *testing.T) {
	s := startServer(t)
	h := s.handler("h1")
	// Different values: condure sends the last one (Content-Length: 5) and
	// then the 3 body bytes, leaving the client waiting for 2 more.
	c := s.dial()
	fmt.Fprintf(c, "GET /x HTTP/1.1\r\nHost: a\r\n\r\n")
	ss := newSession(t, h, recv(t, h, ""))
	ss.respond(200, "OK", "hi\n", false, "Content-Length", "3", "Content-Length", "5")
	if all := readAllUntilClose(t, c); !strings.HasPrefix(all, "HTTP/1.1 502 Bad Gateway\r\n") {
		t.Fatalf("got %q, want 502", all)
	}
	if p := recv(t, h, "cancel"); str(p, "id") != ss.id {
		t.Fatalf("cancel %v", p)
	}
	s.waitLog("bad response from handler: conflicting content-length")

	// Equal values are one length (RFC 9110 §8.6), written once.
	c = s.dial()
	fmt.Fprintf(c, "GET /y HTTP/1.1\r\nHost: a\r\n\r\n")
	newSession(t, h, recv(t, h, "")).respond(200, "OK", "hi\n", false, "Content-Length", "3", "content-length", "3")
	br := bufio.NewReader(c)
	head := readHead(t, br)
	if !strings.HasPrefix(head, "HTTP/1.1 200 OK\r\n") || strings.Count(strings.ToLower(head), "content-length: 3\r\n") != 1 {
		t.Fatalf("head %q", head)
	}
	if body, _ := io.ReadAll(io.LimitReader(br, 3)); string(body) != "hi\n" {
		t.Fatalf("body %q", body)
	}
}

// TestHandlerCreditsSaturate grants the largest credits twice. condure
// 1.9.1 goes on forwarding ("world" and the WebSocket message arrive);
// condure-go used to wrap the sum negative and stop reading the client.
func TestHandlerCreditsSaturate(t *testing.T) {
	s := startServer(t)
	h := s.handler("h1")
	c := s.dial()
	fmt.Fprintf(c, "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nhello")
	ss := newSession(t, h, recv(t, h, ""))
	ss.send(map[string]any{"type": "credit", "credits": int64(math.MaxInt64)})
	if p := recv(t, h, ""); str(p, "body") != "hello" {
		t.Fatalf("first part %v", p)
	}
	ss.send(map[string]any{"type": "credit", "credits": int64(math.MaxInt64)})
	s.waitLogTimes("conn "+ss.id+": handle packet: credit", 2) // applied before "world" arrives
	io.WriteString(c, "world")
	if p := recv(t, h, ""); str(p, "body") != "world" || p["more"] != nil {
		t.Fatalf("second part %v", p)
	}

	wc, br, ws := wsOpen(t, s, h)
	readHead(t, br)
	ws.send(map[string]any{"type": "credit", "credits": int64(math.MaxInt64)})
	ws.send(map[string]any{"type": "credit", "credits": int64(math.MaxInt64)})
	ws.send(map[string]any{"type": "ping"})
	if f := readFrame(t, br); f.op != 0x9 {
		t.Fatalf("frame %+v, want the ping", f)
	}
	wc.Write(clientFrame(true, 1, []byte("hi")))
	if p := recv(t, h, ""); str(p, "body") != "hi" {
		t.Fatalf("message %v", p)
	}
}

// waitLogTimes waits until the server's output contains sub n times.
func (s *testServer) waitLogTimes(sub string, n int) {
	s.t.Helper()
	if !eventually(s.t, 5*time.Second, func() bool { return strings.Count(s.log.String(), sub) >= n }) {
		s.t.Fatalf("log line %q not found %d times", sub, n)
	}
}
