package main

import (
	"bufio"
	"io"
	"strings"
	"testing"
)

// Independent black-box checks of issue #13 (edge correctness): inputs that
// are odd but valid per RFC 3986 / 9110 / 9112 must reach the handler with a
// well-formed uri; a validator that is too strict would answer 400.

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
