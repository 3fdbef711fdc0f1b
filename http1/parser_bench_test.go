package http1

import (
	"strings"
	"testing"
)

func BenchmarkParseRequest(b *testing.B) {
	for _, bc := range []struct {
		name string
		in   string
	}{
		{"minimal", "GET / HTTP/1.1\r\nHost: a\r\n\r\n"},
		{"typical_8_headers", typicalRequest},
		{"post_chunked", "POST /upload HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\nContent-Type: application/octet-stream\r\n\r\n"},
		{"64_headers", "GET / HTTP/1.1\r\nHost: a\r\n" + strings.Repeat("X-Header-Name: some header value\r\n", 63) + "\r\n"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			in := []byte(bc.in)
			var req Request
			b.SetBytes(int64(len(in)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ParseRequest(in, &req, 8192); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkParseRequestIncomplete measures the re-parse the server does
// after each read while a head trickles in.
func BenchmarkParseRequestIncomplete(b *testing.B) {
	in := []byte(typicalRequest[:len(typicalRequest)-3])
	var req Request
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if n, err := ParseRequest(in, &req, 8192); n != 0 || err != nil {
			b.Fatal(n, err)
		}
	}
}
