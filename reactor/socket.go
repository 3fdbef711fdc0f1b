package reactor

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"unsafe"

	"golang.org/x/sys/unix"
)

// ErrFdLimit is returned by Acceptor.Accept when the process or system is out
// of file descriptors (EMFILE/ENFILE). The pending connection has been
// accepted and closed so the listener does not stay readable; the caller must
// stop accepting for a while (and log at most once a second), not retry at once.
var ErrFdLimit = errors.New("file descriptor limit reached")

// Listen opens a non-blocking TCP listener on addr ("host:port", IPv6 in
// brackets) with SO_REUSEADDR, and SO_REUSEPORT when reusePort is set (one
// listener per worker on the same port).
//
// The host must be an IP literal (an IPv6 one may carry a %zone); an empty
// host means 0.0.0.0. An IPv4-mapped IPv6 address listens as IPv4. Errors
// wrap the unix.Errno (errors.Is(err, unix.EADDRINUSE) works).
func Listen(addr string, reusePort bool, backlog int) (fd int, err error) {
	sa, family, err := parseListenAddr(addr)
	if err != nil {
		return -1, err
	}
	fd, err = unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("listen socket for %s: %w", addr, err)
	}
	if err = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("SO_REUSEADDR on %s: %w", addr, err)
	}
	if reusePort {
		if err = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEPORT, 1); err != nil {
			unix.Close(fd)
			return -1, fmt.Errorf("SO_REUSEPORT on %s: %w", addr, err)
		}
	}
	if err = unix.Bind(fd, sa); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("bind to %s: %w", addr, err)
	}
	if err = unix.Listen(fd, backlog); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("listen on %s: %w", addr, err)
	}
	return fd, nil
}

// parseListenAddr turns "host:port" into a sockaddr and its address family.
func parseListenAddr(addr string) (unix.Sockaddr, int, error) {
	host, portStr, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, 0, fmt.Errorf("listen address %q: %w", addr, err)
	}
	port, err := strconv.ParseUint(portStr, 10, 16)
	if err != nil {
		return nil, 0, fmt.Errorf("listen address %q: port %q: %w", addr, portStr, err)
	}
	ip := netip.IPv4Unspecified()
	if host != "" {
		if ip, err = netip.ParseAddr(host); err != nil {
			return nil, 0, fmt.Errorf("listen address %q: %w", addr, err)
		}
		ip = ip.Unmap()
	}
	if ip.Is4() {
		return &unix.SockaddrInet4{Port: int(port), Addr: ip.As4()}, unix.AF_INET, nil
	}
	sa := &unix.SockaddrInet6{Port: int(port), Addr: ip.As16()}
	if zone := ip.Zone(); zone != "" {
		ifi, err := net.InterfaceByName(zone)
		if err != nil {
			return nil, 0, fmt.Errorf("listen address %q: zone: %w", addr, err)
		}
		sa.ZoneId = uint32(ifi.Index)
	}
	return sa, unix.AF_INET6, nil
}

// Acceptor accepts connections from a listener fd with accept4
// (SOCK_NONBLOCK|SOCK_CLOEXEC), setting TCP_NODELAY and SO_KEEPALIVE on TCP
// sockets. It keeps one reserve fd: on EMFILE/ENFILE it closes the reserve,
// accepts and closes the pending connection, reopens the reserve, and reports
// ErrFdLimit so the caller backs off (it must not spin).
//
// An Acceptor is used by its owning thread only; one per worker.
type Acceptor struct {
	reserve int // an open /dev/null, or -1 when it could not be reopened yet
	// accept4 writes the peer address here: unix.Accept4 would allocate a
	// sockaddr twice per connection, garbage that piles up until a GC.
	rsa    unix.RawSockaddrAny
	rsaLen uint32
}

// NewAcceptor opens the reserve fd.
func NewAcceptor() (*Acceptor, error) {
	a := &Acceptor{reserve: -1}
	if err := a.openReserve(); err != nil {
		return nil, err
	}
	return a, nil
}

func (a *Acceptor) openReserve() error {
	fd, err := unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("reserve fd: %w", err)
	}
	a.reserve = fd
	return nil
}

// Accept returns one connection, or unix.EAGAIN when none is pending.
// peer is the peer's address (the zero AddrPort for unix sockets; IPv6 zone
// dropped, IPv4-mapped IPv6 as IPv4). It does not allocate.
//
// ECONNABORTED (a connection reset while queued) and EINTR are retried.
// On EMFILE/ENFILE it returns ErrFdLimit after shedding one pending
// connection through the reserve fd (if the reserve could not be reopened
// last time, it retries that and sheds nothing). Failures to set the TCP
// options are ignored: the connection still works, and a reset shows on the
// first read. Other errors are returned wrapped.
func (a *Acceptor) Accept(lfd int) (fd int, peer netip.AddrPort, err error) {
	for {
		a.rsaLen = unix.SizeofSockaddrAny
		r, _, e := unix.Syscall6(unix.SYS_ACCEPT4, uintptr(lfd), uintptr(unsafe.Pointer(&a.rsa)),
			uintptr(unsafe.Pointer(&a.rsaLen)), unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0, 0)
		switch e {
		case 0:
			fd = int(r)
			if peer = rawPeer(&a.rsa); peer.IsValid() {
				_ = unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
				_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_KEEPALIVE, 1)
			}
			return fd, peer, nil
		case unix.EINTR, unix.ECONNABORTED:
			continue
		case unix.EAGAIN:
			return -1, netip.AddrPort{}, unix.EAGAIN
		case unix.EMFILE, unix.ENFILE:
			a.shed(lfd)
			return -1, netip.AddrPort{}, ErrFdLimit
		default:
			return -1, netip.AddrPort{}, fmt.Errorf("accept on fd %d: %w", lfd, e)
		}
	}
}

// rawPeer decodes an IPv4 or IPv6 sockaddr as ZHTTP reports peers (zone
// dropped, IPv4-mapped IPv6 as IPv4); anything else gives the zero AddrPort.
func rawPeer(rsa *unix.RawSockaddrAny) netip.AddrPort {
	switch rsa.Addr.Family {
	case unix.AF_INET:
		sa := (*unix.RawSockaddrInet4)(unsafe.Pointer(rsa))
		return netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), netPort(sa.Port))
	case unix.AF_INET6:
		sa := (*unix.RawSockaddrInet6)(unsafe.Pointer(rsa))
		return netip.AddrPortFrom(netip.AddrFrom16(sa.Addr).Unmap(), netPort(sa.Port))
	}
	return netip.AddrPort{}
}

// netPort converts a port as the kernel stores it (network byte order).
func netPort(p uint16) uint16 {
	b := (*[2]byte)(unsafe.Pointer(&p))
	return uint16(b[0])<<8 | uint16(b[1])
}

// shed frees the reserve fd, uses it to accept and close one pending
// connection (its client sees the close rather than a hang), and takes the
// reserve back.
func (a *Acceptor) shed(lfd int) {
	if a.reserve >= 0 {
		unix.Close(a.reserve)
		a.reserve = -1
		for {
			nfd, _, err := unix.Accept4(lfd, unix.SOCK_CLOEXEC)
			if err == unix.EINTR || err == unix.ECONNABORTED {
				continue
			}
			if err == nil {
				unix.Close(nfd)
			}
			break
		}
	}
	_ = a.openReserve() // on failure, the next EMFILE tries again
}

// Close releases the reserve fd; it does not close any listener.
func (a *Acceptor) Close() error {
	if a.reserve < 0 {
		return nil
	}
	err := unix.Close(a.reserve)
	a.reserve = -1
	if err != nil {
		return fmt.Errorf("reserve fd close: %w", err)
	}
	return nil
}

// Read reads into buf from a non-blocking fd; it returns unix.EAGAIN when
// nothing is available and (0, nil) at EOF (or for an empty buf). EINTR is
// retried. Errors are the bare unix.Errno so callers can compare them.
func Read(fd int, buf []byte) (int, error) {
	if len(buf) == 0 {
		return 0, nil
	}
	for {
		// A raw syscall: fd is non-blocking, so the call cannot block and
		// the scheduler's enter/exit-syscall bookkeeping is wasted work on
		// the hottest path.
		r, _, e := unix.RawSyscall(unix.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)))
		if e == unix.EINTR {
			continue
		}
		if e != 0 {
			return 0, e
		}
		return int(r), nil
	}
}

// LocalPort returns the local port a TCP socket is bound to (after binding to
// port 0, for instance).
func LocalPort(fd int) (int, error) {
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return 0, fmt.Errorf("local address of fd %d: %w", fd, err)
	}
	switch sa := sa.(type) {
	case *unix.SockaddrInet4:
		return sa.Port, nil
	case *unix.SockaddrInet6:
		return sa.Port, nil
	}
	return 0, fmt.Errorf("local address of fd %d: not a TCP socket", fd)
}
