package zmqio

import (
	"strconv"
	"unsafe"

	"golang.org/x/sys/unix"
)

// nameThread names the calling OS thread (/proc/PID/task/TID/comm), as the
// reference names its threads ("worker-N", "zhttpsocket"), so per-thread
// CPU can be told apart from outside (bench/loadgen, top -H). The sockets
// are created on the locked thread that uses them, so this is that thread.
// Best effort: a failure changes nothing else.
func nameThread(name string) {
	unix.Prctl(unix.PR_SET_NAME, uintptr(unsafe.Pointer(&append([]byte(name), 0)[0])), 0, 0, 0)
}

func workerThreadName(w int) string { return "worker-" + strconv.Itoa(w) }

// hubThreadName is the reference's name for its socket thread.
const hubThreadName = "zhttpsocket"
