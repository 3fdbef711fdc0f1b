package websocket

import (
	"errors"
	"strings"
	"testing"

	"github.com/condure-go/condure/http1"
)

const sampleKey = "dGhlIHNhbXBsZSBub25jZQ==" // RFC 6455 §1.3

// parse parses a raw request head; the test fails on a parse error.
func parse(t testing.TB, raw string) *http1.Request {
	t.Helper()
	req := new(http1.Request)
	n, err := http1.ParseRequest([]byte(raw), req, 8192)
	if err != nil || n != len(raw) {
		t.Fatalf("ParseRequest = %d, %v", n, err)
	}
	return req
}

// upgradeRequest builds a handshake request: the standard one (reference.md
// §10.3) with header lines replaced or added by extra ("Name: value";
// "Name:" with no value removes the header; "+Name: value" adds a line
// even when the header exists).
func upgradeRequest(first string, extra ...string) string {
	hdrs := []string{"Host: ws.example", "Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Version: 13", "Sec-WebSocket-Key: " + sampleKey}
	for _, e := range extra {
		if add, ok := strings.CutPrefix(e, "+"); ok {
			hdrs = append(hdrs, add)
			continue
		}
		name, value, _ := strings.Cut(e, ":")
		replaced := false
		for i, h := range hdrs {
			if hn, _, _ := strings.Cut(h, ":"); strings.EqualFold(hn, name) && !replaced {
				hdrs[i] = e
				if value == "" {
					hdrs[i] = ""
				}
				replaced = true
			}
		}
		if !replaced {
			hdrs = append(hdrs, e)
		}
	}
	var sb strings.Builder
	sb.WriteString(first + "\r\n")
	for _, h := range hdrs {
		if h != "" {
			sb.WriteString(h + "\r\n")
		}
	}
	sb.WriteString("\r\n")
	return sb.String()
}

func TestCheckUpgrade(t *testing.T) {
	const get = "GET /chat HTTP/1.1"
	key220 := strings.Repeat("k", 220)
	for _, tc := range []struct {
		name    string
		raw     string
		wantErr error
		wantKey string
	}{
		{"zhttp_example", "GET /chat HTTP/1.1\r\nHost: ws.example\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n", nil, sampleKey},
		{"header_names_case_insensitive", upgradeRequest(get, "sec-websocket-key: abc", "SEC-WEBSOCKET-VERSION: 13"), nil, "abc"},
		{"connection_upgrade_not_required", upgradeRequest(get, "Connection:"), nil, sampleKey},
		{"content_length_zero_allowed", upgradeRequest(get, "Content-Length: 0"), nil, sampleKey},
		{"key_not_checked_as_base64", upgradeRequest(get, "Sec-WebSocket-Key: not base64!"), nil, "not base64!"},
		{"key_220_bytes", upgradeRequest(get, "Sec-WebSocket-Key: "+key220), nil, key220},
		{"extensions_well_formed", upgradeRequest(get, "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits"), nil, sampleKey},
		{"extensions_unknown_fine", upgradeRequest(get, `Sec-WebSocket-Extensions: x-foo; a=1; b="q, ;\"v", permessage-deflate ;server_no_context_takeover`), nil, sampleKey},
		{"extensions_empty_value", upgradeRequest(get, "Sec-WebSocket-Extensions: "), nil, sampleKey},
		{"extensions_two_headers", upgradeRequest(get, "Sec-WebSocket-Extensions: a", "+Sec-WebSocket-Extensions: b; c"), nil, sampleKey},

		{"method_post", upgradeRequest("POST /chat HTTP/1.1"), ErrBadRequest, ""},
		{"method_lowercase_get", upgradeRequest("get /chat HTTP/1.1"), ErrBadRequest, ""},
		{"http_1_0", upgradeRequest("GET /chat HTTP/1.0"), ErrBadRequest, ""},
		{"content_length_body", upgradeRequest(get, "Content-Length: 5"), ErrBadRequest, ""},
		{"chunked_body", upgradeRequest(get, "Transfer-Encoding: chunked"), ErrBadRequest, ""},
		{"key_missing", upgradeRequest(get, "Sec-WebSocket-Key:"), ErrBadRequest, ""},
		{"key_empty", upgradeRequest(get, "Sec-WebSocket-Key: "), ErrBadRequest, ""},
		{"key_221_bytes", upgradeRequest(get, "Sec-WebSocket-Key: "+key220+"k"), ErrBadRequest, ""},
		{"key_repeated", upgradeRequest(get, "+sec-websocket-key: "+sampleKey), ErrBadRequest, ""},
		{"version_repeated", upgradeRequest(get, "+Sec-WebSocket-Version: 13"), ErrBadRequest, ""},
		{"extensions_empty_element", upgradeRequest(get, "Sec-WebSocket-Extensions: a,,b"), ErrBadRequest, ""},
		{"extensions_trailing_comma", upgradeRequest(get, "Sec-WebSocket-Extensions: a,"), ErrBadRequest, ""},
		{"extensions_empty_param_name", upgradeRequest(get, "Sec-WebSocket-Extensions: a; =x"), ErrBadRequest, ""},
		{"extensions_no_extension_name", upgradeRequest(get, "Sec-WebSocket-Extensions: ; x"), ErrBadRequest, ""},
		{"extensions_unterminated_quote", upgradeRequest(get, `Sec-WebSocket-Extensions: a; b="c`), ErrBadRequest, ""},
		{"extensions_in_second_header", upgradeRequest(get, "Sec-WebSocket-Extensions: a", "+Sec-WebSocket-Extensions: a,,b"), ErrBadRequest, ""},
		{"bad_request_wins_over_version", upgradeRequest("POST /chat HTTP/1.1", "Sec-WebSocket-Version: 8"), ErrBadRequest, ""},

		{"version_missing", upgradeRequest(get, "Sec-WebSocket-Version:"), ErrVersion, ""},
		{"version_8", upgradeRequest(get, "Sec-WebSocket-Version: 8"), ErrVersion, ""},
		{"version_list", upgradeRequest(get, "Sec-WebSocket-Version: 13, 8"), ErrVersion, ""},
		{"version_013", upgradeRequest(get, "Sec-WebSocket-Version: 013"), ErrVersion, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := parse(t, tc.raw)
			key, err := CheckUpgrade(req)
			if err != tc.wantErr {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if string(key) != tc.wantKey {
				t.Fatalf("key = %q, want %q", key, tc.wantKey)
			}
		})
	}
	t.Run("not_flagged_upgrade", func(t *testing.T) {
		req := parse(t, upgradeRequest(get, "Upgrade: h2c"))
		if _, err := CheckUpgrade(req); err != ErrBadRequest {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestValidExtensions(t *testing.T) {
	for _, tc := range []struct {
		v     string
		valid bool
	}{
		{"", true},
		{" \t", true},
		{"permessage-deflate", true},
		{"permessage-deflate; client_max_window_bits", true},
		{"permessage-deflate;client_max_window_bits=10;server_no_context_takeover", true},
		{"a , b ; c = d , e", true},
		{`a; b=""`, true},
		{`a; b="x\"y"`, true},
		{`a; b="has, comma; and semicolon"`, true},
		{"a,,b", false},
		{",a", false},
		{"a,", false},
		{"a, ,b", false},
		{"; =x", false},
		{"a; =x", false},
		{"a;", false},
		{"a;;b", false},
		{"a; b=", false},
		{"a; b= ;c", false},
		{`a; b="c`, false},
		{`a; b="c\"`, false},
		{`a; b="c\`, false},
		{`a; b="c"d`, false},
		{"a b", false},
		{"a; b c", false},
		{"a; b=c d", false},
		{"a/b", false},
		{"a; b=c=d", false},
		{"a; b=\"\x01\"", false},
	} {
		if got := validExtensions([]byte(tc.v)); got != tc.valid {
			t.Errorf("validExtensions(%q) = %v, want %v", tc.v, got, tc.valid)
		}
	}
}

func TestStatus(t *testing.T) {
	if c, r := Status(ErrVersion); c != 426 || r != "Upgrade Required" {
		t.Errorf("Status(ErrVersion) = %d %q", c, r)
	}
	if c, r := Status(ErrBadRequest); c != 400 || r != "Bad Request" {
		t.Errorf("Status(ErrBadRequest) = %d %q", c, r)
	}
	if c, _ := Status(errors.Join(errors.New("ctx"), ErrVersion)); c != 426 {
		t.Errorf("wrapped ErrVersion: %d", c)
	}
}

func TestAppendAccept(t *testing.T) {
	if got := string(AppendAccept([]byte("x:"), []byte(sampleKey))); got != "x:s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Fatalf("AppendAccept = %q", got)
	}
	// A key longer than CheckUpgrade allows still works (on the heap).
	long := strings.Repeat("k", 1000)
	if got := AppendAccept(nil, []byte(long)); len(got) != 28 {
		t.Fatalf("long key: %q", got)
	}
}

func hdrs(kv ...string) []http1.Header {
	var h []http1.Header
	for i := 0; i+1 < len(kv); i += 2 {
		h = append(h, http1.Header{Name: []byte(kv[i]), Value: []byte(kv[i+1])})
	}
	return h
}

func TestAppendHandshakeResponse(t *testing.T) {
	const tail = "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"
	for _, tc := range []struct {
		name    string
		reason  string
		headers []http1.Header
		want    string
	}{
		{"zhttp_example", "Switching Protocols", nil, "HTTP/1.1 101 Switching Protocols\r\n" + tail},
		{"empty_reason_defaults", "", nil, "HTTP/1.1 101 Switching Protocols\r\n" + tail},
		{"handler_reason_kept", "Upgrading", nil, "HTTP/1.1 101 Upgrading\r\n" + tail},
		{"protocol_header_kept_in_order", "", hdrs("Sec-WebSocket-Protocol", "chat", "X-A", "1"),
			"HTTP/1.1 101 Switching Protocols\r\nSec-WebSocket-Protocol: chat\r\nX-A: 1\r\n" + tail},
		{"server_headers_dropped", "", hdrs(
			"upgrade", "foo", "CONNECTION", "keep-alive", "Sec-WebSocket-Accept", "bogus",
			"sec-websocket-extensions", "permessage-deflate", "Content-Length", "77",
			"Transfer-Encoding", "chunked", "X-Keep", "yes", "Sec-WebSocket-Version", "13"),
			"HTTP/1.1 101 Switching Protocols\r\nX-Keep: yes\r\nSec-WebSocket-Version: 13\r\n" + tail},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := string(AppendHandshakeResponse(nil, []byte(tc.reason), tc.headers, []byte(sampleKey)))
			if got != tc.want {
				t.Fatalf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
}
