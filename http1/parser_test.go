package http1

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"unsafe"
)

const typicalRequest = "GET /api/v1/items?id=42&sort=desc HTTP/1.1\r\n" +
	"Host: example.com:8080\r\n" +
	"User-Agent: Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/126.0\r\n" +
	"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n" +
	"Accept-Language: en-US,en;q=0.5\r\n" +
	"Accept-Encoding: gzip, deflate, br\r\n" +
	"Connection: keep-alive\r\n" +
	"Cookie: session=0123456789abcdef; theme=dark\r\n" +
	"Cache-Control: max-age=0\r\n" +
	"\r\n"

// want is the part of a Request a test cares about; headers as "Name: value".
type want struct {
	method, target string
	minor          int
	host           string // "<nil>" when Host must be nil
	headers        []string
	cl             int64
	chunked        bool
	keepAlive      bool
	expect100      bool
	upgrade        bool
}

func checkRequest(t *testing.T, req *Request, w want) {
	t.Helper()
	if string(req.Method) != w.method || string(req.Target) != w.target || req.Minor != w.minor {
		t.Errorf("request line = %q %q 1.%d, want %q %q 1.%d", req.Method, req.Target, req.Minor, w.method, w.target, w.minor)
	}
	if w.host == "<nil>" {
		if req.Host != nil {
			t.Errorf("Host = %q, want nil", req.Host)
		}
	} else if w.host != "" && string(req.Host) != w.host {
		t.Errorf("Host = %q, want %q", req.Host, w.host)
	}
	if w.headers != nil {
		var got []string
		for _, h := range req.Headers {
			got = append(got, string(h.Name)+": "+string(h.Value))
		}
		if strings.Join(got, "\n") != strings.Join(w.headers, "\n") {
			t.Errorf("headers = %q, want %q", got, w.headers)
		}
	}
	if req.ContentLength != w.cl || req.Chunked != w.chunked {
		t.Errorf("ContentLength, Chunked = %d, %v; want %d, %v", req.ContentLength, req.Chunked, w.cl, w.chunked)
	}
	if req.KeepAlive != w.keepAlive || req.Expect100 != w.expect100 || req.Upgrade != w.upgrade {
		t.Errorf("KeepAlive, Expect100, Upgrade = %v, %v, %v; want %v, %v, %v",
			req.KeepAlive, req.Expect100, req.Upgrade, w.keepAlive, w.expect100, w.upgrade)
	}
}

func TestParseRequest(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want want
	}{
		{"typical_keep_alive", typicalRequest, want{
			method: "GET", target: "/api/v1/items?id=42&sort=desc", minor: 1, host: "example.com:8080",
			cl: -1, keepAlive: true}},
		{"minimal_http11", "GET / HTTP/1.1\r\nHost: h\r\n\r\n", want{
			method: "GET", target: "/", minor: 1, host: "h", headers: []string{"Host: h"}, cl: -1, keepAlive: true}},
		{"http10_without_host", "GET / HTTP/1.0\r\n\r\n", want{
			method: "GET", target: "/", minor: 0, host: "<nil>", headers: nil, cl: -1}},
		{"http10_closes_by_default", "GET / HTTP/1.0\r\n\r\n", want{
			method: "GET", target: "/", minor: 0, cl: -1}},
		{"http10_keep_alive", "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", want{
			method: "GET", target: "/", minor: 0, cl: -1, keepAlive: true}},
		{"http10_keep_alive_any_case", "GET / HTTP/1.0\r\nconnection: Keep-Alive\r\n\r\n", want{
			method: "GET", target: "/", minor: 0, cl: -1, keepAlive: true}},
		{"http10_keep_alive_and_close", "GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n", want{
			method: "GET", target: "/", minor: 0, cl: -1}},
		{"http10_close_in_second_header", "GET / HTTP/1.0\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n", want{
			method: "GET", target: "/", minor: 0, cl: -1}},
		{"http11_close", "GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n", want{
			method: "GET", target: "/", minor: 1, cl: -1}},
		{"http11_close_capitalised", "GET / HTTP/1.1\r\nHost: h\r\nCONNECTION: Close\r\n\r\n", want{
			method: "GET", target: "/", minor: 1, cl: -1}}, // §12 #4
		{"http11_close_in_token_list", "GET / HTTP/1.1\r\nHost: h\r\nConnection: Upgrade ,\tclose \r\n\r\n", want{
			method: "GET", target: "/", minor: 1, cl: -1}},
		{"http11_close_substring_is_not_close", "GET / HTTP/1.1\r\nHost: h\r\nConnection: closed, xclose\r\n\r\n", want{
			method: "GET", target: "/", minor: 1, cl: -1, keepAlive: true}},
		{"content_length", "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 12\r\n\r\n", want{
			method: "POST", target: "/x", minor: 1, host: "a", cl: 12, keepAlive: true}},
		{"content_length_zero", "POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n", want{
			method: "POST", target: "/x", minor: 1, cl: 0, keepAlive: true}},
		{"content_length_leading_zeros", "POST /x HTTP/1.1\r\nHost: h\r\ncontent-length: 007\r\n\r\n", want{
			method: "POST", target: "/x", minor: 1, cl: 7, keepAlive: true}},
		{"content_length_max_int64", "POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 9223372036854775807\r\n\r\n", want{
			method: "POST", target: "/x", minor: 1, cl: 9223372036854775807, keepAlive: true}},
		{"content_length_equal_repeat", "POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n", want{
			method: "POST", target: "/x", minor: 1, cl: 5, keepAlive: true,
			headers: []string{"Host: h", "Content-Length: 5", "Content-Length: 5"}}},
		{"content_length_padded", "POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: \t 5 \t\r\n\r\n", want{
			method: "POST", target: "/x", minor: 1, cl: 5, keepAlive: true}},
		{"chunked", "POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n", want{
			method: "POST", target: "/x", minor: 1, cl: -1, chunked: true, keepAlive: true}},
		{"chunked_any_case", "POST /x HTTP/1.1\r\nHost: h\r\ntransfer-encoding: Chunked\r\n\r\n", want{
			method: "POST", target: "/x", minor: 1, cl: -1, chunked: true, keepAlive: true}},
		{"expect_100_with_length", "PUT /x HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nExpect: 100-continue\r\n\r\n", want{
			method: "PUT", target: "/x", minor: 1, cl: 1, keepAlive: true, expect100: true}},
		{"expect_100_with_chunked_any_case", "PUT /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nexpect: 100-Continue\r\n\r\n", want{
			method: "PUT", target: "/x", minor: 1, cl: -1, chunked: true, keepAlive: true, expect100: true}},
		{"expect_100_without_body", "PUT /x HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\nExpect: 100-continue\r\n\r\n", want{
			method: "PUT", target: "/x", minor: 1, cl: 0, keepAlive: true}},
		{"expect_100_no_length", "GET /x HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n\r\n", want{
			method: "GET", target: "/x", minor: 1, cl: -1, keepAlive: true}},
		{"expect_100_on_http10_ignored", "PUT /x HTTP/1.0\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n", want{
			method: "PUT", target: "/x", minor: 0, cl: 3}},
		{"expect_other", "PUT /x HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nExpect: 200-ok\r\n\r\n", want{
			method: "PUT", target: "/x", minor: 1, cl: 3, keepAlive: true}},
		{"upgrade_websocket", "GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n", want{
			method: "GET", target: "/ws", minor: 1, host: "h", cl: -1, keepAlive: true, upgrade: true}},
		{"upgrade_websocket_any_case", "GET /ws HTTP/1.1\r\nHost: h\r\nupgrade: WebSocket\r\n\r\n", want{
			method: "GET", target: "/ws", minor: 1, cl: -1, keepAlive: true, upgrade: true}},
		{"upgrade_other", "GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: h2c\r\n\r\n", want{
			method: "GET", target: "/ws", minor: 1, cl: -1, keepAlive: true}},
		{"upgrade_list_is_not_websocket", "GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket, h2c\r\n\r\n", want{
			method: "GET", target: "/ws", minor: 1, cl: -1, keepAlive: true}},
		{"host_any_case", "GET / HTTP/1.1\r\nhOST: one\r\n\r\n", want{
			method: "GET", target: "/", minor: 1, host: "one", cl: -1, keepAlive: true}},
		{"host_with_port", "GET / HTTP/1.1\r\nHost: example.com:8080\r\n\r\n", want{
			method: "GET", target: "/", minor: 1, host: "example.com:8080", cl: -1, keepAlive: true}},
		{"host_port_max", "GET / HTTP/1.1\r\nHost: a:65535\r\n\r\n", want{
			method: "GET", target: "/", minor: 1, host: "a:65535", cl: -1, keepAlive: true}},
		{"host_ipv4", "GET / HTTP/1.1\r\nHost: 127.0.0.1:80\r\n\r\n", want{
			method: "GET", target: "/", minor: 1, host: "127.0.0.1:80", cl: -1, keepAlive: true}},
		{"host_ipv6", "GET / HTTP/1.1\r\nHost: [::1]\r\n\r\n", want{
			method: "GET", target: "/", minor: 1, host: "[::1]", cl: -1, keepAlive: true}},
		{"host_ipv6_port", "GET / HTTP/1.1\r\nHost: [2001:db8::ff00:42:8329]:8443\r\n\r\n", want{
			method: "GET", target: "/", minor: 1, host: "[2001:db8::ff00:42:8329]:8443", cl: -1, keepAlive: true}},
		{"host_reg_name_sub_delims_pct", "GET / HTTP/1.1\r\nHost: a-b_c~d!$&'()*+,;=%41.x\r\n\r\n", want{
			method: "GET", target: "/", minor: 1, host: "a-b_c~d!$&'()*+,;=%41.x", cl: -1, keepAlive: true}},
		{"host_padded", "GET / HTTP/1.1\r\nHost: \t h \r\n\r\n", want{
			method: "GET", target: "/", minor: 1, host: "h", cl: -1, keepAlive: true}},
		{"http10_empty_host", "GET / HTTP/1.0\r\nHost:\r\n\r\n", want{
			method: "GET", target: "/", minor: 0, host: "", cl: -1, headers: []string{"Host: "}}},
		{"absolute_form_empty_host", "GET http://a/ HTTP/1.1\r\nHost:\r\n\r\n", want{
			method: "GET", target: "http://a/", minor: 1, host: "", cl: -1, keepAlive: true}}, // RFC 9112 §3.2.2
		{"absolute_form_other_host", "GET https://A.example:8443?q HTTP/1.1\r\nHost: b\r\n\r\n", want{
			method: "GET", target: "https://A.example:8443?q", minor: 1, host: "b", cl: -1, keepAlive: true}},
		{"absolute_form_ipv6", "GET http://[::ffff:1.2.3.4]:80/x HTTP/1.1\r\nHost: b\r\n\r\n", want{
			method: "GET", target: "http://[::ffff:1.2.3.4]:80/x", minor: 1, host: "b", cl: -1, keepAlive: true}},
		{"absolute_form_http10_no_host", "GET http://a/x HTTP/1.0\r\n\r\n", want{
			method: "GET", target: "http://a/x", minor: 0, host: "<nil>", cl: -1}},
		{"options_asterisk", "OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n", want{
			method: "OPTIONS", target: "*", minor: 1, host: "h", cl: -1, keepAlive: true}},
		{"origin_form_double_slash", "GET //x/y HTTP/1.1\r\nHost: h\r\n\r\n", want{
			method: "GET", target: "//x/y", minor: 1, host: "h", cl: -1, keepAlive: true}},
		{"bare_lf", "GET / HTTP/1.1\nHost: a\nX: y\n\n", want{
			method: "GET", target: "/", minor: 1, host: "a", cl: -1, keepAlive: true,
			headers: []string{"Host: a", "X: y"}}},
		{"mixed_line_endings", "GET / HTTP/1.1\r\nHost: a\nX: y\r\n\n", want{
			method: "GET", target: "/", minor: 1, host: "a", cl: -1, keepAlive: true}},
		{"leading_empty_lines", "\r\n\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n", want{
			method: "GET", target: "/", minor: 1, cl: -1, keepAlive: true}},
		{"values_trimmed_and_kept_in_order", "GET / HTTP/1.1\r\nHost: h\r\nB:  2 \r\na:\t1\t\r\nB: 3\r\nEmpty: \r\n\r\n", want{
			method: "GET", target: "/", minor: 1, cl: -1, keepAlive: true,
			headers: []string{"Host: h", "B: 2", "a: 1", "B: 3", "Empty: "}}},
		{"inner_spaces_kept", "GET / HTTP/1.1\r\nHost: h\r\nX: a  b\tc\r\n\r\n", want{
			method: "GET", target: "/", minor: 1, cl: -1, keepAlive: true, headers: []string{"Host: h", "X: a  b\tc"}}},
		{"obs_text_in_value", "GET / HTTP/1.1\r\nHost: h\r\nX: caf\xc3\xa9 \xff\r\n\r\n", want{
			method: "GET", target: "/", minor: 1, cl: -1, keepAlive: true, headers: []string{"Host: h", "X: caf\xc3\xa9 \xff"}}},
		{"any_method_token", "M-SEARCH /x HTTP/1.1\r\nHost: h\r\n\r\n", want{
			method: "M-SEARCH", target: "/x", minor: 1, cl: -1, keepAlive: true}},
		{"absolute_form_target", "GET http://other/x?y HTTP/1.1\r\nHost: x\r\n\r\n", want{
			method: "GET", target: "http://other/x?y", minor: 1, host: "x", cl: -1, keepAlive: true}},
		{"token_chars_in_name", "GET / HTTP/1.1\r\nHost: h\r\nX!#$%&'*+-.^_`|~09az: v\r\n\r\n", want{
			method: "GET", target: "/", minor: 1, cl: -1, keepAlive: true,
			headers: []string{"Host: h", "X!#$%&'*+-.^_`|~09az: v"}}},
		{"64_headers", "GET / HTTP/1.1\r\nHost: h\r\n" + strings.Repeat("X: y\r\n", 63) + "\r\n", want{
			method: "GET", target: "/", minor: 1, cl: -1, keepAlive: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			buf := []byte(tt.in + "NEXT") // pipelined bytes must be left alone
			var req Request
			n, err := ParseRequest(buf, &req, 8192)
			if err != nil || n != len(tt.in) || req.HeadLen != n {
				t.Fatalf("ParseRequest = %d, %v (HeadLen %d); want %d, nil", n, err, req.HeadLen, len(tt.in))
			}
			checkRequest(t, &req, tt.want)
		})
	}
}

func TestParseRequestErrors(t *testing.T) {
	checkParseErrors(t, 0, []parseErrorCase{
		{"garbage", "GARBAGE\r\n\r\n", ErrMalformed},
		{"binary", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", ErrMalformed},
		{"empty_method", " / HTTP/1.1\r\n\r\n", ErrMalformed},
		{"bad_method_char", "GE(T / HTTP/1.1\r\n\r\n", ErrMalformed},
		{"empty_target", "GET  HTTP/1.1\r\n\r\n", ErrMalformed},
		{"double_space", "GET  / HTTP/1.1\r\n\r\n", ErrMalformed},
		{"tab_separator", "GET\t/ HTTP/1.1\r\n\r\n", ErrMalformed},
		{"control_in_target", "GET /\x01 HTTP/1.1\r\n\r\n", ErrMalformed},
		{"del_in_target", "GET /\x7f HTTP/1.1\r\n\r\n", ErrMalformed},
		{"nul_in_target", "GET /\x00 HTTP/1.1\r\n\r\n", ErrMalformed},
		{"cr_in_request_line", "GET /\r HTTP/1.1\r\n\r\n", ErrMalformed},
		{"trailing_space_after_version", "GET / HTTP/1.1 \r\n\r\n", ErrMalformed},
		{"lower_case_version", "GET / http/1.1\r\n\r\n", ErrMalformed},
		{"long_version", "GET / HTTP/1.10\r\n\r\n", ErrMalformed},
		{"short_version", "GET / HTTP/1\r\n\r\n", ErrMalformed},
		{"version_garbage", "GET / HTTP/x.y\r\n\r\n", ErrMalformed},
		{"http2", "GET / HTTP/2.0\r\n\r\n", ErrBadVersion},
		{"http2_preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", ErrBadVersion},
		{"http12", "GET / HTTP/1.2\r\n\r\n", ErrBadVersion},
		{"http09_version", "GET / HTTP/0.9\r\n\r\n", ErrBadVersion},
		{"http09_simple_request", "GET /\r\n\r\n", ErrBadVersion},
		{"http3", "GET / HTTP/3.0\r\n\r\n", ErrBadVersion},
		{"bare_cr_before_request_line", "\rGET / HTTP/1.1\r\n\r\n", ErrMalformed},
		{"bare_cr_in_header_line", "GET / HTTP/1.1\r\nA: b\rC: d\r\n\r\n", ErrMalformed},
		{"bare_cr_at_end_of_header", "GET / HTTP/1.1\r\nA: b\r\r\n\r\n", ErrMalformed},
		{"cr_only_line", "GET / HTTP/1.1\r\n\r\r\n\r\n", ErrMalformed},
		{"no_colon", "GET / HTTP/1.1\r\nHost\r\n\r\n", ErrMalformed},
		{"empty_name", "GET / HTTP/1.1\r\n: v\r\n\r\n", ErrMalformed},
		{"space_before_colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", ErrMalformed},
		{"space_in_name", "GET / HTTP/1.1\r\nX Y: a\r\n\r\n", ErrMalformed},
		{"non_token_in_name", "GET / HTTP/1.1\r\nX(Y): a\r\n\r\n", ErrMalformed},
		{"obs_fold", "GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n", ErrMalformed},
		{"obs_fold_tab", "GET / HTTP/1.1\r\nX: a\r\n\tb\r\n\r\n", ErrMalformed},
		{"whitespace_before_first_header", "GET / HTTP/1.1\r\n Host: a\r\n\r\n", ErrMalformed},
		{"nul_in_value", "GET / HTTP/1.1\r\nX: a\x00b\r\n\r\n", ErrMalformed},
		{"control_in_value", "GET / HTTP/1.1\r\nX: a\x1bb\r\n\r\n", ErrMalformed},
		{"del_in_value", "GET / HTTP/1.1\r\nX: a\x7f\r\n\r\n", ErrMalformed},
		{"vtab_at_end_of_value", "GET / HTTP/1.1\r\nX: a\x0b\r\n\r\n", ErrMalformed},
		{"65_headers", "GET / HTTP/1.1\r\n" + strings.Repeat("X: y\r\n", 65) + "\r\n", ErrTooManyHeaders},
		{"content_length_empty", "POST / HTTP/1.1\r\nContent-Length:\r\n\r\n", ErrContentLength},
		{"content_length_negative", "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", ErrContentLength},
		{"content_length_plus", "POST / HTTP/1.1\r\nContent-Length: +1\r\n\r\n", ErrContentLength},
		{"content_length_hex", "POST / HTTP/1.1\r\nContent-Length: 0x10\r\n\r\n", ErrContentLength},
		{"content_length_inner_space", "POST / HTTP/1.1\r\nContent-Length: 1 2\r\n\r\n", ErrContentLength},
		{"content_length_list", "POST / HTTP/1.1\r\nContent-Length: 5, 5\r\n\r\n", ErrContentLength},
		{"content_length_overflow", "POST / HTTP/1.1\r\nContent-Length: 9223372036854775808\r\n\r\n", ErrContentLength},
		{"content_length_huge", "POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n", ErrContentLength},
		{"content_length_differing", "POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", ErrContentLength},
		{"te_gzip", "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", ErrTransferEncode},
		{"te_empty", "POST / HTTP/1.1\r\nTransfer-Encoding:\r\n\r\n", ErrTransferEncode},
		{"te_list", "POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", ErrTransferEncode},
		{"te_chunked_twice_in_list", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", ErrTransferEncode},
		{"te_duplicate_header", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", ErrTransferEncode},
		{"te_with_cl", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", ErrTransferEncode},
		{"cl_with_te", "POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", ErrTransferEncode},
		{"te_on_http10", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", ErrTransferEncode},
	})
}

// parseErrorCase is a request head ParseRequest must refuse with err.
type parseErrorCase struct {
	name string
	in   string
	err  error
}

// checkParseErrors runs each case as a subtest: ParseRequest must consume
// nothing and return the case's error, which Status must map to wantStatus
// (not checked when wantStatus is 0).
func checkParseErrors(t *testing.T, wantStatus int, tests []parseErrorCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var req Request
			n, err := ParseRequest([]byte(tt.in), &req, 8192)
			if n != 0 || !errors.Is(err, tt.err) {
				t.Fatalf("ParseRequest = %d, %v; want 0, %v", n, err, tt.err)
			}
			if code, _ := Status(err); wantStatus != 0 && code != wantStatus {
				t.Fatalf("Status = %d, want %d", code, wantStatus)
			}
		})
	}
}

// TestParseRequestSmuggling is the regression table for request smuggling
// (RFC 9112 §11.2): every framing another hop could read differently is refused.
func TestParseRequestSmuggling(t *testing.T) {
	tests := []struct {
		name string
		in   string
		err  error
	}{
		{"cl_and_te", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nX", ErrTransferEncode},
		{"te_and_cl", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 6\r\n\r\n0\r\n\r\nX", ErrTransferEncode},
		{"duplicate_te", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-encoding: identity\r\n\r\n", ErrTransferEncode},
		{"duplicate_te_same", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\ntransfer-encoding: chunked\r\n\r\n", ErrTransferEncode},
		{"te_list_chunked_last", "POST / HTTP/1.1\r\nTransfer-Encoding: identity, chunked\r\n\r\n", ErrTransferEncode},
		{"te_chunked_with_param", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked;q=1\r\n\r\n", ErrTransferEncode},
		{"te_misspelt", "POST / HTTP/1.1\r\nTransfer-Encoding: xchunked\r\n\r\n", ErrTransferEncode},
		{"te_vertical_tab", "POST / HTTP/1.1\r\nTransfer-Encoding: \x0bchunked\r\n\r\n", ErrMalformed},
		{"te_on_http10", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", ErrTransferEncode},
		{"te_space_before_colon", "POST / HTTP/1.1\r\nTransfer-Encoding : chunked\r\n\r\n", ErrMalformed},
		{"cl_space_before_colon", "POST / HTTP/1.1\r\nContent-Length : 5\r\n\r\n", ErrMalformed},
		{"te_obs_fold", "POST / HTTP/1.1\r\nTransfer-Encoding:\r\n chunked\r\n\r\n", ErrTransferEncode},
		{"obs_fold_continuation", "POST / HTTP/1.1\r\nX: a\r\n Transfer-Encoding: chunked\r\n\r\n", ErrMalformed},
		{"differing_duplicate_cl", "POST / HTTP/1.1\r\nContent-Length: 0\r\nContent-Length: 44\r\n\r\n", ErrContentLength},
		{"negative_cl", "POST / HTTP/1.1\r\nContent-Length: -5\r\n\r\n", ErrContentLength},
		{"overflow_cl", "POST / HTTP/1.1\r\nContent-Length: 18446744073709551621\r\n\r\n", ErrContentLength},
		{"cl_list", "POST / HTTP/1.1\r\nContent-Length: 0, 44\r\n\r\n", ErrContentLength},
		{"nul_in_te", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\x00\r\n\r\n", ErrMalformed},
		{"bare_cr_header_split", "POST / HTTP/1.1\r\nX: a\rTransfer-Encoding: chunked\r\n\r\n", ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var req Request
			n, err := ParseRequest([]byte(tt.in), &req, 8192)
			if n != 0 || !errors.Is(err, tt.err) {
				t.Fatalf("ParseRequest = %d, %v; want 0, %v", n, err, tt.err)
			}
		})
	}
	// Chunk-level smuggling lives in TestChunkedDecoderErrors/lf_in_extension.
}

// TestParseRequestIncomplete feeds every prefix of valid heads: each must ask
// for more, never fail, and the whole head must parse.
func TestParseRequestIncomplete(t *testing.T) {
	for _, in := range []string{
		typicalRequest,
		"\r\n\nPOST /x HTTP/1.0\nContent-Length: 3\nConnection: keep-alive\n\n",
		"GET / HTTP/1.1\r\nHost: h\r\n\r\n",
	} {
		var req Request
		for k := 0; k < len(in); k++ {
			if n, err := ParseRequest([]byte(in[:k]), &req, 8192); n != 0 || err != nil {
				t.Fatalf("prefix %q: ParseRequest = %d, %v; want 0, nil", in[:k], n, err)
			}
		}
		if n, err := ParseRequest([]byte(in), &req, 8192); n != len(in) || err != nil {
			t.Fatalf("%q: ParseRequest = %d, %v; want %d, nil", in, n, err, len(in))
		}
	}
}

// TestParseRequestEarlyError checks that a bad line is reported before the
// head is complete, so a client is answered at once.
func TestParseRequestEarlyError(t *testing.T) {
	for in, want := range map[string]error{
		"GARBAGE\r\n":                       ErrMalformed,
		"GET / HTTP/2.0\r\n":                ErrBadVersion,
		"GET / HTTP/1.1\r\nBad Name: x\r\n": ErrMalformed,
		"\r\r":                              ErrMalformed,
	} {
		var req Request
		if n, err := ParseRequest([]byte(in), &req, 8192); n != 0 || err != want {
			t.Errorf("%q: ParseRequest = %d, %v; want 0, %v", in, n, err, want)
		}
	}
}

func TestParseRequestHeadTooLarge(t *testing.T) {
	head := "GET / HTTP/1.1\r\nHost: h\r\nX: " + strings.Repeat("a", 100) + "\r\n\r\n"
	tests := []struct {
		name    string
		in      string
		maxHead int
		n       int
		err     error
	}{
		{"fits_exactly", head, len(head), len(head), nil},
		{"fits_exactly_with_more_buffered", head + "GET", len(head), len(head), nil},
		{"one_byte_over", head, len(head) - 1, 0, ErrHeadTooLarge},
		{"one_byte_over_incomplete", head[:len(head)-1], len(head) - 1, 0, ErrHeadTooLarge},
		{"incomplete_below_limit", head[:len(head)-1], len(head), 0, nil},
		{"no_line_end_at_limit", strings.Repeat("G", 50), 50, 0, ErrHeadTooLarge},
		{"empty_lines_count", "\r\n\r\n" + head, len(head) + 3, 0, ErrHeadTooLarge},
		{"zero_limit", "", 0, 0, ErrHeadTooLarge},
		{"negative_limit", "GET", -1, 0, ErrHeadTooLarge},
		{"empty_input", "", 8192, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var req Request
			n, err := ParseRequest([]byte(tt.in), &req, tt.maxHead)
			if n != tt.n || err != tt.err {
				t.Fatalf("ParseRequest = %d, %v; want %d, %v", n, err, tt.n, tt.err)
			}
		})
	}
}

// TestParseRequestReuse checks that nothing of a previous request leaks into
// the next one parsed with the same Request.
func TestParseRequestReuse(t *testing.T) {
	var req Request
	first := "POST /a HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\nUpgrade: websocket\r\nConnection: close\r\n\r\n"
	if _, err := ParseRequest([]byte(first), &req, 8192); err != nil {
		t.Fatal(err)
	}
	second := "GET /b HTTP/1.0\r\n\r\n"
	if _, err := ParseRequest([]byte(second), &req, 8192); err != nil {
		t.Fatal(err)
	}
	checkRequest(t, &req, want{method: "GET", target: "/b", minor: 0, host: "<nil>", cl: -1})
	if len(req.Headers) != 0 || req.HeadLen != len(second) {
		t.Fatalf("Headers = %d, HeadLen = %d", len(req.Headers), req.HeadLen)
	}
}

// TestParseRequestViews checks that every parsed slice points into the input.
func TestParseRequestViews(t *testing.T) {
	buf := []byte(typicalRequest)
	var req Request
	n, err := ParseRequest(buf, &req, 8192)
	if err != nil {
		t.Fatal(err)
	}
	if len(req.Headers) != 8 {
		t.Fatalf("%d headers, want 8", len(req.Headers))
	}
	checkViews(t, buf[:n], &req)
}

func checkViews(t testing.TB, head []byte, req *Request) {
	t.Helper()
	views := [][]byte{req.Method, req.Target, req.Host}
	for _, h := range req.Headers {
		views = append(views, h.Name, h.Value)
	}
	for _, v := range views {
		if v != nil && !within(head, v) {
			t.Fatalf("%q is not a view into the head", v)
		}
	}
}

// within reports whether v lies inside b's memory.
func within(b, v []byte) bool {
	if len(v) == 0 {
		return true
	}
	if len(b) == 0 {
		return false
	}
	b = b[:cap(b)]
	start := uintptrOf(b)
	p := uintptrOf(v)
	return p >= start && p+uintptr(len(v)) <= start+uintptr(len(b))
}

func uintptrOf(b []byte) uintptr { return uintptr(unsafe.Pointer(unsafe.SliceData(b))) }

func TestStatus(t *testing.T) {
	tests := []struct {
		err    error
		code   int
		reason string
	}{
		{ErrMalformed, 400, "Bad Request"},
		{ErrContentLength, 400, "Bad Request"},
		{ErrTransferEncode, 400, "Bad Request"},
		{ErrBadChunk, 400, "Bad Request"},
		{ErrBadTarget, 400, "Bad Request"},
		{ErrBadHost, 400, "Bad Request"},
		{ErrTooManyHeaders, 431, "Request Header Fields Too Large"},
		{ErrHeadTooLarge, 431, "Request Header Fields Too Large"},
		{ErrBadVersion, 505, "HTTP Version Not Supported"},
		{ErrURITooLong, 414, "URI Too Long"},
		{fmt.Errorf("parse request: %w", ErrBadVersion), 505, "HTTP Version Not Supported"},
		{errors.New("something else"), 400, "Bad Request"},
	}
	for _, tt := range tests {
		t.Run(tt.err.Error(), func(t *testing.T) {
			code, reason := Status(tt.err)
			if code != tt.code || reason != tt.reason {
				t.Fatalf("Status = %d %q, want %d %q", code, reason, tt.code, tt.reason)
			}
		})
	}
}

func TestHasToken(t *testing.T) {
	tests := []struct {
		v, t string
		want bool
	}{
		{"close", "close", true},
		{"Close", "close", true},
		{"keep-alive, Upgrade", "upgrade", true},
		{" a ,\tclose\t, b", "close", true},
		{"closed", "close", false},
		{"", "close", false},
		{",,", "close", false},
		{"x,close", "close", true},
		{"close,", "close", true},
		{"clo se", "close", false},
		{"100-CONTINUE", "100-continue", true},
		{"keep-alive", "Keep-Alive", true},
	}
	for _, tt := range tests {
		if got := HasToken([]byte(tt.v), tt.t); got != tt.want {
			t.Errorf("HasToken(%q, %q) = %v, want %v", tt.v, tt.t, got, tt.want)
		}
	}
}
