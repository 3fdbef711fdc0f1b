package zmqio

// Sends held for the end of a pass. libzmq wakes the thread that reads a
// pipe (its I/O thread, or the hub) each time a message goes into the pipe
// while that thread is asleep: one eventfd write here, and there an
// epoll_wait, an eventfd read, two to three mailbox checks (getpid and
// poll each) and two epoll_ctl to start and stop writing. A worker that
// sends each request as it parses it, with a read and a parse between two
// sends, wakes that thread about as often as it sends, since the thread
// drains the pipe in the meantime; sends held until the end of the pass go
// out back to back and mostly find it awake (issue #19, one worker: the
// server's syscalls per request 3.61 → 3.35 in stream mode, 3.91 → 3.29 in
// req mode; docs/design.md "ZeroMQ in epoll").

import "unsafe"

// later is a socket's held messages: their frames' bytes back to back in
// buf, where each frame ends, and how many frames each message has.
type later struct {
	buf    []byte
	ends   []int   // per frame
	frames []uint8 // per message
	head   int     // messages already handed to libzmq
	frame  int     // their frames
	full   bool    // a Flush stopped at the high-water mark with messages left
	max    int     // the socket's high-water mark: at most this many held (0: no limit)
	capped bool    // SendLater refused for max since the last Flush
	// tookSignal: a Flush found a signal in the socket's mailbox (TookSignal).
	tookSignal bool
}

// SendLater holds frames (1 to 3, copied) to be sent as one message at the
// next Flush. It returns ErrWouldBlock, holding nothing, while messages held
// before are waiting for room (see Flush): the caller keeps its packet and
// retries as after Send's ErrWouldBlock. It refuses too once the socket's
// high-water mark of messages is held: what is in flight from a socket is
// then at most one pipe more than without holding (the hub's ROUTER lane
// parks for a blocked handler what was in flight to it, and has a margin
// of one pipe's worth: hub.go). A socket's messages go in the order given,
// after any held ones. Only for sockets whose sends fail alike for every
// message (PUSH, DEALER): a ROUTER refuses one peer while it takes others,
// which a caller must learn at once.
func (k *Sock) SendLater(frames ...[]byte) error {
	l := &k.later
	if l.full {
		return ErrWouldBlock
	}
	if l.max > 0 && len(l.frames)-l.head >= l.max {
		l.capped = true
		return ErrWouldBlock
	}
	if len(frames) == 0 || len(frames) > maxFrames {
		panic("zmqio: SendLater takes 1 to 3 frames")
	}
	if k.q != nil {
		return k.ringPut(frames)
	}
	l.add(frames)
	return nil
}

// add holds frames as one message, whatever is held.
func (l *later) add(frames [][]byte) {
	for _, f := range frames {
		l.buf = append(l.buf, f...)
		l.ends = append(l.ends, len(l.buf))
	}
	l.frames = append(l.frames, uint8(len(frames)))
}

// Held reports whether messages wait for room (a Flush stopped at the
// high-water mark). The socket's fd signals when there may be room again,
// as after Send's ErrWouldBlock.
func (k *Sock) Held() bool { return k.later.full }

// Capped reports, once, that SendLater refused for the count held (not
// the high-water mark) and a Flush has since sent everything: the caller
// retries at once, since no fd will signal room.
func (k *Sock) Capped() bool {
	l := &k.later
	if l.capped && !l.full && l.head == len(l.frames) {
		l.capped = false
		return true
	}
	return false
}

// TookSignal reports, once, whether a Flush since the last call processed
// the socket's commands after finding them signalled (libzmq does so in a
// send about once a millisecond, and at the high-water mark): the signal
// may have been the one that says messages wait to be received, which the
// socket's ZMQ_FD then does not report. An owner that also receives on the
// socket reads it after such a Flush; after any other, the fd still fires.
func (k *Sock) TookSignal() bool {
	t := k.later.tookSignal
	k.later.tookSignal = false
	return t
}

// Flush sends the held messages in order. It stops at the first that hits
// the high-water mark, keeping it and those after it (Held is then true).
// A message refused for any other reason is dropped: dropped counts them
// and err is the last such error. sent counts the messages handed to libzmq.
func (k *Sock) Flush() (sent, dropped int, err error) {
	if k.q != nil {
		return k.q.commit(), 0, nil
	}
	l := &k.later
	if l.head < len(l.frames) {
		// One cgo call for all of them (send.go): back to back, they also
		// find libzmq's I/O thread still awake more often, which it then
		// need not be woken again for.
		var blocked bool
		sent, dropped, err, blocked = k.sendHeld(l)
		if blocked {
			l.full = true
			return sent, dropped, err
		}
	}
	l.reset()
	return sent, dropped, err
}

// reset empties l once everything held was sent.
func (l *later) reset() {
	l.buf, l.ends, l.frames, l.head, l.frame, l.full = l.buf[:0], l.ends[:0], l.frames[:0], 0, 0, false
	if cap(l.buf) > laterKeep {
		l.buf = nil // one burst of big heads does not hold its memory
	}
}

// laterKeep: a held-messages buffer that grew past this is dropped once
// empty, so a burst (the heads of many new connections in one pass) does
// not stay in an idle server's memory; a pass under steady load holds less.
const laterKeep = 64 << 10

// base is where buf starts, for C to read the held frames (nil when empty).
func (l *later) base() unsafe.Pointer {
	if len(l.buf) == 0 {
		return nil
	}
	return unsafe.Pointer(&l.buf[0])
}

// handed marks the next n held messages as given to libzmq.
func (l *later) handed(n int) {
	for i := 0; i < n; i++ {
		l.frame += int(l.frames[l.head])
		l.head++
	}
}
