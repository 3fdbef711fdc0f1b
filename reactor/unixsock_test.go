package reactor

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

var noPerm = UnixPerm{UID: -1, GID: -1}

// staleSocket leaves a socket file nothing listens on, as a crashed
// process does.
func staleSocket(t *testing.T, path string) {
	t.Helper()
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: path}); err != nil {
		t.Fatal(err)
	}
	unix.Close(fd)
}

func TestListenUnixReplacesStaleSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.sock")
	staleSocket(t, path)
	lfd, err := ListenUnix(path, 16, noPerm)
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
	if peer.IsValid() {
		t.Fatalf("unix peer = %v, want none", peer)
	}
}

// A socket another listener accepts on is not taken over, whether its
// backlog has room (connect accepted) or is full (EAGAIN).
func TestListenUnixKeepsLiveSocket(t *testing.T) {
	for _, full := range []bool{false, true} {
		name := map[bool]string{false: "accepting", true: "backlog_full"}[full]
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "live.sock")
			backlog := 16
			if full {
				backlog = 0
			}
			live, err := ListenUnix(path, backlog, noPerm)
			if err != nil {
				t.Fatal(err)
			}
			defer unix.Close(live)
			if full { // fill the backlog with connections never accepted
				for i := 0; i < 64; i++ {
					c, _ := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
					defer unix.Close(c)
					if err := unix.Connect(c, &unix.SockaddrUnix{Name: path}); err == unix.EAGAIN {
						break
					}
				}
			}
			fd, err := ListenUnix(path, 16, noPerm)
			if err == nil {
				unix.Close(fd)
				t.Fatal("ListenUnix took over a live socket")
			}
			var le *UnixListenError
			if !errors.Is(err, ErrSocketInUse) || !errors.As(err, &le) || le.Op != "bind" {
				t.Fatalf("error %v, want ErrSocketInUse", err)
			}
			if want := "failed to bind " + path + ": socket in use"; err.Error()[:len(want)] != want {
				t.Errorf("error text %q", err)
			}
			// The original listener still owns the path.
			c, _ := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
			defer unix.Close(c)
			a, _ := NewAcceptor()
			defer a.Close()
			if !full {
				if err := unix.Connect(c, &unix.SockaddrUnix{Name: path}); err != nil {
					t.Fatal(err)
				}
				acceptWait(t, a, live)
			}
		})
	}
}

func TestListenUnixLeavesOtherFiles(t *testing.T) {
	dir := t.TempDir()
	reg := filepath.Join(dir, "data")
	os.WriteFile(reg, []byte("keep"), 0o600)
	sub := filepath.Join(dir, "subdir")
	os.Mkdir(sub, 0o755)
	link := filepath.Join(dir, "link") // a symlink to a stale socket is not a socket
	sock := filepath.Join(dir, "target.sock")
	staleSocket(t, sock)
	os.Symlink(sock, link)
	for _, p := range []string{reg, sub, link} {
		fd, err := ListenUnix(p, 16, noPerm)
		if err == nil {
			unix.Close(fd)
			t.Fatalf("ListenUnix over %s succeeded", p)
		}
		if !errors.Is(err, ErrNotSocket) || err.Error() != "failed to bind "+p+": file exists and is not a socket; left untouched" {
			t.Errorf("%s: error %q", p, err)
		}
	}
	if b, _ := os.ReadFile(reg); string(b) != "keep" {
		t.Error("regular file was touched")
	}
	if fi, err := os.Stat(sub); err != nil || !fi.IsDir() {
		t.Error("directory was touched")
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Error("symlink was touched")
	}
}

// withUmask runs f under umask m (process-wide: these tests do not run in
// parallel).
func withUmask(m int, f func()) {
	old := unix.Umask(m)
	defer unix.Umask(old)
	f()
}

// bindOnly is the first half of ListenUnix: fchmod, then bind. Linux must
// create the file with the socket inode's mode less the umask, or a mode=
// listener would exist for a moment with the umask's permissions.
func TestFchmodBeforeBindSetsFileMode(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		umask      int
		mode, want uint32
	}{
		{0, 0o600, 0o600},
		{0o022, 0o600, 0o600},
		{0o022, 0o666, 0o644}, // ListenUnix's chmod adds the rest after
		{0o077, 0o660, 0o600},
	} {
		path := filepath.Join(dir, "b.sock")
		os.Remove(path)
		withUmask(tc.umask, func() {
			fd, _ := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
			defer unix.Close(fd)
			if err := unix.Fchmod(fd, tc.mode); err != nil {
				t.Fatal(err)
			}
			if err := unix.Bind(fd, &unix.SockaddrUnix{Name: path}); err != nil {
				t.Fatal(err)
			}
		})
		fi, err := os.Lstat(path)
		if err != nil || fi.Mode().Perm() != os.FileMode(tc.want) {
			t.Errorf("umask %03o, fchmod %03o: bound file %v %v, want %03o", tc.umask, tc.mode, fi.Mode(), err, tc.want)
		}
	}
}

func TestListenUnixMode(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		umask int
		mode  uint32
	}{
		{0, 0o600},     // fchmod alone
		{0o077, 0o666}, // the umask takes bits: chmod after bind
		{0o022, 0o770},
		{0o022, 0}, // no mode=: the umask's
	} {
		path := filepath.Join(dir, "m.sock")
		os.Remove(path)
		var fd int
		var err error
		withUmask(tc.umask, func() {
			fd, err = ListenUnix(path, 16, UnixPerm{Mode: tc.mode, UID: -1, GID: -1})
		})
		if err != nil {
			t.Fatal(err)
		}
		unix.Close(fd)
		want := os.FileMode(tc.mode)
		if tc.mode == 0 {
			want = 0o777 &^ os.FileMode(tc.umask)
		}
		if fi, err := os.Lstat(path); err != nil || fi.Mode().Perm() != want || fi.Mode()&os.ModeSocket == 0 {
			t.Errorf("umask %03o, mode %03o: file %v %v, want socket %v", tc.umask, tc.mode, fi.Mode(), err, want)
		}
	}
}

// A failing chown leaves no socket file behind (run as root, chown to any
// id succeeds, so the failure is provoked only when not root).
func TestListenUnixOwner(t *testing.T) {
	path := filepath.Join(t.TempDir(), "o.sock")
	uid, gid := os.Getuid(), os.Getgid()
	fd, err := ListenUnix(path, 16, UnixPerm{UID: uid, GID: gid})
	if err != nil {
		t.Fatal(err)
	}
	unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil || int(st.Uid) != uid || int(st.Gid) != gid {
		t.Fatalf("owner %d:%d %v", st.Uid, st.Gid, err)
	}
	if uid == 0 {
		os.Remove(path)
		if fd, err = ListenUnix(path, 16, UnixPerm{UID: 4242, GID: 4343}); err != nil {
			t.Fatal(err)
		}
		unix.Close(fd)
		if err := unix.Lstat(path, &st); err != nil || st.Uid != 4242 || st.Gid != 4343 {
			t.Fatalf("owner %d:%d %v", st.Uid, st.Gid, err)
		}
		return
	}
	os.Remove(path)
	fd, err = ListenUnix(path, 16, UnixPerm{UID: 0, GID: -1})
	if err == nil {
		unix.Close(fd)
		t.Fatal("chown to root succeeded as non-root")
	}
	if _, serr := os.Lstat(path); !os.IsNotExist(serr) || !strings.HasPrefix(err.Error(), "failed to set owner on "+path) {
		t.Fatalf("error %v; file left: %v", err, serr)
	}
}
