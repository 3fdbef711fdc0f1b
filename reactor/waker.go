package reactor

import (
	"fmt"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// wakeValue is what Wake adds to the eventfd counter. It is never written, so
// concurrent Wakes only read it.
var wakeValue uint64 = 1

// Waker is an eventfd other threads use to wake the poller; wake-ups are
// coalesced with an atomic flag so a burst costs one write.
//
// Protocol: a producer first publishes its work (for example on a queue with
// its own synchronisation) and then calls Wake. The owner registers Fd with
// EvIn; when it is reported it calls Drain and only then looks at the queue.
type Waker struct {
	fd      int
	pending atomic.Uint32 // 1 while a write is outstanding and not yet drained
	buf     uint64        // Drain's read buffer, owner only
}

// NewWaker creates the eventfd (non-blocking, close-on-exec).
func NewWaker() (*Waker, error) {
	fd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("waker eventfd: %w", err)
	}
	return &Waker{fd: fd}, nil
}

// Fd is registered in the owner's poller with EvIn.
func (w *Waker) Fd() int { return w.fd }

// Wake may be called from any goroutine. Only the call that finds the flag
// clear writes to the eventfd; later calls until the next Drain are free.
func (w *Waker) Wake() {
	if w.pending.Swap(1) != 0 {
		return
	}
	for {
		_, _, e := unix.Syscall(unix.SYS_WRITE, uintptr(w.fd), uintptr(unsafe.Pointer(&wakeValue)), 8)
		// EAGAIN means the counter is saturated: the fd is readable anyway.
		if e != unix.EINTR {
			return
		}
	}
}

// testHookDrain, when set by a test, runs between Drain's read and its clear.
var testHookDrain func()

// Drain is called by the owner when Fd is readable, before it looks at its queue.
//
// Ordering: the counter is read first and the flag cleared afterwards (as
// the Go runtime's netpollBreak does), then the caller inspects its queue.
// Outside Drain, a set flag means a write is in the counter or about to be
// made. A Wake that finds the flag set skips its write; its work was
// published before, and the clear that ends this flag period is followed by
// an inspection that sees it. A Wake that finds the flag clear writes after
// the clear, so the eventfd becomes readable and the next Wait reports it.
// Clearing before the read would lose wake-ups: a Wake between the clear and
// the read sets the flag and writes, the read consumes that write, and the
// flag stays set with an empty counter, so every later Wake skips its write
// and the owner sleeps forever (TestWakerDrainOrdering).
func (w *Waker) Drain() {
	for {
		_, _, e := unix.Syscall(unix.SYS_READ, uintptr(w.fd), uintptr(unsafe.Pointer(&w.buf)), 8)
		if e != unix.EINTR {
			break // read, or EAGAIN when the counter was already zero
		}
	}
	if testHookDrain != nil {
		testHookDrain()
	}
	w.pending.Store(0)
}

// Close closes the eventfd. No Wake may run concurrently or afterwards.
func (w *Waker) Close() error {
	if w.fd < 0 {
		return nil
	}
	err := unix.Close(w.fd)
	w.fd = -1
	if err != nil {
		return fmt.Errorf("waker close: %w", err)
	}
	return nil
}
