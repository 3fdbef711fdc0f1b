package zmqio

// Which lanes the hub runs on a wake-up. Every receive that finds a socket
// empty makes libzmq check the socket's command mailbox (a getpid and a
// poll), so a lane whose source did not signal is not run for nothing: the
// hub runs a lane when its source signalled (a socket's ZMQ_FD; for the
// lanes from the workers' queues the hub's waker), when it ran out of budget
// last time, when it waits for room and a sending socket signalled, or on
// the retry timer. A lane that sends on a socket another lane reads (the
// req DEALER) makes that lane due: the send may have processed the signal
// that messages wait there.

// initDue maps every socket to the lanes that read it and marks whether
// some lane sends on it, then marks every lane due for the first pass.
func (h *Hub) initDue() {
	h.readers = make([][]*bool, len(h.socks))
	h.sender = make([]bool, len(h.socks))
	idx := func(s *Sock) int {
		for i, x := range h.socks {
			if x == s {
				return i
			}
		}
		return -1
	}
	for _, f := range h.forwards {
		if i := idx(f.dst); i >= 0 {
			h.sender[i] = true
		}
		for _, r := range h.routes {
			if r.src == f.dst {
				f.dstReader = r
			}
		}
	}
	for _, r := range h.routes {
		if i := idx(r.src); i >= 0 {
			h.readers[i] = append(h.readers[i], &r.due)
		}
	}
	h.allDue()
}

// allDue marks every lane due and lets the ones waiting for room retry.
func (h *Hub) allDue() {
	for _, f := range h.forwards {
		f.due = true
	}
	for _, r := range h.routes {
		r.due = true
	}
	h.room = true
}

// fired notes that socket i's ZMQ_FD fired.
func (h *Hub) fired(i int) {
	if i >= len(h.readers) {
		return
	}
	for _, d := range h.readers[i] {
		*d = true
	}
	if h.sender[i] {
		h.room = true
	}
}
