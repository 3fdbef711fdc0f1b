package main

import (
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"
)

// pushpinKillWait is how long Pushpin's runner waits for condure to exit
// after SIGTERM before it kills it (reference.md §12 #17).
const pushpinKillWait = 4 * time.Second

// TestStopAfterHandlerLeft stops the server just after its handler went
// away with a session open (a cancel to send, monitor events in flight),
// many times: every stop must end within Pushpin's 4 s. libzmq 4.3.4's
// zmq_ctx_term hung for good about once in 500 such stops on a loaded
// 2-core machine, every thread idle; shutdown now bounds that wait
// (ctxTermWait). 20 stops; CONDURE_STOP_LOOPS=2000 runs a soak (~10 min,
// best with a CPU burner; too long for CI's 10-minute -race budget, so not
// under CONDURE_LONG_TESTS). CONDURE_BP_BIN (with CONDURE_BP_STRICT=1) runs
// another build.
func TestStopAfterHandlerLeft(t *testing.T) {
	bpBinary(t)
	n := 20
	if v, err := strconv.Atoi(os.Getenv("CONDURE_STOP_LOOPS")); err == nil && v > 0 {
		n = v
	}
	var slowest time.Duration
	for i := 0; i < n; i++ {
		s := startServer(t)
		h := s.handler("h1")
		c := s.dial()
		fmt.Fprintf(c, "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nhello")
		ss := newSession(t, h, recv(t, h, ""))
		ss.send(map[string]any{"type": "credit", "credits": int64(1000)})
		if p := recv(t, h, ""); str(p, "body") != "hello" {
			t.Fatalf("stop %d: body part %v", i, p)
		}
		h.Close()
		c.Close()
		start := time.Now()
		stopped := s.stop()
		took := time.Since(start)
		slowest = max(slowest, took)
		if !stopped || took > pushpinKillWait {
			t.Fatalf("stop %d took %v (exited: %v)\n%s", i, took.Round(time.Millisecond), stopped, s.log.String())
		}
	}
	t.Logf("%d stops, the slowest %v", n, slowest.Round(time.Millisecond))
}
