package websocket

import (
	"bytes"
	stdflate "compress/flate"
	"errors"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/condure-go/condure/http1"
)

// Seeds live in testdata/fuzz/FuzzNegotiateDeflate/ and
// testdata/fuzz/FuzzInflate/, past crashers included.

// FuzzNegotiateDeflate checks that negotiation never panics, takes an offer
// only from a header that names permessage-deflate, and that its response,
// offered back, is accepted with the same parameters.
func FuzzNegotiateDeflate(f *testing.F) {
	f.Add([]byte("permessage-deflate; client_max_window_bits"), []byte("permessage-deflate; server_max_window_bits=10"))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		hs := []http1.Header{
			{Name: []byte("sec-websocket-extensions"), Value: a},
			{Name: []byte("Sec-WebSocket-Extensions"), Value: b},
		}
		p, ok := NegotiateDeflate(hs)
		if !ok {
			if p != (DeflateParams{}) {
				t.Fatalf("params %+v without an offer", p)
			}
			return
		}
		if !bytes.Contains(a, []byte(extDeflate)) && !bytes.Contains(b, []byte(extDeflate)) {
			t.Fatalf("negotiated from %q, %q", a, b)
		}
		if p.ServerMaxWindowBits != 0 && (p.ServerMaxWindowBits < minWindowBits || p.ServerMaxWindowBits > maxWindowBits) {
			t.Fatalf("window bits %d", p.ServerMaxWindowBits)
		}
		resp := AppendDeflateResponse(nil, p)
		if len(resp) > DeflateResponseMax || !validExtensions(resp) {
			t.Fatalf("bad response %q", resp)
		}
		p2, ok := NegotiateDeflate([]http1.Header{{Name: []byte("Sec-WebSocket-Extensions"), Value: resp}})
		if !ok || p2 != p {
			t.Fatalf("response %q offered back gives %+v, %v; want %+v", resp, p2, ok, p)
		}
	})
}

// FuzzInflate checks the Inflater against compress/flate: data compressed
// by compress/flate (level from mode) inflates back to data, and data taken
// as a compressed payload inflates to what compress/flate makes of it
// whenever compress/flate finds it valid; in both cases for random splits
// of input and output. It never panics, and never writes past the limit.
func FuzzInflate(f *testing.F) {
	f.Add([]byte("Hello, Hello, Hello"), uint8(6), uint64(1))
	f.Add([]byte{0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}, uint8(255), uint64(2))
	f.Fuzz(func(t *testing.T, data []byte, mode uint8, seed uint64) {
		rng := rand.New(rand.NewPCG(seed, uint64(len(data))))
		var payload, want []byte
		if level := int(mode % 16); level <= 9 {
			payload, want = stdDeflate(t, data, level), data
		} else {
			payload = data
			r := stdflate.NewReader(io.MultiReader(bytes.NewReader(data), bytes.NewReader(syncTail[:])))
			var err error
			want, err = io.ReadAll(io.LimitReader(r, fuzzMaxOut))
			if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
				want = nil // compress/flate refuses it: any error or output will do
			}
		}
		var frames [][]byte
		for rest := payload; ; {
			n := rng.IntN(len(rest) + 1)
			frames = append(frames, rest[:n])
			rest = rest[n:]
			if len(rest) == 0 {
				break
			}
		}
		var in Inflater
		got, err := inflateAll(&in, frames, 1+rng.IntN(100), 1+rng.IntN(1000), fuzzMaxOut)
		if int64(len(got)) > fuzzMaxOut {
			t.Fatalf("%d bytes past the limit", len(got))
		}
		if err != nil && err != errInflateData && err != errInflateTooBig {
			t.Fatalf("error %v", err)
		}
		if want == nil || len(want) == fuzzMaxOut {
			return
		}
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("inflated %d bytes (%v), compress/flate %d", len(got), err, len(want))
		}
	})
}

// fuzzMaxOut bounds the inflated size in FuzzInflate: bombs stop there, so
// each run (and the fuzzer's minimization) stays fast.
const fuzzMaxOut = 64 << 10
