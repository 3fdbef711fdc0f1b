package reactor

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// Socket-only variants of Read and Writev for the connections' hot path.
// recvfrom and sendmsg go straight to the socket layer, where read and
// writev pass through the VFS first (fdget_pos, rw_verify_area, the
// fsnotify access/modify hooks, the generic iov_iter read/write): on this
// path those were about 0.4 µs of kernel time per request out of the
// worker's ~18 µs (issue #19). sendmsg also takes MSG_NOSIGNAL, so a write
// to a connection the client reset fails with EPIPE without raising
// SIGPIPE for the runtime to swallow.

// Recv reads into buf from a non-blocking connected socket, as Read does
// (same results: unix.EAGAIN when nothing is available, (0, nil) at EOF or
// for an empty buf, EINTR retried, bare unix.Errno errors). fd must be a
// socket: anything else fails with ENOTSOCK.
func Recv(fd int, buf []byte) (int, error) {
	if len(buf) == 0 {
		return 0, nil
	}
	for {
		// Raw, as Read: the socket is non-blocking.
		r, _, e := unix.RawSyscall6(unix.SYS_RECVFROM, uintptr(fd), uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)), 0, 0, 0)
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return 0, e
		}
		return int(r), nil
	}
}

// Sendv is Writev for a non-blocking connected socket, through sendmsg
// with MSG_NOSIGNAL: the same contract otherwise (first 1024 non-empty
// buffers, short counts normal, unix.EAGAIN when full, (0, nil) for no
// bytes, EINTR retried, bare unix.Errno errors). fd must be a socket:
// anything else fails with ENOTSOCK.
//
// One non-empty buffer goes through sendto instead, which takes it as it
// is: no msghdr and iovec array for the kernel to copy in and check.
func (w *Writer) Sendv(fd int, bufs [][]byte) (int, error) {
	n := w.load(bufs)
	if n == 0 {
		return 0, nil
	}
	if n == 1 {
		v := w.iov[0]
		w.clear(n)
		return send(fd, v.Base, int(v.Len))
	}
	msg := unix.Msghdr{Iov: &w.iov[0]}
	msg.SetIovlen(n)
	var (
		r uintptr
		e unix.Errno
	)
	for {
		r, _, e = unix.RawSyscall(unix.SYS_SENDMSG, uintptr(fd), uintptr(unsafe.Pointer(&msg)), unix.MSG_NOSIGNAL|unix.MSG_DONTWAIT)
		if e != unix.EINTR {
			break
		}
	}
	w.clear(n)
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}

// send writes the n bytes at p (the one buffer Sendv loaded) with sendto,
// as Sendv.
func send(fd int, p *byte, n int) (int, error) {
	for {
		r, _, e := unix.RawSyscall6(unix.SYS_SENDTO, uintptr(fd), uintptr(unsafe.Pointer(p)), uintptr(n), unix.MSG_NOSIGNAL|unix.MSG_DONTWAIT, 0, 0)
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return 0, e
		}
		return int(r), nil
	}
}
