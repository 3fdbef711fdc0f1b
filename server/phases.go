package server

import (
	"fmt"
	"os"
	"time"

	"github.com/condure-go/condure/internal/logging"
)

// Session phases, one type per kind, and the one function per kind that
// every phase change goes through (docs/design.md "Connections and
// sessions"). The tables below list the allowed changes; a change not in
// its table is a bug: tests panic (strictPhases), a running server logs it
// (rate-limited) and makes the change anyway, so a missing table row costs
// a log line, not a connection. Phase 0 of every kind is "new": the
// request head is parsed, its packet not sent yet; ids of new sessions
// name nothing (lookup).

// streamPhase is where a stream-mode HTTP session stands (§4.1, stream_http.go).
type streamPhase uint8

const (
	streamNew           streamPhase = iota // head parsed, request not sent (waiting for room, or answered by the server)
	streamAwaitHandler                     // request sent on PUSH; no handler packet yet
	streamRecvBody                         // handler known; forwarding the request body as credits allow
	streamAwaitResponse                    // request complete; waiting for the response
	streamSendBody                         // response started; streaming it to the client
	streamHandoff                          // paused between handoff-proceed and the next handler packet (§4.7)
	numStreamPhases
)

// h2Phase is where an HTTP/2 stream stands (stream mode, h2stream.go):
// stream mode's phases, over frames.
type h2Phase uint8

const (
	h2New           h2Phase = iota // HEADERS decoded, request not sent (or answered by the server)
	h2AwaitHandler                 // request sent on PUSH; no handler packet yet
	h2RecvBody                     // handler known; DATA forwarded as credits allow
	h2AwaitResponse                // request complete; waiting for the response
	h2SendBody                     // response started
	h2Handoff                      // paused between handoff-proceed and the next handler packet (§4.7)
	numH2Phases
)

// reqPhase is where a req-mode HTTP session stands (§4.3, req_http.go).
type reqPhase uint8

const (
	reqNew      reqPhase = iota // head parsed, request not sent
	reqBody                     // reading the whole request body
	reqAwait                    // request sent on the DEALER, waiting for the reply
	reqSendBody                 // writing the response
	numReqPhases
)

// wsPhase is where a WebSocket session stands (§4.4, §6, ws.go).
type wsPhase uint8

const (
	wsNew        wsPhase = iota // upgrade request parsed, not sent
	wsAwait                     // upgrade sent; waiting for the handler's 101 (§6.2)
	wsOpen                      // open both ways
	wsPeerClosed                // client sent close: no more reading, waiting for the handler's close
	wsClosing                   // handler sent close: still forwarding client frames until the client's close
	wsFinished                  // both closes seen: the TCP connection closes once output is written
	wsRespond                   // no handshake: an HTTP response (refusal or error) is written, then the connection closes
	wsHandoff                   // paused between handoff-proceed and the next handler packet (§4.7)
	numWSPhases
)

var (
	streamPhaseNames = [numStreamPhases]string{"new", "await-handler", "recv-body", "await-response", "send-body", "handoff"}
	reqPhaseNames    = [numReqPhases]string{"new", "req-body", "req-await", "send-body"}
	h2PhaseNames     = [numH2Phases]string{"new", "await-handler", "recv-body", "await-response", "send-body", "handoff"}
	wsPhaseNames     = [numWSPhases]string{"new", "ws-await", "ws-open", "ws-peer-closed", "ws-closing", "ws-finished", "ws-respond", "ws-handoff"}
)

func (p streamPhase) String() string { return streamPhaseNames[p] }
func (p reqPhase) String() string    { return reqPhaseNames[p] }
func (p wsPhase) String() string     { return wsPhaseNames[p] }
func (p h2Phase) String() string     { return h2PhaseNames[p] }

// Allowed transitions: row from, bit to. A handoff pauses a session in
// any phase the handler may send handoff-start in, and resumes it in the
// phase it paused.
var streamTable = [numStreamPhases]uint16{
	streamNew:           bits(streamAwaitHandler, streamSendBody),
	streamAwaitHandler:  bits(streamRecvBody, streamAwaitResponse, streamSendBody), // any first packet leaves it, handoff-start too
	streamRecvBody:      bits(streamAwaitResponse, streamSendBody, streamHandoff),
	streamAwaitResponse: bits(streamSendBody, streamHandoff),
	streamSendBody:      bits(streamHandoff),
	streamHandoff:       bits(streamRecvBody, streamAwaitResponse, streamSendBody),
}

var h2Table = [numH2Phases]uint16{
	h2New:           bits(h2AwaitHandler, h2AwaitResponse, h2SendBody), // await-response: req mode, sent on the DEALER
	h2AwaitHandler:  bits(h2RecvBody, h2AwaitResponse, h2SendBody),     // send-body: a 504 or 502 of the server's own
	h2RecvBody:      bits(h2AwaitResponse, h2SendBody, h2Handoff),
	h2AwaitResponse: bits(h2SendBody, h2Handoff),
	h2SendBody:      bits(h2Handoff),
	h2Handoff:       bits(h2RecvBody, h2AwaitResponse, h2SendBody),
}

var reqTable = [numReqPhases]uint16{
	reqNew:   bits(reqBody, reqAwait, reqSendBody),
	reqBody:  bits(reqAwait, reqSendBody),
	reqAwait: bits(reqSendBody),
}

var wsTable = [numWSPhases]uint16{
	wsNew:        bits(wsAwait), // a session becomes a WebSocket once its upgrade is valid; refusals before are stream-kind
	wsAwait:      bits(wsOpen, wsRespond, wsHandoff),
	wsOpen:       bits(wsPeerClosed, wsClosing, wsFinished, wsHandoff),
	wsPeerClosed: bits(wsFinished, wsHandoff),
	wsClosing:    bits(wsFinished, wsHandoff),
	wsHandoff:    bits(wsAwait, wsOpen, wsPeerClosed, wsClosing, wsRespond),
}

func bits[P ~uint8](ps ...P) uint16 {
	var b uint16
	for _, p := range ps {
		b |= 1 << p
	}
	return b
}

// Test hooks: strictPhases makes a transition outside its table panic
// (set by the package's tests, and for the binary by
// CONDURE_STRICT_PHASES=1, which the end-to-end suite can run under);
// onTransition, when set, sees every transition (the phase tests check
// that each table row was taken).
var (
	strictPhases = os.Getenv("CONDURE_STRICT_PHASES") == "1"
	onTransition func(kind sessionKind, from, to uint8)
	phaseLog     = logging.NewLimiter(time.Second)
)

// stream, req and ws read the phase of a session of that kind.
func (s *session) stream() streamPhase { return streamPhase(s.phase) }
func (s *session) req() reqPhase       { return reqPhase(s.phase) }
func (s *session) ws() wsPhase         { return wsPhase(s.phase) }
func (s *session) h2Phase() h2Phase    { return h2Phase(s.phase) }

// toStream, toReq and toWS are the only writers of a session's phase
// (besides an undo that restores a saved session whole).
func (s *session) toStream(p streamPhase) { s.move(kindStream, streamTable[s.phase], uint8(p)) }
func (s *session) toReq(p reqPhase)       { s.move(kindReq, reqTable[s.phase], uint8(p)) }
func (s *session) toWS(p wsPhase)         { s.move(kindWS, wsTable[s.phase], uint8(p)) }
func (s *session) toH2(p h2Phase)         { s.move(kindH2, h2Table[s.phase], uint8(p)) }

func (s *session) move(kind sessionKind, allowed uint16, to uint8) {
	if s.kind != kind || allowed&(1<<to) == 0 {
		badTransition(s, kind, to)
	}
	if onTransition != nil {
		onTransition(kind, s.phase, to)
	}
	s.phase = to
}

func badTransition(s *session, kind sessionKind, to uint8) {
	msg := fmt.Sprintf("session of kind %d: phase %s -> %s not in its table", s.kind, s.phaseName(), phaseName(kind, to))
	if strictPhases {
		panic(msg)
	}
	if phaseLog.Allow(time.Now()) {
		logging.Error(targetConn, "%s (a bug)%s", msg, phaseLog.Note())
	}
}

// isNew reports a session whose request has not been sent: its id names
// nothing yet, and its handler is not known.
func (s *session) isNew() bool { return s.phase == 0 }

// responding reports a session writing an HTTP response (the handler's or
// the server's own) that ends the session.
func (s *session) responding() bool {
	switch s.kind {
	case kindStream:
		return s.stream() == streamSendBody
	case kindReq:
		return s.req() == reqSendBody
	case kindH2:
		return s.h2Phase() == h2SendBody
	}
	return s.ws() == wsRespond
}

// paused reports a session paused for a handoff.
func (s *session) paused() bool {
	return (s.kind == kindStream && s.stream() == streamHandoff) || (s.kind == kindWS && s.ws() == wsHandoff) ||
		(s.kind == kindH2 && s.h2Phase() == h2Handoff)
}

// toRespond moves a session of any kind to writing a response of the
// server's own.
func (s *session) toRespond() {
	switch s.kind {
	case kindStream:
		s.toStream(streamSendBody)
	case kindReq:
		s.toReq(reqSendBody)
	case kindH2:
		s.toH2(h2SendBody)
	default:
		s.toWS(wsRespond)
	}
}

// pause and unpause are the handoff's transitions (§4.7).
func (s *session) pause() {
	s.resume = s.phase
	if s.kind == kindWS {
		s.toWS(wsHandoff)
	} else if s.kind == kindH2 {
		s.toH2(h2Handoff)
	} else {
		s.toStream(streamHandoff)
	}
}

func (s *session) unpause() {
	if s.kind == kindWS {
		s.toWS(wsPhase(s.resume))
	} else if s.kind == kindH2 {
		s.toH2(h2Phase(s.resume))
	} else {
		s.toStream(streamPhase(s.resume))
	}
}

func (s *session) phaseName() string { return phaseName(s.kind, s.phase) }

func phaseName(kind sessionKind, p uint8) string {
	switch kind {
	case kindStream:
		return streamPhase(p).String()
	case kindReq:
		return reqPhase(p).String()
	case kindH2:
		return h2Phase(p).String()
	}
	return wsPhase(p).String()
}
