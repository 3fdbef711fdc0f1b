package server

import (
	"crypto/tls"
	"sync"
	"sync/atomic"
	"time"

	"github.com/condure-go/condure/zhttp"
)

// Metrics (docs/design.md "Metrics"). Each worker counts what it does in
// plain fields of its own (w.m.s.x++): no atomic, no lock, no allocation
// per event. A scrape never reads those fields: it asks the worker, through
// its waker, to copy them into a snapshot under a mutex, and waits for that
// copy a short while (Snapshot); a worker that does not answer in time
// (a long loop iteration, or stopped) is reported from its last snapshot.
// With --prometheus off nothing is counted: every hook returns at its first
// test of m.on.

const (
	// MaxListeners bounds the per-listener counts (conn.listener is a uint8).
	MaxListeners = 256
	// Status codes 400..599 are counted one by one for bad input.
	badInputBase = 400
	badInputSpan = 200
)

// Connection kinds: what an open connection is doing.
const (
	KindHTTP         = iota // HTTP/1 (between requests, too)
	KindWebSocket           // after the handler's 101
	KindTLSHandshake        // accepted on a tls port, handshake not finished
	NumKinds
)

// KindNames are the `kind` label values, by kind.
var KindNames = [NumKinds]string{"http", "ws", "tls-handshake"}

// Close causes: why a connection ended. The first cause given to a
// connection wins (a timeout answered with 504 stays a timeout).
const (
	CauseOther           = iota // none of the below (shutdown)
	CauseDone                   // the exchange finished: response with close, WebSocket closed both ways
	CauseClientClose            // the client closed, reset or failed a read/write
	CauseIdleTimeout            // no request (or req body) within the idle limit
	CauseStreamTimeout          // --stream-timeout: no client I/O; or a WebSocket close not answered
	CauseHandlerTimeout         // the handler said nothing for 60 s
	CauseReqTimeout             // --req-timeout: no reply in req mode (504)
	CauseNoHandler              // no handler took the request (503)
	CauseTLSTimeout             // TLS handshake not finished in time
	CauseHandlerCancel          // the handler sent cancel or error
	CauseHandlerProtocol        // the handler broke ZHTTP (bad seq, bad response...)
	CauseClientProtocol         // bad input from the client, answered with a status or close code
	CauseTLSError               // the TLS handshake failed
	CauseTLSShed                // closed parked in its handshake to make room (tls_handshake.go)
	CauseDrain                  // idle connection closed by a drain (SIGQUIT)
	CauseMessagesMax            // client not reading: WebSocket over --messages-max, HTTP/2 answers over the write cap
	NumCauses
)

// CauseNames are the `cause` label values, by cause.
var CauseNames = [NumCauses]string{"other", "done", "client_close", "idle_timeout", "stream_timeout",
	"handler_timeout", "req_timeout", "no_handler", "tls_handshake_timeout", "handler_cancel",
	"handler_protocol_error", "client_protocol_error", "tls_handshake_error", "tls_handshake_shed",
	"drain", "messages_max"}

// Accept pauses.
const (
	PauseMaxConn = iota // at --stream-maxconn / --req-maxconn
	PauseFdLimit        // out of file descriptors: one pending connection shed
	NumPauses
)

// PauseNames are the `reason` label values of accept pauses.
var PauseNames = [NumPauses]string{"maxconn", "fd_limit"}

// TLS handshake results and versions.
const (
	TLSOk        = iota // finished
	TLSError            // failed (alert, bad record, no certificate...)
	TLSAbandoned        // the connection closed first (timeout, client left, shed)
	NumTLSResults
)

// TLSResultNames are the `result` label values.
var TLSResultNames = [NumTLSResults]string{"ok", "error", "abandoned"}

// TLSVersionNames are the `version` label values: TLS 1.0..1.3, then none
// (a handshake that did not finish has no version).
var TLSVersionNames = [...]string{"1.0", "1.1", "1.2", "1.3", "none"}

const tlsVersionNone = 4

// NumPacketTypes counts the ZHTTP packet types (zhttp.PacketType values).
const NumPacketTypes = int(zhttp.TypeUnknown) + 1

// PacketTypeName is the `type` label value of a packet type: its wire
// name, "data" for a data packet (no type field).
func PacketTypeName(t int) string {
	switch zhttp.PacketType(t) {
	case zhttp.TypeData:
		return "data"
	case zhttp.TypeUnknown:
		return "unknown"
	}
	return zhttp.TypeName(zhttp.PacketType(t))
}

// LatencyBounds are the upper bounds (seconds) of the latency histograms'
// buckets; one more bucket holds the rest (+Inf).
var LatencyBounds = [...]float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}

// latencyBoundsNs are LatencyBounds in nanoseconds, for the hot path.
var latencyBoundsNs = func() (b [len(LatencyBounds)]int64) {
	for i, s := range LatencyBounds {
		b[i] = int64(s * 1e9)
	}
	return
}()

// Histogram is a fixed-bucket histogram: Counts[i] observations in bucket
// i (not cumulative), the last one past every bound.
type Histogram struct {
	Counts [len(LatencyBounds) + 1]uint64
	SumNs  int64
}

func (h *Histogram) observe(ns int64) {
	i := 0
	for i < len(latencyBoundsNs) && ns > latencyBoundsNs[i] {
		i++
	}
	h.Counts[i]++
	h.SumNs += ns
}

// Stats are one worker's counters: plain values, copied whole into a
// snapshot. Modes index as modeStream (0) and modeReq (1).
type Stats struct {
	Seq          uint64                                      // the scrape this snapshot answers
	Open         [MaxListeners][NumKinds]int64               // open connections by listener and kind
	Accepted     [MaxListeners]uint64                        // by listener
	Closed       [NumKinds][NumCauses]uint64                 // by kind at close, and cause
	AcceptPauses [NumPauses]uint64                           // accepting paused, by reason
	Requests     [2]uint64                                   // requests sent to handlers, by mode
	Responses    [2][6]uint64                                // by mode and status class (code/100; 0 unused)
	BadInput     [badInputSpan]uint64                        // own answers to bad input, by status-400
	WSMessages   [2]uint64                                   // WebSocket messages: [0] client to handler, [1] handler to client
	WSBytes      [2]uint64                                   // their payload bytes
	PacketsIn    [NumPacketTypes]uint64                      // ZHTTP packets received from handlers, by type
	PacketsOut   [NumPacketTypes]uint64                      // sent to handlers, by type
	SendsBlocked uint64                                      // sends refused by the high-water mark
	BlockedNs    int64                                       // time with sends held back (gates closed or sessions waiting)
	Handlers     int64                                       // handler addresses known (gauge)
	TLS          [len(TLSVersionNames)][NumTLSResults]uint64 // handshakes by version and result
	TLSLatency   Histogram                                   // accept to finished handshake
	FirstByte    Histogram                                   // request sent to the handler to response head
	BusyNs       int64                                       // time the loop spent working (not in epoll_wait)
	Loops        uint64                                      // loop iterations
}

// metrics is a worker's counting state. The per-slot arrays sit beside
// the slabs, not in them (the slots stay small, and cost nothing with
// metrics off): kind, cause and hsT0 by connection slot, t0 by session
// slot.
type metrics struct {
	on    bool
	s     Stats
	kind  []uint8 // per connection slot: the connection's kind
	cause []uint8 // per connection slot: why it will close (the first cause given)
	hsT0  []int64 // per connection slot: loop time (+1) of a TLS accept; 0 = none
	t0    []int64 // per session slot: loop time (+1) of its request; 0 = none
	now   int64   // loop time of this iteration's wake-up, ns since start

	// Scrapes (any goroutine).
	want   atomic.Uint64 // the latest scrape asked for
	served uint64        // worker-owned: the latest scrape answered
	mu     sync.Mutex
	snap   Stats
	ready  chan struct{}
}

// initMetrics allocates the per-slot state when on (--prometheus), for
// the slabs' capacities.
func (w *Worker) initMetrics(conns, sessions int) {
	m := &w.m
	m.ready = make(chan struct{}, 1)
	if !w.opts.Metrics {
		return
	}
	m.on = true
	m.kind = make([]uint8, conns)
	m.cause = make([]uint8, conns)
	m.hsT0 = make([]int64, conns)
	m.t0 = make([]int64, sessions)
}

// ---- hooks: one call at each place where a thing happens ----

// mWake starts a loop iteration woken at elapsed, after a wait that
// began at waitStart: the previous iteration was busy from its own wake-up
// until then (the loop's clock readings, no extra one). Sends held back
// now were held since the previous wake-up, give or take its iteration.
func (w *Worker) mWake(elapsed, waitStart time.Duration) {
	m := &w.m
	if !m.on {
		return
	}
	if m.s.Loops > 0 {
		m.s.BusyNs += max(int64(waitStart)-m.now, 0)
		if w.pendingSends() {
			m.s.BlockedNs += int64(elapsed) - m.now
		}
	}
	m.now = int64(elapsed)
	m.s.Loops++
}

// mAccepted: a connection took slot cs on listener li.
func (w *Worker) mAccepted(cs int32, li int) {
	m := &w.m
	if !m.on {
		return
	}
	k, t0 := uint8(KindHTTP), int64(0)
	if w.listeners[li].tls != nil {
		k, t0 = KindTLSHandshake, m.now+1 // the handshake's latency runs from now
	}
	m.kind[cs] = k
	m.cause[cs] = CauseOther
	m.hsT0[cs] = t0
	m.s.Accepted[li]++
	m.s.Open[li][k]++
}

// mKind: the connection in slot cs is now of kind k.
func (w *Worker) mKind(cs int32, c *conn, k uint8) {
	m := &w.m
	if !m.on || m.kind[cs] == k {
		return
	}
	m.s.Open[c.listener][m.kind[cs]]--
	m.s.Open[c.listener][k]++
	m.kind[cs] = k
}

// mCause gives the connection in slot cs its close cause, unless it has
// one.
func (m *metrics) mCause(cs int32, cause uint8) {
	if m.on && m.cause[cs] == CauseOther {
		m.cause[cs] = cause
	}
}

// mSession: session slot ss starts a session (no request sent yet).
func (m *metrics) mSession(ss int32) {
	if m.on {
		m.t0[ss] = 0
	}
}

// mClosed: the connection in slot cs closes (before its slot is freed).
func (w *Worker) mClosed(cs int32, c *conn) {
	m := &w.m
	if !m.on {
		return
	}
	k := m.kind[cs]
	m.s.Open[c.listener][k]--
	m.s.Closed[k][m.cause[cs]]++
	if k == KindTLSHandshake && m.cause[cs] != CauseTLSError {
		m.s.TLS[tlsVersionNone][TLSAbandoned]++
	}
}

// mPause: accepting paused for reason.
func (m *metrics) mPause(reason int) {
	if m.on {
		m.s.AcceptPauses[reason]++
	}
}

// mRequest: the request of session ss (on connection c) went to a
// handler; its latency runs from now.
func (w *Worker) mRequest(ss int32, c *conn) {
	m := &w.m
	if !m.on {
		return
	}
	m.s.Requests[c.mode()]++
	m.t0[ss] = m.now + 1
}

// mResponse: a response head with status code goes out for session ss
// (the handler's, or condure's own).
func (w *Worker) mResponse(ss int32, c *conn, code int) {
	m := &w.m
	if !m.on {
		return
	}
	if code >= 100 && code < 600 {
		m.s.Responses[c.mode()][code/100]++
	}
	if t := m.t0[ss]; t != 0 {
		m.s.FirstByte.observe(m.now + 1 - t)
		m.t0[ss] = 0
	}
}

// mOwnResponse: condure answers session ss itself with resp, a whole response.
// Anything but 502, 503 and 504 answers bad input; those three are handler
// trouble, whose causes the callers mostly give first (else: a 502 answers
// a handler's cancel or error, a 503 a request no handler took).
func (w *Worker) mOwnResponse(ss int32, s *session, c *conn, resp []byte) {
	if !w.m.on || len(resp) < 12 {
		return
	}
	code := int(resp[9]-'0')*100 + int(resp[10]-'0')*10 + int(resp[11]-'0')
	w.mResponse(ss, c, code)
	switch code {
	case 502:
		w.m.mCause(s.conn, CauseHandlerCancel)
		return
	case 503:
		w.m.mCause(s.conn, CauseNoHandler)
		return
	case 504:
		w.m.mCause(s.conn, CauseHandlerTimeout)
		return
	}
	w.m.mCause(s.conn, CauseClientProtocol)
	if code >= badInputBase && code < badInputBase+badInputSpan {
		w.m.s.BadInput[code-badInputBase]++
	}
}

// mWSIn: a client WebSocket frame went to the handler.
func (m *metrics) mWSIn(data, fin bool, n int) {
	if !m.on || !data {
		return
	}
	if fin {
		m.s.WSMessages[0]++
	}
	m.s.WSBytes[0] += uint64(n)
}

// mWSOut: handler message bytes go to the client.
func (m *metrics) mWSOut(fin bool, n int) {
	if !m.on {
		return
	}
	if fin {
		m.s.WSMessages[1]++
	}
	m.s.WSBytes[1] += uint64(n)
}

// mPacketIn: a packet from a handler parsed.
func (m *metrics) mPacketIn(t zhttp.PacketType) {
	if m.on {
		m.s.PacketsIn[t]++
	}
}

// mPacketOut: w.out went to a handler.
func (w *Worker) mPacketOut() {
	if w.m.on {
		w.m.s.PacketsOut[w.out.Type]++
	}
}

// mBlocked: a send hit the high-water mark.
func (m *metrics) mBlocked() {
	if m.on {
		m.s.SendsBlocked++
	}
}

// mHandshake: the TLS handshake of connection cs finished (err nil) or
// failed.
func (w *Worker) mHandshake(cs int32, c *conn, s *tlsSession, err error) {
	m := &w.m
	if !m.on {
		return
	}
	if err != nil {
		m.s.TLS[tlsVersionNone][TLSError]++
		m.mCause(cs, CauseTLSError)
		return
	}
	v := tlsVersionNone
	if vers := s.conn.ConnectionState().Version; vers >= tls.VersionTLS10 && vers <= tls.VersionTLS13 {
		v = int(vers - tls.VersionTLS10)
	}
	m.s.TLS[v][TLSOk]++
	if t := m.hsT0[cs]; t != 0 {
		m.s.TLSLatency.observe(m.now + 1 - t)
		m.hsT0[cs] = 0
	}
	w.mKind(cs, c, KindHTTP)
}

// ---- snapshots ----

// publishMetrics answers a scrape that asked: runs on the worker, at a
// wake-up by the waker.
func (w *Worker) publishMetrics() {
	m := &w.m
	want := m.want.Load()
	if want == m.served || m.ready == nil {
		return
	}
	m.served = want
	m.s.Handlers = int64(len(w.addrs.index))
	m.mu.Lock()
	m.snap = m.s
	m.snap.Seq = want
	m.mu.Unlock()
	select {
	case m.ready <- struct{}{}:
	default:
	}
}

// Snapshot copies the worker's counters into dst: fresh ones when the
// worker answers within timeout, else those of its last answer (zero
// before any). It reports whether they are fresh. Any goroutine; scrapes
// of one worker must not overlap (the caller serializes them).
func (w *Worker) Snapshot(dst *Stats, timeout time.Duration) bool {
	m := &w.m
	if !m.on {
		return false
	}
	seq := m.want.Add(1)
	if w.waker != nil {
		w.waker.Wake()
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		m.mu.Lock()
		fresh := m.snap.Seq >= seq
		if fresh {
			*dst = m.snap
		}
		m.mu.Unlock()
		if fresh {
			return true
		}
		select {
		case <-m.ready:
		case <-timer.C:
			m.mu.Lock()
			*dst = m.snap
			m.mu.Unlock()
			return false
		}
	}
}
