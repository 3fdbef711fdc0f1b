package websocket

import (
	"bytes"
	stdflate "compress/flate"
	"fmt"
	"io"
	"runtime"
	"testing"

	kpflate "github.com/klauspost/compress/flate"
)

// The figures behind the library choice (docs/design.md, "WebSocket
// compression"):
//
//	go test ./websocket -run XXX -bench 'Deflate|Inflate|Compression' -benchmem

// flateWriter is what compress/flate and klauspost writers share.
type flateWriter interface {
	io.Writer
	Flush() error
	Reset(io.Writer)
}

var benchWriters = []struct {
	name string
	new  func(w io.Writer) flateWriter
}{
	{"std-l1", func(w io.Writer) flateWriter { z, _ := stdflate.NewWriter(w, 1); return z }},
	{"std-l5", func(w io.Writer) flateWriter { z, _ := stdflate.NewWriter(w, 5); return z }},
	{"klauspost-l1", func(w io.Writer) flateWriter { z, _ := kpflate.NewWriter(w, 1); return z }},
	{"klauspost-l5", func(w io.Writer) flateWriter { z, _ := kpflate.NewWriter(w, 5); return z }},
}

var benchSizes = []int{100, 1024, 65536}

// BenchmarkDeflate: one message compressed from an empty window (no
// context takeover), per library and level, and through the Deflater.
func BenchmarkDeflate(b *testing.B) {
	for _, size := range benchSizes {
		msgs := jsonCorpus(64, size)
		for _, lib := range benchWriters {
			b.Run(fmt.Sprintf("%s/%d", lib.name, size), func(b *testing.B) {
				var out appendWriter
				out.b = make([]byte, 0, CompressBound(size, 0))
				w := lib.new(&out)
				b.SetBytes(int64(size))
				b.ReportAllocs()
				var in, outN int
				for i := 0; b.Loop(); i++ {
					m := msgs[i%len(msgs)]
					out.b = out.b[:0]
					w.Reset(&out)
					w.Write(m)
					w.Flush()
					in, outN = in+len(m), outN+len(out.b)-4
				}
				b.ReportMetric(float64(outN)/float64(in), "ratio")
			})
		}
		b.Run(fmt.Sprintf("Deflater/%d", size), func(b *testing.B) {
			d := NewDeflater()
			dst := make([]byte, 0, CompressBound(size, 0))
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				dst = d.AppendFragment(dst[:0], msgs[i%len(msgs)], true, 0)
			}
		})
	}
}

// BenchmarkDeflateReset: what starting a message from an empty window costs.
func BenchmarkDeflateReset(b *testing.B) {
	for _, lib := range benchWriters {
		b.Run(lib.name, func(b *testing.B) {
			w := lib.new(io.Discard)
			w.Write([]byte("warm up"))
			w.Flush()
			b.ReportAllocs()
			for b.Loop() {
				w.Reset(io.Discard)
			}
		})
	}
}

// BenchmarkInflate: one whole message inflated, by our Inflater and by the
// two libraries' (pull) decoders.
func BenchmarkInflate(b *testing.B) {
	for _, size := range benchSizes {
		msgs := jsonCorpus(64, size)
		comp := make([][]byte, len(msgs))
		full := make([][]byte, len(msgs)) // with the tail, for the libraries
		for i, m := range msgs {
			comp[i] = stdDeflate(b, m, 6)
			full[i] = append(bytes.Clone(comp[i]), syncTail[:]...)
		}
		b.Run(fmt.Sprintf("Inflater/%d", size), func(b *testing.B) {
			var f Inflater
			dst := make([]byte, size+1)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				f.Reset(0, false)
				n, _, done, err := f.Inflate(dst, comp[i%len(comp)], true)
				if err != nil || !done || n != len(msgs[i%len(msgs)]) {
					b.Fatal(n, done, err)
				}
			}
		})
		for _, lib := range []string{"std", "klauspost"} {
			b.Run(fmt.Sprintf("%s/%d", lib, size), func(b *testing.B) {
				br := bytes.NewReader(nil)
				var r io.ReadCloser
				if lib == "std" {
					r = stdflate.NewReader(br)
				} else {
					r = kpflate.NewReader(br)
				}
				dst := make([]byte, size)
				b.SetBytes(int64(size))
				b.ReportAllocs()
				for i := 0; b.Loop(); i++ {
					br.Reset(full[i%len(full)])
					r.(stdflate.Resetter).Reset(br, nil)
					if n, _ := io.ReadFull(r, dst[:len(msgs[i%len(msgs)])]); n != len(msgs[i%len(msgs)]) {
						b.Fatal(n)
					}
				}
			})
		}
	}
}

// BenchmarkCompressionMemory reports the heap one compressor or
// decompressor takes once it has handled a message (run with -benchtime 1x).
func BenchmarkCompressionMemory(b *testing.B) {
	msg := jsonCorpus(1, 1024)[0]
	heap := func(f func() any) float64 {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		x := f()
		runtime.ReadMemStats(&after)
		runtime.KeepAlive(x)
		return float64(after.TotalAlloc - before.TotalAlloc)
	}
	for _, lib := range benchWriters {
		b.Run("writer/"+lib.name, func(b *testing.B) {
			for b.Loop() {
				b.ReportMetric(heap(func() any {
					w := lib.new(io.Discard)
					w.Write(msg)
					w.Flush()
					return w
				}), "bytes")
			}
		})
	}
	comp := stdDeflate(b, msg, 6)
	full := append(bytes.Clone(comp), syncTail[:]...)
	b.Run("reader/std", func(b *testing.B) {
		for b.Loop() {
			b.ReportMetric(heap(func() any {
				r := stdflate.NewReader(bytes.NewReader(full))
				io.ReadFull(r, make([]byte, len(msg)))
				return r
			})-float64(len(msg)), "bytes")
		}
	})
	b.Run("reader/klauspost", func(b *testing.B) {
		for b.Loop() {
			b.ReportMetric(heap(func() any {
				r := kpflate.NewReader(bytes.NewReader(full))
				io.ReadFull(r, make([]byte, len(msg)))
				return r
			})-float64(len(msg)), "bytes")
		}
	})
	b.Run("reader/Inflater", func(b *testing.B) {
		for b.Loop() {
			b.ReportMetric(heap(func() any {
				f := new(Inflater)
				f.Reset(0, false)
				return f
			}), "bytes")
		}
	})
}

// BenchmarkCompressionRatio reports compressed/original bytes over a
// stream of 2000 1 KiB JSON messages, with context takeover (one window for
// the stream, flushed per message: what the reference does by default) and
// without (each message from an empty window: what we negotiate). Run with
// -benchtime 1x.
func BenchmarkCompressionRatio(b *testing.B) {
	msgs := jsonCorpus(2000, 1024)
	var raw int
	for _, m := range msgs {
		raw += len(m)
	}
	for _, lib := range benchWriters {
		for _, takeover := range []bool{true, false} {
			b.Run(fmt.Sprintf("%s/takeover=%v", lib.name, takeover), func(b *testing.B) {
				for b.Loop() {
					var out appendWriter
					w := lib.new(&out)
					total := 0
					for _, m := range msgs {
						out.b = out.b[:0]
						if !takeover {
							w.Reset(&out)
						}
						w.Write(m)
						w.Flush()
						total += len(out.b) - 4
					}
					b.ReportMetric(float64(total)/float64(raw), "ratio")
				}
			})
		}
	}
}
