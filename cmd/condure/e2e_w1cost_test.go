package main

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

// TestReqRepliesWholeInBursts: with one worker the req DEALER's replies are
// received whole, delimiter and packet in one call (zmqio.Sock.RecvMsg),
// drained until libzmq says none so the edge-triggered ZMQ_FD fires for the
// next burst. A handler answers bursts of requests at once, mixing replies
// over the socket's 64 KiB receive buffer (the frame is taken in a second
// call, into a grown buffer) with small ones; every client gets its own
// body back, in every burst, none late.
func TestReqRepliesWholeInBursts(t *testing.T) {
	underTest(t)
	s := startReqServer(t, "--workers", "1")
	h := reqHandler(t, s.reqSpec)
	const conns = 12
	cs := make([]net.Conn, conns)
	brs := make([]*bufio.Reader, conns)
	for i := range cs {
		cs[i] = s.dialReq()
		brs[i] = bufio.NewReader(cs[i])
	}
	body := func(round, i int) string {
		b := fmt.Sprintf("r%d-c%d;", round, i)
		if (round+i)%4 == 0 { // over the 64 KiB receive buffer
			return strings.Repeat(b, 100_000/len(b))
		}
		return b
	}
	for round := 0; round < 24; round++ {
		n := []int{1, 5, conns}[round%3]
		if round%2 == 1 {
			time.Sleep(3 * time.Millisecond) // the worker asleep when the burst comes
		}
		for i := 0; i < n; i++ {
			fmt.Fprintf(cs[i], "GET /r%d/c%d HTTP/1.1\r\nHost: x\r\n\r\n", round, i)
		}
		for i := 0; i < n; i++ {
			r := recvReq(t, h)
			var rr, ci int
			uri := str(r.Packet, "uri")
			if _, err := fmt.Sscanf(uri[strings.LastIndex(uri, "/r"):], "/r%d/c%d", &rr, &ci); err != nil || rr != round {
				t.Fatalf("round %d: request %q", round, uri)
			}
			h.Reply(r, map[string]any{"code": 200, "reason": "OK", "body": body(round, ci)})
		}
		for i := 0; i < n; i++ {
			cs[i].SetReadDeadline(time.Now().Add(5 * time.Second))
			resp, got := readResponse(t, brs[i], "GET")
			if resp.StatusCode != 200 || got != body(round, i) {
				t.Fatalf("round %d conn %d: %d, %d bytes, want %d", round, i, resp.StatusCode, len(got), len(body(round, i)))
			}
		}
	}
}
