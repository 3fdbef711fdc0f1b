package server

import (
	"net/netip"
)

// connFlag is a transport flag of a client connection.
type connFlag uint16

// Connection flags: the socket, its readiness and the TLS layer.
const (
	fCanRead      connFlag = 1 << iota // the kernel may hold bytes not read yet (edge seen, no EAGAIN since)
	fQueued                            // on the run queue
	fPeerV6                            // peerIP holds an IPv6 address
	fHasPeer                           // peer address known (TCP)
	fReqConn                           // accepted on a req-mode listener
	fTLS                               // TLS connection: I/O goes through tlsSess
	fTLSQueued                         // TLS: handshake input waiting for a running slot (tls_handshake.go)
	fHandshake                         // TLS handshake not finished: hello, queued, running or parked (tls_handshake.go)
	fHeadExtended                      // idle deadline passed while a head arrived: idle timer extended to 60 s
	fPeerFin                           // the client sent FIN (half-close): it sends nothing more, it may still read
	fCloseWait                         // WebSocket close handshake: the inactivity timer holds its 5 s (ws.go closeWait)
	fH2                                // HTTP/2: frames, its block in the h2 slab (h2conn.go)
)

// connKeep are the flags that survive from one request to the next on a
// persistent connection.
const connKeep = fCanRead | fQueued | fPeerV6 | fHasPeer | fReqConn | fTLS | fPeerFin | fH2

// Timers. A connection has two, at conn*connTimers+kind; a session has one,
// at connTimerIDs+session (timerIDs). Every timeout here is seconds long.
const (
	connTimers = 2
	timerIdle  = 0 // conn: idle keep-alive connection (60 s, or --stream-timeout), TLS handshake (10 s), req-mode cycle (--req-timeout)
	timerInact = 1 // conn: client inactivity (--stream-timeout); WebSocket close handshake (5 s)
)

// conn is one client connection: the transport. It holds no Go pointers
// (buffers are pool references, sessions slab indices), so a slab of a
// million costs the garbage collector nothing to scan. An HTTP/1
// connection carries at most one session at a time (sess), and none
// between requests; the list through session.next is there for protocols
// that multiplex (docs/design.md "Connections and sessions").
type conn struct {
	fd       int32
	rbuf     int32 // read block reference, 0 = none
	wbuf     int32 // write block reference, 0 = none
	rstart   int32 // unprocessed input is rbuf[rstart:rend]
	rend     int32
	wstart   int32 // unsent output is wbuf[wstart:wend]
	wend     int32
	sess     int32 // first session of the connection, slot+1; 0 = none
	peerIP   [16]byte
	peerPort uint16
	flags    connFlag
	listener uint8
	h2hi     uint8  // HTTP/2: block index in the h2 slab, high 8 of 24 bits (the slot's spare bytes)
	h2lo     uint16 // and its low 16 bits
}

func (c *conn) h2ref() int32       { return int32(c.h2hi)<<16 | int32(c.h2lo) }
func (c *conn) setH2ref(ref int32) { c.h2hi, c.h2lo = uint8(ref>>16), uint16(ref) }

func (c *conn) has(f connFlag) bool { return c.flags&f != 0 }

func (c *conn) mode() int {
	if c.has(fReqConn) {
		return modeReq
	}
	return modeStream
}

// storePeer records the client's address for peer-address/peer-port.
func (c *conn) storePeer(peer netip.AddrPort) {
	switch a := peer.Addr(); {
	case a.Is4():
		*(*[4]byte)(c.peerIP[:4]) = a.As4()
		c.peerPort = peer.Port()
		c.flags |= fHasPeer
	case a.Is6():
		c.peerIP = a.As16()
		c.peerPort = peer.Port()
		c.flags |= fHasPeer | fPeerV6
	}
}

// appendPeerIP appends the peer's IP in text form (IPv6 without brackets).
func (c *conn) appendPeerIP(dst []byte) []byte {
	if c.has(fPeerV6) {
		return netip.AddrFrom16(c.peerIP).Unmap().AppendTo(dst)
	}
	return netip.AddrFrom4([4]byte(c.peerIP[:4])).AppendTo(dst)
}
