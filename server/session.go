package server

import (
	"github.com/condure-go/condure/http1"
	"github.com/condure-go/condure/websocket"
)

// phase is where a session stands (reference.md §4.1, §4.3, §4.4).
type phase uint8

const (
	stRecvHeader    phase = iota // request head parsed, its packet not sent yet (waiting on a gate, or being answered by the server)
	stAwaitHandler               // request sent on PUSH; no handler packet yet
	stRecvBody                   // handler known; forwarding the request body as credits allow
	stAwaitResponse              // request complete; waiting for the response
	stSendBody                   // response started; streaming it to the client
	stHandoff                    // paused between handoff-proceed and the next handler packet (§4.7)
	stReqBody                    // req mode: reading the whole request body (§4.3)
	stReqAwait                   // req mode: request sent on the DEALER, waiting for the reply
	stWsAwait                    // WebSocket request sent; waiting for the handler's 101 (§6.2)
	stWsOpen                     // WebSocket open both ways
	stWsPeerClosed               // client sent close: no more reading, waiting for the handler's close
	stWsClosing                  // handler sent close: still forwarding client frames until the client's close
	stWsFinished                 // both closes seen: the TCP connection closes once output is written
)

var phaseNames = [...]string{"recv-header", "await-handler", "recv-body", "await-response", "send-body", "handoff", "req-body", "req-await",
	"ws-await", "ws-open", "ws-peer-closed", "ws-closing", "ws-finished"}

func (p phase) String() string { return phaseNames[p] }

// sessionKind is which machine runs a session.
type sessionKind uint8

const (
	kindStream sessionKind = iota // stream-mode HTTP (stream_http.go)
	kindReq                       // req-mode HTTP (req_http.go)
	kindWS                        // WebSocket (ws.go)
)

// sessFlag is a flag of a session.
type sessFlag uint32

// Session flags.
const (
	fKeepAlive      sessFlag = 1 << iota // request allows persistence (§5.4)
	fHead                                // HEAD request: response carries no body
	fExpect100                           // 100 Continue owed when the handler first answers
	fChunkedReq                          // request body is chunked
	fReqDone                             // request body fully read
	fRespStarted                         // response head written
	fRespLast                            // handler sent the last body part
	fChunkedResp                         // response body is chunked
	fLengthResp                          // response has a Content-Length (respLeft counts down)
	fNoBody                              // response body bytes are discarded (HEAD, 204, 304)
	fCloseAfter                          // close once the response is written
	fHandoffPending                      // handoff-proceed owed once writes are flushed
	// bits wsCtlShift and up: WebSocket control packets since the handler last spoke (ws.go)
)

// session is one ZHTTP session (a request and its response, or a
// WebSocket) on a connection. Its id, "<worker>-<slot>-<counter>", names
// its slot in the worker's session slab. Pointer-free like conn.
type session struct {
	conn      int32  // owning connection's slot
	next      int32  // next session of the same connection, slot+1; 0 = none
	idCounter uint64 // the counter part of the session id
	inSeq     int64  // next seq expected from the handler
	outSeq    int64  // next seq to send
	credits   int64  // request-body bytes (WebSocket: message bytes) the handler will take
	bodyLeft  int64  // Content-Length request body bytes not read yet
	respLeft  int64  // Content-Length response bytes not written yet
	owed      int64  // response body bytes written but not credited yet
	chunk     http1.ChunkedDecoder
	reader    websocket.Reader // WebSocket: client frame decoder
	addr      int32            // handler address reference, 0 = not known yet
	bbuf      int32            // req mode: block holding the request head and body, 0 = none
	blen      int32            // bytes in bbuf
	hlen      int32            // head bytes at the start of bbuf
	flags     sessFlag
	kind      sessionKind
	phase     phase
	resume    phase  // phase to return to after a handoff
	minor     uint8  // HTTP/1.minor of the request
	wsOutOp   uint8  // WebSocket: opcode of the handler message being sent in parts, 0 = none
	queued    uint16 // WebSocket: handler messages waiting in the write buffer
	wsAccept  [28]byte
}

func (s *session) has(f sessFlag) bool { return s.flags&f != 0 }

// newSession allocates a session on connection cs, first in its list.
func (w *Worker) newSession(cs int32, c *conn, kind sessionKind) (int32, *session, bool) {
	ss, _, ok := w.sessions.Alloc()
	if !ok {
		return 0, nil, false
	}
	s := w.sessions.Get(ss)
	s.conn = cs
	s.kind = kind
	s.next = c.sess
	c.sess = ss + 1
	return ss, s, true
}

// connSession returns the connection's (first) session, if any.
func (w *Worker) connSession(c *conn) (int32, *session, bool) {
	if c.sess == 0 {
		return 0, nil, false
	}
	return c.sess - 1, w.sessions.Get(c.sess - 1), true
}

// freeSession ends session ss of connection c without telling anyone: it
// leaves its gate, its handler address and its timer, and its slot is
// freed (its id names nothing from now on).
func (w *Worker) freeSession(c *conn, ss int32, s *session) {
	w.unwait(ss)
	w.addrs.unref(s.addr)
	s.addr = 0
	w.bodyBufs.put(s.bbuf)
	s.bbuf = 0
	w.timers.Cancel(w.sessTimer(ss))
	// unlink from the connection's list
	for p := &c.sess; *p != 0; {
		if *p == ss+1 {
			*p = s.next
			break
		}
		p = &w.sessions.Get(*p - 1).next
	}
	w.sessions.Free(ss)
}

// connTimer and sessTimer are timer ids.
func connTimer(cs int32, kind int32) int32 { return cs*connTimers + kind }
func (w *Worker) sessTimer(ss int32) int32 { return int32(w.conns.Cap())*connTimers + ss }
