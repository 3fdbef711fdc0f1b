package reactor

import (
	"errors"
	"net/netip"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// socketpair returns a connected non-blocking unix stream pair, closed at cleanup.
func socketpair(t *testing.T) (int, int) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("socketpair: %v", err)
	}
	t.Cleanup(func() { unix.Close(fds[0]); unix.Close(fds[1]) })
	return fds[0], fds[1]
}

func newPoller(t *testing.T) *Poller {
	t.Helper()
	p, err := NewPoller(64)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// waitEvents waits up to timeoutMs for events and returns a copy of them. An
// empty Wait before the time is up is EINTR (the runtime preempts with
// signals) and is retried.
func waitEvents(t *testing.T, p *Poller, timeoutMs int) []Event {
	t.Helper()
	deadline := time.Now().Add(time.Duration(timeoutMs) * time.Millisecond)
	for {
		evs, err := p.Wait(timeoutMs)
		if err != nil {
			t.Fatalf("Wait: %v", err)
		}
		if len(evs) > 0 || timeoutMs <= 0 || !time.Now().Before(deadline) {
			return append([]Event(nil), evs...)
		}
		timeoutMs = max(1, int(time.Until(deadline)/time.Millisecond))
	}
}

// listenLoopback opens a 127.0.0.1 listener on an ephemeral port.
func listenLoopback(t *testing.T) (lfd, port int) {
	t.Helper()
	lfd, err := Listen("127.0.0.1:0", false, 128)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(lfd) })
	port, err = LocalPort(lfd)
	if err != nil {
		t.Fatal(err)
	}
	return lfd, port
}

// dialLoopback connects a blocking client socket to 127.0.0.1:port.
func dialLoopback(t *testing.T, port int) int {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if err := unix.Connect(fd, &unix.SockaddrInet4{Port: port, Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatalf("connect: %v", err)
	}
	return fd
}

// acceptWait accepts one connection, polling the listener for up to 5 s.
func acceptWait(t *testing.T, a *Acceptor, lfd int) (int, netip.AddrPort) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		fd, peer, err := a.Accept(lfd)
		if err == nil {
			t.Cleanup(func() { unix.Close(fd) })
			return fd, peer
		}
		if !errors.Is(err, unix.EAGAIN) {
			t.Fatalf("Accept: %v", err)
		}
		if time.Now().After(deadline) {
			t.Fatal("no connection to accept")
		}
		pollIn(lfd, 100)
	}
}

// pollIn waits up to ms for fd to become readable.
func pollIn(fd int, ms int) bool {
	pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	for {
		n, err := unix.Poll(pfd, ms)
		if err == unix.EINTR {
			continue
		}
		return n > 0
	}
}
