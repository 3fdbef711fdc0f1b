package server

import (
	"net/netip"

	"github.com/condure-go/condure/http1"
	"github.com/condure-go/condure/websocket"
)

// connState is where a stream-mode HTTP session stands (reference.md §4.1).
type connState uint8

const (
	stRecvHeader    connState = iota // waiting for (the rest of) a request head
	stAwaitHandler                   // request sent on PUSH; no handler packet yet
	stRecvBody                       // handler known; forwarding the request body as credits allow
	stAwaitResponse                  // request complete; waiting for the response
	stSendBody                       // response started; streaming it to the client
	stHandoff                        // paused between handoff-proceed and the next handler packet (§4.7)
	stReqBody                        // req mode: reading the whole request body (§4.3)
	stReqAwait                       // req mode: request sent on the DEALER, waiting for the reply
	stWsAwait                        // WebSocket request sent; waiting for the handler's 101 (§6.2)
	stWsOpen                         // WebSocket open both ways
	stWsPeerClosed                   // client sent close: no more reading, waiting for the handler's close
	stWsClosing                      // handler sent close: still forwarding client frames until the client's close
	stWsFinished                     // both closes seen: the TCP connection closes once output is written
	stTLSHandshake                   // TLS handshake: hello, queued, running or parked (tls_handshake.go)
)

var stateNames = [...]string{"recv-header", "await-handler", "recv-body", "await-response", "send-body", "handoff", "req-body", "req-await",
	"ws-await", "ws-open", "ws-peer-closed", "ws-closing", "ws-finished", "tls-handshake"}

func (s connState) String() string { return stateNames[s] }

// Connection flags.
const (
	fCanRead        uint32 = 1 << iota // the kernel may hold bytes not read yet (edge seen, no EAGAIN since)
	fQueued                            // on the run queue
	fKeepAlive                         // request allows persistence (§5.4)
	fHead                              // HEAD request: response carries no body
	fExpect100                         // 100 Continue owed when the handler first answers
	fChunkedReq                        // request body is chunked
	fReqDone                           // request body fully read
	fRespStarted                       // response head written
	fRespLast                          // handler sent the last body part
	fChunkedResp                       // response body is chunked
	fLengthResp                        // response has a Content-Length (respLeft counts down)
	fNoBody                            // response body bytes are discarded (HEAD, 204, 304)
	fCloseAfter                        // close once the response is written
	fHandoffPending                    // handoff-proceed owed once writes are flushed
	fPeerV6                            // peerIP holds an IPv6 address
	fHasPeer                           // peer address known (TCP)
	fReq                               // req-mode connection
	fWS                                // WebSocket session
	fTLS                               // TLS connection: I/O goes through tlsSess
	fTLSQueued                         // TLS: handshake input waiting for a running slot (tls_handshake.go)
	fHeadExtended                      // idle deadline passed while a head arrived: session timer extended to 60 s
	fPeerFin                           // the client sent FIN (half-close): it sends nothing more, it may still read
)

// Timers per connection slot: id = slot*timersPerConn + kind.
const (
	timersPerConn = 2
	timerSession  = 0 // handler silence, or idle keep-alive connection (60 s)
	timerStream   = 1 // client inactivity (--stream-timeout)
)

// conn is one client connection. It holds no Go pointers (buffers are pool
// references, the handler address an index), so a slab of a million costs the
// garbage collector nothing to scan.
type conn struct {
	fd        int32
	state     connState
	resume    connState // state to return to after a handoff
	listener  uint8
	minor     uint8 // HTTP/1.minor of the current request
	flags     uint32
	idCounter uint64 // the counter part of the session id
	inSeq     int64  // next seq expected from the handler
	outSeq    int64  // next seq to send
	addr      int32  // handler address reference, 0 = not known yet
	rbuf      int32  // read block reference, 0 = none
	wbuf      int32  // write block reference, 0 = none
	bbuf      int32  // req mode: block holding the request head and body, 0 = none
	blen      int32  // bytes in bbuf
	hlen      int32  // head bytes at the start of bbuf
	rstart    int32  // unprocessed input is rbuf[rstart:rend]
	rend      int32
	wstart    int32 // unsent output is wbuf[wstart:wend]
	wend      int32
	credits   int64 // request-body bytes the handler will take
	bodyLeft  int64 // Content-Length request body bytes not read yet
	respLeft  int64 // Content-Length response bytes not written yet
	owed      int64 // response body bytes written but not credited yet
	chunk     http1.ChunkedDecoder
	peerPort  uint16
	peerIP    [16]byte
	queued    uint16           // WebSocket: handler messages waiting in the write buffer
	wsOutOp   uint8            // WebSocket: opcode of the handler message being sent in parts, 0 = none
	wsAccept  [28]byte         // WebSocket: Sec-WebSocket-Accept for the pending handshake
	reader    websocket.Reader // WebSocket: client frame decoder
}

func (c *conn) has(f uint32) bool { return c.flags&f != 0 }

func (c *conn) mode() int {
	if c.has(fReq) {
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
