package http1

import (
	"strings"
	"testing"
)

// parseHead parses a request line and header lines (joined with CRLF); the
// test fails on a parse error.
func parseHead(t *testing.T, line string, headers ...string) *Request {
	t.Helper()
	raw := line + "\r\n"
	for _, h := range headers {
		raw += h + "\r\n"
	}
	raw += "\r\n"
	req := new(Request)
	if n, err := ParseRequest([]byte(raw), req, 3*MaxURI); n != len(raw) || err != nil {
		t.Fatalf("ParseRequest(%q) = %d, %v", raw, n, err)
	}
	return req
}

func TestAppendURI(t *testing.T) {
	long := "/" + strings.Repeat("a", MaxURI-len("http://h/"))
	tests := []struct {
		name, scheme, line string
		headers            []string
		want               string
	}{
		{"origin_form", "http", "GET /a/b?c=d HTTP/1.1", []string{"Host: example.com:8080"}, "http://example.com:8080/a/b?c=d"},
		{"http10_no_host", "http", "GET / HTTP/1.0", nil, "http://localhost/"}, // as condure
		{"http10_empty_host", "http", "GET /x HTTP/1.0", []string{"Host:"}, "http://localhost/x"},
		{"websocket_tls", "wss", "GET /ws HTTP/1.1", []string{"Host: h"}, "wss://h/ws"},
		{"ipv6_host", "http", "GET /x HTTP/1.1", []string{"Host: [::1]:8080"}, "http://[::1]:8080/x"},
		{"origin_form_double_slash", "http", "GET //evil/x HTTP/1.1", []string{"Host: good"}, "http://good//evil/x"},
		// RFC 9112 §3.2.2, reference.md §12 #9: the target's authority, Host ignored.
		{"absolute_form", "http", "GET http://other/x?y HTTP/1.1", []string{"Host: x"}, "http://other/x?y"},
		{"absolute_form_host_differs", "http", "GET http://evil.example/admin HTTP/1.1", []string{"Host: good.example"}, "http://evil.example/admin"},
		{"absolute_form_https", "http", "GET https://other:8443/x HTTP/1.1", []string{"Host: x"}, "http://other:8443/x"}, // listener's scheme kept
		{"absolute_form_scheme_case", "https", "GET HTTP://Other/P HTTP/1.1", []string{"Host: x"}, "https://Other/P"},
		{"absolute_form_no_path", "http", "GET http://other HTTP/1.1", []string{"Host: x"}, "http://other/"},
		{"absolute_form_query_only", "http", "GET http://other?q=1 HTTP/1.1", []string{"Host: x"}, "http://other/?q=1"},
		{"absolute_form_empty_host_header", "http", "GET http://other/p HTTP/1.1", []string{"Host:"}, "http://other/p"},
		{"absolute_form_http10_no_host", "http", "GET http://other/p HTTP/1.0", nil, "http://other/p"},
		// RFC 3986 §3.2.3, §6.2.3: an empty port is valid, and normalized away.
		{"host_empty_port", "http", "GET /x HTTP/1.1", []string{"Host: a.com:"}, "http://a.com/x"},
		{"host_ipv6_empty_port", "http", "GET /x HTTP/1.1", []string{"Host: [::1]:"}, "http://[::1]/x"},
		{"absolute_form_empty_port", "http", "GET http://a.com:/x HTTP/1.1", []string{"Host: h"}, "http://a.com/x"},
		{"asterisk_empty_port", "http", "OPTIONS * HTTP/1.1", []string{"Host: h:"}, "http://h"},
		{"host_ipvfuture", "http", "GET /x HTTP/1.1", []string{"Host: [v1.fe80::a+en1]:81"}, "http://[v1.fe80::a+en1]:81/x"},
		{"absolute_form_ipv6", "http", "GET http://[2001:db8::1]:81/p HTTP/1.1", []string{"Host: x"}, "http://[2001:db8::1]:81/p"},
		// RFC 9112 §3.3: asterisk-form has an empty path (condure: "http://h*").
		{"asterisk", "http", "OPTIONS * HTTP/1.1", []string{"Host: h:81"}, "http://h:81"},
		{"asterisk_http10_no_host", "http", "OPTIONS * HTTP/1.0", nil, "http://localhost"},
		{"max_length", "http", "GET " + long + " HTTP/1.1", []string{"Host: h"}, "http://h" + long},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := parseHead(t, tt.line, tt.headers...)
			got, err := AppendURI([]byte("pre"), tt.scheme, req.Host, req.Target)
			if err != nil || string(got) != "pre"+tt.want {
				t.Fatalf("AppendURI = %q, %v; want %q", got, err, "pre"+tt.want)
			}
		})
	}
}

func TestAppendURITooLong(t *testing.T) {
	tests := []struct {
		name, line, host string
	}{
		{"long_target", "GET /" + strings.Repeat("a", MaxURI-len("http://h/")+1) + " HTTP/1.1", "h"},
		{"long_host", "GET / HTTP/1.1", strings.Repeat("h", MaxURI)},
		{"absolute_form_slash_counted", "GET http://" + strings.Repeat("a", MaxURI-len("http://")) + " HTTP/1.1", "h"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := parseHead(t, tt.line, "Host: "+tt.host)
			got, err := AppendURI([]byte("pre"), "http", req.Host, req.Target)
			if err != ErrURITooLong || string(got) != "pre" {
				t.Fatalf("AppendURI = %q, %v; want dst unchanged, ErrURITooLong", got, err)
			}
		})
	}
}
