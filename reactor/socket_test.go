package reactor

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
	"unsafe"

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
	cport, _ := LocalPort(cfd)
	if peer.Addr().String() != "127.0.0.1" || int(peer.Port()) != cport {
		t.Fatalf("peer = %v, want 127.0.0.1:%d", peer, cport)
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
	if peer.Addr().String() != "::1" || peer.Port() == 0 {
		t.Fatalf("peer %v; want [::1]:port", peer)
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

// rawSockaddr builds what accept4 writes for an address and port.
func rawSockaddr(addr []byte, port uint16, zone uint32) *unix.RawSockaddrAny {
	var rsa unix.RawSockaddrAny
	be := [2]byte{byte(port >> 8), byte(port)}
	if len(addr) == 4 {
		sa := (*unix.RawSockaddrInet4)(unsafe.Pointer(&rsa))
		sa.Family = unix.AF_INET
		sa.Port = *(*uint16)(unsafe.Pointer(&be))
		copy(sa.Addr[:], addr)
	} else {
		sa := (*unix.RawSockaddrInet6)(unsafe.Pointer(&rsa))
		sa.Family = unix.AF_INET6
		sa.Port = *(*uint16)(unsafe.Pointer(&be))
		sa.Scope_id = zone
		copy(sa.Addr[:], addr)
	}
	return &rsa
}

func TestRawPeer(t *testing.T) {
	mapped := []byte{10: 0xff, 11: 0xff, 12: 192, 13: 0, 14: 2, 15: 1}
	unixAddr := &unix.RawSockaddrAny{}
	unixAddr.Addr.Family = unix.AF_UNIX
	cases := []struct {
		name string
		rsa  *unix.RawSockaddrAny
		want string // "" for none
	}{
		{"ipv4", rawSockaddr([]byte{10, 1, 2, 3}, 8080, 0), "10.1.2.3:8080"},
		{"ipv6", rawSockaddr([]byte{0: 0x20, 1: 0x01, 2: 0x0d, 3: 0xb8, 15: 1}, 443, 0), "[2001:db8::1]:443"},
		{"ipv6_zone_dropped", rawSockaddr([]byte{0: 0xfe, 1: 0x80, 15: 1}, 1, 2), "[fe80::1]:1"},
		{"ipv4_mapped_as_ipv4", rawSockaddr(mapped, 65534, 0), "192.0.2.1:65534"},
		{"unix", unixAddr, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := rawPeer(c.rsa)
			if (c.want == "" && got.IsValid()) || (c.want != "" && got.String() != c.want) {
				t.Fatalf("got %v, want %q", got, c.want)
			}
		})
	}
}

// Accepting allocates nothing: at scale, per-connection garbage is RSS
// that stays until the next GC.
func TestAcceptAllocationFree(t *testing.T) {
	lfd, err := Listen("127.0.0.1:0", false, 128)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(lfd)
	port, _ := LocalPort(lfd)
	a, _ := NewAcceptor()
	defer a.Close()
	var clients []int
	defer func() {
		for _, fd := range clients {
			unix.Close(fd)
		}
	}()
	for i := 0; i < 101; i++ {
		cfd, _ := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		clients = append(clients, cfd)
		if err := unix.Connect(cfd, &unix.SockaddrInet4{Port: port, Addr: [4]byte{127, 0, 0, 1}}); err != nil {
			t.Fatal(err)
		}
	}
	pollIn(lfd, 2000)
	allocs := testing.AllocsPerRun(100, func() {
		fd, peer, err := a.Accept(lfd)
		if err != nil || !peer.IsValid() {
			t.Fatalf("Accept: %v %v", peer, err)
		}
		unix.Close(fd)
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per accept, want 0", allocs)
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
