package zmqio

// Sends held for the end of a pass. libzmq wakes the thread that reads a
// pipe (its I/O thread, or the hub) each time a message goes into the pipe
// while that thread is asleep: one eventfd write here, and there an
// epoll_wait, an eventfd read, two to three mailbox checks (getpid and
// poll each) and two epoll_ctl to start and stop writing. A worker that
// sends each request as it parses it, with a read and a parse between two
// sends, wakes that thread about as often as it sends, since the thread
// drains the pipe in the meantime; sends held until the end of the pass go
// out back to back and mostly find it awake (issue #19: the I/O thread's
// syscalls per request halved, the server's down a quarter).

// later is a socket's held messages: their bytes back to back in buf, and
// where each ends.
type later struct {
	buf   []byte
	ends  []int
	head  int  // messages already handed to libzmq
	delim bool // each message goes as ["", payload]
	full  bool // a Flush stopped at the high-water mark with messages left
}

// SendLater holds p (copied) to be sent as one message at the next Flush;
// with delim, as ["", p]. It returns ErrWouldBlock, holding nothing, while
// messages held before are waiting for room (see Flush): the caller keeps
// its packet and retries as after Send's ErrWouldBlock. A socket's messages
// go in the order given, after any held ones.
func (k *Sock) SendLater(p []byte, delim bool) error {
	l := &k.later
	if l.full {
		return ErrWouldBlock
	}
	l.delim = delim
	l.buf = append(l.buf, p...)
	l.ends = append(l.ends, len(l.buf))
	return nil
}

// Held reports whether messages wait for room (a Flush stopped at the
// high-water mark). The socket's fd signals when there may be room again,
// as after Send's ErrWouldBlock.
func (k *Sock) Held() bool { return k.later.full }

// Flush sends the held messages in order. It stops at the first that hits
// the high-water mark, keeping it and those after it (Held is then true).
// A message refused for any other reason is dropped: dropped counts them
// and err is the last such error. sent counts the messages handed to libzmq.
func (k *Sock) Flush() (sent, dropped int, err error) {
	l := &k.later
	for l.head < len(l.ends) {
		start := 0
		if l.head > 0 {
			start = l.ends[l.head-1]
		}
		p := l.buf[start:l.ends[l.head]]
		var e error
		if l.delim {
			e = k.Send(emptyFrame, p)
		} else {
			e = k.Send(p)
		}
		if e == ErrWouldBlock {
			l.full = true
			return sent, dropped, err
		}
		if e != nil {
			dropped, err = dropped+1, e
		} else {
			sent++
		}
		l.head++
	}
	l.buf, l.ends, l.head, l.full = l.buf[:0], l.ends[:0], 0, false
	if cap(l.buf) > laterKeep {
		l.buf = nil // one burst of big heads does not hold its memory
	}
	return sent, dropped, err
}

// laterKeep: a held-messages buffer that grew past this is dropped once
// empty.
const laterKeep = 1 << 20

var emptyFrame = []byte{}
