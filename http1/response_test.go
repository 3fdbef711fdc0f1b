package http1

import (
	"strings"
	"testing"
)

func hdrs(kv ...string) []Header {
	var h []Header
	for i := 0; i < len(kv); i += 2 {
		h = append(h, Header{Name: []byte(kv[i]), Value: []byte(kv[i+1])})
	}
	return h
}

func TestAppendResponseHead(t *testing.T) {
	tests := []struct {
		name string
		head ResponseHead
		want string
	}{
		{"http11_length", ResponseHead{Minor: 1, Code: 200, Reason: []byte("OK"),
			Headers: hdrs("Content-Type", "text/plain"), Framing: FramingLength, ContentLength: 6},
			"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 6\r\n\r\n"},
		{"http11_chunked_no_connection_te", ResponseHead{Minor: 1, Code: 200, Reason: []byte("OK"),
			Framing: FramingChunked},
			"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"}, // §12 #5
		{"http11_close", ResponseHead{Minor: 1, Code: 200, Reason: []byte("OK"),
			Framing: FramingLength, ContentLength: 0, Close: true},
			"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"},
		{"http10_keep_alive", ResponseHead{Minor: 0, Code: 200, Reason: []byte("OK"),
			Framing: FramingLength, ContentLength: 2},
			"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\n"},
		{"http10_close_says_nothing", ResponseHead{Minor: 0, Code: 200, Reason: []byte("OK"), Close: true},
			"HTTP/1.0 200 OK\r\n\r\n"},
		{"handler_framing_and_connection_dropped", ResponseHead{Minor: 1, Code: 200, Reason: []byte("OK"),
			Headers: hdrs("content-length", "99", "X-A", "1", "TRANSFER-ENCODING", "gzip", "Connection", "close", "X-B", "2"),
			Framing: FramingLength, ContentLength: 3},
			"HTTP/1.1 200 OK\r\nX-A: 1\r\nX-B: 2\r\nContent-Length: 3\r\n\r\n"},
		{"101_keeps_connection_header", ResponseHead{Minor: 1, Code: 101, Reason: []byte("Switching Protocols"),
			Headers: hdrs("Upgrade", "websocket", "Connection", "Upgrade", "Sec-WebSocket-Accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
			Close:   true},
			"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"},
		{"204_no_framing", ResponseHead{Minor: 1, Code: 204, Reason: []byte("No Content")},
			"HTTP/1.1 204 No Content\r\n\r\n"},
		{"empty_reason", ResponseHead{Minor: 1, Code: 299, Framing: FramingLength},
			"HTTP/1.1 299 \r\nContent-Length: 0\r\n\r\n"},
		{"minor_other_than_0_is_1", ResponseHead{Minor: 7, Code: 200, Reason: []byte("OK")},
			"HTTP/1.1 200 OK\r\n\r\n"},
		{"duplicates_kept_in_order", ResponseHead{Minor: 1, Code: 200, Reason: []byte("OK"),
			Headers: hdrs("Set-Cookie", "a=1", "Set-Cookie", "b=2", "Content-Lengthx", "y")},
			"HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nContent-Lengthx: y\r\n\r\n"},
		{"large_length", ResponseHead{Minor: 1, Code: 200, Reason: []byte("OK"), Framing: FramingLength, ContentLength: 1 << 40},
			"HTTP/1.1 200 OK\r\nContent-Length: 1099511627776\r\n\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prefix := []byte("keep")
			got := AppendResponseHead(prefix, &tt.head)
			if string(got) != "keep"+tt.want {
				t.Fatalf("got\n%q\nwant\n%q", got, "keep"+tt.want)
			}
		})
	}
}

func TestAppendChunkHeader(t *testing.T) {
	for n, want := range map[int]string{0: "", -1: "", 1: "1\r\n", 10: "a\r\n", 0xffff: "ffff\r\n", 0x1abc: "1abc\r\n"} {
		if got := AppendChunkHeader([]byte("x"), n); string(got) != "x"+want {
			t.Errorf("AppendChunkHeader(%d) = %q, want %q", n, got, "x"+want)
		}
	}
	// A body written with AppendChunkHeader, ChunkTrailer and LastChunk decodes.
	var b []byte
	for _, piece := range []string{"hello", strings.Repeat("z", 300), "!"} {
		b = AppendChunkHeader(b, len(piece))
		b = append(b, piece...)
		b = append(b, ChunkTrailer...)
	}
	b = append(b, LastChunk...)
	body, n, done, err := feed(t, b, whole)
	if err != nil || !done || n != len(b) || string(body) != "hello"+strings.Repeat("z", 300)+"!" {
		t.Fatalf("round trip: %q %d %v %v", body, n, done, err)
	}
}

func TestAppendErrorResponse(t *testing.T) {
	tests := []struct {
		name   string
		minor  int
		code   int
		reason string
		want   string
	}{
		{"bad_request", 1, 400, "Bad Request",
			"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: 12\r\nConnection: close\r\n\r\nBad Request\n"},
		{"http10", 0, 505, "HTTP Version Not Supported",
			"HTTP/1.0 505 HTTP Version Not Supported\r\nContent-Type: text/plain\r\nContent-Length: 27\r\nConnection: close\r\n\r\nHTTP Version Not Supported\n"},
		{"431", 1, 431, "Request Header Fields Too Large",
			"HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Type: text/plain\r\nContent-Length: 32\r\nConnection: close\r\n\r\nRequest Header Fields Too Large\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := AppendErrorResponse(nil, tt.minor, tt.code, tt.reason); string(got) != tt.want {
				t.Fatalf("got\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}

func TestValidHeaderName(t *testing.T) {
	for in, want := range map[string]bool{
		"Content-Type": true, "x": true, "!#$%&'*+-.^_`|~09AZaz": true,
		"": false, "a b": false, "a:b": false, "a\r": false, "a\n": false, "a\x00": false,
		"(a)": false, "a/b": false, "é": false, "a\t": false, "\"a\"": false,
	} {
		if got := ValidHeaderName([]byte(in)); got != want {
			t.Errorf("ValidHeaderName(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestValidHeaderValue(t *testing.T) {
	for in, want := range map[string]bool{
		"": true, "text/plain; charset=utf-8": true, "a\tb": true, " padded ": true, "caf\xc3\xa9\xff": true,
		"a\rb": false, "a\nb": false, "a\r\nX-Injected: 1": false, "\x00": false, "\x1f": false, "\x7f": false,
	} {
		if got := ValidHeaderValue([]byte(in)); got != want {
			t.Errorf("ValidHeaderValue(%q) = %v, want %v", in, got, want)
		}
	}
}
