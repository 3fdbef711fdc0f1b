package http1

import "testing"

// TestZeroAllocs asserts the request path allocates nothing: parsing a
// keep-alive request with 8 headers, building its URI, decoding a chunked
// body and writing a response head into buffers that have room.
func TestZeroAllocs(t *testing.T) {
	if testing.CoverMode() != "" {
		t.Skip("coverage instrumentation allocates")
	}
	req := new(Request)
	in := []byte(typicalRequest)
	uri := make([]byte, 0, MaxURI)
	chunked := []byte("5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n")
	out := make([]byte, 0, 1024)
	head := &ResponseHead{
		Minor:   1,
		Code:    200,
		Reason:  []byte("OK"),
		Headers: hdrs("Content-Type", "application/json", "Cache-Control", "no-store", "Content-Length", "99", "X-Request-Id", "abc123"),
		Framing: FramingLength, ContentLength: 1234,
	}
	var dec ChunkedDecoder

	allocs := testing.AllocsPerRun(1000, func() {
		n, err := ParseRequest(in, req, 8192)
		if err != nil || n != len(in) || len(req.Headers) != 8 || !req.KeepAlive {
			t.Fatalf("ParseRequest = %d, %v", n, err)
		}
		if _, err := AppendURI(uri[:0], "https", req.Host, req.Target); err != nil {
			t.Fatal(err)
		}
		if !HasToken([]byte("Upgrade, keep-alive"), "keep-alive") {
			t.Fatal("HasToken")
		}
		dec.Reset()
		for b := chunked; ; {
			n, _, done, err := dec.Decode(b)
			if err != nil {
				t.Fatal(err)
			}
			b = b[n:]
			if done {
				break
			}
		}
		out = AppendResponseHead(out[:0], head)
		out = AppendChunkHeader(out, 0x1234)
		out = AppendErrorResponse(out[:0], 1, 400, "Bad Request")
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per request, want 0", allocs)
	}
}
