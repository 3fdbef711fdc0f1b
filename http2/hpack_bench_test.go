package http2

import (
	"bytes"
	"testing"

	"golang.org/x/net/http2/hpack"
)

// browserBlocks encodes n Chrome-like requests of one connection with
// x/net's encoder (Huffman, dynamic table 4096): the first block is all
// literals, the rest mostly indexes into the dynamic table plus a new path
// and cookie each (inserted, evicting old entries in steady state).
func browserBlocks(n int) [][]byte {
	var buf bytes.Buffer
	enc := hpack.NewEncoder(&buf)
	var out [][]byte
	for _, req := range browserRequests(n) {
		buf.Reset()
		for _, f := range req {
			enc.WriteField(f)
		}
		out = append(out, append([]byte(nil), buf.Bytes()...))
	}
	return out
}

// typicalResponse is a JSON API response's fields, as a handler sends them.
var typicalResponse = [][2][]byte{
	{[]byte("Content-Type"), []byte("application/json; charset=utf-8")},
	{[]byte("Content-Length"), []byte("1834")},
	{[]byte("Date"), []byte("Fri, 04 Dec 2026 21:40:00 GMT")},
	{[]byte("Cache-Control"), []byte("no-store")},
	{[]byte("Vary"), []byte("Accept-Encoding")},
	{[]byte("X-Request-Id"), []byte("0af7651916cd43dd8448eb211c80319c")},
	{[]byte("Server"), []byte("condure")},
	{[]byte("Strict-Transport-Security"), []byte("max-age=63072000")},
}

func encodeResponse(dst []byte) []byte {
	dst = AppendStatus(dst, 200)
	for _, f := range typicalResponse {
		dst = AppendField(dst, f[0], f[1])
	}
	return dst
}

// decodeSeq decodes blocks[i%len] with d, starting the table afresh at
// each wrap, and returns the fields seen.
type decodeSeq struct {
	blocks  [][]byte
	d       Decoder
	storage []byte
	scratch []byte
	i       int
	n       int
}

func newDecodeSeq(blocks [][]byte) *decodeSeq {
	return &decodeSeq{blocks: blocks, storage: make([]byte, DecoderTableLen(4096)), scratch: make([]byte, 0, 16384)}
}

func (s *decodeSeq) next() error {
	if s.i%len(s.blocks) == 0 {
		s.d.Init(4096, 65536)
	}
	blk := s.blocks[s.i%len(s.blocks)]
	s.i++
	return s.d.Decode(s.storage, blk, s.scratch, func(name, value []byte, _ bool) error {
		s.n += len(name) + len(value)
		return nil
	})
}

func BenchmarkHPACKDecodeBrowserRequest(b *testing.B) {
	s := newDecodeSeq(browserBlocks(1000))
	total := 0
	for _, blk := range s.blocks {
		total += len(blk)
	}
	b.SetBytes(int64(total / len(s.blocks)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := s.next(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHPACKDecodeBrowserRequestXNet is the same with x/net's decoder,
// for comparison (it allocates a string per literal field).
func BenchmarkHPACKDecodeBrowserRequestXNet(b *testing.B) {
	blocks := browserBlocks(1000)
	var d *hpack.Decoder
	n := 0
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if i%len(blocks) == 0 {
			d = hpack.NewDecoder(4096, func(f hpack.HeaderField) { n += len(f.Name) + len(f.Value) })
		}
		if _, err := d.Write(blocks[i%len(blocks)]); err != nil {
			b.Fatal(err)
		}
		if err := d.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkHPACKEncodeResponse(b *testing.B) {
	dst := make([]byte, 0, 1024)
	b.SetBytes(int64(len(encodeResponse(nil))))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		dst = encodeResponse(dst[:0])
	}
}

func BenchmarkHuffmanDecode(b *testing.B) {
	s := []byte("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36")
	enc := appendHuffman(nil, s, false)
	dst := make([]byte, 0, len(s))
	b.SetBytes(int64(len(s)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, _, err := huffmanDecode(dst, enc); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFrameHeaderCheck(b *testing.B) {
	hdr := AppendFrameHeader(nil, FrameHeader{Length: 1000, Type: FrameData, Flags: FlagPadded, StreamID: 5})
	p := make([]byte, 1000)
	p[0] = 10
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		h := ParseFrameHeader(hdr)
		if err := CheckFrame(h, DefaultMaxFrameSize); err != nil {
			b.Fatal(err)
		}
		if _, err := DataPayload(h, p); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendHeaders(b *testing.B) {
	block := encodeResponse(nil)
	dst := make([]byte, 0, 1024)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		dst = AppendHeaders(dst[:0], 1, block, false, DefaultMaxFrameSize)
	}
}
