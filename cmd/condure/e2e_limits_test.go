package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	zmq "github.com/pebbe/zmq4"
	"golang.org/x/sys/unix"

	"github.com/condure-go/condure/config"
	"github.com/condure-go/condure/zhttp/zhttptest"
)

// Limits and hostile peers: unix-socket listener paths that are in use or
// not sockets (reference.md §8.2), oversized handler messages, and log lines a
// peer can trigger in bulk.

// runExpectingFailure runs the binary with args and returns its output,
// failing unless it exits with status 1 within 10 s.
func runExpectingFailure(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, binPath, args...).CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("exit %v, want status 1:\n%s", err, out)
	}
	return string(out)
}

// A socket another server accepts on is not taken over: condure 1.9.1
// removes it and binds its own, leaving that server unreachable; we refuse
// to start, naming the path.
func TestUnixListenerLiveSocketNotStolen(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "live.sock")
	live, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	out := runExpectingFailure(t, "--listen", path+",local", "--zclient-stream", "ipc://"+dir+"/c")
	if want := "[ERR]"; !strings.Contains(out, want) ||
		!strings.Contains(out, "failed to bind "+path+": socket in use") {
		t.Errorf("output does not name the path as in use:\n%s", out)
	}
	// The other server still owns the path.
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatalf("the live socket was taken: %v", err)
	}
	defer c.Close()
	live.(*net.UnixListener).SetDeadline(time.Now().Add(5 * time.Second))
	for { // the first connection may be the server's probe
		a, err := live.Accept()
		if err != nil {
			t.Fatalf("the original listener gets no connection: %v", err)
		}
		a.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		c.Write([]byte("x"))
		b := make([]byte, 1)
		n, _ := a.Read(b)
		a.Close()
		if n == 1 {
			break
		}
	}
}

// A stale socket (nothing accepts on it: connect is refused) is replaced.
func TestUnixListenerStaleSocketReplaced(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "stale.sock")
	stale, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	stale.(*net.UnixListener).SetUnlinkOnClose(false)
	stale.Close()
	s := startServerWith(t, "ipc://"+filepath.Join(dir, "c"), "--listen", path+",local")
	s.waitLog("listening on " + path)
	h := s.handler("h1")
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	c.Write([]byte("GET /over-stale HTTP/1.1\r\nHost: u\r\n\r\n"))
	req := recv(t, h, "")
	if str(req, "uri") != "http://u/over-stale" {
		t.Fatalf("request %v", req)
	}
}

// A path that is not a socket is left untouched and the error says so
// (condure 1.9.1 deletes the file and binds; before, we said "address
// already in use").
func TestUnixListenerNotASocket(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "data.txt")
	os.WriteFile(file, []byte("precious"), 0o640)
	sub := filepath.Join(dir, "subdir")
	os.Mkdir(sub, 0o755)
	for _, path := range []string{file, sub} {
		out := runExpectingFailure(t, "--listen", path+",local", "--zclient-stream", "ipc://"+dir+"/c")
		if !strings.Contains(out, "failed to bind "+path+": file exists and is not a socket; left untouched") {
			t.Errorf("%s: output:\n%s", path, out)
		}
	}
	if b, err := os.ReadFile(file); err != nil || string(b) != "precious" {
		t.Errorf("the file was touched: %q %v", b, err)
	}
	if fi, err := os.Stat(sub); err != nil || !fi.IsDir() {
		t.Errorf("the directory was touched: %v", err)
	}
}

// mode= takes effect at bind: under a umask of 0 the socket file would
// first appear with mode 0777 if the mode were set by a chmod afterwards.
// inotify sees every chmod of the file as IN_ATTRIB; a socket created with
// its mode has none.
func TestUnixListenerModeAtBind(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.sock")
	ifd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(ifd)
	if _, err := unix.InotifyAddWatch(ifd, dir, unix.IN_CREATE|unix.IN_ATTRIB); err != nil {
		t.Fatal(err)
	}
	old := syscall.Umask(0) // inherited by the server
	s := startServerWith(t, "ipc://"+filepath.Join(dir, "c"), "--listen", path+",local,mode=600")
	syscall.Umask(old)
	s.waitLog("[condure] started")
	var created, attrib int
	buf := make([]byte, 64<<10)
	for {
		n, err := unix.Read(ifd, buf)
		if err != nil || n <= 0 {
			break
		}
		for off := 0; off+unix.SizeofInotifyEvent <= n; {
			ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[off]))
			name := strings.TrimRight(string(buf[off+unix.SizeofInotifyEvent:off+unix.SizeofInotifyEvent+int(ev.Len)]), "\x00")
			if name == "m.sock" {
				if ev.Mask&unix.IN_CREATE != 0 {
					created++
				}
				if ev.Mask&unix.IN_ATTRIB != 0 {
					attrib++
				}
			}
			off += unix.SizeofInotifyEvent + int(ev.Len)
		}
	}
	if created != 1 || attrib != 0 {
		t.Errorf("m.sock: %d creations, %d attribute changes; want the file created once with its mode", created, attrib)
	}
	fi, err := os.Lstat(path)
	if err != nil || fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o600 {
		t.Fatalf("m.sock: %v %v, want a socket with 0600", fi.Mode(), err)
	}
	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
}

// suppressedRe finds the count a rate-limited line reports.
var suppressedRe = regexp.MustCompile(`\((\d+) similar suppressed\)`)

// linesWith returns the log lines containing sub.
func linesWith(log, sub string) []string {
	var out []string
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return out
}

// A handler flooding malformed packets (10k: half whose ids do not parse,
// rejected by the hub, half whose ids parse but a field has the wrong
// type, rejected by the worker; reference.md §3.6) makes a few log lines, not
// one per packet; the next line after a quiet second says how many were
// suppressed; sessions and new requests carry on.
func TestFloodOfMalformedHandlerPacketsIsRateLimited(t *testing.T) {
	s := startServer(t, "--log-level", "2")
	h := s.handler("h1")
	ss, resp := startStreamed(t, s, h, "/stream")

	badIDs := []byte("condure T10:2:id,1:x,")                                                          // truncated dict
	badField := []byte(fmt.Sprintf("condure T%s", tnetDict("id", ss.id, "more", "yes", "from", "h1"))) // more must be a bool
	const flood = 10000
	// Paced a little, so that most packets reach the server rather than
	// being dropped by the handler's PUB at its high-water mark.
	send := func(n int) {
		for i := 0; i < n; i++ {
			if i%250 == 249 {
				time.Sleep(5 * time.Millisecond)
			}
			m := badIDs
			if i%2 == 1 {
				m = badField
			}
			if err := h.SendRaw(m); err != nil {
				t.Fatal(err)
			}
		}
	}
	start := time.Now()
	send(flood)
	s.waitLog("unable to determine packet id(s)")
	s.waitLog("zhttp parse error")
	// Once the limiter's interval has passed, one more of each reports
	// the others: a couple more are sent at each look until it has.
	for _, want := range []string{"unable to determine packet id(s)", "zhttp parse error"} {
		var lines []string
		if !eventually(t, 6*time.Second, func() bool {
			lines = linesWith(s.log.String(), want)
			if len(lines) > 1 && suppressedRe.MatchString(lines[len(lines)-1]) {
				return true
			}
			send(2)
			return false
		}) {
			t.Fatalf("no %q line with a suppressed count:\n%s", want, strings.Join(lines, "\n"))
		}
	}
	elapsed := time.Since(start)
	log := s.log.String()
	for _, want := range []string{"unable to determine packet id(s)", "zhttp parse error"} {
		lines := linesWith(log, want)
		// One line per second per worker at most (the hub is one thread).
		if max := 2 * (int(elapsed/time.Second) + 2); len(lines) > max {
			t.Errorf("%d %q lines in %v, want at most %d", len(lines), want, elapsed.Round(time.Millisecond), max)
		}
		total := 0
		for _, l := range lines {
			if m := suppressedRe.FindStringSubmatch(l); m != nil {
				n, _ := strconv.Atoi(m[1])
				total += n
			}
		}
		if total+len(lines) > flood/2+200 || total == 0 {
			t.Errorf("%q: %d lines reporting %d suppressed, for %d packets sent", want, len(lines), total, flood/2)
		}
		t.Logf("%q: %d lines, %d reported suppressed", want, len(lines), total)
	}
	if n := strings.Count(log, "\n"); n > 40 {
		t.Errorf("%d log lines for the flood", n)
	}

	// The session was not harmed, and new requests are served.
	endStreamed(t, ss, resp)
	c2 := s.dial()
	fmt.Fprintf(c2, "GET /after HTTP/1.1\r\nHost: x\r\n\r\n")
	req2 := recv(t, h, "")
	newSession(t, h, req2).respond(200, "OK", "fine", false)
	if _, b := readResponse(t, bufio.NewReader(c2), "GET"); b != "fine" {
		t.Fatalf("after the flood: %q", b)
	}
}

// tnetDict encodes string pairs as a tnetstring dict.
func tnetDict(kv ...string) string {
	var b strings.Builder
	for _, s := range kv {
		fmt.Fprintf(&b, "%d:%s,", len(s), s)
	}
	return fmt.Sprintf("%d:%s}", b.Len(), b.String())
}

// Scenario 5 of issue #12: a handler publishes a 64 MiB message. It is
// over the limit the flags allow (81392 bytes with the defaults), so
// libzmq drops it and the connection it came on, before allocating it:
// the server's memory does not grow (condure-go before this kept 64 MB
// for good: the worker's receive buffer never shrank). The handler
// reconnects by itself, the drop is logged, and a session of another
// handler carries on, as do new requests.
func TestOversizedHandlerMessageDropped(t *testing.T) {
	s := startServer(t, "--log-level", "2", "--workers", "1")
	good := s.handler("good")
	ss, resp := startStreamed(t, s, good, "/long")

	// The other handler: a bare XPUB on B-in, which reports the server's
	// subscription each time its connection is made.
	ctx, _ := zmq.NewContext()
	defer ctx.Term()
	rogue, _ := ctx.NewSocket(zmq.XPUB)
	defer rogue.Close()
	rogue.SetLinger(0)
	rogue.SetRcvtimeo(5 * time.Second)
	rogue.SetXpubVerbose(1) // the same subscription again after a reconnect
	_, _, in, _ := config.StreamSpecs(s.base)
	if err := rogue.Connect(in); err != nil {
		t.Fatal(err)
	}
	waitSubscribed := func() {
		t.Helper()
		for {
			sub, err := rogue.RecvBytes(0)
			if err != nil {
				t.Fatalf("no subscription from the server: %v", err)
			}
			if len(sub) > 0 && sub[0] == 1 && string(sub[1:]) == "condure " {
				return
			}
		}
	}
	waitSubscribed()

	before := s.rssKB()
	sp := s.sample(5 * time.Millisecond)
	// For worker 0, which the hub would hand it to, and no session of it.
	huge := fmt.Sprintf("condure T%s", tnetDict("from", "rogue", "id", "0-99999-0", "body", strings.Repeat("H", 64<<20)))
	if _, err := rogue.Send(huge, 0); err != nil {
		t.Fatal(err)
	}
	s.waitLog("stream in (SUB): a handler connection to " + in + " closed: the handler went away, or sent a message over 81392 bytes (ZMQ_MAXMSGSIZE)")
	waitSubscribed() // reconnected by libzmq, subscribed again: the drop is over
	peak := sp.end()
	after := s.rssKB()
	t.Logf("server RSS: before %d KiB, peak %d KiB, after %d KiB", before, peak, after)
	if peak-before > 16<<10 || after-before > 16<<10 {
		t.Errorf("RSS grew: before %d KiB, peak %d KiB, after %d KiB", before, peak, after)
	}

	// The session of the other handler was not touched, and goes on.
	endStreamed(t, ss, resp)
	c2 := s.dial()
	fmt.Fprintf(c2, "GET /after HTTP/1.1\r\nHost: x\r\n\r\n")
	newSession(t, good, recv(t, good, "")).respond(200, "OK", "fine", false)
	if _, b := readResponse(t, bufio.NewReader(c2), "GET"); b != "fine" {
		t.Fatalf("after the oversized message: %q", b)
	}
	if strings.Contains(s.log.String(), "[ERR]") {
		t.Errorf("errors logged:\n%s", s.log.String())
	}
}

// With --zclient-connect the worker connects to the handler, and libzmq
// gives the connection up for good after an oversized frame: the worker
// connects again (with a warning), so the handler's sessions go on.
func TestOversizedHandlerMessageConnectMode(t *testing.T) {
	s, h, base := startConnectMode(t, "--workers", "1", "--log-level", "2")
	ss, resp := startStreamed(t, s, h, "/c")
	before := s.rssKB()
	h.SendRaw([]byte(fmt.Sprintf("condure T%s", tnetDict("from", "h1", "id", "0-99999-0", "body", strings.Repeat("H", 64<<20)))))
	s.waitLog("stream in (SUB): connection to " + base + "-in closed after a protocol error (a message over 81392 bytes, ZMQ_MAXMSGSIZE?); connecting again")
	if !h.WaitSubscribed(5 * time.Second) {
		t.Fatal("the worker did not connect again")
	}
	endStreamed(t, ss, resp)
	if after := s.rssKB(); after-before > 16<<10 {
		t.Errorf("RSS grew from %d to %d KiB", before, after)
	}
}

// startStreamed sends a GET for path on a new connection to s and has h
// answer it with a 200 whose body, "first\n" so far, is still streaming; the
// caller ends it with endStreamed.
func startStreamed(t *testing.T, s *testServer, h *zhttptest.Handler, path string) (*session, *http.Response) {
	t.Helper()
	c := s.dial()
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", path)
	ss := newSession(t, h, recv(t, h, ""))
	ss.respond(200, "OK", "first\n", true)
	resp, err := http.ReadResponse(bufio.NewReader(c), &http.Request{Method: "GET"})
	if err != nil {
		t.Fatal(err)
	}
	return ss, resp
}

// endStreamed sends the last part of a response startStreamed began and
// checks that the client got the whole body.
func endStreamed(t *testing.T, ss *session, resp *http.Response) {
	t.Helper()
	ss.respond(0, "", "second\n", false)
	body, err := io.ReadAll(resp.Body)
	if err != nil || string(body) != "first\nsecond\n" {
		t.Fatalf("streamed body %q %v", body, err)
	}
}
