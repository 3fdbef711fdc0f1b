package websocket

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"testing"
)

// Seeds live in testdata/fuzz/FuzzReader/, past crashers included.

// FuzzReader checks that Next never panics and keeps its contract (n within
// buf, events consume bytes, chunks within limit, payloads are views into
// the consumed bytes, errors are *ProtocolError), and that the whole input,
// random read splits and byte-by-byte reads give the same normalized events
// and error.
func FuzzReader(f *testing.F) {
	f.Add(cat(cframe(false, OpText, "Hel"), cframe(true, OpPing, "p"), cframe(true, OpContinuation, "lo")), uint16(2), uint64(1))
	f.Fuzz(func(t *testing.T, data []byte, limit uint16, seed uint64) {
		var maxMessage int64
		if seed&1 == 1 {
			maxMessage = int64(seed >> 52) // 0-4095
		}
		lim := max(int(limit), 1)
		var r Reader
		r.MaxMessage = maxMessage
		deflate := seed&2 != 0 // RSV1 allowed on first frames
		r.Deflate = deflate
		ref, err := run(&r, bytes.Clone(data), whole(len(data)), 1<<30, contract)
		if err != nil {
			t.Fatalf("whole: %v", err)
		}
		rng := rand.New(rand.NewPCG(seed, uint64(len(data))))
		for _, m := range []struct {
			name  string
			next  func() int
			limit int
		}{
			{"split", func() int { return 1 + rng.IntN(64) }, lim},
			{"byte_by_byte", whole(1), lim},
			{"whole_limit", whole(len(data)), lim},
		} {
			r.Reset()
			r.Deflate = deflate
			got, err := run(&r, bytes.Clone(data), m.next, m.limit, contract)
			if err != nil {
				t.Fatalf("%s: %v", m.name, err)
			}
			if got.code != ref.code || !slices.Equal(got.items, ref.items) {
				t.Fatalf("%s (limit %d) differs from whole read:\n got %v\nwant %v", m.name, m.limit, trunc(got.String()), trunc(ref.String()))
			}
		}
	})
}
