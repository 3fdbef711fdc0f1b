package http1

import (
	"strings"
	"testing"
)

func BenchmarkChunkedDecoder(b *testing.B) {
	for _, bc := range []struct {
		name string
		in   string
	}{
		{"small_chunks", strings.Repeat("10\r\n0123456789abcdef\r\n", 64) + "0\r\n\r\n"},
		{"one_64k_chunk", "ffff\r\n" + strings.Repeat("x", 0xffff) + "\r\n0\r\n\r\n"},
		{"extensions_and_trailers", strings.Repeat("10;name=value\r\n0123456789abcdef\r\n", 64) + "0\r\nX-Checksum: abcdef\r\n\r\n"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			in := []byte(bc.in)
			var d ChunkedDecoder
			b.SetBytes(int64(len(in)))
			b.ReportAllocs()
			for b.Loop() {
				d.Reset()
				for p := in; ; {
					n, _, done, err := d.Decode(p)
					if err != nil {
						b.Fatal(err)
					}
					p = p[n:]
					if done {
						break
					}
				}
			}
		})
	}
}
