package http1

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

// feed decodes in the way the server does: bytes arrive in pieces whose
// sizes next chooses, are appended to a buffer, and Decode is called on the
// unconsumed buffer until it asks for more. It checks the Decode contract on
// every call and returns the body, the bytes consumed and the outcome.
func feed(t testing.TB, in []byte, next func(left int) int) (body []byte, consumed int, done bool, err error) {
	t.Helper()
	var d ChunkedDecoder
	var buf []byte
	off := 0
	for {
		for {
			n, data, dn, e := d.Decode(buf)
			if n < 0 || n > len(buf) {
				t.Fatalf("consumed %d of %d bytes", n, len(buf))
			}
			if len(data) > 0 && !inside(buf[:n], data) {
				t.Fatalf("data %q is not within the consumed input", data)
			}
			body = append(body, data...)
			consumed += n
			buf = buf[n:]
			if e != nil {
				return body, consumed, false, e
			}
			if dn {
				return body, consumed, true, nil
			}
			if n == 0 {
				if len(buf) > 0 {
					t.Fatalf("consumed nothing of %q", buf)
				}
				break
			}
		}
		if off == len(in) {
			return body, consumed, false, nil
		}
		k := next(len(in) - off)
		buf = append(buf, in[off:off+k]...)
		off += k
	}
}

// inside reports whether v lies within b[:len(b)].
func inside(b, v []byte) bool {
	if len(b) == 0 {
		return false
	}
	start, p := uintptrOf(b), uintptrOf(v)
	return p >= start && p+uintptr(len(v)) <= start+uintptr(len(b))
}

func whole(left int) int { return left }
func byteByByte(int) int { return 1 }
func randomSplits(r *rand.Rand) func(int) int {
	return func(left int) int { return 1 + r.IntN(left) }
}

func TestChunkedDecoder(t *testing.T) {
	tests := []struct {
		name string
		in   string
		body string
	}{
		{"single_chunk", "5\r\nhello\r\n0\r\n\r\n", "hello"},
		{"two_chunks", "3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n", "abcdefg"},
		{"empty_body", "0\r\n\r\n", ""},
		{"upper_and_lower_hex", "A\r\n0123456789\r\nb\r\n0123456789a\r\n0\r\n\r\n", "01234567890123456789a"},
		{"leading_zeros", "0005\r\nhello\r\n000\r\n\r\n", "hello"},
		{"sixteen_digit_size", "0000000000000003\r\nabc\r\n0\r\n\r\n", "abc"},
		{"max_chunk_size_header", "ffffffff\r\n", ""}, // accepted, body still to come
		{"chunked_with_extension", "5;name=value\r\nhello\r\n0\r\n\r\n", "hello"},
		{"extension_quoted", "5;a=\"x y;z\";b\r\nhello\r\n0;last\r\n\r\n", "hello"},
		{"extension_with_bws", "5 ;a\r\nhello\r\n0\t; b = c\r\n\r\n", "hello"},
		{"whitespace_after_size", "5 \t\r\nhello\r\n0 \r\n\r\n", "hello"},
		{"bare_lf_size_line", "5\nhello\n0\n\n", "hello"},
		{"bare_lf_after_data", "5\r\nhello\n0\r\n\r\n", "hello"},
		{"crlf_in_data", "4\r\n\r\n\r\n\r\n0\r\n\r\n", "\r\n\r\n"},
		{"binary_data", "3\r\n\x00\xff\n\r\n0\r\n\r\n", "\x00\xff\n"},
		{"trailers", "5\r\nhello\r\n0\r\nExpires: never\r\nX-Sum:\tabc \r\n\r\n", "hello"},
		{"trailers_bare_lf", "5\r\nhello\r\n0\nA: b\n\n", "hello"},
		{"trailer_empty_value", "0\r\nA:\r\n\r\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			complete := !strings.HasSuffix(tt.name, "_header")
			in := []byte(tt.in)
			if complete {
				in = append(in, "GET / HTTP/1.1\r\n\r\n"...) // a pipelined request follows
			}
			r := rand.New(rand.NewPCG(1, uint64(len(tt.in))))
			for _, split := range []struct {
				name string
				next func(int) int
			}{{"whole", whole}, {"byte_by_byte", byteByByte}, {"random", randomSplits(r)}} {
				body, n, done, err := feed(t, in, split.next)
				if err != nil || string(body) != tt.body || done != complete {
					t.Fatalf("%s: body %q, done %v, err %v; want %q, %v, nil", split.name, body, done, err, tt.body, complete)
				}
				if done && n != len(tt.in) {
					t.Fatalf("%s: consumed %d, want %d", split.name, n, len(tt.in))
				}
			}
		})
	}
}

func TestChunkedDecoderErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		body string // decoded before the error
	}{
		{"empty_size", "\r\n", ""},
		{"bad_hex", "5g\r\nhello\r\n0\r\n\r\n", ""},
		{"non_hex_start", "x\r\n", ""},
		{"sign", "+5\r\nhello\r\n", ""},
		{"hex_prefix", "0x5\r\nhello\r\n", ""},
		{"size_over_32_bits", "100000000\r\n", ""},
		{"size_far_over_64_bits", "fffffffffffffffffffff\r\n", ""},
		{"seventeen_digits", "00000000000000005\r\nhello\r\n", ""},
		{"space_inside_size", "1 0\r\n", ""},
		{"space_before_size", " 5\r\nhello\r\n", ""},
		{"lf_in_extension", "2;\nxx\r\n0\r\n\r\n", ""},
		{"lf_in_extension_value", "2;a=b\nxx\r\n0\r\n\r\n", ""},
		{"bare_cr_in_extension", "2;a\rb\r\nxx\r\n0\r\n\r\n", ""},
		{"nul_in_extension", "2;a\x00\r\nxx\r\n0\r\n\r\n", ""},
		{"bare_cr_after_size", "2\rxx\r\n0\r\n\r\n", ""},
		{"missing_crlf_after_data", "2\r\nxxx\r\n0\r\n\r\n", "xx"},
		{"cr_without_lf_after_data", "2\r\nxx\rx0\r\n\r\n", "xx"},
		{"data_longer_than_size", "3\r\nabcdef\r\n0\r\n\r\n", "abc"},
		{"trailer_obs_fold", "0\r\nA: b\r\n c\r\n\r\n", ""},
		{"trailer_without_colon", "0\r\nAB\r\n\r\n", ""},
		{"trailer_space_before_colon", "0\r\nA : b\r\n\r\n", ""},
		{"trailer_nul", "0\r\nA: b\x00\r\n\r\n", ""},
		{"trailer_bare_cr", "0\r\nA: b\rc\r\n\r\n", ""},
		{"final_cr_without_lf", "0\r\n\rX", ""},
		{"extension_too_long", "1;" + strings.Repeat("a", maxChunkLine) + "\r\nx\r\n0\r\n\r\n", ""},
		{"trailers_too_long", "0\r\n" + strings.Repeat("A: b\r\n", maxTrailerBytes/6+1) + "\r\n", ""},
		{"second_chunk_bad", "1\r\na\r\nz\r\n", "a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(2, uint64(len(tt.in))))
			for _, split := range []struct {
				name string
				next func(int) int
			}{{"whole", whole}, {"byte_by_byte", byteByByte}, {"random", randomSplits(r)}} {
				body, _, _, err := feed(t, []byte(tt.in), split.next)
				if err != ErrBadChunk || string(body) != tt.body {
					t.Fatalf("%s: body %q, err %v; want %q, ErrBadChunk", split.name, body, err, tt.body)
				}
			}
		})
	}
}

// TestChunkedDecoderOnePiecePerCall checks the Decode contract: one data
// piece per call, the rest left for the next call, and nothing consumed once done.
func TestChunkedDecoderOnePiecePerCall(t *testing.T) {
	in := []byte("3\r\nabc\r\n4;x\r\ndefg\r\n0\r\n\r\nNEXT")
	var d ChunkedDecoder
	var pieces []string
	off := 0
	for {
		n, data, done, err := d.Decode(in[off:])
		if err != nil {
			t.Fatal(err)
		}
		off += n
		if len(data) > 0 {
			pieces = append(pieces, string(data))
		}
		if done {
			break
		}
	}
	if strings.Join(pieces, "|") != "abc|defg" || string(in[off:]) != "NEXT" {
		t.Fatalf("pieces %q, left %q", pieces, in[off:])
	}
	if n, data, done, err := d.Decode(in[off:]); n != 0 || data != nil || !done || err != nil {
		t.Fatalf("after done: %d, %q, %v, %v", n, data, done, err)
	}
	d.Reset()
	// The last piece and done may come together.
	if n, data, done, err := d.Decode([]byte("1\r\nz\r\n0\r\n\r\n")); n != 11 || string(data) != "z" || !done || err != nil {
		t.Fatalf("after Reset: %d, %q, %v, %v", n, data, done, err)
	}
}

func TestChunkedDecoderStaysFailed(t *testing.T) {
	var d ChunkedDecoder
	if _, _, _, err := d.Decode([]byte("zz")); err != ErrBadChunk {
		t.Fatalf("err = %v", err)
	}
	if n, _, done, err := d.Decode([]byte("0\r\n\r\n")); n != 0 || done || err != ErrBadChunk {
		t.Fatalf("after failure: %d, %v, %v", n, done, err)
	}
}

// Outcomes of refDecode.
const (
	refMore = iota
	refDone
	refError
)

// refDecode is the reference the decoder is tested against: a line-at-a-time
// decoder for a buffered body, written for clarity rather than speed. For a
// truncated body it reports an error only when no continuation could be
// valid, which is when the incremental decoder fails too. It ignores the
// maxChunkLine and maxTrailerBytes limits.
func refDecode(in []byte) (body []byte, consumed int, outcome int) {
	pos := 0
	for {
		line, ok := refLine(in[pos:])
		if !ok {
			if refSizePrefixOK(line) {
				return body, 0, refMore
			}
			return body, 0, refError
		}
		size, ok := refSizeLine(line)
		if !ok {
			return body, 0, refError
		}
		pos += len(line) + 1
		if size == 0 {
			break
		}
		if uint64(len(in)-pos) < size {
			return append(body, in[pos:]...), 0, refMore
		}
		body = append(body, in[pos:pos+int(size)]...)
		pos += int(size)
		rest := in[pos:]
		switch {
		case bytes.HasPrefix(rest, []byte("\r\n")):
			pos += 2
		case bytes.HasPrefix(rest, []byte("\n")):
			pos++
		case len(rest) == 0 || string(rest) == "\r":
			return body, 0, refMore
		default:
			return body, 0, refError
		}
	}
	for {
		line, ok := refLine(in[pos:])
		if !ok {
			if refTrailerPrefixOK(line) {
				return body, 0, refMore
			}
			return body, 0, refError
		}
		pos += len(line) + 1
		if len(line) == 0 || string(line) == "\r" {
			return body, pos, refDone
		}
		if !refTrailerLine(line) {
			return body, 0, refError
		}
	}
}

// refLine returns the bytes up to the first LF (without it), or all of b
// and false when there is none.
func refLine(b []byte) ([]byte, bool) {
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		return b[:i], true
	}
	return b, false
}

func refHexDigits(b []byte) int {
	i := 0
	for i < len(b) && strings.IndexByte("0123456789abcdefABCDEF", b[i]) >= 0 {
		i++
	}
	return i
}

func refSize(digits []byte) bool {
	if len(digits) == 0 {
		return true
	}
	v, err := strconv.ParseUint(string(digits), 16, 64)
	return len(digits) <= 16 && err == nil && v <= 0xffffffff
}

// refSizeLine parses a whole chunk-size line (without its LF).
func refSizeLine(line []byte) (uint64, bool) {
	i := refHexDigits(line)
	if i == 0 || !refSize(line[:i]) {
		return 0, false
	}
	v, _ := strconv.ParseUint(string(line[:i]), 16, 64)
	rest := bytes.TrimLeft(line[i:], " \t")
	if len(rest) == 0 || string(rest) == "\r" {
		return v, true
	}
	// With an extension the line must end in CRLF, and nothing in the
	// extension may be a control byte but HTAB.
	if rest[0] != ';' || rest[len(rest)-1] != '\r' || !refValueChars(rest[1:len(rest)-1]) {
		return 0, false
	}
	return v, true
}

func refSizePrefixOK(p []byte) bool {
	i := refHexDigits(p)
	if !refSize(p[:i]) {
		return false
	}
	if i == len(p) {
		return true
	}
	if i == 0 {
		return false
	}
	rest := bytes.TrimLeft(p[i:], " \t")
	switch {
	case len(rest) == 0, string(rest) == "\r":
		return true
	case rest[0] != ';':
		return false
	}
	ext := bytes.TrimSuffix(rest[1:], []byte("\r"))
	return refValueChars(ext)
}

func refValueChars(b []byte) bool {
	for _, c := range b {
		if c != '\t' && (c < 0x20 || c == 0x7f) {
			return false
		}
	}
	return true
}

func refTrailerLine(line []byte) bool {
	name, value, ok := bytes.Cut(line, []byte(":"))
	if !ok || !ValidHeaderName(name) {
		return false
	}
	return refValueChars(bytes.TrimSuffix(value, []byte("\r")))
}

func refTrailerPrefixOK(p []byte) bool {
	if len(p) == 0 || string(p) == "\r" {
		return true
	}
	name, value, ok := bytes.Cut(p, []byte(":"))
	if !ok {
		return ValidHeaderName(name)
	}
	return ValidHeaderName(name) && refValueChars(bytes.TrimSuffix(value, []byte("\r")))
}

// genChunked writes a random valid chunked body.
func genChunked(r *rand.Rand) []byte {
	var b []byte
	eol := func() {
		if r.IntN(4) == 0 {
			b = append(b, '\n')
		} else {
			b = append(b, "\r\n"...)
		}
	}
	sizeLine := func(n int) {
		b = append(b, strings.Repeat("0", r.IntN(3))...)
		hex := strconv.FormatInt(int64(n), 16)
		if r.IntN(2) == 0 {
			hex = strings.ToUpper(hex)
		}
		b = append(b, hex...)
		if r.IntN(4) == 0 {
			b = append(b, " \t"[:1+r.IntN(2)]...)
		}
		if r.IntN(3) == 0 {
			b = append(b, []string{";a", ";a=b", "; q=\"x;y\"", ";x;y=z"}[r.IntN(4)]...)
			b = append(b, "\r\n"...)
			return
		}
		eol()
	}
	for range r.IntN(5) {
		n := 1 + r.IntN(40)
		sizeLine(n)
		for range n {
			const alphabet = "ab\r\n0;:\x00\xff"
			b = append(b, alphabet[r.IntN(len(alphabet))])
		}
		eol()
	}
	sizeLine(0)
	for range r.IntN(3) {
		b = append(b, []string{"A: b", "X-T:", "k:\tv v "}[r.IntN(3)]...)
		eol()
	}
	eol()
	return b
}

// mutate damages a body the way a fuzzer would.
func mutate(r *rand.Rand, b []byte) []byte {
	b = bytes.Clone(b)
	for range r.IntN(3) {
		if len(b) == 0 {
			break
		}
		interesting := []byte("\r\n; \t0fFg:\x00")
		i := r.IntN(len(b))
		switch r.IntN(4) {
		case 0:
			b[i] = interesting[r.IntN(len(interesting))]
		case 1:
			b = append(b[:i], append([]byte{interesting[r.IntN(len(interesting))]}, b[i:]...)...)
		case 2:
			b = append(b[:i], b[i+1:]...)
		case 3:
			b = b[:i]
		}
	}
	return b
}

// TestChunkedDecoderReference compares the decoder, fed whole, byte by byte
// and in random pieces, against refDecode on random valid and damaged bodies.
func TestChunkedDecoderReference(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	outcomes := [3]int{}
	for iter := range 20000 {
		in := genChunked(r)
		if iter%2 == 1 {
			in = mutate(r, in)
		}
		if r.IntN(4) == 0 {
			in = append(in, "GET / HTTP/1.1\r\n\r\n"...)
		}
		wantBody, wantN, outcome := refDecode(in)
		outcomes[outcome]++
		for _, split := range []func(int) int{whole, byteByByte, randomSplits(r)} {
			body, n, done, err := feed(t, in, split)
			got := refMore
			switch {
			case err != nil:
				got = refError
			case done:
				got = refDone
			}
			if got != outcome || !bytes.Equal(body, wantBody) || done && n != wantN {
				t.Fatalf("input %q:\ngot  outcome %d body %q consumed %d (err %v)\nwant outcome %d body %q consumed %d",
					in, got, body, n, err, outcome, wantBody, wantN)
			}
		}
	}
	t.Logf("outcomes more/done/error: %v", outcomes)
	for o, c := range outcomes {
		if c < 1000 {
			t.Errorf("only %d cases with outcome %d: the generator is off", c, o)
		}
	}
}

func ExampleChunkedDecoder() {
	var d ChunkedDecoder
	in := []byte("5\r\nhello\r\n6;ext\r\n world\r\n0\r\n\r\n")
	for {
		n, data, done, err := d.Decode(in)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("%q\n", data)
		in = in[n:]
		if done || n == 0 {
			break
		}
	}
	// Output:
	// "hello"
	// " world"
}
