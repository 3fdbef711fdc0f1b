package server

import (
	"bytes"

	"github.com/condure-go/condure/http1"
	"github.com/condure-go/condure/internal/logging"
	"github.com/condure-go/condure/websocket"
	"github.com/condure-go/condure/zhttp"
)

// sessionKind is which machine runs a session.
type sessionKind uint8

const (
	kindStream sessionKind = iota // stream-mode HTTP (stream_http.go)
	kindReq                       // req-mode HTTP (req_http.go)
	kindWS                        // WebSocket (ws.go)
	kindH2                        // an HTTP/2 stream, stream mode (h2stream.go)
)

// framing is how a response's body bytes go to the client (§5.3).
type framing uint8

const (
	framingNone    framing = iota // none: HEAD, 204, 304, or a response of the server's own, written whole
	framingLength                 // Content-Length: respLeft counts down, never more is written (§12 #7)
	framingChunked                // chunked, at most maxChunk per chunk
	framingClose                  // as they come; the body ends when the connection closes (§12 #6)
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
	phase     uint8    // the kind's phase type (phases.go); written by toStream, toReq, toWS only
	resume    uint8    // phase to return to after a handoff
	minor     uint8    // HTTP/1.minor of the request
	wsOutOp   uint8    // WebSocket: opcode of the handler message being sent in parts, 0 = none
	framing   framing  // how response body bytes are written
	queued    uint16   // WebSocket: handler messages waiting in the write buffer
	wsAccept  [28]byte // WebSocket; an HTTP/2 stream keeps its h2stream here (h2stream.go)
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
	w.m.mSession(ss)
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
	if s.kind == kindWS {
		w.inflPut(s)
	}
	w.addrs.unref(s.addr)
	s.addr = 0
	if s.kind == kindH2 {
		w.h2pool(s).put(s.bbuf) // response bytes the windows held back (h2stream.go)
	} else {
		w.bodyBufs.put(s.bbuf) // WebSocket: inflated bytes a gate refused (ws_deflate.go)
	}
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

// handlerPacket applies one handler packet to the stream-mode or WebSocket
// session it names (§3.4, §3.6): the checks every packet passes (no
// handoff pending, seq, from), then the session's machine. Req-mode
// replies go to reqReply instead (no seq there).
func (w *Worker) handlerPacket(ss int32, s *session, c *conn, p *zhttp.Packet, id *zhttp.IDSeq) {
	if logging.Enabled(logging.LevelDebug) {
		logging.Debug(targetConn, "conn %s: handle packet: %s", id.ID, typeLabel(p.Type))
	}
	if s.has(fHandoffPending) {
		w.violation(ss, s, c, "packet during handoff")
		return
	}
	// Sequence: optional from handlers; when absent the expected value does
	// not advance (§3.5, §12 #13).
	if id.HasSeq {
		if id.Seq != s.inSeq {
			w.violation(ss, s, c, "bad seq")
			return
		}
		s.inSeq++
	}
	if len(p.From) > zhttp.MaxFromLen {
		w.violation(ss, s, c, "from too long")
		return
	}
	// Every accepted packet names the current handler (handoff, respond
	// from another process).
	if s.addr == 0 || !bytes.Equal(w.addrs.name(s.addr), p.From) {
		waited := w.bp.on[ss] >= gateAddr0
		w.unwait(ss)
		w.addrs.unref(s.addr)
		s.addr = w.addrs.ref(p.From)
		if waited { // what it waited to send now goes to the new address
			w.wait(ss, addrGate(s.addr))
		}
	}
	w.timers.Schedule(w.sessTimer(ss), w.now+w.sessionTicks)
	if s.paused() {
		s.unpause()
	}
	switch p.Type {
	case zhttp.TypeData, zhttp.TypeCredit, zhttp.TypePing, zhttp.TypePong:
		s.credits = addCredits(s.credits, p.Credits)
	}
	if p.Type >= zhttp.TypeUnknown {
		w.violation(ss, s, c, "unexpected packet type")
		return
	}
	if s.kind == kindWS {
		w.wsPacket(ss, s, c, p)
		return
	}
	if s.kind == kindH2 {
		w.h2Packet(ss, s, c, p, id)
		return
	}
	w.streamPacket(ss, s, c, p, id)
}
