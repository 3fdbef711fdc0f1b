package zmqio

import (
	"bytes"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	zmq "github.com/pebbe/zmq4"

	"github.com/condure-go/condure/internal/logging"
)

func TestMessageLimits(t *testing.T) {
	if got := StreamMessageLimit("condure", 8192); got != 81392 {
		t.Errorf("stream limit with the defaults = %d, want 81392", got)
	}
	if got := ReqMessageLimit(8192, 100000); got != 173192 {
		t.Errorf("req limit with the defaults = %d, want 173192", got)
	}
}

// logBuffer captures log lines for one test.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func captureLog(t *testing.T) *logBuffer {
	lb := &logBuffer{}
	logging.SetOutput(lb)
	t.Cleanup(func() { logging.SetOutput(nil) })
	return lb
}

func TestRecvBufferShrinksAfterLargeMessage(t *testing.T) {
	out, in, done := pipePair(t)
	defer done()
	out.SendBytes([]byte("small"), 0)
	recvWait(t, in)
	normal := cap(in.buf)
	big := bytes.Repeat([]byte("b"), 4<<20)
	out.SendBytes(big, 0)
	if f, _ := recvWait(t, in); len(f) != len(big) {
		t.Fatalf("big frame: %d bytes", len(f))
	}
	if cap(in.buf) < len(big) {
		t.Fatalf("buffer of %d bytes held a %d-byte frame?", cap(in.buf), len(big))
	}
	out.SendBytes([]byte("after"), 0)
	if f, _ := recvWait(t, in); string(f) != "after" {
		t.Fatalf("frame after: %q", f)
	}
	if cap(in.buf) != normal {
		t.Fatalf("buffer kept %d bytes after the big message, want back to %d", cap(in.buf), normal)
	}
	// Frames a little over the normal buffer do not make it churn.
	mid := bytes.Repeat([]byte("m"), 100<<10)
	out.SendBytes(mid, 0)
	recvWait(t, in)
	grown := cap(in.buf)
	out.SendBytes(mid, 0)
	recvWait(t, in)
	if cap(in.buf) != grown {
		t.Fatalf("a %d-byte buffer was replaced for another 100 KiB frame", grown)
	}
}

// Frames past recvMaxFrames, and the rest of a message skipped with
// SkipRest, are dropped without being copied into the buffer.
func TestRecvDropsExtraFramesWithoutCopying(t *testing.T) {
	out, in, done := pipePair(t)
	defer done()
	big := bytes.Repeat([]byte("x"), 1<<20)
	parts := []any{"first"}
	for i := 0; i < 40; i++ {
		parts = append(parts, big)
	}
	out.SendMessage(parts...)
	out.SendMessage("next")
	n := 0
	for {
		f, more := recvWait(t, in)
		n++
		if n == 1 && string(f) != "first" {
			t.Fatalf("frame 1: %q", f[:min(len(f), 10)])
		}
		if !more {
			break
		}
	}
	if n != recvMaxFrames {
		t.Fatalf("%d frames received, want %d", n, recvMaxFrames)
	}
	if f, more := recvWait(t, in); string(f) != "next" || more {
		t.Fatalf("next message: %q %v", f, more)
	}

	out.SendMessage("head", big, big, big)
	out.SendMessage("tail")
	if f, more := recvWait(t, in); string(f) != "head" || !more {
		t.Fatalf("head: %q %v", f, more)
	}
	before := cap(in.buf)
	in.SkipRest()
	if f, more := recvWait(t, in); string(f) != "tail" || more {
		t.Fatalf("after SkipRest: %q %v", f, more)
	}
	if cap(in.buf) > before {
		t.Fatalf("SkipRest copied the skipped frames: buffer %d → %d bytes", before, cap(in.buf))
	}
}

// onThread runs f on one locked OS thread (ZeroMQ sockets stay on the
// thread that made them) and waits for it.
func onThread(f func()) {
	done := make(chan struct{})
	go func() {
		runtime.LockOSThread()
		defer close(done)
		f()
	}()
	<-done
}

// A handler message over the limit is dropped by the hub's SUB (the
// handler's connection is closed and logged; the handler reconnects by
// itself); messages under it go on reaching the worker.
func TestHubDropsOversizedHandlerMessage(t *testing.T) {
	lb := captureLog(t)
	dir := t.TempDir()
	base := "ipc://" + filepath.Join(dir, "c")
	cfg := &Config{InstanceID: "condure", Stream: true, HWM: 100, StreamMaxMsg: 2000,
		Out: []string{base + "-out"}, OutStream: []string{base + "-out-stream"}, In: []string{base + "-in"}}
	ctx, _ := zmq.NewContext()
	defer ctx.Term()
	hubc := make(chan *Hub, 1)
	hubDone := make(chan struct{})
	go func() {
		runtime.LockOSThread()
		defer close(hubDone)
		h, err := NewHub(ctx, cfg, 1)
		if err != nil {
			t.Error(err)
			hubc <- nil
			return
		}
		hubc <- h
		h.Run(0)
	}()
	hub := <-hubc
	if hub == nil {
		return
	}
	defer func() { hub.Stop(); hub.Wait(); <-hubDone }()

	w := startWorkerThread(t, ctx, cfg)
	defer w.stop()

	pub, _ := ctx.NewSocket(zmq.PUB)
	defer pub.Close()
	pub.SetLinger(0)
	pub.Connect(cfg.In[0])
	small := func(i int) string {
		return "condure T" + tnetDict(tnet("from"), tnet("h"), tnet("id"), tnet("0-1-1"), tnet("pad"), tnet(strings.Repeat("s", i%10)))
	}
	// until the subscription has reached the PUB
	for i := 0; ; i++ {
		pub.Send(small(0), 0)
		if len(w.recv(20*time.Millisecond)) > 0 {
			break
		}
		if i > 250 {
			t.Fatalf("no message reached the worker:\n%s", lb.String())
		}
	}
	huge := "condure T" + tnetDict(tnet("from"), tnet("h"), tnet("id"), tnet("0-1-1"), tnet("body"), tnet(strings.Repeat("H", 1<<20)))
	pub.Send(huge, 0)
	after := "condure T" + tnetDict(tnet("from"), tnet("h"), tnet("id"), tnet("0-1-1"), tnet("after"), tnet("yes"))
	for i := 0; ; i++ { // the PUB reconnects and is subscribed again
		pub.Send(after, 0)
		got := w.recv(20 * time.Millisecond)
		for _, m := range got {
			if len(m) > 2000 {
				t.Fatalf("a %d-byte message reached the worker", len(m))
			}
		}
		if len(got) > 0 && got[len(got)-1] == after {
			break
		}
		if i > 250 {
			t.Fatal("nothing reached the worker after the oversized message")
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(lb.String(), "stream in (SUB): a handler connection to "+cfg.In[0]+" closed: the handler went away, or sent a message over 2000 bytes (ZMQ_MAXMSGSIZE)") {
		if time.Now().After(deadline) {
			t.Fatalf("no log line for the closed connection:\n%s", lb.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// connectRig is a worker's sockets in connect mode, on their own thread,
// with a handler PUB bound at the B-in endpoint.
type connectRig struct {
	t   *testing.T
	ctx *zmq.Context
	cfg *Config
	pub *zmq.Socket
	*workerThread
}

func newConnectRig(t *testing.T, limit int64) *connectRig {
	dir := t.TempDir()
	base := "ipc://" + filepath.Join(dir, "c")
	r := &connectRig{t: t,
		cfg: &Config{InstanceID: "condure", Stream: true, Connect: true, HWM: 100, StreamMaxMsg: limit,
			Out: []string{base + "-out"}, OutStream: []string{base + "-out-stream"}, In: []string{base + "-in"}}}
	r.ctx, _ = zmq.NewContext()
	r.bindPub()
	r.workerThread = startWorkerThread(t, r.ctx, r.cfg)
	t.Cleanup(func() {
		r.stop()
		r.pub.Close()
		r.ctx.Term()
	})
	return r
}

func (r *connectRig) bindPub() {
	r.pub, _ = r.ctx.NewSocket(zmq.PUB)
	r.pub.SetLinger(0)
	if err := r.pub.Bind(r.cfg.In[0]); err != nil {
		r.t.Fatal(err)
	}
}

// workerThread runs a worker's sockets on their own locked OS thread, as
// the server does. stop must be called before the context is terminated.
type workerThread struct {
	work chan func(ws *WorkerSockets)
	done chan struct{}
}

func startWorkerThread(t *testing.T, ctx *zmq.Context, cfg *Config) *workerThread {
	w := &workerThread{work: make(chan func(*WorkerSockets)), done: make(chan struct{})}
	go func() {
		runtime.LockOSThread()
		defer close(w.done)
		ws, err := NewWorkerSockets(ctx, cfg, 0)
		if err != nil {
			t.Error(err)
			for range w.work {
			}
			return
		}
		for f := range w.work {
			f(ws)
		}
		ws.Close(0)
	}()
	return w
}

// stop closes the sockets and ends the thread.
func (w *workerThread) stop() { close(w.work); <-w.done }

// recv runs the worker's loop for d as the server does (Watch, a no-op in
// bind mode; receive until EAGAIN) and returns the messages received.
func (w *workerThread) recv(d time.Duration) (got []string) {
	finished := make(chan struct{})
	defer func() { <-finished }()
	w.work <- func(ws *WorkerSockets) {
		defer close(finished)
		deadline := time.Now().Add(d)
		for time.Now().Before(deadline) {
			ws.Watch()
			f, _, ok, _ := ws.In.Recv()
			if !ok {
				time.Sleep(2 * time.Millisecond)
				continue
			}
			got = append(got, string(f))
		}
	}
	return got
}

// sendUntil publishes msg until the worker receives it.
func (r *connectRig) sendUntil(msg string) {
	r.t.Helper()
	for i := 0; i < 250; i++ {
		r.pub.Send(msg, 0)
		got := r.recv(20 * time.Millisecond)
		for _, m := range got {
			if len(m) > int(r.cfg.StreamMaxMsg) {
				r.t.Fatalf("a %d-byte message reached the worker", len(m))
			}
		}
		if len(got) > 0 && got[len(got)-1] == msg {
			return
		}
	}
	r.t.Fatalf("%q did not reach the worker", msg)
}

func marker(s string) string {
	return "condure T" + tnetDict(tnet("from"), tnet("h"), tnet("id"), tnet("0-1-1"), tnet("m"), tnet(s))
}

// With --zclient-connect, libzmq gives up an endpoint for good after a
// frame over ZMQ_MAXMSGSIZE: the worker connects it again, with a warning.
func TestConnectModeReconnectsAfterOversizedMessage(t *testing.T) {
	lb := captureLog(t)
	r := newConnectRig(t, 2000)
	r.sendUntil(marker("before"))
	r.pub.Send("condure T"+tnetDict(tnet("id"), tnet("0-1-1"), tnet("body"), tnet(strings.Repeat("H", 1<<20))), 0)
	r.sendUntil(marker("after"))
	if want := "stream in (SUB): connection to " + r.cfg.In[0] + " closed after a protocol error (a message over 2000 bytes, ZMQ_MAXMSGSIZE?); connecting again"; !strings.Contains(lb.String(), want) {
		t.Fatalf("log:\n%s\nwant %q", lb.String(), want)
	}
}

// A handler that restarts is reconnected by libzmq itself (it announces
// the retry): the worker leaves it alone.
func TestConnectModeHandlerRestartLeftToLibzmq(t *testing.T) {
	lb := captureLog(t)
	r := newConnectRig(t, 2000)
	r.sendUntil(marker("before"))
	r.pub.Close()
	r.recv(300 * time.Millisecond) // events: disconnected, connect retried (repeatedly)
	r.bindPub()
	r.sendUntil(marker("after restart"))
	if strings.Contains(lb.String(), "protocol error") {
		t.Fatalf("a restart was taken for a protocol error:\n%s", lb.String())
	}
}
