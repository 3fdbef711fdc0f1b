package server

import (
	"crypto/tls"
	"sync"
	"testing"
	"time"

	"github.com/condure-go/condure/reactor"
)

// metricsWorker is a Worker with only what the metrics need; the test's
// goroutine plays its loop.
func metricsWorker(t *testing.T, on bool) *Worker {
	t.Helper()
	w := &Worker{opts: &Options{Metrics: on}}
	var err error
	if w.waker, err = reactor.NewWaker(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.waker.Close() })
	w.addrs = newAddrTable()
	w.listeners = []listener{{}, {tls: &tls.Config{}}}
	w.initMetrics(8, 8)
	return w
}

// loop runs a fake worker loop: it counts requests and answers scrapes,
// as the real loop does on a waker event, until stop is closed.
func loop(w *Worker, stop chan struct{}, wg *sync.WaitGroup) {
	defer wg.Done()
	for {
		select {
		case <-stop:
			return
		default:
		}
		w.m.s.Requests[modeStream]++ // a plain write, racing with nothing
		w.publishMetrics()
		time.Sleep(100 * time.Microsecond)
	}
}

// A scrape gets a fresh copy while the worker keeps counting; -race checks
// that nothing reads the live counters.
func TestSnapshotFresh(t *testing.T) {
	w := metricsWorker(t, true)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go loop(w, stop, &wg)
	var prev uint64
	for i := 0; i < 50; i++ {
		var s Stats
		if !w.Snapshot(&s, time.Second) {
			t.Fatal("a running worker did not answer")
		}
		if s.Requests[modeStream] < prev || s.Seq != uint64(i+1) {
			t.Fatalf("snapshot %d: requests %d after %d, seq %d", i, s.Requests[modeStream], prev, s.Seq)
		}
		prev = s.Requests[modeStream]
	}
	close(stop)
	wg.Wait()
	if prev == 0 {
		t.Fatal("no count seen")
	}
}

// A worker that does not answer in time is reported from its last
// snapshot; its late answer is not mistaken for the next scrape's.
func TestSnapshotStaleFallback(t *testing.T) {
	w := metricsWorker(t, true)
	w.m.s.Requests[modeReq] = 7
	w.m.want.Store(0)
	var s Stats
	start := time.Now()
	if w.Snapshot(&s, 30*time.Millisecond) {
		t.Fatal("fresh without a worker")
	}
	if time.Since(start) < 30*time.Millisecond || s.Requests[modeReq] != 0 {
		t.Fatalf("fallback after %v with %d requests (want the empty last snapshot)", time.Since(start), s.Requests[modeReq])
	}
	// The worker wakes up late and answers scrape 1.
	w.publishMetrics()
	w.m.s.Requests[modeReq] = 9
	// Scrape 2 must not take scrape 1's answer (7): without a worker it
	// times out and falls back to it, flagged stale.
	if w.Snapshot(&s, 30*time.Millisecond) || s.Requests[modeReq] != 7 || s.Seq != 1 {
		t.Fatalf("scrape 2 without a worker: requests %d seq %d", s.Requests[modeReq], s.Seq)
	}
	// With the worker answering, scrape 3 gets 9.
	go func() {
		for w.m.want.Load() != 3 {
			time.Sleep(time.Millisecond)
		}
		w.publishMetrics()
	}()
	if !w.Snapshot(&s, 5*time.Second) || s.Requests[modeReq] != 9 || s.Seq != 3 {
		t.Fatalf("scrape 3: requests %d seq %d", s.Requests[modeReq], s.Seq)
	}
}

// Off: nothing counted, no scrape waits.
func TestMetricsOff(t *testing.T) {
	w := metricsWorker(t, false)
	w.mAccepted(0, 0)
	w.m.mCause(0, CauseClientClose)
	w.m.mPacketIn(0)
	w.m.mBlocked()
	if w.m.s != (Stats{}) || w.m.kind != nil {
		t.Fatal("counted while off")
	}
	var s Stats
	start := time.Now()
	if w.Snapshot(&s, time.Second) || time.Since(start) > 100*time.Millisecond {
		t.Fatal("a scrape of a worker with metrics off waited or claimed fresh")
	}
}

// Kinds move with the connection; the first cause wins; a close settles
// the open count.
func TestMetricsConnectionLifecycle(t *testing.T) {
	w := metricsWorker(t, true)
	c := &conn{listener: 1}
	w.m.now = int64(time.Millisecond)
	w.mAccepted(3, 1) // on the tls listener
	if w.m.s.Open[1][KindTLSHandshake] != 1 || w.m.s.Accepted[1] != 1 {
		t.Fatalf("after accept: %v", w.m.s.Open[1])
	}
	w.m.now = int64(4 * time.Millisecond)
	w.mKind(3, c, KindHTTP) // the handshake's end, as mHandshake does
	w.m.mSession(5)         // the request's session: slot 5, not the connection's 3
	w.mRequest(5, c)
	w.m.now = int64(6 * time.Millisecond)
	w.mResponse(5, c, 101)
	w.mKind(3, c, KindWebSocket)
	if w.m.s.Open[1] != [NumKinds]int64{KindWebSocket: 1} {
		t.Fatalf("after upgrade: %v", w.m.s.Open[1])
	}
	if h := w.m.s.FirstByte; h.SumNs != int64(2*time.Millisecond) || h.Counts[2] != 1 {
		t.Fatalf("first byte: %+v (want 2 ms in the 2.5 ms bucket)", h)
	}
	w.m.mCause(3, CauseClientClose)
	w.m.mCause(3, CauseDone)
	w.mClosed(3, c)
	if w.m.s.Open[1] != [NumKinds]int64{} || w.m.s.Closed[KindWebSocket][CauseClientClose] != 1 {
		t.Fatalf("after close: open %v closed %v", w.m.s.Open[1], w.m.s.Closed[KindWebSocket])
	}
	if w.m.s.Responses[modeStream][1] != 1 || w.m.s.Requests[modeStream] != 1 {
		t.Fatalf("requests %v responses %v", w.m.s.Requests, w.m.s.Responses)
	}
	// A handshake that never ends is abandoned.
	w.mAccepted(4, 1)
	w.mClosed(4, c)
	if w.m.s.TLS[tlsVersionNone][TLSAbandoned] != 1 || w.m.s.Closed[KindTLSHandshake][CauseOther] != 1 {
		t.Fatalf("abandoned %v", w.m.s.TLS)
	}
}

func TestMetricsOwnResponses(t *testing.T) {
	w := metricsWorker(t, true)
	c := &conn{}
	w.mAccepted(0, 0)
	w.mOwnResponse(6, &session{conn: 0}, c, []byte("HTTP/1.1 431 Request Header Fields Too Large\r\n\r\n"))
	w.mAccepted(1, 0)
	w.mOwnResponse(7, &session{conn: 1}, c, []byte("HTTP/1.0 504 Gateway Timeout\r\n\r\n"))
	if w.m.s.BadInput[31] != 1 || w.m.s.Responses[modeStream][4] != 1 || w.m.s.Responses[modeStream][5] != 1 {
		t.Fatalf("bad input %v responses %v", w.m.s.BadInput[31], w.m.s.Responses)
	}
	if w.m.cause[0] != CauseClientProtocol || w.m.cause[1] != CauseHandlerTimeout {
		t.Fatalf("causes %d %d", w.m.cause[0], w.m.cause[1])
	}
}

// A session slot reused after a request that got no response (its client
// left) does not time the next session's own answer from that request.
func TestMetricsSessionSlotReuse(t *testing.T) {
	w := metricsWorker(t, true)
	c := &conn{}
	w.mAccepted(0, 0)
	w.m.mSession(2)
	w.mRequest(2, c)
	w.mClosed(0, c) // no response
	w.mAccepted(1, 0)
	w.m.mSession(2)
	w.m.now = int64(time.Second)
	w.mOwnResponse(2, &session{conn: 1}, c, []byte("HTTP/1.1 400 Bad Request\r\n\r\n"))
	if w.m.s.FirstByte != (Histogram{}) {
		t.Fatalf("first byte timed from a dead session: %+v", w.m.s.FirstByte)
	}
}

func TestHistogramBuckets(t *testing.T) {
	var h Histogram
	for _, d := range []time.Duration{0, 500 * time.Microsecond, 501 * time.Microsecond, time.Minute, time.Hour} {
		h.observe(int64(d))
	}
	if h.Counts[0] != 2 || h.Counts[1] != 1 || h.Counts[len(LatencyBounds)-1] != 1 || h.Counts[len(LatencyBounds)] != 1 {
		t.Fatalf("counts %v", h.Counts)
	}
}

// The hooks on the data path allocate nothing.
func TestMetricsHooksAllocateNothing(t *testing.T) {
	w := metricsWorker(t, true)
	c := &conn{}
	allocs := testing.AllocsPerRun(1000, func() {
		w.mAccepted(2, 0)
		w.mRequest(2, c)
		w.m.mPacketIn(0)
		w.mPacketOut()
		w.m.mWSIn(true, true, 5)
		w.m.mWSOut(true, 5)
		w.mResponse(2, c, 200)
		w.m.mCause(2, CauseDone)
		w.mClosed(2, c)
	})
	if allocs != 0 {
		t.Fatalf("%v allocations", allocs)
	}
}

// BenchmarkMetricsHooksPerRequest is what the hooks of one keep-alive
// request cost, the loop's wake-up hook included as if every request had
// a loop iteration of its own: on, and off.
func BenchmarkMetricsHooksPerRequest(b *testing.B) {
	for _, on := range []bool{true, false} {
		name := "off"
		if on {
			name = "on"
		}
		b.Run(name, func(b *testing.B) {
			w := &Worker{opts: &Options{Metrics: on}}
			w.listeners = []listener{{}}
			w.initMetrics(8, 8)
			c := &conn{}
			for i := 0; i < b.N; i++ {
				w.mWake(time.Duration(2*i+1), time.Duration(2*i))
				w.mRequest(2, c)
				w.mPacketOut()
				w.m.mPacketIn(0)
				w.mResponse(2, c, 200)
			}
		})
	}
}
