package reactor

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func getsockoptInt(t *testing.T, fd, level, opt int) int {
	t.Helper()
	v, err := unix.GetsockoptInt(fd, level, opt)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// checkFdFlags verifies an fd is non-blocking and close-on-exec.
func checkFdFlags(t *testing.T, fd int, what string) {
	t.Helper()
	fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0)
	if err != nil || fl&unix.O_NONBLOCK == 0 {
		t.Errorf("%s not non-blocking (flags %#x, %v)", what, fl, err)
	}
	fdfl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
	if err != nil || fdfl&unix.FD_CLOEXEC == 0 {
		t.Errorf("%s not close-on-exec (%#x, %v)", what, fdfl, err)
	}
}

func TestListenAcceptTCP(t *testing.T) {
	lfd, port := listenLoopback(t)
	checkFdFlags(t, lfd, "listener")
	if getsockoptInt(t, lfd, unix.SOL_SOCKET, unix.SO_REUSEADDR) == 0 {
		t.Error("listener lacks SO_REUSEADDR")
	}
	if port == 0 {
		t.Fatal("LocalPort = 0")
	}
	a, err := NewAcceptor()
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()

	if _, _, err := a.Accept(lfd); err != unix.EAGAIN {
		t.Fatalf("Accept with nothing pending: %v, want unix.EAGAIN", err)
	}

	p := newPoller(t)
	p.Add(lfd, EvIn, 1)
	cfd := dialLoopback(t, port)
	if evs := waitEvents(t, p, 2000); len(evs) != 1 || evs[0].Tag != 1 {
		t.Fatalf("listener events: %+v", evs)
	}
	fd, peer := acceptWait(t, a, lfd)
	checkFdFlags(t, fd, "accepted socket")
	if getsockoptInt(t, fd, unix.IPPROTO_TCP, unix.TCP_NODELAY) == 0 {
		t.Error("accepted socket lacks TCP_NODELAY")
	}
	if getsockoptInt(t, fd, unix.SOL_SOCKET, unix.SO_KEEPALIVE) == 0 {
		t.Error("accepted socket lacks SO_KEEPALIVE")
	}
	ip, pport, ok := AppendSockaddrIP(nil, peer)
	cport, _ := LocalPort(cfd)
	if !ok || string(ip) != "127.0.0.1" || pport != cport {
		t.Fatalf("peer = %q:%d (%v), want 127.0.0.1:%d", ip, pport, ok, cport)
	}

	// Data both ways through Read.
	unix.Write(cfd, []byte("ping"))
	buf := make([]byte, 16)
	if !pollIn(fd, 2000) {
		t.Fatal("no data")
	}
	if n, err := Read(fd, buf); err != nil || string(buf[:n]) != "ping" {
		t.Fatalf("Read = %q, %v", buf[:n], err)
	}
	if _, err := Read(fd, buf); err != unix.EAGAIN {
		t.Fatalf("Read when empty: %v, want EAGAIN", err)
	}
	unix.Close(cfd)
	if !pollIn(fd, 2000) {
		t.Fatal("no EOF")
	}
	if n, err := Read(fd, buf); n != 0 || err != nil {
		t.Fatalf("Read at EOF = %d, %v", n, err)
	}
}

func TestListenIPv6(t *testing.T) {
	lfd, err := Listen("[::1]:0", false, 16)
	if errors.Is(err, unix.EADDRNOTAVAIL) || errors.Is(err, unix.EAFNOSUPPORT) {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(lfd)
	port, err := LocalPort(lfd)
	if err != nil {
		t.Fatal(err)
	}
	cfd, err := unix.Socket(unix.AF_INET6, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(cfd)
	if err := unix.Connect(cfd, &unix.SockaddrInet6{Port: port, Addr: [16]byte{15: 1}}); err != nil {
		t.Fatal(err)
	}
	a, _ := NewAcceptor()
	defer a.Close()
	fd, peer := acceptWait(t, a, lfd)
	if getsockoptInt(t, fd, unix.IPPROTO_TCP, unix.TCP_NODELAY) == 0 {
		t.Error("IPv6 socket lacks TCP_NODELAY")
	}
	if ip, _, ok := AppendSockaddrIP(nil, peer); !ok || string(ip) != "::1" {
		t.Fatalf("peer %q, %v; want ::1", ip, ok)
	}
}

func TestListenReusePort(t *testing.T) {
	a, err := Listen("127.0.0.1:0", true, 16)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(a)
	if getsockoptInt(t, a, unix.SOL_SOCKET, unix.SO_REUSEPORT) == 0 {
		t.Error("listener lacks SO_REUSEPORT")
	}
	port, _ := LocalPort(a)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	b, err := Listen(addr, true, 16)
	if err != nil {
		t.Fatalf("second SO_REUSEPORT listener: %v", err)
	}
	unix.Close(b)
	_, err = Listen(addr, false, 16)
	if !errors.Is(err, unix.EADDRINUSE) {
		t.Fatalf("listener without SO_REUSEPORT on a taken port: %v, want EADDRINUSE", err)
	}
	if !strings.Contains(err.Error(), addr) {
		t.Errorf("error %q does not name the address", err)
	}
}

func TestListenBadAddresses(t *testing.T) {
	for _, addr := range []string{"", "8000", "localhost:80", "1.2.3.4:99999", "1.2.3.4:-1", "1.2.3.4:http", "[::1%nosuchif]:80", "300.1.1.1:80"} {
		if fd, err := Listen(addr, false, 16); err == nil {
			unix.Close(fd)
			t.Errorf("Listen(%q) succeeded", addr)
		}
	}
	// Empty host means all IPv4 addresses.
	fd, err := Listen(":0", false, 16)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	sa, _ := unix.Getsockname(fd)
	if in4, ok := sa.(*unix.SockaddrInet4); !ok || in4.Addr != [4]byte{} {
		t.Fatalf("\":0\" bound to %#v, want 0.0.0.0", sa)
	}
	// IPv4-mapped IPv6 listens as IPv4.
	fd2, err := Listen("[::ffff:127.0.0.1]:0", false, 16)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd2)
	if sa, _ := unix.Getsockname(fd2); sa == nil {
		t.Fatal("no address")
	} else if _, ok := sa.(*unix.SockaddrInet4); !ok {
		t.Fatalf("mapped address bound as %T", sa)
	}
}

func TestListenUnix(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.sock")
	// A stale socket file, as a crashed process leaves behind.
	old, err := ListenUnix(path, 16)
	if err != nil {
		t.Fatal(err)
	}
	unix.Close(old)
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("no stale file to test with: %v", err)
	}

	lfd, err := ListenUnix(path, 16)
	if err != nil {
		t.Fatalf("ListenUnix over a stale socket: %v", err)
	}
	defer unix.Close(lfd)
	checkFdFlags(t, lfd, "unix listener")
	if _, err := LocalPort(lfd); err == nil {
		t.Error("LocalPort of a unix socket succeeded")
	}

	cfd, _ := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	defer unix.Close(cfd)
	if err := unix.Connect(cfd, &unix.SockaddrUnix{Name: path}); err != nil {
		t.Fatal(err)
	}
	a, _ := NewAcceptor()
	defer a.Close()
	fd, peer := acceptWait(t, a, lfd)
	checkFdFlags(t, fd, "accepted unix socket")
	if peer != nil {
		t.Fatalf("unix peer = %#v, want nil", peer)
	}
	if _, _, ok := AppendSockaddrIP(nil, peer); ok {
		t.Fatal("AppendSockaddrIP ok for a unix peer")
	}

	// A regular file is not stale socket: it is left alone and bind fails.
	reg := filepath.Join(t.TempDir(), "data")
	os.WriteFile(reg, []byte("keep"), 0o600)
	if fd, err := ListenUnix(reg, 16); err == nil {
		unix.Close(fd)
		t.Fatal("ListenUnix over a regular file succeeded")
	}
	if b, _ := os.ReadFile(reg); string(b) != "keep" {
		t.Fatal("regular file was removed")
	}
}

func TestAppendSockaddrIP(t *testing.T) {
	mapped := [16]byte{10: 0xff, 11: 0xff, 12: 192, 13: 0, 14: 2, 15: 1}
	cases := []struct {
		name string
		sa   unix.Sockaddr
		want string
		port int
		ok   bool
	}{
		{"ipv4", &unix.SockaddrInet4{Port: 8080, Addr: [4]byte{10, 1, 2, 3}}, "10.1.2.3", 8080, true},
		{"ipv6", &unix.SockaddrInet6{Port: 443, Addr: [16]byte{0: 0x20, 1: 0x01, 2: 0x0d, 3: 0xb8, 15: 1}}, "2001:db8::1", 443, true},
		{"ipv6_zone_dropped", &unix.SockaddrInet6{Port: 1, Addr: [16]byte{0: 0xfe, 1: 0x80, 15: 1}, ZoneId: 2}, "fe80::1", 1, true},
		{"ipv4_mapped_as_ipv4", &unix.SockaddrInet6{Port: 5, Addr: mapped}, "192.0.2.1", 5, true},
		{"unix", &unix.SockaddrUnix{Name: "/tmp/x"}, "", 0, false},
		{"nil", nil, "", 0, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, port, ok := AppendSockaddrIP([]byte("peer="), c.sa)
			want := "peer=" + c.want
			if string(out) != want || port != c.port || ok != c.ok {
				t.Fatalf("got %q, %d, %v; want %q, %d, %v", out, port, ok, want, c.port, c.ok)
			}
		})
	}
	dst := make([]byte, 0, 64)
	sa4 := &unix.SockaddrInet4{Addr: [4]byte{1, 2, 3, 4}}
	sa6 := &unix.SockaddrInet6{Addr: [16]byte{0: 0x20, 15: 9}}
	if n := testing.AllocsPerRun(100, func() {
		AppendSockaddrIP(dst[:0], sa4)
		AppendSockaddrIP(dst[:0], sa6)
	}); n != 0 {
		t.Fatalf("%v allocations, want 0", n)
	}
}

// TestAcceptorFdLimit runs the EMFILE scenario in a child process, where
// lowering RLIMIT_NOFILE and exhausting descriptors cannot disturb other tests.
func TestAcceptorFdLimit(t *testing.T) {
	if os.Getenv("REACTOR_FDLIMIT_CHILD") == "1" {
		fdLimitChild(t)
		return
	}
	if testing.Short() {
		t.Skip("spawns a child process")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestAcceptorFdLimit$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), "REACTOR_FDLIMIT_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestAcceptorFdLimit") {
		t.Fatalf("child: %v\n%s", err, out)
	}
	t.Logf("child:\n%s", out)
}

func openFds(t *testing.T) int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// expectClosedByServer checks that client fd sees the server's close (EOF or reset).
func expectClosedByServer(t *testing.T, cfd int) {
	t.Helper()
	if !pollIn(cfd, 2000) {
		t.Fatal("shed connection not closed: its client would hang")
	}
	var b [1]byte
	n, err := unix.Read(cfd, b[:])
	if n != 0 || (err != nil && err != unix.ECONNRESET) {
		t.Fatalf("client read after shed = %d, %v; want EOF or reset", n, err)
	}
}

func fdLimitChild(t *testing.T) {
	lfd, port := listenLoopback(t)
	a, err := NewAcceptor()
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	clients := []int{dialLoopback(t, port), dialLoopback(t, port)}
	if !pollIn(lfd, 2000) {
		t.Fatal("connections not queued")
	}

	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	low := lim
	low.Cur = 256
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &low); err != nil {
		t.Fatal(err)
	}
	defer unix.Setrlimit(unix.RLIMIT_NOFILE, &lim)
	before := openFds(t)

	// Exhaust the table.
	var filler []int
	for {
		fd, err := unix.Open("/dev/null", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err == unix.EMFILE {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		filler = append(filler, fd)
	}
	release := func() {
		for _, fd := range filler {
			unix.Close(fd)
		}
		filler = nil
	}
	defer release()
	t.Logf("exhausted descriptors with %d fillers", len(filler))

	// Each pending connection is shed through the reserve, and the reserve
	// is taken back every time.
	for i, cfd := range clients {
		start := time.Now()
		if _, _, err := a.Accept(lfd); err != ErrFdLimit {
			t.Fatalf("Accept %d at the limit: %v, want ErrFdLimit", i, err)
		}
		if time.Since(start) > time.Second {
			t.Fatal("Accept at the limit blocked")
		}
		expectClosedByServer(t, cfd)
		if a.reserve < 0 {
			t.Fatalf("reserve not reopened after shed %d", i)
		}
	}
	// Nothing pending: the kernel checks the fd table first (ErrFdLimit) or
	// the queue (EAGAIN); either way no spin and no leak.
	if _, _, err := a.Accept(lfd); err != ErrFdLimit && err != unix.EAGAIN {
		t.Fatalf("Accept at the limit with nothing pending: %v", err)
	}
	if a.reserve < 0 {
		t.Fatal("reserve lost")
	}

	// Once descriptors are free again, accepting works.
	release()
	if got := openFds(t); got != before {
		t.Fatalf("%d fds open after shedding, %d before: leak", got, before)
	}
	cfd := dialLoopback(t, port)
	fd, _ := acceptWait(t, a, lfd)
	unix.Write(cfd, []byte("x"))
	if !pollIn(fd, 2000) {
		t.Fatal("accepted connection carries no data")
	}
}
