package reactor

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// Unix-socket listeners (--listen PATH,local). The path may hold a socket
// left by a process that died (replaced), a socket another process still
// accepts on (left alone: taking the path would silently cut that server
// off), or a file that is not a socket (left alone). mode= is set on the
// socket before bind, so the file never exists with the umask's
// permissions; user=/group= are applied before listen, while every connect
// is still refused.

// ErrSocketInUse: the path holds a socket that accepts connections.
var ErrSocketInUse = errors.New("socket in use: a process accepts connections on it; not replacing it")

// ErrNotSocket: the path holds a file that is not a socket.
var ErrNotSocket = errors.New("file exists and is not a socket; left untouched")

// UnixListenError says which step of ListenUnix failed; its text is
// condure's ("failed to bind <path>: …", "failed to set mode on <path>: …").
type UnixListenError struct {
	Op   string // "bind", "set mode on", "set owner on"
	Path string
	Err  error // ErrSocketInUse, ErrNotSocket, or a unix.Errno mostly
}

func (e *UnixListenError) Error() string {
	return "failed to " + e.Op + " " + e.Path + ": " + e.Err.Error()
}

func (e *UnixListenError) Unwrap() error { return e.Err }

// UnixPerm is what a unix socket file gets: Mode (permission bits, 0 for
// the umask's) and owner UID/GID (-1 to keep the process's).
type UnixPerm struct {
	Mode     uint32
	UID, GID int
}

// ListenUnix opens a non-blocking unix-socket listener at path with the
// given permissions. A stale socket at path (connect refused) is removed
// first; a live one (connect accepted, or its backlog full) gives
// ErrSocketInUse, anything that is not a socket ErrNotSocket, both without
// touching the file. Errors are *UnixListenError.
//
// Linux creates the socket file with the socket inode's mode less the
// umask, so an fchmod before bind gives the file its mode (or fewer bits,
// when the umask removes some: a chmod after bind adds them back, so the
// file is never more open than asked). Nothing can connect before listen,
// so the owner set by chown between the two is in place for the first
// client.
func ListenUnix(path string, backlog int, perm UnixPerm) (fd int, err error) {
	fail := func(op string, err error) (int, error) {
		return -1, &UnixListenError{Op: op, Path: path, Err: err}
	}
	if err := removeStale(path); err != nil {
		return fail("bind", err)
	}
	fd, err = unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fail("bind", err)
	}
	if perm.Mode != 0 {
		if err := unix.Fchmod(fd, perm.Mode); err != nil {
			unix.Close(fd)
			return fail("set mode on", err)
		}
	}
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: path}); err != nil {
		unix.Close(fd)
		return fail("bind", err)
	}
	// From here the file is ours: remove it again on failure.
	undo := func(op string, err error) (int, error) {
		unix.Close(fd)
		os.Remove(path)
		return fail(op, err)
	}
	if perm.Mode != 0 {
		var st unix.Stat_t
		if err := unix.Lstat(path, &st); err != nil {
			return undo("set mode on", err)
		}
		if st.Mode&0o7777 != perm.Mode { // the umask took bits away
			if err := unix.Chmod(path, perm.Mode); err != nil {
				return undo("set mode on", err)
			}
		}
	}
	if perm.UID != -1 || perm.GID != -1 {
		if err := unix.Lchown(path, perm.UID, perm.GID); err != nil {
			return undo("set owner on", err)
		}
	}
	if err := unix.Listen(fd, backlog); err != nil {
		return undo("bind", err)
	}
	return fd, nil
}

// removeStale removes a socket file at path that nothing accepts on.
func removeStale(path string) error {
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		if err == unix.ENOENT {
			return nil
		}
		return err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFSOCK {
		return ErrNotSocket
	}
	live, err := socketLive(path)
	if err != nil {
		return fmt.Errorf("probe existing socket: %w", err)
	}
	if live {
		return ErrSocketInUse
	}
	if err := unix.Unlink(path); err != nil && err != unix.ENOENT {
		return fmt.Errorf("remove stale socket: %w", err)
	}
	return nil
}

// socketLive connects to the socket at path without blocking: refused
// means stale; accepted, or EAGAIN (a listener whose backlog is full), live.
// Other errors (EACCES: not ours to probe) are returned, and the file kept.
func socketLive(path string) (bool, error) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return false, err
	}
	defer unix.Close(fd)
	for {
		err = unix.Connect(fd, &unix.SockaddrUnix{Name: path})
		switch err {
		case unix.EINTR:
			continue
		case nil, unix.EAGAIN, unix.EINPROGRESS:
			return true, nil
		case unix.ECONNREFUSED:
			return false, nil
		case unix.ENOENT: // removed meanwhile
			return false, nil
		}
		return false, err
	}
}
