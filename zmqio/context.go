package zmqio

import (
	"fmt"
	"runtime"

	zmq "github.com/pebbe/zmq4"
	"golang.org/x/sys/unix"
)

// schedBatch is SCHED_BATCH (<sched.h>): a CFS/EEVDF thread whose wake-ups
// do not preempt the thread running on the CPU; unprivileged processes may
// choose it (sched(7)).
const schedBatch = 3

// schedNormal is SCHED_OTHER, the default policy.
const schedNormal = 0

// NewContext creates the ZeroMQ context the workers and the hub share. With
// batch (one worker: no hub), its threads (libzmq's I/O thread and reaper)
// run under SCHED_BATCH when the system lets this process choose it.
//
// Why: the I/O thread is woken about twice per batch of requests (the
// worker's sends, a handler's replies). Under the default policy each
// wake-up may preempt the worker mid-pass; as a batch thread it waits for
// the CPU's current thread to block or use up its slice, so it finds more
// messages per wake-up and interrupts the worker less. It keeps its fair
// share of CPU (same nice value), so it is not starved under overload.
// Measured at one worker (docs/design.md "libzmq's I/O thread"): the I/O
// thread's CPU per request down a third to a half, the server's total by a
// fifth, p50/p99 no worse. With two workers and the hub it did not pay
// (total 1.03x stream, 1.11x req), hence batch. Nothing a handler can see
// changes.
//
// libzmq aborts the process if it cannot apply the policy it was given
// (a failing pthread_setschedparam is an assertion), so the policy is
// tried first on a Go thread (batchAllowed): where a sandbox forbids it,
// the context keeps the default policy.
func NewContext(batch bool) (*zmq.Context, error) {
	ctx, err := zmq.NewContext()
	if err != nil {
		return nil, err
	}
	if batch && batchAllowed() {
		if err := ctx.SetThreadSchedPolicy(schedBatch); err != nil {
			ctx.Term()
			return nil, fmt.Errorf("thread scheduling policy: %w", err)
		}
	}
	return ctx, nil
}

// batchAllowed reports whether a thread of this process may switch itself
// to SCHED_BATCH. It tries on a locked thread and switches it back at once
// (from one normal policy to another needs no privilege), so no Go thread
// keeps the policy: not even one the runtime could not end, such as the
// main thread, nor one cloned from it later. Should the way back fail, the
// thread stays locked to its ending goroutine, which ends it (or parks the
// main thread for good).
func batchAllowed() bool {
	ok := make(chan bool)
	go func() {
		runtime.LockOSThread()
		batch := unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: schedBatch}
		if unix.SchedSetAttr(0, &batch, 0) != nil {
			runtime.UnlockOSThread()
			ok <- false
			return
		}
		normal := unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: schedNormal}
		if unix.SchedSetAttr(0, &normal, 0) == nil {
			runtime.UnlockOSThread()
		}
		ok <- true
	}()
	return <-ok
}
