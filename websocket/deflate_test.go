package websocket

import (
	"bytes"
	stdflate "compress/flate"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"
	"time"
)

// jsonCorpus returns n JSON-like messages of about size bytes each, with
// repeated keys and random values: what a WebSocket API pushes.
func jsonCorpus(n, size int) [][]byte {
	rng := rand.New(rand.NewPCG(1, 2))
	syms := []string{"AAPL", "MSFT", "GOOG", "AMZN", "TSLA", "NVDA", "META", "NFLX"}
	out := make([][]byte, n)
	for i := range out {
		var b strings.Builder
		fmt.Fprintf(&b, `{"type":"update","channel":"prices","seq":%d,"ts":"2026-12-04T18:%02d:%02d.%03dZ","items":[`, 100000+i, rng.IntN(60), rng.IntN(60), rng.IntN(1000))
		for j := 0; b.Len() < size-120; j++ {
			if j > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"symbol":"%s","bid":%.2f,"ask":%.2f,"volume":%d,"user":"u%05d"}`, syms[rng.IntN(len(syms))], 100+rng.Float64()*50, 100+rng.Float64()*50, rng.IntN(1000000), rng.IntN(100000))
		}
		b.WriteString(`],"more":false}`)
		s := b.String()
		if len(s) > size {
			s = s[:size]
		}
		out[i] = []byte(s)
	}
	return out
}

// stdInflate inflates a permessage-deflate payload with compress/flate
// (tail put back, §7.2.2): the independent decoder the tests trust.
func stdInflate(t testing.TB, payload []byte) []byte {
	t.Helper()
	r := stdflate.NewReader(io.MultiReader(bytes.NewReader(payload), bytes.NewReader(syncTail[:])))
	out, err := io.ReadAll(r)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("compress/flate: %v", err)
	}
	return out
}

// stdDeflate compresses msg with compress/flate and strips the tail: what
// a zlib-like client sends.
func stdDeflate(t testing.TB, msg []byte, level int) []byte {
	t.Helper()
	var b bytes.Buffer
	w, err := stdflate.NewWriter(&b, level)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(msg)
	w.Flush()
	out := b.Bytes()
	if !bytes.HasSuffix(out, syncTail[:]) {
		t.Fatalf("no sync tail: % x", out)
	}
	return out[:len(out)-4]
}

// inflateAll feeds frames (each a part of the compressed payload) to a fresh
// Inflater, in reads of at most step bytes, into a dst of dstSize bytes.
func inflateAll(f *Inflater, frames [][]byte, step, dstSize int, max int64) ([]byte, error) {
	f.Reset(max, false)
	var got []byte
	dst := make([]byte, dstSize)
	for i, fr := range frames {
		for len(fr) > 0 || i == len(frames)-1 {
			src := fr[:min(step, len(fr))]
			last := i == len(frames)-1 && len(src) == len(fr)
			out, in, done, err := f.Inflate(dst, src, last)
			got = append(got, dst[:out]...)
			if err != nil {
				return got, err
			}
			if in > len(src) || out > len(dst) {
				return got, fmt.Errorf("Inflate consumed %d of %d, wrote %d of %d", in, len(src), out, len(dst))
			}
			fr = fr[in:]
			if done {
				if !last || in != len(src) {
					return got, fmt.Errorf("done before the end (last %v, in %d of %d)", last, in, len(src))
				}
				return got, nil
			}
			if out == 0 && in == 0 && (len(src) > 0 || last) {
				return got, fmt.Errorf("no progress (last %v, %d bytes of input)", last, len(src))
			}
		}
	}
	return got, errors.New("never done")
}

// TestInflateRFC7692Examples decodes the payloads of RFC 7692 §7.2.3.
func TestInflateRFC7692Examples(t *testing.T) {
	for _, tc := range []struct {
		name   string
		frames [][]byte
		want   string
		err    error
	}{
		{"7.2.3.1_hello", [][]byte{{0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}}, "Hello", nil},
		{"7.2.3.1_fragmented", [][]byte{{0xf2, 0x48, 0xcd}, {0xc9, 0xc9, 0x07, 0x00}}, "Hello", nil},
		// The second message of §7.2.3.2 refers to the first one's
		// window: refused, the client was told not to do that.
		{"7.2.3.2_no_context_takeover", [][]byte{{0xf2, 0x00, 0x11, 0x00, 0x00}}, "", errInflateData},
		{"7.2.3.3_stored", [][]byte{{0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00}}, "Hello", nil},
		{"7.2.3.4_bfinal", [][]byte{{0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00}}, "Hello", nil},
		{"7.2.3.5_two_blocks", [][]byte{{0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9, 0xc9, 0x07, 0x00}}, "Hello", nil},
		{"7.2.3.6_empty_fragment_last", [][]byte{{0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00, 0x00, 0xff, 0xff}, {0x00}}, "Hello", nil},
		{"empty_message", [][]byte{{0x00}}, "", nil},
		{"empty_payload", [][]byte{{}}, "", nil},
		{"reserved_block_type", [][]byte{{0x06}}, "", errInflateData},
		{"stored_bad_nlen", [][]byte{{0x00, 0x05, 0x00, 0xfa, 0xfe, 0x48}}, "", errInflateData},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, step := range []int{1, 3, 1000} {
				for _, dstSize := range []int{1, 2, 64} {
					var f Inflater
					got, err := inflateAll(&f, tc.frames, step, dstSize, 0)
					if err != tc.err {
						t.Fatalf("step %d dst %d: err %v, want %v", step, dstSize, err, tc.err)
					}
					if err == nil && string(got) != tc.want {
						t.Fatalf("step %d dst %d: %q, want %q", step, dstSize, got, tc.want)
					}
				}
			}
		})
	}
}

// TestDeflateHello: "Hello" compresses to the RFC's bytes (§7.2.3.1), or
// at least round-trips, and a message too short to shrink goes out
// uncompressed.
func TestDeflateHello(t *testing.T) {
	d := NewDeflater()
	got := d.AppendFragment(nil, []byte("Hello"), true, 0)
	if string(stdInflate(t, got)) != "Hello" {
		t.Fatalf("round trip of % x failed", got)
	}
	t.Logf("Hello -> % x (RFC 7692 §7.2.3.1: f2 48 cd c9 c9 07 00)", got)
	out, compressed := d.AppendMessage(nil, []byte("Hello"), 0)
	if compressed != (len(got) < 5) || (!compressed && string(out) != "Hello") {
		t.Fatalf("AppendMessage = % x, %v", out, compressed)
	}
}

// TestDeflateRoundTrip: messages compressed by the Deflater, whole or in
// fragments, with and without a window limit, inflate to the original with
// compress/flate and with the Inflater; and what compress/flate compresses
// inflates with the Inflater in any split of input and output.
func TestDeflateRoundTrip(t *testing.T) {
	d := NewDeflater()
	var f Inflater
	msgs := [][]byte{{}, []byte("a"), bytes.Repeat([]byte("abc"), 50000), make([]byte, 70000)}
	msgs = append(msgs, jsonCorpus(3, 100)...)
	msgs = append(msgs, jsonCorpus(3, 1024)...)
	msgs = append(msgs, jsonCorpus(2, 65536)...)
	rng := rand.New(rand.NewPCG(3, 4))
	noise := make([]byte, 40000)
	for i := range noise {
		noise[i] = byte(rng.Uint32())
	}
	msgs = append(msgs, noise)
	for i, m := range msgs {
		for _, wb := range []uint8{0, 8, 9, 12, 15} {
			for _, nfrag := range []int{1, 2, 5} {
				// Cut m into nfrag fragments (some empty), compress each.
				var frames [][]byte
				var whole []byte
				for k := 0; k < nfrag; k++ {
					part := m[len(m)*k/nfrag : len(m)*(k+1)/nfrag]
					fr := d.AppendFragment(nil, part, k == 0, wb)
					frames = append(frames, fr)
					whole = append(whole, fr...)
				}
				name := fmt.Sprintf("msg%d_len%d_wb%d_frag%d", i, len(m), wb, nfrag)
				if got := stdInflate(t, whole); !bytes.Equal(got, m) {
					t.Fatalf("%s: compress/flate inflates %d bytes, want %d", name, len(got), len(m))
				}
				f.distLimit = 0
				if wb != 0 {
					f.distLimit = 1 << wb
				}
				got, err := inflateAll(&f, frames, 1+rng.IntN(5000), 1+rng.IntN(70000), 0)
				if err != nil || !bytes.Equal(got, m) {
					t.Fatalf("%s: Inflater: %d bytes, %v", name, len(got), err)
				}
			}
		}
		for _, level := range []int{stdflate.NoCompression, stdflate.BestSpeed, stdflate.DefaultCompression, stdflate.BestCompression, stdflate.HuffmanOnly} {
			c := stdDeflate(t, m, level)
			f.distLimit = 0
			for _, step := range []int{1, 7, len(c) + 1} {
				got, err := inflateAll(&f, [][]byte{c}, step, 1+rng.IntN(3000), 0)
				if err != nil || !bytes.Equal(got, m) {
					t.Fatalf("msg%d level %d step %d: Inflater: %d bytes of %d, %v", i, level, step, len(got), len(m), err)
				}
			}
		}
	}
}

// bomb returns a DEFLATE payload of about n/688 bytes that inflates to n
// zero bytes or more: a dynamic block whose 2-bit code for a 258-byte match
// at distance 1 repeats.
func bomb(n int64) []byte {
	var w bitWriter
	w.bits(0, 1) // BFINAL 0
	w.bits(2, 2) // dynamic
	w.bits(29, 5)
	w.bits(0, 5)
	w.bits(14, 4) // 18 code length code lengths
	// Code length code: 18 -> "0", 1 -> "10", 2 -> "11".
	for _, sym := range codeLenOrder[:18] {
		switch sym {
		case 18:
			w.bits(1, 3)
		case 1, 2:
			w.bits(2, 3)
		default:
			w.bits(0, 3)
		}
	}
	one, two := func() { w.code(2, 2) }, func() { w.code(3, 2) }
	zeros := func(k int) { w.code(0, 1); w.bits(uint64(k-11), 7) }
	// Literal/length lengths: 0 -> 1, 256 -> 2, 285 -> 2; distance 0 -> 1.
	one()
	zeros(138)
	zeros(117)
	two()
	zeros(28)
	two()
	one()
	// Codes: literal 0 "0", end "10", 285 "11"; distance 0 "0".
	w.code(0, 1)
	for out := int64(1); out < n; out += 258 {
		w.code(3, 2)
		w.code(0, 1)
	}
	w.code(2, 2)
	return w.flush()
}

type bitWriter struct {
	b     []byte
	acc   uint64
	nbits uint
}

func (w *bitWriter) bits(v uint64, n uint) {
	w.acc |= v << w.nbits
	w.nbits += n
	for w.nbits >= 8 {
		w.b = append(w.b, byte(w.acc))
		w.acc >>= 8
		w.nbits -= 8
	}
}

// code writes a Huffman code, most significant bit first.
func (w *bitWriter) code(c int, n uint) { w.bits(uint64(reverseBits(c, int(n))), n) }

func (w *bitWriter) flush() []byte {
	if w.nbits > 0 {
		w.b = append(w.b, byte(w.acc))
	}
	return w.b
}

// TestInflateBomb: a 1.5 MB message that inflates to 1 GiB stops with 1009
// at the limit, quickly, without allocating; within the limit it inflates
// to the right size.
func TestInflateBomb(t *testing.T) {
	small := bomb(1 << 20)
	var f Inflater
	got, err := inflateAll(&f, [][]byte{small}, len(small), 64<<10, 2<<20)
	if err != nil || int64(len(got)) < 1<<20 || bytes.IndexFunc(got, func(r rune) bool { return r != 0 }) >= 0 {
		t.Fatalf("1 MiB bomb within limit: %d bytes, %v", len(got), err)
	}
	if std := stdInflate(t, small); !bytes.Equal(std, got) {
		t.Fatalf("compress/flate disagrees on the crafted payload: %d bytes", len(std))
	}

	big := bomb(1 << 30)
	t.Logf("1 GiB bomb: %d compressed bytes", len(big))
	dst := make([]byte, 64<<10)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	f.Reset(16<<20, false)
	var total int64
	for src := big; ; {
		out, in, _, err := f.Inflate(dst, src, true)
		total += int64(out)
		src = src[in:]
		if err != nil {
			if err != errInflateTooBig {
				t.Fatalf("err %v, want errInflateTooBig", err)
			}
			break
		}
		if out == 0 && in == 0 {
			t.Fatal("no progress")
		}
	}
	elapsed := time.Since(start)
	runtime.ReadMemStats(&after)
	if total > 16<<20 || total < 16<<20-258 {
		t.Fatalf("inflated %d bytes before failing, want about 16 MiB", total)
	}
	if f.err == nil || f.err.Code != CloseTooBig {
		t.Fatalf("error %v is not a 1009", f.err)
	}
	if a := after.Mallocs - before.Mallocs; a > 0 {
		t.Fatalf("%d allocations while inflating", a)
	}
	if elapsed > 2*time.Second {
		t.Fatalf("took %v to stop", elapsed)
	}
	t.Logf("stopped after %d bytes in %v", total, elapsed)
}

// TestCompressBound: incompressible and compressible input of many sizes,
// whole and in window pieces, never needs more than CompressBound.
func TestCompressBound(t *testing.T) {
	d := NewDeflater()
	rng := rand.New(rand.NewPCG(5, 6))
	noise := make([]byte, 200000)
	for i := range noise {
		noise[i] = byte(rng.Uint32())
	}
	text := bytes.Repeat(jsonCorpus(1, 1000)[0], 250)
	for _, n := range []int{0, 1, 5, 100, 255, 256, 257, 1000, 16383, 16384, 16385, 65535, 65536, 70000, 200000} {
		for _, src := range [][]byte{noise[:n], text[:n]} {
			for _, wb := range []uint8{0, 8, 9, 14} {
				for _, first := range []bool{true, false} {
					out := d.AppendFragment(nil, src, first, wb)
					if len(out) > CompressBound(n, wb) {
						t.Fatalf("n %d wb %d first %v: %d bytes, CompressBound %d", n, wb, first, len(out), CompressBound(n, wb))
					}
				}
			}
		}
	}
}
