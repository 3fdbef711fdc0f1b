package main

import (
	"bytes"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/condure-go/condure/bench/internal/stats"
)

// The engine: a few event loops, each a goroutine locked to its OS thread
// that owns a level-triggered epoll set and raw non-blocking sockets. A
// connection costs one slot of 32 bytes in a table indexed by fd, with no Go
// pointers in it, plus 4 bytes in its loop's fd list; bytes are kept only
// for a response head or frame header split across reads (rare), in a
// per-loop map. Reads land in a per-loop scratch buffer.

type mode uint8

const (
	modeHold mode = iota // open, one exchange, then idle
	modeHTTP             // keep-alive request/response loop
	modeWS               // WebSocket echo loop
)

// Connection states.
const (
	stFree uint8 = iota
	stConnecting
	stWriting // a message is partly written; EPOLLOUT is armed
	stHead    // waiting for a response head
	stBody    // reading a response body (need bytes left)
	stChunked // reading a chunked body: until "0\r\n\r\n"
	stFrame   // waiting for a WebSocket frame header
	stPayload // reading a frame payload (need bytes left)
	stIdle    // hold mode: established and idle
)

// Messages a connection writes.
const (
	msgRequest uint8 = iota
	msgHandshake
	msgFrame
)

type conn struct {
	st   uint8
	msg  uint8
	op   uint8 // opcode of the frame being read
	fl   uint8 // flags below
	wpos int32
	need int64 // body or frame payload bytes still expected
	got  int64 // echo payload bytes received so far
	t0   int64 // ns since start, when the exchange began
}

const (
	flWS    = 1 << iota // a WebSocket connection
	flOut               // EPOLLOUT armed
	flEst               // counted as established
	flFin               // the frame being read is final
	flClose             // the response said Connection: close
)

type config struct {
	mode     mode
	ws       bool
	dst      unix.SockaddrInet4
	sources  [][4]byte
	msgs     [3][]byte
	size     int64 // expected echo size, -1: any (-deflate: the server's compressed size)
	inflight int   // hold: handshakes in progress per loop
	refresh  time.Duration
}

// Counters a loop publishes; main reads them while loops run.
type counters struct {
	opened      atomic.Int64 // sockets opened
	established atomic.Int64 // hold: finished their exchange
	failed      atomic.Int64 // connect or handshake errors, closes before established
	closed      atomic.Int64 // closed by the peer after established
	bad         atomic.Int64 // unexpected status or echo size
	done        atomic.Int64 // exchanges completed while measuring
	refreshed   atomic.Int64 // hold: refresh exchanges
	live        atomic.Int64 // sockets open now
}

type loop struct {
	id      int
	cfg     *config
	conns   []conn // shared table, indexed by fd; a loop touches only its fds
	ep      int
	evs     []unix.EpollEvent
	scratch []byte
	partial map[int32][]byte
	fds     []int32
	srcNext int
	target  atomic.Int64 // hold: sockets to open in all; load: sockets to keep open
	stop    atomic.Bool
	redo    atomic.Int64 // hold: rounds of "one more exchange on every idle connection" asked for
	redone  int64        // rounds done
	measure *atomic.Bool
	hist    stats.Hist
	lastErr atomic.Value // string
	c       counters
	refIdx  int
	retryAt int64              // load modes: no reconnects before this (ns), after a failure
	dst     unix.SockaddrInet4 // the loop's own copy: Connect writes into it
}

var epoch = time.Now()

func nowNS() int64 { return int64(time.Since(epoch)) }

func newLoop(id int, cfg *config, table []conn, measure *atomic.Bool) (*loop, error) {
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	return &loop{
		id: id, cfg: cfg, conns: table, ep: ep,
		evs:     make([]unix.EpollEvent, 512),
		scratch: make([]byte, 64*1024),
		partial: map[int32][]byte{},
		measure: measure,
		srcNext: id,
		dst:     unix.SockaddrInet4{Addr: cfg.dst.Addr, Port: cfg.dst.Port},
	}, nil
}

func (l *loop) setErr(err error) { l.lastErr.Store(err.Error()) }

func (l *loop) run(wg *sync.WaitGroup) {
	defer wg.Done()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	tick := time.Now()
	for !l.stop.Load() {
		l.openMore()
		n, err := unix.EpollWait(l.ep, l.evs, 50)
		if err != nil && err != unix.EINTR {
			l.setErr(err)
			return
		}
		for i := 0; i < n; i++ {
			l.event(l.evs[i].Fd, l.evs[i].Events)
		}
		if r := l.redo.Load(); r > l.redone {
			l.redone = r
			l.refreshAll()
		}
		if l.cfg.refresh > 0 {
			if now := time.Now(); now.Sub(tick) >= 100*time.Millisecond {
				tick = now
				l.refreshSome()
			}
		}
	}
	for _, fd := range l.fds {
		if l.conns[fd].st != stFree {
			l.conns[fd] = conn{}
			unix.Close(int(fd))
		}
	}
	unix.Close(l.ep)
}

// openMore opens sockets up to the target, pacing handshakes in hold mode.
func (l *loop) openMore() {
	t := l.target.Load()
	for {
		if l.cfg.mode == modeHold {
			pending := l.c.opened.Load() - l.c.established.Load() - l.c.failed.Load()
			if l.c.opened.Load() >= t || pending >= int64(l.cfg.inflight) {
				return
			}
		} else if l.c.live.Load() >= t || (l.retryAt != 0 && nowNS() < l.retryAt) {
			return
		}
		if !l.open() {
			return
		}
	}
}

func (l *loop) open() bool {
	l.c.opened.Add(1)
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		l.setErr(err)
		l.c.failed.Add(1)
		return false // EMFILE and friends: stop for this round
	}
	if fd >= len(l.conns) {
		unix.Close(fd)
		l.setErr(errors.New("fd beyond the connection table"))
		l.c.failed.Add(1)
		return false
	}
	if len(l.cfg.sources) > 0 {
		// Take the port at connect time, so one source address serves
		// every (address, port) pair the kernel can make.
		unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_BIND_ADDRESS_NO_PORT, 1)
		src := l.cfg.sources[l.srcNext%len(l.cfg.sources)]
		l.srcNext++
		if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: src}); err != nil {
			unix.Close(fd)
			l.setErr(err)
			l.c.failed.Add(1)
			return true
		}
	}
	unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
	c := &l.conns[fd]
	*c = conn{st: stConnecting, fl: flOut}
	if l.cfg.ws {
		c.fl |= flWS
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLOUT | unix.EPOLLRDHUP, Fd: int32(fd)}
	if err := unix.EpollCtl(l.ep, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		*c = conn{}
		unix.Close(fd)
		l.setErr(err)
		l.c.failed.Add(1)
		return false
	}
	l.c.live.Add(1)
	l.fds = append(l.fds, int32(fd))
	err = unix.Connect(fd, &l.dst)
	if err != nil && err != unix.EINPROGRESS {
		l.setErr(err)
		l.drop(int32(fd), c)
		return err != unix.EADDRNOTAVAIL
	}
	return true
}

func (l *loop) event(fd int32, ev uint32) {
	c := &l.conns[fd]
	switch c.st {
	case stFree:
		return
	case stConnecting:
		if ev&(unix.EPOLLOUT|unix.EPOLLERR|unix.EPOLLHUP) == 0 {
			return
		}
		if e, err := unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_ERROR); err != nil || e != 0 {
			if err == nil {
				err = unix.Errno(e)
			}
			l.setErr(err)
			l.drop(fd, c)
			return
		}
		if c.fl&flWS != 0 {
			l.start(fd, c, msgHandshake)
		} else {
			l.start(fd, c, msgRequest)
		}
		return
	}
	if ev&unix.EPOLLOUT != 0 && c.st == stWriting {
		if !l.writeMore(fd, c) {
			return
		}
	}
	if ev&(unix.EPOLLIN|unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
		l.readAll(fd, c)
	}
}

// start begins an exchange by writing message m.
func (l *loop) start(fd int32, c *conn, m uint8) {
	c.msg, c.wpos, c.t0 = m, 0, nowNS()
	c.st = stWriting
	l.writeMore(fd, c)
}

func (l *loop) writeMore(fd int32, c *conn) bool {
	m := l.cfg.msgs[c.msg]
	for int(c.wpos) < len(m) {
		n, err := unix.Write(int(fd), m[c.wpos:])
		if n > 0 {
			c.wpos += int32(n)
			continue
		}
		if err == unix.EINTR {
			continue
		}
		if err == unix.EAGAIN {
			if c.fl&flOut == 0 {
				l.arm(fd, c, true)
			}
			return true
		}
		l.setErr(err)
		l.drop(fd, c)
		return false
	}
	if c.fl&flOut != 0 {
		l.arm(fd, c, false)
	}
	if c.msg == msgFrame {
		c.st, c.need = stFrame, 0
	} else {
		c.st = stHead
	}
	return true
}

func (l *loop) arm(fd int32, c *conn, out bool) {
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP, Fd: fd}
	if out {
		ev.Events |= unix.EPOLLOUT
		c.fl |= flOut
	} else {
		c.fl &^= flOut
	}
	unix.EpollCtl(l.ep, unix.EPOLL_CTL_MOD, int(fd), &ev)
}

func (l *loop) readAll(fd int32, c *conn) {
	for c.st != stFree {
		n, err := unix.Read(int(fd), l.scratch)
		if n > 0 {
			l.input(fd, c, l.scratch[:n])
			if n < len(l.scratch) {
				return // level-triggered: anything left is reported again
			}
			continue
		}
		if err == unix.EINTR {
			continue
		}
		if err == unix.EAGAIN {
			return
		}
		if err != nil {
			l.setErr(err)
		}
		l.drop(fd, c) // EOF or error
		return
	}
}

// drop closes a connection and counts why. Load modes reopen (openMore).
func (l *loop) drop(fd int32, c *conn) {
	if c.fl&flEst != 0 {
		l.c.closed.Add(1)
	} else if l.cfg.mode == modeHold {
		l.c.failed.Add(1)
	}
	if c.fl&flEst == 0 && l.cfg.mode != modeHold {
		l.retryAt = nowNS() + int64(10*time.Millisecond) // a failing server: do not spin
	}
	*c = conn{}
	delete(l.partial, fd)
	unix.Close(int(fd))
	l.c.live.Add(-1)
	if l.cfg.mode != modeHold {
		// Forget it in the fd list (load modes have few connections).
		for i, f := range l.fds {
			if f == fd {
				l.fds[i] = l.fds[len(l.fds)-1]
				l.fds = l.fds[:len(l.fds)-1]
				break
			}
		}
	}
}

// take returns the bytes to parse: any partial bytes kept for fd plus data.
func (l *loop) take(fd int32, data []byte) []byte {
	if p, ok := l.partial[fd]; ok {
		delete(l.partial, fd)
		return append(p, data...)
	}
	return data
}

func (l *loop) keep(fd int32, b []byte) {
	l.partial[fd] = append([]byte(nil), b...)
}

var crlf2 = []byte("\r\n\r\n")

// input runs the connection's parser over data.
func (l *loop) input(fd int32, c *conn, data []byte) {
	for len(data) > 0 {
		switch c.st {
		case stHead:
			b := l.take(fd, data)
			end := bytes.Index(b, crlf2)
			if end < 0 {
				if len(b) > 64*1024 {
					l.setErr(errHead)
					l.drop(fd, c)
					return
				}
				l.keep(fd, b)
				return
			}
			h, err := parseHead(b[:end+4])
			data = b[end+4:]
			if err != nil {
				l.setErr(err)
				l.drop(fd, c)
				return
			}
			if c.msg == msgHandshake {
				if h.status != 101 || string(h.accept) != wsAccept {
					l.c.bad.Add(1)
					l.setErr(errors.New("handshake refused: status " + itoa(h.status)))
					l.drop(fd, c)
					return
				}
				l.start(fd, c, msgFrame)
				continue
			}
			if h.status < 200 || h.status > 299 {
				l.c.bad.Add(1)
			}
			if h.close {
				c.fl |= flClose
			}
			switch {
			case h.chunked:
				c.st = stChunked
			case h.length > 0:
				c.st, c.need = stBody, h.length
			default:
				l.complete(fd, c)
				if len(data) > 0 {
					return // nothing else was asked for
				}
			}
		case stBody:
			k := min(int64(len(data)), c.need)
			c.need -= k
			data = data[k:]
			if c.need == 0 {
				l.complete(fd, c)
				return
			}
		case stChunked:
			b := l.take(fd, data)
			if bytes.Contains(b, []byte("0\r\n\r\n")) {
				l.complete(fd, c)
				return
			}
			l.keep(fd, b[max(0, len(b)-4):])
			return
		case stFrame:
			b := l.take(fd, data)
			f, ok := parseFrameHead(b)
			if !ok {
				l.keep(fd, b)
				return
			}
			data = b[f.size:]
			if f.op == 8 { // close from the server
				l.drop(fd, c)
				return
			}
			c.op, c.need, c.st = f.op, f.length, stPayload
			c.fl &^= flFin
			if f.fin {
				c.fl |= flFin
			}
			if !l.payload(fd, c, &data) {
				return
			}
		case stPayload:
			if !l.payload(fd, c, &data) {
				return
			}
		case stIdle:
			return // unsolicited bytes: ignore
		default:
			return
		}
	}
}

// payload consumes frame payload bytes from data; at the end of the final
// frame of a data message it completes the exchange. It reports whether the
// connection is still in a state to parse more.
func (l *loop) payload(fd int32, c *conn, data *[]byte) bool {
	k := min(int64(len(*data)), c.need)
	c.need -= k
	if c.op <= 2 {
		c.got += k
	}
	*data = (*data)[k:]
	if c.need > 0 {
		return true
	}
	c.st = stFrame
	if c.fl&flFin != 0 && c.op <= 2 {
		if l.cfg.size >= 0 && c.got != l.cfg.size {
			l.c.bad.Add(1)
		}
		c.got = 0
		l.complete(fd, c)
		return c.st != stFree && c.st != stWriting
	}
	return true
}

// complete ends an exchange: records it and starts the next one.
func (l *loop) complete(fd int32, c *conn) {
	if l.measure.Load() {
		l.hist.Record(nowNS() - c.t0)
		l.c.done.Add(1)
	}
	first := c.fl&flEst == 0
	if first {
		c.fl |= flEst
		l.c.established.Add(1)
	}
	switch l.cfg.mode {
	case modeHold:
		if !first {
			l.c.refreshed.Add(1)
		}
		c.st = stIdle
	case modeHTTP:
		if c.fl&flClose != 0 {
			c.fl &^= flEst // a close the server announced is no error
			l.drop(fd, c)
			return
		}
		l.start(fd, c, msgRequest)
	case modeWS:
		l.start(fd, c, msgFrame)
	}
}

// refreshAll starts a new exchange on every idle connection at once.
func (l *loop) refreshAll() {
	for _, fd := range l.fds {
		if c := &l.conns[fd]; c.st == stIdle {
			if c.fl&flWS != 0 {
				l.start(fd, c, msgFrame)
			} else {
				l.start(fd, c, msgRequest)
			}
		}
	}
}

// refreshSome starts a new exchange on the next slice of idle connections,
// so that each is refreshed about once per cfg.refresh.
func (l *loop) refreshSome() {
	if len(l.fds) == 0 {
		return
	}
	per := int(int64(len(l.fds)) * int64(100*time.Millisecond) / int64(l.cfg.refresh))
	per = max(per, 1)
	for i := 0; i < per; i++ {
		l.refIdx = (l.refIdx + 1) % len(l.fds)
		fd := l.fds[l.refIdx]
		c := &l.conns[fd]
		if c.st != stIdle {
			continue
		}
		if c.fl&flWS != 0 {
			l.start(fd, c, msgFrame)
		} else {
			l.start(fd, c, msgRequest)
		}
	}
}

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	neg := n < 0
	if neg {
		n = -n
	}
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			break
		}
	}
	if neg {
		i--
		b[i] = '-'
	}
	return string(b[i:])
}
