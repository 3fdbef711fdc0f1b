package websocket

import "testing"

// TestZeroAllocs asserts the WebSocket message path allocates nothing:
// reading a fragmented masked text message with a ping between its frames,
// writing frame headers and a close frame, and the handshake.
func TestZeroAllocs(t *testing.T) {
	if testing.CoverMode() != "" {
		t.Skip("coverage instrumentation allocates")
	}
	pristine := cat(
		cframe(false, OpText, "héllo, wörld: "),
		cframe(true, OpPing, "ping"),
		cframe(true, OpContinuation, string(make([]byte, 1000))),
	)
	buf := make([]byte, len(pristine))
	var r Reader
	out := make([]byte, 0, 1024)
	req := parse(t, upgradeRequest("GET /chat HTTP/1.1", "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits"))
	respHeaders := hdrs("Sec-WebSocket-Protocol", "chat", "Connection", "x")

	allocs := testing.AllocsPerRun(1000, func() {
		copy(buf, pristine)
		total := 0
		for b := buf; len(b) > 0; {
			ev, n, err := r.Next(b, 300)
			if err != nil || n == 0 {
				t.Fatalf("Next = %v, %d, %v", ev.Kind, n, err)
			}
			if ev.Kind == EvData {
				total += len(ev.Payload)
			}
			b = b[n:]
		}
		if total != 1000+len("héllo, wörld: ") || r.InMessage() {
			t.Fatalf("read %d payload bytes", total)
		}
		out = AppendFrameHeader(out[:0], true, OpText, 5)
		out = AppendFrameHeader(out, false, OpBinary, 70000)
		out = AppendCloseFrame(out, 1000, []byte("bye"))
		key, err := CheckUpgrade(req)
		if err != nil {
			t.Fatal(err)
		}
		out = AppendHandshakeResponse(out[:0], nil, respHeaders, key)
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per message, want 0", allocs)
	}
}
