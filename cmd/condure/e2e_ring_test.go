package main

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

// With two or more workers in bind mode, messages between the workers and
// the hub go over Go queues (zmqio/ring.go) of twice the ZeroMQ high-water
// mark, which is (--stream-maxconn + --req-maxconn) / 20. These tests make
// the queues tiny (--stream-maxconn 38 --req-maxconn 2: a high-water mark
// of 2, queues of 4 messages) so that every burst fills them many times:
// each time the producer must be woken when the consumer made room. A lost
// room wake-up falls back on the hub's or the worker's 50 ms retry timer,
// which would take far longer than the deadline.

// ringTinyArgs give queues of 4 messages.
var ringTinyArgs = []string{"--workers", "2", "--stream-maxconn", "38", "--req-maxconn", "2"}

// A handler streams a response as 1000 packets back to back: the hub's
// lane into the worker's queue waits for room some 250 times, and each
// time the worker's receive must wake it. All arrive, in order, within
// burstDeadline (with the 50 ms timer alone it would take ~12 s).
func TestRingBurstIntoTinyWorkerQueue(t *testing.T) {
	s := startServer(t, ringTinyArgs...)
	h := s.handler("h1")
	c := s.dial()
	br := bufio.NewReader(c)
	for round, gap := range burstGaps[:3] {
		time.Sleep(gap)
		streamBodyBurst(t, c, br, h, round)
	}
}

// Requests from 16 connections at once (about 8 per worker) through
// queues of 4 to the hub: the workers' sends meet a full queue, their sessions wait
// at the gate and go when the hub made room; every request reaches the
// handler once and every answer its connection, round after round.
func TestRingRequestsThroughTinyHubQueues(t *testing.T) {
	s := startServer(t, ringTinyArgs...)
	h := s.handler("h1")
	const conns = 16
	cs := make([]net.Conn, conns)
	brs := make([]*bufio.Reader, conns)
	for i := range cs {
		cs[i] = s.dial()
		brs[i] = bufio.NewReader(cs[i])
	}
	for round := 0; round < 6; round++ {
		time.Sleep(burstGaps[round%len(burstGaps)])
		for i := range cs {
			fmt.Fprintf(cs[i], "GET /r%d/c%d HTTP/1.1\r\nHost: x\r\n\r\n", round, i)
		}
		t0 := time.Now()
		seen := map[string]bool{}
		var sess []*session
		for len(sess) < conns {
			if time.Since(t0) > burstDeadline {
				t.Fatalf("round %d: %d of %d requests reached the handler in %v", round, len(sess), conns, burstDeadline)
			}
			req := recv(t, h, "")
			uri := str(req, "uri")
			if seen[uri] {
				t.Fatalf("round %d: %s reached the handler twice", round, uri)
			}
			seen[uri] = true
			sess = append(sess, newSession(t, h, req))
		}
		for _, ss := range sess {
			ss.respond(200, "OK", "ok "+ss.id, false)
		}
		for i := range cs {
			cs[i].SetReadDeadline(time.Now().Add(burstDeadline))
			if resp, body := readResponse(t, brs[i], "GET"); resp.StatusCode != 200 || !strings.HasPrefix(body, "ok ") {
				t.Fatalf("round %d conn %d: %d %q", round, i, resp.StatusCode, body)
			}
		}
	}
}
