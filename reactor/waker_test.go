package reactor

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"unsafe"

	"golang.org/x/sys/unix"
)

func newWaker(t *testing.T) *Waker {
	t.Helper()
	w, err := NewWaker()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

// counter reads the eventfd counter directly (0 when nothing was written).
func counter(t *testing.T, fd int) uint64 {
	t.Helper()
	var v uint64
	_, _, e := unix.Syscall(unix.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(&v)), 8)
	if e == unix.EAGAIN {
		return 0
	}
	if e != 0 {
		t.Fatal(e)
	}
	return v
}

func TestWakerCoalesces(t *testing.T) {
	w := newWaker(t)
	for range 100 {
		w.Wake()
	}
	if c := counter(t, w.Fd()); c != 1 {
		t.Fatalf("100 Wakes wrote %d times, want 1", c)
	}
	// Still flagged: more Wakes write nothing until Drain.
	w.Wake()
	if c := counter(t, w.Fd()); c != 0 {
		t.Fatalf("Wake before Drain wrote %d", c)
	}
	w.Drain()
	w.Wake()
	if c := counter(t, w.Fd()); c != 1 {
		t.Fatalf("Wake after Drain wrote %d times, want 1", c)
	}
}

// TestWakerDrainOrdering puts a Wake inside Drain, between its two steps:
// whichever way it goes, the next Wake after Drain must still write.
func TestWakerDrainOrdering(t *testing.T) {
	w := newWaker(t)
	w.Wake()
	testHookDrain = func() { w.Wake() } // a producer racing with Drain
	w.Drain()
	testHookDrain = nil
	// The counter is empty now, so the owner will not Drain again before
	// the next write: the next Wake must make one.
	w.Wake()
	if c := counter(t, w.Fd()); c != 1 {
		t.Fatal("Wake after a racing Drain did not write: the owner would sleep through it")
	}
}

func TestWakerWakesPoller(t *testing.T) {
	p := newPoller(t)
	w := newWaker(t)
	if err := p.Add(w.Fd(), EvIn, 42); err != nil {
		t.Fatal(err)
	}
	w.Wake()
	evs := waitEvents(t, p, 1000)
	if len(evs) != 1 || evs[0].Tag != 42 {
		t.Fatalf("after Wake: %+v", evs)
	}
	w.Drain()
	if evs := waitEvents(t, p, 0); len(evs) != 0 {
		t.Fatalf("after Drain: %+v", evs)
	}
	w.Drain() // nothing to read: harmless
}

// TestWakerAcrossGoroutines runs producers that publish on a mutex queue and
// Wake, against an owner that waits on the poller, drains and consumes. Every
// item must arrive; a lost wake-up hangs the owner (caught by the timeout).
func TestWakerAcrossGoroutines(t *testing.T) {
	const producers, perProducer = 2, 20000
	p := newPoller(t)
	w := newWaker(t)
	p.Add(w.Fd(), EvIn, 1)

	var (
		mu    sync.Mutex
		queue []int
	)
	var wg sync.WaitGroup
	defer wg.Wait() // producers may still be inside Wake: join before Close
	for i := range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range perProducer {
				mu.Lock()
				queue = append(queue, i*perProducer+j)
				mu.Unlock()
				w.Wake()
				// Pause a little so the owner often drains and sleeps
				// while Wakes are in flight.
				for spin := (j * 7919) % 512; spin > 0; spin-- {
					sink.Add(1)
				}
			}
		}()
	}

	seen := make([]bool, producers*perProducer)
	got, wakeups := 0, 0
	for got < len(seen) {
		// An empty result is EINTR (the runtime preempts with signals) or
		// the timeout; only a 2 s silence is a lost wake-up.
		deadline := time.Now().Add(2 * time.Second)
		for {
			evs, err := p.Wait(2000)
			if err != nil {
				t.Fatal(err)
			}
			if len(evs) > 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("no wake-up for 2 s with %d of %d items received", got, len(seen))
			}
		}
		wakeups++
		w.Drain()
		mu.Lock()
		items := queue
		queue = nil
		mu.Unlock()
		for _, v := range items {
			if seen[v] {
				t.Fatalf("item %d twice", v)
			}
			seen[v] = true
			got++
		}
	}
	wg.Wait()
	// With every producer gone, a set flag must have a write behind it.
	if w.pending.Load() != 0 && counter(t, w.Fd()) == 0 {
		t.Fatal("flag set with an empty counter: later Wakes would be lost")
	}
	t.Logf("%d items in %d wake-ups", got, wakeups)
}

var sink atomic.Int64

func TestWakeNoAllocs(t *testing.T) {
	w := newWaker(t)
	allocs := testing.AllocsPerRun(100, func() {
		w.Wake()
		w.Drain()
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per Wake+Drain, want 0", allocs)
	}
}
