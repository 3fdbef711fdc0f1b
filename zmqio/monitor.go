package zmqio

import (
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	zmq "github.com/pebbe/zmq4"

	"github.com/condure-go/condure/internal/logging"
)

// The connections of the sockets that receive from handlers are watched
// through zmq_socket_monitor, for what ZMQ_MAXMSGSIZE (limits.go) does to
// them: libzmq closes a connection that brings a frame over the limit and
// says nothing else about it, the same DISCONNECTED event as when a handler
// goes away. So:
//
//   - A bound socket (the hub's, or a lone worker's) logs every handler
//     connection that closes, naming both causes; the handler reconnects
//     by itself.
//   - A connecting socket (--zclient-connect) is where it matters most: for
//     a protocol error libzmq gives the endpoint up for good, where after a
//     handler restart it announces a retry (CONNECT_RETRIED) at once. An
//     endpoint that saw no retry within reconnectCheck is connected again
//     here, with a warning: without it one oversized message would cut the
//     worker off from that handler until restarted.
//
// libzmq sends events from its I/O threads with blocking sends to the
// monitor's PAIR, so the owner drains them whenever the PAIR's ZMQ_FD
// fires, and only the events acted on are asked for.

const (
	// 100 ms: libzmq announces a reconnect within microseconds of the
	// disconnect; an endpoint still silent after this long was dropped.
	reconnectCheck = 100 * time.Millisecond
	// A closing handler connection is logged at most this often per socket.
	disconnectLogInterval = time.Second
)

var monitorSeq atomic.Uint64 // unique inproc names for monitor endpoints

// monitor watches one socket's connections; used by the socket's owner.
type monitor struct {
	sock     *Sock
	pair     *zmq.Socket // receives the events
	fd       int
	what     string   // the socket, for log lines: "stream in (SUB)"
	limit    int64    // its ZMQ_MAXMSGSIZE
	connects []string // endpoints it connected to; nil when bound
	down     map[string]time.Time
	log      logging.Limiter
}

// watch starts monitoring s (after its ZMQ_MAXMSGSIZE is set, before it
// binds or connects). connects lists the endpoints of a connecting socket.
func watch(ctx *zmq.Context, s *Sock, what string, limit int64, connects []string) (*monitor, error) {
	ep := "inproc://condure-monitor-" + strconv.FormatUint(monitorSeq.Add(1), 10)
	events := zmq.EVENT_DISCONNECTED
	if connects != nil {
		events |= zmq.EVENT_CONNECT_RETRIED
	}
	if err := s.s.Monitor(ep, events); err != nil {
		return nil, fmt.Errorf("monitor %s: %w", what, err)
	}
	pair, err := ctx.NewSocket(zmq.PAIR)
	if err == nil {
		if err = pair.Connect(ep); err != nil {
			pair.Close()
		}
	}
	if err != nil {
		s.s.Monitor("", 0)
		return nil, fmt.Errorf("monitor %s: %w", what, err)
	}
	fd, err := pair.GetFd()
	if err != nil {
		s.s.Monitor("", 0)
		pair.Close()
		return nil, fmt.Errorf("monitor %s: %w", what, err)
	}
	m := &monitor{sock: s, pair: pair, fd: fd, what: what, limit: limit, connects: connects,
		down: map[string]time.Time{}, log: *logging.NewLimiter(disconnectLogInterval)}
	s.mon = m
	return m, nil
}

// Fd is the ZMQ_FD of the monitor's PAIR: register it edge-triggered and
// call drain when it fires.
func (m *monitor) Fd() int { return m.fd }

// drain handles the queued events until EAGAIN (which re-arms the fd).
func (m *monitor) drain(now time.Time) {
	for {
		ev, addr, _, err := m.pair.RecvEvent(zmq.DONTWAIT)
		if err != nil {
			return // EAGAIN, or the context is closing
		}
		switch ev {
		case zmq.EVENT_DISCONNECTED:
			if m.connects == nil {
				if m.log.Allow(now) {
					logging.Info(hubTarget, "%s: a handler connection to %s closed: the handler went away, or sent a message over %d bytes (ZMQ_MAXMSGSIZE)%s",
						m.what, addr, m.limit, m.log.Note())
				}
			} else if _, seen := m.down[addr]; !seen {
				m.down[addr] = now
			}
		case zmq.EVENT_CONNECT_RETRIED:
			delete(m.down, addr) // libzmq reconnects by itself
		}
	}
}

// check connects again the endpoints libzmq gave up on; it returns how long
// until the next one is due (0: none waiting).
func (m *monitor) check(now time.Time) time.Duration {
	var next time.Duration
	for addr, at := range m.down {
		if wait := reconnectCheck - now.Sub(at); wait > 0 {
			if next == 0 || wait < next {
				next = wait
			}
			continue
		}
		delete(m.down, addr)
		m.reconnect(addr)
	}
	return next
}

// reconnect disconnects and connects again the endpoint an event named:
// itself, or the socket's only endpoint when the name differs.
func (m *monitor) reconnect(addr string) {
	ep := ""
	for _, c := range m.connects {
		if c == addr {
			ep = c
		}
	}
	if ep == "" && len(m.connects) == 1 {
		ep = m.connects[0]
	}
	if ep == "" {
		if m.log.Allow(time.Now()) {
			logging.Error(hubTarget, "%s: connection to %s closed after a protocol error and not reconnected: not one of %v%s",
				m.what, addr, m.connects, m.log.Note())
		}
		return
	}
	if m.log.Allow(time.Now()) {
		logging.Warn(hubTarget, "%s: connection to %s closed after a protocol error (a message over %d bytes, ZMQ_MAXMSGSIZE?); connecting again%s",
			m.what, ep, m.limit, m.log.Note())
	}
	m.sock.s.Disconnect(ep) // the session is gone; this drops its endpoint
	if err := m.sock.s.Connect(ep); err != nil {
		logging.Error(hubTarget, "%s: connect %s: %v", m.what, ep, err)
	}
}

// close stops monitoring; the socket itself is still open.
func (m *monitor) close() {
	m.sock.s.Monitor("", 0) // no more events are sent
	m.pair.SetLinger(0)
	m.pair.Close()
}
