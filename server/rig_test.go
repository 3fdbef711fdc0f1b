package server

import (
	"flag"
	"fmt"
	"net/netip"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/condure-go/condure/reactor"
	"github.com/condure-go/condure/zhttp/zhttptest"
	"github.com/condure-go/condure/zmqio"
)

// The session rig: a real Worker (slabs, gates, timers, the session
// machines) over fakeFx, which records what goes to clients and handlers.
// Client bytes and handler packets are fed in by hand and the clock is
// advanced by hand: no sockets, no sleeps.

// seen records every phase transition taken by the package's tests.
var seen = map[string]bool{}

func transitionKey(kind sessionKind, from, to uint8) string {
	return fmt.Sprintf("%s %s->%s", [...]string{"stream", "req", "ws", "h2"}[kind], phaseName(kind, from), phaseName(kind, to))
}

// TestMain runs the tests with strict phases and, when the whole package
// ran, checks that every transition in the tables was taken by some test:
// a row added to a table without a test, or a test that no longer reaches
// its row, fails the run.
func TestMain(m *testing.M) {
	flag.Parse()
	strictPhases = true
	onTransition = func(kind sessionKind, from, to uint8) { seen[transitionKey(kind, from, to)] = true }
	code := m.Run()
	if code == 0 && flag.Lookup("test.run").Value.String() == "" {
		if missing := untakenTransitions(); len(missing) > 0 {
			fmt.Printf("FAIL: transitions in the phase tables that no test takes:\n  %s\n", strings.Join(missing, "\n  "))
			code = 1
		}
	}
	os.Exit(code)
}

func untakenTransitions() []string {
	var missing []string
	check := func(kind sessionKind, table []uint16) {
		for from, row := range table {
			for to := 0; to < 16; to++ {
				if row&(1<<to) != 0 && !seen[transitionKey(kind, uint8(from), uint8(to))] {
					missing = append(missing, transitionKey(kind, uint8(from), uint8(to)))
				}
			}
		}
	}
	check(kindStream, streamTable[:])
	check(kindReq, reqTable[:])
	check(kindWS, wsTable[:])
	check(kindH2, h2Table[:])
	sort.Strings(missing)
	return missing
}

// sent is one packet a worker sent to handlers.
type sent struct {
	via string // "push", "req" or the ROUTER address
	p   map[string]any
}

type fakeFx struct {
	t       *testing.T
	in      map[int][]byte
	fin     map[int]bool
	out     map[int][]byte
	closed  map[int]bool
	stalled map[int]bool // writes return EAGAIN
	pkts    []sent
	full    map[string]bool // "push", "req" or an address: ErrWouldBlock
	discard bool            // count packets instead of decoding them (allocation tests)
	counted int
}

func (f *fakeFx) read(fd int, buf []byte) (int, error) {
	b := f.in[fd]
	if len(b) == 0 {
		if f.fin[fd] {
			return 0, nil
		}
		return 0, unix.EAGAIN
	}
	n := copy(buf, b)
	f.in[fd] = b[n:]
	return n, nil
}

func (f *fakeFx) writev(fd int, bufs [][]byte) (int, error) {
	if f.stalled[fd] {
		return 0, unix.EAGAIN
	}
	n := 0
	for _, b := range bufs {
		f.out[fd] = append(f.out[fd], b...)
		n += len(b)
	}
	return n, nil
}

func (f *fakeFx) watch(fd int, tag uint64) error { return nil }
func (f *fakeFx) closeFd(fd int)                 { f.closed[fd] = true }

func (f *fakeFx) record(via string, p []byte) error {
	if f.full[via] {
		return zmqio.ErrWouldBlock
	}
	if f.discard {
		f.counted++
		return nil
	}
	m, err := zhttptest.DecodePacket(p)
	if err != nil {
		f.t.Fatalf("worker sent a packet that does not decode: %v: %q", err, p)
	}
	f.pkts = append(f.pkts, sent{via, m})
	return nil
}

func (f *fakeFx) sendPush(p []byte) error { return f.record("push", p) }
func (f *fakeFx) sendReq(p []byte) error  { return f.record("req", p) }
func (f *fakeFx) sendRouter(name, p []byte) error {
	if f.discard {
		f.counted++
		return nil
	}
	return f.record(string(name), p)
}

type rig struct {
	t      *testing.T
	w      *Worker
	fx     *fakeFx
	nextFd int
}

const (
	rigStream = 0 // listener indices
	rigReq    = 1
)

func newRig(t *testing.T, edit func(*Options)) *rig {
	o := &Options{InstanceID: "condure", Workers: 1, StreamMaxConn: 8, ReqMaxConn: 8, BufferSize: 8192,
		BodyBufferSize: 1000, MessagesMax: 100, StreamTimeout: 1800 * time.Second, ReqTimeout: 30 * time.Second}
	if edit != nil {
		edit(o)
	}
	fx := &fakeFx{t: t, in: map[int][]byte{}, fin: map[int]bool{}, out: map[int][]byte{}, closed: map[int]bool{},
		stalled: map[int]bool{}, full: map[string]bool{}}
	w := NewWorker(0, o)
	w.fx = fx
	w.listeners = []listener{{Listen: Listen{Addr: "stream"}, scheme: "http", fd: -1},
		{Listen: Listen{Addr: "req", Req: true}, scheme: "http", fd: -1}}
	w.maxOpen = [2]int{o.StreamMaxConn, o.ReqMaxConn}
	w.initState(o.StreamMaxConn + o.ReqMaxConn)
	return &rig{t: t, w: w, fx: fx, nextFd: 100}
}

// connect accepts a client on listener li and returns its connection slot.
func (r *rig) connect(li int) int32 {
	fd := r.nextFd
	r.nextFd++
	r.w.newConn(fd, netip.MustParseAddrPort("10.0.0.7:5555"), li)
	for cs := int32(0); cs < int32(r.w.conns.Cap()); cs++ {
		if r.w.conns.InUse(cs) && r.w.conns.Get(cs).fd == int32(fd) {
			return cs
		}
	}
	r.t.Fatal("connection not accepted")
	return -1
}

func (r *rig) fd(cs int32) int { return int(r.w.conns.Get(cs).fd) }

// event delivers epoll events for cs, then runs what was queued.
func (r *rig) event(cs int32, events uint32) {
	r.w.connEvent(connTag(cs, r.w.conns.Gen(cs)), events)
	r.settle()
}

func (r *rig) settle() {
	for i := 0; len(r.w.runq) > 0; i++ {
		if i > 100 {
			r.t.Fatal("run queue does not drain")
		}
		r.w.runQueue()
	}
}

// client sends bytes from the client of cs.
func (r *rig) client(cs int32, data string) {
	fd := r.fd(cs)
	r.fx.in[fd] = append(r.fx.in[fd], data...)
	r.event(cs, reactor.EvIn)
}

// clientFin half-closes the client of cs; clientReset resets it.
func (r *rig) clientFin(cs int32) {
	r.fx.fin[r.fd(cs)] = true
	r.event(cs, reactor.EvIn|reactor.EvRdHup)
}

func (r *rig) clientReset(cs int32) { r.event(cs, reactor.EvErr) }

// handler delivers a stream-mode handler packet (from "h1" unless given).
func (r *rig) handler(p map[string]any) {
	if _, ok := p["from"]; !ok {
		p["from"] = "h1"
	}
	r.w.handlerMessage(append([]byte("condure "), zhttptest.EncodePacket(p)...))
	r.settle()
}

// reqReply delivers a req-mode reply.
func (r *rig) reqReply(p map[string]any) {
	r.w.reqMessage([][]byte{{}, zhttptest.EncodePacket(p)})
	r.settle()
}

// advance moves the clock on and fires the timers due.
func (r *rig) advance(d time.Duration) {
	r.w.now += uint64(d / tickDur)
	r.w.timers.Advance(r.w.now, r.w.timerFired)
	r.settle()
}

// sweep runs a whole cycle of keep-alive sweeps.
func (r *rig) sweep() {
	for i := int32(0); i < r.w.kaSweeps; i++ {
		r.w.sweepKeepAlives()
	}
}

// retry runs the sessions waiting on gates, as a ZeroMQ signal would.
func (r *rig) retry() {
	r.w.retryGates(true)
	r.settle()
}

// out takes what was written to the client of cs so far.
func (r *rig) out(cs int32) string {
	fd := r.fd(cs)
	s := string(r.fx.out[fd])
	r.fx.out[fd] = nil
	return s
}

// outFd is out for a connection that may be closed (by fd).
func (r *rig) outFd(fd int) string {
	s := string(r.fx.out[fd])
	r.fx.out[fd] = nil
	return s
}

// packets takes the packets sent to handlers so far.
func (r *rig) packets() []sent {
	p := r.fx.pkts
	r.fx.pkts = nil
	return p
}

// onePacket takes the packets sent so far, which must be exactly one.
func (r *rig) onePacket() sent {
	r.t.Helper()
	ps := r.packets()
	if len(ps) != 1 {
		r.t.Fatalf("want 1 packet to handlers, got %d: %v", len(ps), ps)
	}
	return ps[0]
}

func (r *rig) noPackets() {
	r.t.Helper()
	if ps := r.packets(); len(ps) != 0 {
		r.t.Fatalf("want no packet to handlers, got %v", ps)
	}
}

// phase names the phase of cs's session, "" when it has none (idle or closed).
func (r *rig) phase(cs int32) string {
	if !r.w.conns.InUse(cs) {
		return "closed"
	}
	_, s, ok := r.w.connSession(r.w.conns.Get(cs))
	if !ok {
		return ""
	}
	return s.phaseName()
}

func (r *rig) wantPhase(cs int32, want string) {
	r.t.Helper()
	if got := r.phase(cs); got != want {
		r.t.Fatalf("phase %q, want %q", got, want)
	}
}

func (r *rig) wantClosed(fd int) {
	r.t.Helper()
	if !r.fx.closed[fd] {
		r.t.Fatalf("fd %d not closed", fd)
	}
}

// Packet field helpers.
func str(p map[string]any, k string) string {
	switch v := p[k].(type) {
	case []byte:
		return string(v)
	case string:
		return v
	}
	return ""
}

func num(p map[string]any, k string) int {
	switch v := p[k].(type) {
	case int:
		return v
	case int64:
		return int(v)
	}
	return -1
}

func wantType(t *testing.T, s sent, via, typ string) {
	t.Helper()
	if s.via != via || str(s.p, "type") != typ {
		t.Fatalf("want %q packet via %s, got %q via %s: %v", typ, via, str(s.p, "type"), s.via, s.p)
	}
}
