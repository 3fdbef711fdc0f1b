package reactor

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// maxIovecs is the kernel's IOV_MAX: writev refuses more.
const maxIovecs = 1024

// Writer does writev with a preallocated iovec array (at most 1024 entries):
// no allocation per call. A Writer is used by its owning thread only; one per
// worker is enough.
type Writer struct {
	iov [maxIovecs]unix.Iovec
}

// Writev writes bufs to a non-blocking fd in one writev call (skipping empty
// ones) and returns the bytes written; unix.EAGAIN when the socket is full.
// EINTR is retried.
//
// Only the first 1024 non-empty buffers are offered to the kernel; a short
// count is normal (the socket buffer filled up, or the cap was reached), so
// the caller drops what was written with Advance and calls again when the
// socket is writable. No non-empty buffer gives (0, nil). Errors are the bare
// unix.Errno. The Writer keeps no reference to bufs after returning.
func (w *Writer) Writev(fd int, bufs [][]byte) (int, error) {
	n := w.load(bufs)
	if n == 0 {
		return 0, nil
	}
	var (
		r uintptr
		e unix.Errno
	)
	for {
		// Raw: fd is non-blocking, so writev cannot block (see Read).
		r, _, e = unix.RawSyscall(unix.SYS_WRITEV, uintptr(fd), uintptr(unsafe.Pointer(&w.iov[0])), uintptr(n))
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

// load fills the iovec array with the first maxIovecs non-empty buffers
// and returns how many.
func (w *Writer) load(bufs [][]byte) int {
	n := 0
	for _, b := range bufs {
		if len(b) == 0 {
			continue
		}
		if n == maxIovecs {
			break
		}
		w.iov[n].Base = &b[0]
		w.iov[n].SetLen(len(b))
		n++
	}
	return n
}

// clear drops the references load took, so the caller's buffers are not
// kept alive.
func (w *Writer) clear(n int) {
	for i := range w.iov[:n] {
		w.iov[i].Base = nil
	}
}

// Advance drops n written bytes from the front of bufs in place (partial
// writes) and returns the remaining buffers (first one resliced).
//
// Fully written buffers, and empty ones at the front, are dropped from the
// returned slice, so it is empty exactly when nothing is left to write. The
// only element written is the partly written one (resliced); dropped elements
// are left untouched in the caller's backing array, so the caller can still
// hand their memory back to a pool. n beyond the total drops everything.
func Advance(bufs [][]byte, n int) [][]byte {
	for len(bufs) > 0 {
		l := len(bufs[0])
		if n < l {
			if n > 0 {
				bufs[0] = bufs[0][n:]
			}
			return bufs
		}
		n -= l
		bufs = bufs[1:]
	}
	return bufs
}
