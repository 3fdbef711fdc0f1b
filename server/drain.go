package server

import (
	"golang.org/x/sys/unix"

	"github.com/condure-go/condure/internal/logging"
)

// Drain asks the worker to stop accepting and let its connections finish:
// it closes its listening sockets (its own SO_REUSEPORT ones after taking
// in their backlog; its dups of shared ones, whose fate is the caller's:
// an inherited socket stays open, so the kernel keeps queueing connections
// for the next server), idle keep-alive connections close now and the
// others after their current response (sent with Connection: close),
// WebSocket sessions run on. Drained is closed once no connection is left.
// Stop still ends everything at once.
func (w *Worker) Drain() {
	w.drainReq.Store(true)
	if w.waker != nil {
		w.waker.Wake()
	}
}

// Drained is closed once a draining worker holds no connection.
func (w *Worker) Drained() <-chan struct{} { return w.drainedCh }

// beginDrain runs on the worker's thread once Drain was called.
func (w *Worker) beginDrain() {
	for i := range w.listeners {
		l := &w.listeners[i]
		if l.Fd == 0 {
			// This worker's own SO_REUSEPORT socket: closing it resets
			// what waits in its backlog, so take that in first.
			w.accept(i)
		}
		w.poller.Del(l.fd)
		unix.Close(l.fd)
		l.fd = -1
	}
	w.draining = true
	idle := 0
	for slot := int32(0); slot < int32(w.conns.Cap()); slot++ {
		if !w.conns.InUse(slot) {
			continue
		}
		if c := w.conns.Get(slot); c.has(fH2) {
			// GOAWAY with the last stream id: the streams it has finish,
			// no new one starts; it closes after the last (h2CloseIfDone).
			if !w.h2GoAway(slot, c) {
				idle++
			}
		} else if w.idleConn(slot, c) {
			w.closeConn(slot, c, false, CauseDrain)
			idle++
		}
	}
	logging.Info(targetServer, "worker %d: draining: %d idle connections closed, %d left", w.idx, idle, w.open[modeStream]+w.open[modeReq])
	w.checkDrained()
}

// idleConn reports a keep-alive connection between requests: nothing of a
// head arrived (the stream timer is armed by its first bytes) and none
// known to wait in the kernel. A request on its way may still cross the
// close, as with any idle close; clients retry those.
func (w *Worker) idleConn(cs int32, c *conn) bool {
	return c.sess == 0 && !c.has(fHandshake) && c.rstart == c.rend && !c.has(fCanRead|fHeadExtended) &&
		!w.timers.Armed(connTimer(cs, timerInact))
}

// checkDrained closes Drained once a draining worker has no connection.
func (w *Worker) checkDrained() {
	if w.draining && !w.drainDone && w.open[modeStream]+w.open[modeReq] == 0 {
		w.drainDone = true
		close(w.drainedCh)
	}
}
