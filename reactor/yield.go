package reactor

import (
	"runtime"
	"time"
)

const (
	// yieldEvery is under the 10 ms after which the Go runtime's sysmon
	// treats a goroutine that has not been through the scheduler as
	// long-running.
	yieldEvery = 5 * time.Millisecond
	// A wait at least this long means the loop was idle, not busy.
	idleWait = yieldEvery
)

// Yielder lets a busy event loop on a locked OS thread pass through the Go
// scheduler every few milliseconds. Such a loop never reschedules on its own
// (its syscalls return on the fast path), so under load sysmon would preempt
// it or take its P every 10 ms, and each such retake resets sysmon to
// polling every 20 µs: with three loops that kept sysmon's thread at about a
// tenth of the server's CPU. A voluntary yield costs one thread hand-off.
// An idle loop does not yield: there the hand-offs cost more than they save
// (idle CPU tripled when every wake-up yielded).
type Yielder struct {
	last   time.Duration
	yields uint64
	before time.Duration // when the last wait began
}

// WaitStart is when the last Wait began (the same clock as its result):
// the end of the loop's previous iteration.
func (y *Yielder) WaitStart() time.Duration { return y.before }

// Maybe yields when the loop has been busy for yieldEvery: no wait of
// idleWait or more since the last yield. now is a monotonic clock reading
// (time.Since of a fixed start) taken after the wait, waited how long the
// wait took.
func (y *Yielder) Maybe(now, waited time.Duration) {
	if waited >= idleWait {
		y.last = now
		return
	}
	if now-y.last >= yieldEvery {
		y.last = now
		y.yields++
		runtime.Gosched()
	}
}

// Wait is p.Wait timed for Maybe: an event loop's whole wait step. It
// returns the events and the time since start after the wait.
func (y *Yielder) Wait(p *Poller, timeoutMs int, start time.Time) ([]Event, time.Duration, error) {
	before := time.Since(start)
	y.before = before
	evs, err := p.Wait(timeoutMs)
	now := time.Since(start)
	y.Maybe(now, now-before)
	return evs, now, err
}
