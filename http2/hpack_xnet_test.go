package http2

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"golang.org/x/net/http2/hpack"
)

// Cross-checks against golang.org/x/net/http2/hpack, both directions.

// browserRequests is a sequence of Chrome-like request header lists on one
// connection: repeated fields, so x/net's encoder indexes and refers back.
func browserRequests(n int) [][]hpack.HeaderField {
	var out [][]hpack.HeaderField
	for i := 0; i < n; i++ {
		path := fmt.Sprintf("/static/js/app.%d.js?v=%d", i%7, i)
		out = append(out, []hpack.HeaderField{
			{Name: ":method", Value: "GET"},
			{Name: ":authority", Value: "www.example.com"},
			{Name: ":scheme", Value: "https"},
			{Name: ":path", Value: path},
			{Name: "sec-ch-ua", Value: `"Chromium";v="124", "Google Chrome";v="124", "Not-A.Brand";v="99"`},
			{Name: "sec-ch-ua-mobile", Value: "?0"},
			{Name: "user-agent", Value: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"},
			{Name: "sec-ch-ua-platform", Value: `"Linux"`},
			{Name: "accept", Value: "*/*"},
			{Name: "sec-fetch-site", Value: "same-origin"},
			{Name: "sec-fetch-mode", Value: "no-cors"},
			{Name: "sec-fetch-dest", Value: "script"},
			{Name: "referer", Value: "https://www.example.com/"},
			{Name: "accept-encoding", Value: "gzip, deflate, br, zstd"},
			{Name: "accept-language", Value: "en-US,en;q=0.9"},
			{Name: "cookie", Value: fmt.Sprintf("session=%08x; theme=dark", i*7919)},
			{Name: "authorization", Value: "Bearer abc.def", Sensitive: true},
		})
	}
	return out
}

func toFields(hf []hpack.HeaderField) []field {
	var fs []field
	for _, f := range hf {
		fs = append(fs, field{f.Name, f.Value, f.Sensitive})
	}
	return fs
}

// TestXNetEncoderToOurDecoder: blocks from x/net's encoder (dynamic table,
// Huffman, evictions, size updates) decode to the same lists with ours.
func TestXNetEncoderToOurDecoder(t *testing.T) {
	for _, limit := range []uint32{4096, 256, 0} {
		var buf bytes.Buffer
		enc := hpack.NewEncoder(&buf)
		h := newHdec(4096, 0)
		for i, req := range browserRequests(40) {
			if i == 10 {
				// Shrink the table mid-connection: x/net emits the size
				// update at the start of the next block.
				enc.SetMaxDynamicTableSizeLimit(limit)
				enc.SetMaxDynamicTableSize(limit)
			}
			buf.Reset()
			for _, f := range req {
				if err := enc.WriteField(f); err != nil {
					t.Fatal(err)
				}
			}
			got, err := h.decode(buf.Bytes())
			if err != nil {
				t.Fatalf("limit %d request %d: %v", limit, i, err)
			}
			if !fieldsEqual(got, toFields(req)) {
				t.Fatalf("limit %d request %d:\n got %v\nwant %v", limit, i, got, toFields(req))
			}
		}
		if limit == 4096 && h.d.Len() == 0 {
			t.Fatal("x/net's encoder indexed nothing: the test proves little")
		}
	}
}

// TestOurEncoderToXNetDecoder: what AppendField writes, x/net decodes to
// the same fields (names lower-cased), for static hits, static names, new
// names, Huffman and raw strings, long values and never-indexed fields.
func TestOurEncoderToXNetDecoder(t *testing.T) {
	fields := []field{
		{":status", "200", false}, {":status", "404", false}, {"content-type", "text/html; charset=utf-8", false},
		{"Content-Length", "1234", false}, {"X-Request-Id", "0af7651916cd43dd8448eb211c80319c", false},
		{"cache-control", "no-store", false}, {"accept-encoding", "gzip, deflate", false},
		{"set-cookie", "a=b; Path=/; HttpOnly", true}, {"x-empty", "", false}, {"x-binary", "\x00\x01\xff\x7f", false},
		{"location", strings.Repeat("/long/path", 300), false}, {"vary", "Accept-Encoding", false},
		{"Access-Control-Allow-Origin", "*", false},
	}
	var b []byte
	for _, f := range fields {
		if f.sensitive {
			b = AppendFieldNeverIndexed(b, []byte(f.name), []byte(f.value))
		} else {
			b = AppendField(b, []byte(f.name), []byte(f.value))
		}
	}
	b = AppendStatus(b, 200)
	b = AppendStatus(b, 503)
	b = AppendStatus(b, 101)
	want := append([]field(nil), fields...)
	for i := range want {
		want[i].name = strings.ToLower(want[i].name)
	}
	want = append(want, field{":status", "200", false}, field{":status", "503", false}, field{":status", "101", false})

	got, err := hpack.NewDecoder(4096, nil).DecodeFull(b)
	if err != nil {
		t.Fatal(err)
	}
	if !fieldsEqual(toFields(got), want) {
		t.Fatalf("x/net decoded\n%v\nwant\n%v", toFields(got), want)
	}
	// Ours agrees, and our encoder left the table empty (no indexing).
	h := newHdec(4096, 0)
	h.scratch = make([]byte, 0, 1<<16)
	ours, err := h.decode(b)
	if err != nil || !fieldsEqual(ours, want) || h.d.Len() != 0 {
		t.Fatalf("our decoder: %v len %d", err, h.d.Len())
	}
	// Static hits are one byte.
	if got := AppendField(nil, []byte(":method"), []byte("GET")); !bytes.Equal(got, []byte{0x82}) {
		t.Errorf(":method GET = %x", got)
	}
	if got := AppendStatus(nil, 304); !bytes.Equal(got, []byte{0x8b}) {
		t.Errorf("304 = %x", got)
	}
	// Huffman only when shorter: a random-looking value stays raw.
	if got := AppendField(nil, []byte("x"), []byte("\xff\xfe")); got[len(got)-3]&0x80 != 0 {
		t.Errorf("binary value Huffman-coded: %x", got)
	}
}

// TestDecodeDynamicNameChurn: thousands of literals with incremental
// indexing in a small table, most naming a dynamic entry (often the one
// their insertion evicts, often while the data region must compact), and
// raw or Huffman values of random lengths; every block must decode as with
// x/net, and the table size stay within its maximum.
func TestDecodeDynamicNameChurn(t *testing.T) {
	const limit = 256
	h := newHdec(limit, 0)
	x := hpack.NewDecoder(limit, nil)
	seed := uint32(1)
	rnd := func(n int) int {
		seed = seed*1664525 + 1013904223
		return int(seed>>8) % n
	}
	entries := 0
	for i := 0; i < 5000; i++ {
		var b []byte
		for k := 0; k < 1; k++ { // one field: entries is then exact
			if entries > 0 && rnd(4) != 0 {
				b = appendInt(b, 0x40, 6, uint32(staticLen+1+rnd(entries)))
			} else {
				name := strings.Repeat(string(rune('a'+rnd(26))), 1+rnd(30))
				b = append(b, 0x40)
				b = appendString(b, []byte(name), false)
			}
			v := make([]byte, rnd(120))
			for j := range v {
				v[j] = byte('0' + rnd(75))
			}
			b = appendString(b, v, false)
		}
		ours, err := h.decode(b)
		theirs, xerr := x.DecodeFull(b)
		if err != nil || xerr != nil {
			t.Fatalf("block %d: ours %v, x/net %v", i, err, xerr)
		}
		if !fieldsEqual(ours, toFields(theirs)) {
			t.Fatalf("block %d:\nours  %v\nx/net %v", i, ours, toFields(theirs))
		}
		if h.d.Size() > limit {
			t.Fatalf("size %d", h.d.Size())
		}
		entries = h.d.Len()
	}
}

// TestDecodeScratchTooSmall: a caller whose scratch is smaller than the
// table limit gets an INTERNAL_ERROR when an indexed literal that fits the
// table does not fit the scratch, not a wrong table.
func TestDecodeScratchTooSmall(t *testing.T) {
	h := newHdec(4096, 0)
	h.scratch = make([]byte, 0, 8)
	b := []byte{0x40}
	b = appendString(b, []byte("name"), false)
	val := appendString(nil, []byte("a value longer than eight bytes, huffman"), false)
	b = append(b, val...)
	if val[0]&0x80 == 0 {
		t.Fatal("value not Huffman-coded: the test needs it")
	}
	_, err := h.decode(b)
	var ce ConnError
	if !errors.As(err, &ce) || ce.Code != ErrInternal {
		t.Fatalf("got %v", err)
	}
}
