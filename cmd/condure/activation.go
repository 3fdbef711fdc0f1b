package main

import (
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/condure-go/condure/config"
	"github.com/condure-go/condure/internal/logging"
)

// listenFdsStart is the first descriptor systemd passes (sd_listen_fds(3)).
const listenFdsStart = 3

// inherited is one listening socket handed in by systemd socket activation.
type inherited struct {
	fd   int
	name string         // FileDescriptorName=, "" if none
	unix bool           // AF_UNIX: path holds the bound path
	path string         // unix socket path
	addr netip.AddrPort // TCP: the bound address
	used bool
}

// inheritedSockets reads LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES as
// sd_listen_fds_with_names(3) does, and unsets them so processes we start
// do not take the sockets for theirs. Nothing is inherited unless
// LISTEN_PID names this process. Each socket must be a listening stream
// socket; it is made non-blocking (the workers share it) and close-on-exec.
func inheritedSockets() ([]inherited, error) {
	pid, fds, names := os.Getenv("LISTEN_PID"), os.Getenv("LISTEN_FDS"), os.Getenv("LISTEN_FDNAMES")
	os.Unsetenv("LISTEN_PID")
	os.Unsetenv("LISTEN_FDS")
	os.Unsetenv("LISTEN_FDNAMES")
	if pid == "" || fds == "" {
		return nil, nil
	}
	if p, err := strconv.Atoi(pid); err != nil || p != os.Getpid() {
		return nil, nil // meant for another process (our parent, say)
	}
	n, err := strconv.Atoi(fds)
	if err != nil || n < 0 {
		return nil, fmt.Errorf("socket activation: bad LISTEN_FDS %q", fds)
	}
	var nameList []string
	if names != "" {
		nameList = strings.Split(names, ":")
	}
	out := make([]inherited, 0, n)
	for i := 0; i < n; i++ {
		in := inherited{fd: listenFdsStart + i}
		if i < len(nameList) {
			in.name = nameList[i]
		}
		if err := in.inspect(); err != nil {
			return nil, fmt.Errorf("socket activation: fd %d (%q): %w", in.fd, in.name, err)
		}
		out = append(out, in)
	}
	return out, nil
}

// inspect checks that the descriptor is a listening stream socket, reads
// its address and makes it non-blocking and close-on-exec.
func (in *inherited) inspect() error {
	typ, err := unix.GetsockoptInt(in.fd, unix.SOL_SOCKET, unix.SO_TYPE)
	if err != nil {
		return fmt.Errorf("not a socket: %w", err)
	}
	acc, err := unix.GetsockoptInt(in.fd, unix.SOL_SOCKET, unix.SO_ACCEPTCONN)
	if err != nil || typ != unix.SOCK_STREAM || acc == 0 {
		return fmt.Errorf("not a listening stream socket")
	}
	sa, err := unix.Getsockname(in.fd)
	if err != nil {
		return fmt.Errorf("getsockname: %w", err)
	}
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		in.addr = netip.AddrPortFrom(netip.AddrFrom4(a.Addr), uint16(a.Port))
	case *unix.SockaddrInet6:
		in.addr = netip.AddrPortFrom(netip.AddrFrom16(a.Addr).Unmap(), uint16(a.Port))
	case *unix.SockaddrUnix:
		in.unix, in.path = true, a.Name
	default:
		return fmt.Errorf("unsupported address family")
	}
	if err := unix.SetNonblock(in.fd, true); err != nil {
		return fmt.Errorf("set non-blocking: %w", err)
	}
	unix.CloseOnExec(in.fd)
	return nil
}

// matches says whether the socket serves --listen l: by name when l has
// fdname=, else by address. A TCP listener on a wildcard address (0.0.0.0,
// [::]) takes a socket on either wildcard with its port, since systemd's
// ListenStream=8000 binds [::]:8000 where --listen 8000 means 0.0.0.0:8000.
func (in *inherited) matches(l config.Listen) bool {
	if l.FdName != "" {
		return in.name == l.FdName
	}
	if l.Local {
		return in.unix && in.path == l.Addr
	}
	if in.unix {
		return false
	}
	want, err := netip.ParseAddrPort(l.Addr)
	if err != nil || want.Port() != in.addr.Port() {
		return false
	}
	if want.Addr().IsUnspecified() && in.addr.Addr().IsUnspecified() {
		return true
	}
	return want.Addr().Unmap() == in.addr.Addr()
}

// claim returns the first unused inherited socket that serves l, or -1.
func claim(sockets []inherited, l config.Listen) int {
	for i := range sockets {
		if !sockets[i].used && sockets[i].matches(l) {
			sockets[i].used = true
			return sockets[i].fd
		}
	}
	return -1
}

// closeUnclaimed closes the inherited sockets no --listen took, saying so:
// a unit file and a command line that disagree are worth a warning.
func closeUnclaimed(sockets []inherited) {
	for _, in := range sockets {
		if in.used {
			continue
		}
		what := in.path
		if !in.unix {
			what = in.addr.String()
		}
		logging.Warn(target, "socket activation: fd %d (%s, name %q) matches no --listen; closed", in.fd, what, in.name)
		unix.Close(in.fd)
	}
}
