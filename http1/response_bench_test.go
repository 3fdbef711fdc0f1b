package http1

import "testing"

func BenchmarkAppendResponseHead(b *testing.B) {
	head := &ResponseHead{
		Minor:   1,
		Code:    200,
		Reason:  []byte("OK"),
		Headers: hdrs("Content-Type", "application/json", "Cache-Control", "no-store", "X-Request-Id", "abc123", "Set-Cookie", "a=b; Path=/; HttpOnly"),
		Framing: FramingChunked,
	}
	dst := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		dst = AppendResponseHead(dst[:0], head)
	}
}

func BenchmarkAppendURI(b *testing.B) {
	host, target := []byte("example.com:8080"), []byte("/api/v1/items?id=42&sort=desc")
	dst := make([]byte, 0, MaxURI)
	b.ReportAllocs()
	for b.Loop() {
		dst, _ = AppendURI(dst[:0], "https", host, target)
	}
}
