package zmqio

/*
#include "pollgate.h"
*/
import "C"

import "unsafe"

// Poll gates: a worker whose socket's ZMQ_FD is in its edge-triggered epoll
// lets libzmq's mailbox checks on that socket skip the poll syscall until
// epoll reports the fd (pollcount.c has the reasoning). The gate is per fd
// and read by whichever thread libzmq polls from, so it is set only while
// the owner is the socket's one user: from GatePolls to Close.

// pollGate is pollcount.c's condure_poll_gate.
var pollGate = (*[C.CONDURE_GATED_FDS]uint8)(unsafe.Pointer(&C.condure_poll_gate[0]))

const (
	gateOff      = 0 // a real poll every time
	gateQuiet    = 1 // nothing reported since the last check: "not ready", no syscall
	gateReported = 2 // epoll reported the fd: the next check polls
)

// GatePolls gates the socket's mailbox checks. The caller must have its
// ZMQ_FD in an edge-triggered epoll set that it waits on, call Signalled
// for every event of that fd, and be the only thread using the socket.
// A queue socket (ringsock.go) or a fd past the table is left ungated.
func (k *Sock) GatePolls() {
	if k.q == nil && k.s != nil && uint(k.fd) < uint(len(pollGate)) {
		pollGate[k.fd] = gateReported // whatever came before the epoll registration
	}
}

// Signalled notes that epoll reported fd, a gated socket's ZMQ_FD: its
// next mailbox check polls.
func Signalled(fd int) {
	if uint(fd) < uint(len(pollGate)) && pollGate[fd] != gateOff {
		pollGate[fd] = gateReported
	}
}

// ungate makes fd's checks real polls again (before the socket closes: the
// reaper thread then checks its mailbox, and the fd number is reused).
func ungate(fd int) {
	if uint(fd) < uint(len(pollGate)) {
		pollGate[fd] = gateOff
	}
}
