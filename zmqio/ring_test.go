package zmqio

import (
	"bytes"
	"fmt"
	"math/rand"
	"testing"
	"time"

	"github.com/condure-go/condure/reactor"
)

// testRing is a ring whose wake-ups are counted and forwarded to channels
// (one pending signal each, as an eventfd coalesces).
func testRing(limit int) (q *ring, consumer, producer chan struct{}) {
	q = newRing(limit)
	consumer, producer = make(chan struct{}, 1), make(chan struct{}, 1)
	signal := func(c chan struct{}) func() {
		return func() {
			select {
			case c <- struct{}{}:
			default:
			}
		}
	}
	q.wakeConsumer, q.wakeProducer = signal(consumer), signal(producer)
	return q, consumer, producer
}

// Messages of every size go round the byte ring many times (the ones that
// would wrap start at its beginning, the big ones get a buffer of their
// own) and come out whole, frame by frame and in order, through the Sock
// backends the worker uses.
func TestRingWrapsAround(t *testing.T) {
	q, _, _ := testRing(8)
	prod, cons := ringSock(q, -1), ringSock(q, -1)
	rnd := rand.New(rand.NewSource(1))
	sizes := []int{0, 1, 100, 1000, 4000, len(q.data)/4 - 3, len(q.data)/4 + 1, 3 * len(q.data) / 4}
	next, got := 0, 0
	mk := func(i int) [][]byte {
		f := bytes.Repeat([]byte{byte(i)}, sizes[i%len(sizes)])
		return [][]byte{[]byte(fmt.Sprint(i)), nil, f}
	}
	for got < 2000 {
		for n := rnd.Intn(10); n > 0; n-- {
			if err := prod.SendLater(mk(next)...); err == ErrWouldBlock {
				break
			} else if err != nil {
				t.Fatal(err)
			}
			next++
		}
		prod.Flush()
		for n := rnd.Intn(10); n > 0; n-- {
			want := mk(got)
			for j, w := range want {
				f, more, ok, err := cons.Recv()
				if !ok || err != nil {
					if j == 0 {
						goto produce
					}
					t.Fatalf("message %d frame %d: ok %v err %v", got, j, ok, err)
				}
				if !bytes.Equal(f, w) || more != (j < 2) {
					t.Fatalf("message %d frame %d: %d bytes more %v, want %d bytes", got, j, len(f), more, len(w))
				}
			}
			got++
		}
	produce:
	}
	if q.pbytes < 10*uint64(len(q.data)) {
		t.Fatalf("the test went round the byte ring only %d times", q.pbytes/uint64(len(q.data)))
	}
}

// A full queue refuses with ErrWouldBlock at its message limit (and when
// its bytes do not fit), counting what is written but not yet flushed; the
// consumer's next receive makes room and wakes the producer once.
func TestRingFullWouldBlock(t *testing.T) {
	q, _, room := testRing(4)
	prod, cons := ringSock(q, -1), ringSock(q, -1)
	for i := 0; i < 4; i++ {
		if err := prod.SendLater([]byte{byte(i)}); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
	}
	if err := prod.SendLater([]byte("x")); err != ErrWouldBlock {
		t.Fatalf("5th message: %v, want ErrWouldBlock", err)
	}
	if err := prod.Send([]byte("x")); err != ErrWouldBlock {
		t.Fatalf("Send on a full queue: %v, want ErrWouldBlock", err)
	}
	if n, _, _ := prod.Flush(); n != 4 {
		t.Fatalf("flush published %d, want 4", n)
	}
	select {
	case <-room:
		t.Fatal("room signalled before the consumer took anything")
	default:
	}
	if f, _, ok, _ := cons.Recv(); !ok || f[0] != 0 {
		t.Fatalf("first message %q %v", f, ok)
	}
	// The first message is released when the next is asked for.
	if f, _, ok, _ := cons.Recv(); !ok || f[0] != 1 {
		t.Fatalf("second message %q %v", f, ok)
	}
	select {
	case <-room:
	case <-time.After(time.Second):
		t.Fatal("no room signal after the consumer took a message")
	}
	if err := prod.SendLater([]byte("y")); err != nil {
		t.Fatalf("after room: %v", err)
	}

	// Bytes: messages of a quarter of the byte ring fill it before the
	// message limit.
	q2, _, _ := testRing(64)
	big := make([]byte, len(q2.data)/4)
	n := 0
	for q2.put(big) {
		n++
	}
	if n != 4 {
		t.Fatalf("%d messages of a quarter of the bytes fit, want 4", n)
	}
}

// No lost wake-up: a producer sends bursts with pauses of every length,
// the consumer drains the queue and sleeps until woken (no timeout to
// rescue it but the test's); the producer, when the queue is full, sleeps
// until the consumer says there is room. Every message arrives, in order.
// Run with -race.
func TestRingNoLostWakeUp(t *testing.T) {
	const total = 200000
	q, wake, room := testRing(16)
	done := make(chan error, 1)
	go func() {
		rnd := rand.New(rand.NewSource(2))
		var b [8]byte
		for i := 0; i < total; {
			for n := 1 + rnd.Intn(40); n > 0 && i < total; n-- {
				b[0], b[1], b[2] = byte(i), byte(i>>8), byte(i>>16)
				if !q.put(b[:1+i%8]) {
					q.commit()
					select {
					case <-room:
					case <-time.After(10 * time.Second):
						done <- fmt.Errorf("producer: lost room wake-up at %d", i)
						return
					}
					continue
				}
				i++
			}
			q.commit()
			if rnd.Intn(4) == 0 {
				time.Sleep(time.Duration(rnd.Intn(50)) * time.Microsecond)
			}
		}
		done <- nil
	}()
	for got := 0; got < total; {
		m := q.peek()
		if m == nil {
			select {
			case <-wake:
			case <-time.After(10 * time.Second):
				t.Fatalf("consumer: lost wake-up after %d messages", got)
			}
			continue
		}
		f := q.frameOf(m, 0)
		if len(f) != 1+got%8 || f[0] != byte(got) || (len(f) > 2 && (f[1] != byte(got>>8) || f[2] != byte(got>>16))) {
			t.Fatalf("message %d: %v", got, f)
		}
		q.release()
		got++
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// Edge-triggered epoll reports every write to the workers' ring eventfd,
// though nobody reads it (ringsock.go relies on this).
func TestRingEventfdEdgePerWrite(t *testing.T) {
	r, err := newWorkerRings(4, true, false, func() {})
	if err != nil {
		t.Fatal(err)
	}
	defer r.close()
	p, err := reactor.NewPoller(4)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := p.Add(r.fd, reactor.EvIn, 7); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		ringSignal(r.fd)
		evs, err := p.Wait(1000)
		if err != nil || len(evs) != 1 || evs[0].Tag != 7 {
			t.Fatalf("write %d: events %v, %v", i, evs, err)
		}
		if evs, _ := p.Wait(0); len(evs) != 0 {
			t.Fatalf("write %d: reported twice", i)
		}
	}
}

// The worker's side allocates nothing per message: SendLater, Flush,
// Recv.
func TestRingSockZeroAllocs(t *testing.T) {
	q := newRing(64)
	q.wakeConsumer, q.wakeProducer = func() {}, func() {}
	prod, cons := ringSock(q, -1), ringSock(q, -1)
	name, p := []byte("handler"), bytes.Repeat([]byte("p"), 300)
	allocs := testing.AllocsPerRun(1000, func() {
		for i := 0; i < 10; i++ {
			prod.SendLater(name, nil, p)
		}
		prod.Flush()
		for {
			if _, _, ok, _ := cons.Recv(); !ok {
				break
			}
		}
	})
	if allocs != 0 {
		t.Fatalf("%.1f allocations per round", allocs)
	}
}

// The hub's lane from the workers' queues to a PUSH sends every message
// whole and in order, one batch per pump, and allocates nothing in the
// steady state.
func TestRingForwardZeroAllocs(t *testing.T) {
	push, pull := pushPull(t, "ringfwd", 1000)
	q := newRing(64)
	q.wakeConsumer, q.wakeProducer = func() {}, func() {}
	f := &forward{dst: push, srcQ: []*ring{q, newRing(4)}}
	t.Cleanup(f.close)
	p := bytes.Repeat([]byte("p"), 300)
	round := func() {
		for i := 0; i < 10; i++ {
			p[0] = byte(i)
			if !q.put(p) {
				t.Fatal("queue full")
			}
		}
		q.commit()
		if f.pump() || f.pending() {
			t.Fatal("the lane did not send everything")
		}
		for i := 0; i < 10; i++ {
			m, more, ok, err := pull.Recv()
			if !ok || more || err != nil || len(m) != len(p) || m[0] != byte(i) {
				t.Fatalf("message %d: %d bytes, ok %v more %v %v", i, len(m), ok, more, err)
			}
		}
	}
	round()
	if allocs := testing.AllocsPerRun(200, round); allocs != 0 {
		t.Fatalf("%.1f allocations per round", allocs)
	}
}

// RecvMsg over a queue (the req DEALER's replies at two workers) returns
// each message whole and in order, the frames of one valid together, a
// message begun with Recv skipped, and ok false once the queue is empty.
func TestRingRecvMsg(t *testing.T) {
	q, _, _ := testRing(8)
	prod, cons := ringSock(q, -1), ringSock(q, -1)
	for i := 0; i < 3; i++ {
		if err := prod.SendLater([]byte(fmt.Sprint("env", i)), nil, []byte(fmt.Sprint("packet", i))); err != nil {
			t.Fatal(err)
		}
	}
	prod.Flush()
	if f, more, ok, _ := cons.Recv(); !ok || !more || string(f) != "env0" {
		t.Fatalf("Recv: %q more %v ok %v", f, more, ok)
	}
	var frames [][]byte
	for i := 1; i < 3; i++ {
		var ok bool
		var err error
		frames, ok, err = cons.RecvMsg(frames)
		if !ok || err != nil || len(frames) != 3 {
			t.Fatalf("message %d: %d frames ok %v err %v", i, len(frames), ok, err)
		}
		if string(frames[0]) != fmt.Sprint("env", i) || len(frames[1]) != 0 || string(frames[2]) != fmt.Sprint("packet", i) {
			t.Fatalf("message %d: %q", i, frames)
		}
	}
	if frames, ok, err := cons.RecvMsg(frames); ok || err != nil || len(frames) != 0 {
		t.Fatalf("empty queue: %d frames ok %v err %v", len(frames), ok, err)
	}
}

// A high-water mark of 1M connections' (50000) makes a queue of at most
// ringMaxMsgs descriptors, not 2 H rounded up.
func TestRingMessagesCapped(t *testing.T) {
	q := newRing(2 * 50000)
	if q.limit != ringMaxMsgs || len(q.msgs) != ringMaxMsgs || len(q.data) != ringMaxBytes {
		t.Fatalf("limit %d, %d descriptors, %d bytes; want %d, %d, %d", q.limit, len(q.msgs), len(q.data), ringMaxMsgs, ringMaxMsgs, ringMaxBytes)
	}
	if q := newRing(1010); q.limit != 1010 || len(q.msgs) != 1024 {
		t.Fatalf("default flags: limit %d, %d descriptors", q.limit, len(q.msgs))
	}
}

// A ring that drains between messages starts each one at its first bytes
// again, so a lightly loaded queue keeps its byte ring's first pages
// resident, not all of them (issue #18: the 1k step of the idle wss
// benchmark touched hundreds of KB of the queues' pages); one that does
// not drain goes on where it was.
func TestRingEmptyRestartsAtStart(t *testing.T) {
	q, _, _ := testRing(64)
	prod, cons := ringSock(q, -1), ringSock(q, -1)
	d := uint64(len(q.data))
	msg := bytes.Repeat([]byte{7}, 300)
	recvOne := func() {
		t.Helper()
		f, more, ok, err := cons.Recv()
		if !ok || err != nil || more || !bytes.Equal(f, msg) {
			t.Fatalf("recv: %d bytes more %v ok %v err %v", len(f), more, ok, err)
		}
	}
	for i := range 1000 {
		if err := prod.SendLater(msg); err != nil {
			t.Fatal(err)
		}
		prod.Flush()
		if i > 0 && (q.pbytes-uint64(len(msg)))&(d-1) != 0 {
			t.Fatalf("message %d written at offset %d of the byte ring, want 0 (the ring was empty)", i, (q.pbytes-uint64(len(msg)))&(d-1))
		}
		if i > 0 && (q.ptail-1)&uint64(len(q.msgs)-1) != 0 {
			t.Fatalf("message %d in descriptor %d, want 0 (the ring was empty)", i, (q.ptail-1)&uint64(len(q.msgs)-1))
		}
		recvOne()
		// Recv releases the previous message; the next call finds none.
		if _, _, ok, _ := cons.Recv(); ok {
			t.Fatal("a message too many")
		}
	}
	// Not drained: the next message follows the one still queued, and the
	// whole byte ring is usable after a restart (the gap before it is free).
	if err := prod.SendLater(msg); err != nil {
		t.Fatal(err)
	}
	if err := prod.SendLater(msg); err != nil {
		t.Fatal(err)
	}
	prod.Flush()
	if off := (q.pbytes - uint64(len(msg))) & (d - 1); off != uint64(len(msg)) {
		t.Fatalf("second queued message at offset %d, want %d", off, len(msg))
	}
	recvOne()
	recvOne()
	if _, _, ok, _ := cons.Recv(); ok {
		t.Fatal("a message too many")
	}
	n := 0
	for ; prod.SendLater(msg) == nil; n++ {
	}
	if want := min(int(q.limit), int(d)/len(msg)); n < want-1 {
		t.Fatalf("after a restart the ring took %d messages of %d bytes, want %d", n, len(msg), want)
	}
}

// A drained ring's next message takes the first descriptor of the next
// lap; the consumer follows even when the producer has since written over
// the descriptor it expected (a later lap's number in it), and commit
// counts messages, not skipped descriptors.
func TestRingSkippedDescriptors(t *testing.T) {
	q, _, _ := testRing(4)
	if len(q.msgs) != 4 {
		t.Fatalf("%d descriptors, want 4", len(q.msgs))
	}
	get := func(want byte) {
		t.Helper()
		m := q.peek()
		if m == nil || m.n != 1 || !bytes.Equal(q.frameOf(m, 0), []byte{want}) {
			t.Fatalf("want message %d, got %v", want, m)
		}
		q.release()
	}
	q.put([]byte{1})
	if n := q.commit(); n != 1 {
		t.Fatalf("commit: %d, want 1", n)
	}
	get(1)
	// Drained at count 1: the next message skips descriptors 1-3.
	q.put([]byte{2})
	if n := q.commit(); n != 1 {
		t.Fatalf("commit after a skip: %d, want 1 (skipped descriptors are not messages)", n)
	}
	if q.ptail != 5 {
		t.Fatalf("ptail %d, want 5", q.ptail)
	}
	// The consumer has not looked yet; the producer fills the lap, over
	// the descriptors the consumer would look at first.
	for v := byte(3); v <= 5; v++ {
		if !q.put([]byte{v}) {
			t.Fatalf("message %d refused: the skipped descriptors must count as free", v)
		}
	}
	if q.put([]byte{6}) {
		t.Fatal("a fifth message accepted into a ring of 4")
	}
	if n := q.commit(); n != 3 {
		t.Fatalf("commit: %d, want 3", n)
	}
	for v := byte(2); v <= 5; v++ {
		get(v)
	}
	if q.peek() != nil {
		t.Fatal("a message too many")
	}
}
