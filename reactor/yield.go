package reactor

import (
	"runtime"
	"time"
)

// yieldEvery is under the 10 ms after which the Go runtime's sysmon treats a
// goroutine that has not been through the scheduler as long-running.
const yieldEvery = 5 * time.Millisecond

// Yielder lets an event loop on a locked OS thread pass through the Go
// scheduler every few milliseconds. Such a loop never reschedules on its own
// (its syscalls return on the fast path), so every 10 ms sysmon would
// preempt it or take its P, and each such retake resets sysmon to polling
// every 20 µs: with three loops that kept sysmon's thread at about a tenth
// of the server's CPU under load. A voluntary yield costs one thread
// hand-off and keeps sysmon asleep.
type Yielder struct {
	last time.Duration
}

// Maybe yields when yieldEvery has passed since the last yield; now is any
// monotonic clock reading (time.Since of a fixed start).
func (y *Yielder) Maybe(now time.Duration) {
	if now-y.last >= yieldEvery {
		y.last = now
		runtime.Gosched()
	}
}
