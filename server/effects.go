package server

import (
	"golang.org/x/sys/unix"

	"github.com/condure-go/condure/reactor"
)

// effects is what the data path does to the world outside the worker:
// client sockets (read, write, watch, close) and the three ZeroMQ sends.
// Everything else a session does (its phase, gates, timers, credits, the
// write buffer) is the worker's own state, so with a fake effects the
// whole machine runs in a test without sockets or sleeps
// (session_*_test.go); a timer fires when the test advances the clock.
// One interface call per system or cgo call: nothing measurable.
type effects interface {
	read(fd int, buf []byte) (int, error)
	writev(fd int, bufs [][]byte) (int, error)
	watch(fd int, tag uint64) error
	closeFd(fd int)
	// sendPush sends a request on PUSH; sendReq ["", p] on the req
	// DEALER; sendRouter [name, "", p] on the ROUTER (bind mode: the pipe
	// to the hub). zmqio.ErrWouldBlock: the high-water mark, nothing sent.
	// The worker's PUSH and DEALER sends, and its ROUTER frames down the
	// pipe to the hub, go out at the end of its pass (flushZmq), so a
	// refusal comes a pass late: packets held meanwhile go first once
	// there is room.
	sendPush(p []byte) error
	sendReq(p []byte) error
	sendRouter(name, p []byte) error
}

// osEffects is the worker's real effects.
type osEffects struct{ w *Worker }

func (e osEffects) read(fd int, buf []byte) (int, error) { return reactor.Recv(fd, buf) }
func (e osEffects) writev(fd int, bufs [][]byte) (int, error) {
	return e.w.writer.Sendv(fd, bufs)
}
func (e osEffects) watch(fd int, tag uint64) error {
	return e.w.poller.Add(fd, reactor.EvIn|reactor.EvOut|reactor.EvRdHup, tag)
}
func (e osEffects) closeFd(fd int)          { unix.Close(fd) }
func (e osEffects) sendPush(p []byte) error { return e.w.zs.Out.SendLater(p) }
func (e osEffects) sendReq(p []byte) error  { return e.w.zs.Req.SendLater(emptyFrame, p) }

// sendRouter: in bind mode with the hub the ROUTER frames go into the
// worker's queue to the hub, which refuses all alike, so they are
// published at the end of the pass too; the worker's own ROUTER (no hub) refuses one handler
// while it takes others, and sends at once.
func (e osEffects) sendRouter(name, p []byte) error {
	if e.w.bp.blocks != nil {
		return e.w.zs.OutStream.SendLater(name, emptyFrame, p)
	}
	return e.w.zs.OutStream.Send(name, emptyFrame, p)
}

var _ effects = osEffects{}
