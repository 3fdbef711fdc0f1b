package http2

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
)

type field struct {
	name, value string
	sensitive   bool
}

func (f field) String() string { return fmt.Sprintf("%s: %s (%v)", f.name, f.value, f.sensitive) }

func dehex(s string) []byte {
	b, err := hex.DecodeString(strings.NewReplacer(" ", "", "\n", "", "\t", "").Replace(s))
	if err != nil {
		panic(err)
	}
	return b
}

// hdec bundles a Decoder with its storage and scratch, as a server would.
type hdec struct {
	d       Decoder
	storage []byte
	scratch []byte
}

func newHdec(limit, maxList uint32) *hdec {
	h := &hdec{storage: make([]byte, DecoderTableLen(limit)), scratch: make([]byte, 0, 16384)}
	h.d.Init(limit, maxList)
	return h
}

func (h *hdec) decode(block []byte) ([]field, error) {
	var fs []field
	err := h.d.Decode(h.storage, block, h.scratch, func(n, v []byte, s bool) error {
		fs = append(fs, field{string(n), string(v), s})
		return nil
	})
	return fs, err
}

// entries lists the dynamic table, newest first.
func (h *hdec) entries() []field {
	var fs []field
	t := h.d.view(h.storage)
	for i := uint32(1); i <= h.d.count; i++ {
		n, v, err := h.d.lookup(t, staticLen+i)
		if err != nil {
			panic(err)
		}
		fs = append(fs, field{name: string(n), value: string(v)})
	}
	return fs
}

func fieldsEqual(a, b []field) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func pairs(kv ...string) []field {
	var fs []field
	for i := 0; i < len(kv); i += 2 {
		fs = append(fs, field{name: kv[i], value: kv[i+1]})
	}
	return fs
}

// TestHuffmanCanonical checks the property the fast decoder relies on:
// Appendix B's code is canonical and complete.
func TestHuffmanCanonical(t *testing.T) {
	code, prevLen := uint64(0), 0
	syms := 0
	for l := 1; l <= huffMaxLen; l++ {
		for sym := 0; sym <= huffEOS; sym++ {
			if int(huffLens[sym]) != l {
				continue
			}
			code <<= l - prevLen
			prevLen = l
			if uint64(huffCodes[sym]) != code {
				t.Fatalf("symbol %d: code %#x, canonical %#x", sym, huffCodes[sym], code)
			}
			code++
			syms++
		}
	}
	if syms != 257 || code != 1<<30 {
		t.Fatalf("%d symbols, final code %#x: not complete", syms, code)
	}
}

// RFC 7541 C.4 and C.6: the Huffman encodings of the example strings.
var huffVectors = []struct{ s, hex string }{
	{"www.example.com", "f1e3 c2e5 f23a 6ba0 ab90 f4ff"},
	{"no-cache", "a8eb 1064 9cbf"},
	{"custom-key", "25a8 49e9 5ba9 7d7f"},
	{"custom-value", "25a8 49e9 5bb8 e8b4 bf"},
	{"302", "6402"},
	{"private", "aec3 771a 4b"},
	{"Mon, 21 Oct 2013 20:13:21 GMT", "d07a be94 1054 d444 a820 0595 040b 8166 e082 a62d 1bff"},
	{"https://www.example.com", "9d29 ad17 1863 c78f 0b97 c8e9 ae82 ae43 d3"},
	{"307", "640e ff"},
	{"Mon, 21 Oct 2013 20:13:22 GMT", "d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff"},
	{"gzip", "9bd9 ab"},
	{"foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1",
		"94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07"},
}

func TestHuffmanVectors(t *testing.T) {
	for _, v := range huffVectors {
		want := dehex(v.hex)
		if got := appendHuffman(nil, []byte(v.s), false); !bytes.Equal(got, want) {
			t.Errorf("encode %q: %x want %x", v.s, got, want)
		}
		if n := huffmanLen([]byte(v.s), false); n != len(want) {
			t.Errorf("len %q: %d want %d", v.s, n, len(want))
		}
		got, n, err := huffmanDecode(make([]byte, 0, 64), want)
		if err != nil || string(got) != v.s || n != len(v.s) {
			t.Errorf("decode %x: %q %d %v", want, got, n, err)
		}
	}
}

func TestHuffmanRoundTripAllBytes(t *testing.T) {
	var s []byte
	for i := 0; i < 256; i++ {
		s = append(s, byte(i), byte(255-i), 'a')
	}
	enc := appendHuffman(nil, s, false)
	dec, _, err := huffmanDecode(make([]byte, 0, len(s)), enc)
	if err != nil || !bytes.Equal(dec, s) {
		t.Fatalf("round trip: %v", err)
	}
	// Lower-casing on the way.
	enc = appendHuffman(nil, []byte("Content-TYPE"), true)
	dec, _, _ = huffmanDecode(make([]byte, 0, 32), enc)
	if string(dec) != "content-type" {
		t.Fatalf("lower: %q", dec)
	}
}

// TestHuffmanPadding walks RFC 7541 §5.2's rules for the end of a string.
func TestHuffmanPadding(t *testing.T) {
	a := appendHuffman(nil, []byte("a"), false) // 00011 + 111 padding = 0x1f
	if !bytes.Equal(a, []byte{0x1f}) {
		t.Fatalf("a = %x", a)
	}
	cases := []struct {
		name string
		in   []byte
		want string
		err  error
	}{
		{"empty", nil, "", nil},
		{"a", []byte{0x1f}, "a", nil},
		{"padding of zeros", []byte{0x18}, "", errHuffman},
		{"padding mixed", []byte{0x1d}, "", errHuffman},
		{"padding 8 ones", []byte{0x1f, 0xff}, "", errHuffman},
		{"only padding 8 ones", []byte{0xff}, "", errHuffman},
		{"EOS in the string", []byte{0xff, 0xff, 0xff, 0xff}, "", errHuffman}, // 30 ones + 2 ones
		{"EOS then a", []byte{0xff, 0xff, 0xff, 0xfc, 0x7f}, "", errHuffman},
		{"truncated long code", []byte{0xff, 0xfe}, "", errHuffman}, // 15 bits of a longer code
		{"6-bit padding", []byte{0x00, 0x3f}, "00", nil},            // '0' is 00000 (5 bits) twice + 6 ones
	}
	for _, c := range cases {
		got, _, err := huffmanDecode(make([]byte, 0, 16), c.in)
		if err != c.err || (err == nil && string(got) != c.want) {
			t.Errorf("%s: %q %v, want %q %v", c.name, got, err, c.want, c.err)
		}
	}
	// Longer than the destination: validated through, length reported.
	enc := appendHuffman(nil, []byte("hello world"), false)
	got, n, err := huffmanDecode(make([]byte, 0, 4), enc)
	if err != errHuffmanTooLong || n != 11 || string(got) != "hell" {
		t.Fatalf("too long: %q %d %v", got, n, err)
	}
	if _, _, err := huffmanDecode(make([]byte, 0, 4), append(enc[:len(enc):len(enc)], 0xff)); err != errHuffman {
		t.Fatalf("too long and bad padding: %v", err)
	}
}

// RFC 7541 C.1: integer representation.
func TestIntegers(t *testing.T) {
	cases := []struct {
		v      uint32
		prefix uint
		first  byte
		hex    string
	}{
		{10, 5, 0xe0, "ea"},       // C.1.1, with the pattern bits above the prefix
		{1337, 5, 0x00, "1f9a0a"}, // C.1.2
		{42, 8, 0x00, "2a"},       // C.1.3
		{31, 5, 0x00, "1f00"},     // exactly the prefix maximum
		{1<<32 - 1, 4, 0, "0ff0ffffff0f"},
	}
	for _, c := range cases {
		b := appendInt(nil, c.first, c.prefix, c.v)
		if hex.EncodeToString(b) != c.hex {
			t.Errorf("append %d/%d: %x want %s", c.v, c.prefix, b, c.hex)
		}
		v, rest, err := readInt(append(b, 0x55), c.prefix)
		if err != nil || v != c.v || !bytes.Equal(rest, []byte{0x55}) {
			t.Errorf("read %x: %d %x %v", b, v, rest, err)
		}
	}
	bad := []struct {
		in  string
		err error
	}{
		{"", errIntTruncated},
		{"1f", errIntTruncated},
		{"1f9a", errIntTruncated},
		{"1f ffffffff0f", errIntOverflow},    // 2^32+30
		{"1f 8080808080 00", errIntOverflow}, // six continuation bytes
		{"1f ffffffff7f", errIntOverflow},
	}
	for _, c := range bad {
		if _, _, err := readInt(dehex(c.in), 5); err != c.err {
			t.Errorf("%s: %v want %v", c.in, err, c.err)
		}
	}
	// Redundant zero continuations are fine up to the limit.
	if v, _, err := readInt(dehex("1f 80808000"), 5); err != nil || v != 31 {
		t.Errorf("zero continuations: %d %v", v, err)
	}
}

// RFC 7541 C.2: individual representations.
func TestDecodeC2(t *testing.T) {
	cases := []struct {
		name  string
		hex   string
		want  []field
		table []field
	}{
		{"C.2.1 literal with indexing", "400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572",
			pairs("custom-key", "custom-header"), pairs("custom-key", "custom-header")},
		{"C.2.2 literal without indexing", "040c 2f73 616d 706c 652f 7061 7468",
			pairs(":path", "/sample/path"), nil},
		{"C.2.3 literal never indexed", "1008 7061 7373 776f 7264 0673 6563 7265 74",
			[]field{{"password", "secret", true}}, nil},
		{"C.2.4 indexed", "82", pairs(":method", "GET"), nil},
	}
	for _, c := range cases {
		h := newHdec(4096, 0)
		got, err := h.decode(dehex(c.hex))
		if err != nil || !fieldsEqual(got, c.want) {
			t.Errorf("%s: %v %v", c.name, got, err)
		}
		if !fieldsEqual(h.entries(), c.table) {
			t.Errorf("%s: table %v", c.name, h.entries())
		}
	}
	if h := newHdec(4096, 0); true {
		h.decode(dehex(cases[0].hex))
		if h.d.Size() != 55 {
			t.Errorf("C.2.1 size %d want 55", h.d.Size())
		}
	}
}

type step struct {
	hex   string
	want  []field
	table []field
	size  uint32
}

func runSeries(t *testing.T, name string, limit uint32, steps []step) {
	t.Helper()
	h := newHdec(limit, 0)
	for i, s := range steps {
		got, err := h.decode(dehex(s.hex))
		if err != nil || !fieldsEqual(got, s.want) {
			t.Fatalf("%s step %d: %v %v", name, i+1, got, err)
		}
		if !fieldsEqual(h.entries(), s.table) || h.d.Size() != s.size {
			t.Fatalf("%s step %d: table %v size %d, want %v %d", name, i+1, h.entries(), h.d.Size(), s.table, s.size)
		}
	}
}

var (
	c3req1  = pairs(":method", "GET", ":scheme", "http", ":path", "/", ":authority", "www.example.com")
	c3req2  = pairs(":method", "GET", ":scheme", "http", ":path", "/", ":authority", "www.example.com", "cache-control", "no-cache")
	c3req3  = pairs(":method", "GET", ":scheme", "https", ":path", "/index.html", ":authority", "www.example.com", "custom-key", "custom-value")
	c3tab1  = pairs(":authority", "www.example.com")
	c3tab2  = pairs("cache-control", "no-cache", ":authority", "www.example.com")
	c3tab3  = pairs("custom-key", "custom-value", "cache-control", "no-cache", ":authority", "www.example.com")
	c5resp1 = pairs(":status", "302", "cache-control", "private", "date", "Mon, 21 Oct 2013 20:13:21 GMT", "location", "https://www.example.com")
	c5resp2 = pairs(":status", "307", "cache-control", "private", "date", "Mon, 21 Oct 2013 20:13:21 GMT", "location", "https://www.example.com")
	c5resp3 = pairs(":status", "200", "cache-control", "private", "date", "Mon, 21 Oct 2013 20:13:22 GMT", "location", "https://www.example.com",
		"content-encoding", "gzip", "set-cookie", "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1")
	c5tab1 = pairs("location", "https://www.example.com", "date", "Mon, 21 Oct 2013 20:13:21 GMT", "cache-control", "private", ":status", "302")
	c5tab2 = pairs(":status", "307", "location", "https://www.example.com", "date", "Mon, 21 Oct 2013 20:13:21 GMT", "cache-control", "private")
	c5tab3 = pairs("set-cookie", "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1", "content-encoding", "gzip", "date", "Mon, 21 Oct 2013 20:13:22 GMT")
)

// RFC 7541 C.3 to C.6: request and response series on one connection, with
// the dynamic table after each block (C.5 and C.6 with evictions at 256).
func TestDecodeC3toC6(t *testing.T) {
	runSeries(t, "C.3", 4096, []step{
		{"8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d", c3req1, c3tab1, 57},
		{"8286 84be 5808 6e6f 2d63 6163 6865", c3req2, c3tab2, 110},
		{"8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65", c3req3, c3tab3, 164},
	})
	runSeries(t, "C.4", 4096, []step{
		{"8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff", c3req1, c3tab1, 57},
		{"8286 84be 5886 a8eb 1064 9cbf", c3req2, c3tab2, 110},
		{"8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf", c3req3, c3tab3, 164},
	})
	runSeries(t, "C.5", 256, []step{
		{`4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133
		  2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70 6c65 2e63 6f6d`, c5resp1, c5tab1, 222},
		{"4803 3330 37c1 c0bf", c5resp2, c5tab2, 222},
		{`88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d
		  54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049
		  5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e 3d31`, c5resp3, c5tab3, 215},
	})
	runSeries(t, "C.6", 256, []step{
		{`4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6
		  2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3`, c5resp1, c5tab1, 222},
		{"4883 640e ffc1 c0bf", c5resp2, c5tab2, 222},
		{`88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab
		  77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f
		  9587 3160 65c0 03ed 4ee5 b106 3d50 07`, c5resp3, c5tab3, 215},
	})
}

// TestDecodeErrors: each malformed block is a COMPRESSION_ERROR (RFC 7541
// §2.3.3, §4.2, §5.1, §5.2, §6.3).
func TestDecodeErrors(t *testing.T) {
	cases := []struct {
		name string
		hex  string
		err  error
	}{
		{"index 0 (§6.1)", "80", errIndexZero},
		{"index past the static table, empty dynamic (§2.3.3)", "be", errIndexRange},
		{"literal name index past the tables", "7f00 0161", errIndexRange},
		{"literal name index 0 is a new name", "4000", errIntTruncated},
		{"truncated integer", "ff", errIntTruncated},
		{"integer overflow", "ff ffffffff7f", errIntOverflow},
		{"string longer than the block", "4005 6162", errStringTruncated},
		{"value longer than the block", "4001 6105 61", errStringTruncated},
		{"missing value", "4001 61", errIntTruncated},
		{"huffman EOS (§5.2)", "0084 ffffffff 00", errHuffman},
		{"huffman padding too long (§5.2)", "0082 1fff 00", errHuffman},
		{"huffman padding zeros (§5.2)", "0081 18 00", errHuffman},
		{"size update after a field (§4.2)", "82 20", errSizeUpdateLate},
		{"size update at the end (§4.2)", "82 3fe1 1f", errSizeUpdateLate},
		{"size update above the limit (§6.3)", "3fe2 1f", errSizeUpdateLarge},
	}
	for _, c := range cases {
		h := newHdec(4096, 0)
		_, err := h.decode(dehex(c.hex))
		if err != c.err {
			t.Errorf("%s: %v want %v", c.name, err, c.err)
		}
		var ce ConnError
		if !errors.As(err, &ce) || ce.Code != ErrCompression {
			t.Errorf("%s: %v is not a COMPRESSION_ERROR", c.name, err)
		}
	}
}

func TestDecodeSizeUpdates(t *testing.T) {
	h := newHdec(4096, 0)
	// Two updates at the start (§4.2): down to 0, then up again.
	if _, err := h.decode(dehex("400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572")); err != nil {
		t.Fatal(err)
	}
	fs, err := h.decode(dehex("20 3f e1 1f be"))
	if err != errIndexRange || h.d.Len() != 0 || h.d.MaxSize() != 4096 {
		t.Fatalf("update to 0 then 4096 should have emptied the table: %v %v len %d", fs, err, h.d.Len())
	}
	// Up to the limit is fine, above is not.
	h = newHdec(256, 0)
	if _, err := h.decode(dehex("3fe1 01")); err != nil || h.d.MaxSize() != 256 {
		t.Fatalf("256: %v %d", err, h.d.MaxSize())
	}
	if _, err := h.decode(dehex("3fe2 01")); err != errSizeUpdateLarge {
		t.Fatalf("257: %v", err)
	}
	// SetLimit below the size in force: the next block must start with an
	// update, else COMPRESSION_ERROR.
	h = newHdec(4096, 0)
	h.d.SetLimit(1024)
	if _, err := h.decode(dehex("82")); err != errSizeUpdateNeed {
		t.Fatalf("missing update: %v", err)
	}
	h.d.SetLimit(1024)
	if _, err := h.decode(dehex("3fe1 07 82")); err != nil || h.d.MaxSize() != 1024 {
		t.Fatalf("update to 1024: %v %d", err, h.d.MaxSize())
	}
	if _, err := h.decode(dehex("82")); err != nil {
		t.Fatalf("after update: %v", err)
	}
	// Raising the limit needs no update.
	h.d.SetLimit(2048)
	if _, err := h.decode(dehex("82")); err != nil {
		t.Fatalf("raised: %v", err)
	}
}

// TestDecodeEviction: entries are evicted oldest first to make room (§4.4),
// an entry larger than the table empties it, and a new entry may name an
// entry it evicts (§4.4).
func TestDecodeEviction(t *testing.T) {
	h := newHdec(100, 0) // room for one 50-byte entry and a bit
	lit := func(name, value string) []byte {
		b := []byte{0x40}
		b = appendInt(b, 0, 7, uint32(len(name)))
		b = append(b, name...)
		b = appendInt(b, 0, 7, uint32(len(value)))
		return append(b, value...)
	}
	blk := append(lit("aaaa", "1111111111"), lit("bbbb", "2222222222")...) // 46 each
	if _, err := h.decode(blk); err != nil || h.d.Len() != 2 || h.d.Size() != 92 {
		t.Fatalf("%v len %d size %d", err, h.d.Len(), h.d.Size())
	}
	if _, err := h.decode(lit("cccc", "3")); err != nil || !fieldsEqual(h.entries(), pairs("cccc", "3", "bbbb", "2222222222")) {
		t.Fatalf("evict oldest: %v %v", err, h.entries())
	}
	// A literal naming entry 63 (the oldest, bbbb) whose insertion evicts it.
	b := appendInt(nil, 0x40, 6, 63)
	b = appendInt(b, 0, 7, 50)
	b = append(b, strings.Repeat("x", 50)...)
	fs, err := h.decode(b)
	if err != nil || !fieldsEqual(fs, pairs("bbbb", strings.Repeat("x", 50))) {
		t.Fatalf("self-evicting name: %v %v", fs, err)
	}
	if !fieldsEqual(h.entries(), pairs("bbbb", strings.Repeat("x", 50))) || h.d.Size() != 86 {
		t.Fatalf("after self-evicting name: %v %d", h.entries(), h.d.Size())
	}
	// Larger than the table: emptied, field still emitted.
	fs, err = h.decode(lit("big", strings.Repeat("y", 80)))
	if err != nil || len(fs) != 1 || h.d.Len() != 0 || h.d.Size() != 0 {
		t.Fatalf("oversize entry: %v len %d", err, h.d.Len())
	}
	// Many inserts: the data region compacts and offsets stay right.
	for i := 0; i < 200; i++ {
		v := fmt.Sprintf("v%03d", i)
		if _, err := h.decode(lit("k", v)); err != nil {
			t.Fatal(err)
		}
		e := h.entries()
		if e[0].value != v || h.d.Size() > 100 {
			t.Fatalf("insert %d: %v size %d", i, e, h.d.Size())
		}
		if i > 0 && e[1].value != fmt.Sprintf("v%03d", i-1) {
			t.Fatalf("insert %d: %v", i, e)
		}
	}
}

// TestDecodeHeaderListLimit: past the limit, fn is no longer called, the
// block is still decoded (the table stays in step) and the decoder says so.
func TestDecodeHeaderListLimit(t *testing.T) {
	h := newHdec(4096, 100)
	// 3 fields of 32+4+10: the third passes 100.
	var b []byte
	for _, k := range []string{"aaaa", "bbbb", "cccc"} {
		b = append(b, 0x40, 4)
		b = append(b, k...)
		b = append(b, 10)
		b = append(b, "0123456789"...)
	}
	fs, err := h.decode(b)
	if err != ErrHeaderListTooLarge || len(fs) != 2 || h.d.Len() != 3 {
		t.Fatalf("%v %v len %d", fs, err, h.d.Len())
	}
	// The next block refers to the entry inserted past the limit.
	fs, err = h.decode([]byte{0x80 | 62})
	if err != nil || !fieldsEqual(fs, pairs("cccc", "0123456789")) {
		t.Fatalf("%v %v", fs, err)
	}
	// A Huffman string longer than scratch counts as passing the limit,
	// and its entry (larger than the table) empties the table.
	h = newHdec(256, 0)
	h.scratch = make([]byte, 0, 300)
	big := appendHuffman(nil, bytes.Repeat([]byte("a"), 400), false)
	b = append([]byte{0x40 | 1}, appendInt([]byte{0x80}, 0x80, 7, uint32(len(big)))[1:]...)
	b = append(b, big...)
	b = append(b, 0x82)
	pre := append([]byte{0x40, 1, 'x', 1, 'y'}, b...)
	fs, err = h.decode(pre)
	if err != ErrHeaderListTooLarge || !fieldsEqual(fs, pairs("x", "y")) || h.d.Len() != 0 {
		t.Fatalf("oversize huffman: %v %v len %d", fs, err, h.d.Len())
	}
	// fn's error stops decoding and comes back.
	stop := errors.New("stop")
	h = newHdec(4096, 0)
	n := 0
	err = h.d.Decode(h.storage, dehex("8286 84"), h.scratch, func(_, _ []byte, _ bool) error { n++; return stop })
	if err != stop || n != 1 {
		t.Fatalf("fn error: %v after %d", err, n)
	}
}

func TestDecoderStorage(t *testing.T) {
	if DecoderTableLen(4096) != 4352 || DecoderTableLen(1024) != 1088 || DecoderTableLen(0) != 0 || DecoderTableLen(1) != 34 {
		t.Fatal("DecoderTableLen")
	}
	if tableCap(4352) != 4096 || tableCap(4351) != 4064 {
		t.Fatal("tableCap")
	}
	var d Decoder
	d.Init(4096, 0)
	err := d.Decode(make([]byte, 1000), []byte{0x82}, nil, func(_, _ []byte, _ bool) error { return nil })
	var ce ConnError
	if !errors.As(err, &ce) || ce.Code != ErrInternal {
		t.Fatalf("small storage: %v", err)
	}
	// Move: shrink after the peer lowered its size.
	h := newHdec(4096, 0)
	if _, err := h.decode(dehex("8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d")); err != nil {
		t.Fatal(err)
	}
	h.d.SetLimit(256)
	if h.d.Move(make([]byte, DecoderTableLen(256)), h.storage) {
		t.Fatal("moved into storage smaller than the size in force")
	}
	if _, err := h.decode(dehex("3fe1 01 be")); err != nil {
		t.Fatal(err)
	}
	small := make([]byte, DecoderTableLen(256))
	if !h.d.Move(small, h.storage) {
		t.Fatal("move refused")
	}
	h.storage = small
	fs, err := h.decode(dehex("be"))
	if err != nil || !fieldsEqual(fs, c3tab1) {
		t.Fatalf("after move: %v %v", fs, err)
	}
}

// TestDecoderPark: a table parked between blocks (storage given back, the
// entries kept in a small buffer) and unparked into other storage decodes
// the next blocks as if nothing happened.
func TestDecoderPark(t *testing.T) {
	h := newHdec(256, 0)
	steps := []string{
		`4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6
		 2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3`,
		"4883 640e ffc1 c0bf",
		`88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab
		 77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f
		 9587 3160 65c0 03ed 4ee5 b106 3d50 07`,
	}
	want := [][]field{c5resp1, c5resp2, c5resp3}
	for i, s := range steps {
		got, err := h.decode(dehex(s))
		if err != nil || !fieldsEqual(got, want[i]) {
			t.Fatalf("step %d: %v %v", i, got, err)
		}
		before := h.entries()
		n := h.d.ParkedLen()
		if n != int(h.d.Size())-28*h.d.Len() {
			t.Fatalf("ParkedLen %d, size %d, %d entries", n, h.d.Size(), h.d.Len())
		}
		parked := make([]byte, n)
		if h.d.Park(parked, h.storage) != n {
			t.Fatal("Park")
		}
		h.storage = make([]byte, DecoderTableLen(256)) // other storage, zeroed
		h.d.Unpark(h.storage, parked)
		if !fieldsEqual(h.entries(), before) {
			t.Fatalf("step %d: unparked %v, want %v", i, h.entries(), before)
		}
	}
}

// TestAppendStatus: every code decodes back; the seven static ones take one
// byte (RFC 7541 Appendix A, indexes 8..14), the others 4 (Huffman digits)
// or 5.
func TestAppendStatus(t *testing.T) {
	static := map[int]bool{200: true, 204: true, 206: true, 304: true, 400: true, 404: true, 500: true}
	for code := 100; code <= 999; code++ {
		b := AppendStatus(nil, code)
		h := newHdec(4096, 0)
		fs, err := h.decode(b)
		if err != nil || len(fs) != 1 || fs[0] != (field{":status", fmt.Sprint(code), false}) {
			t.Fatalf("%d: %v %v", code, fs, err)
		}
		if static[code] != (len(b) == 1) || len(b) > 5 {
			t.Fatalf("%d: %d bytes", code, len(b))
		}
	}
}
