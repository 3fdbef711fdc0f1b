package server

import (
	"testing"
	"time"

	"github.com/condure-go/condure/zhttp"
)

// The metrics hooks in the session machines, in-process (rig_test.go): each
// case runs a session to its end with --prometheus on and checks the close
// cause and kind its connection was counted under, and that nothing is
// left open.

func metricsRig(t *testing.T, edit func(*Options)) *rig {
	return newRig(t, func(o *Options) {
		o.Metrics = true
		if edit != nil {
			edit(o)
		}
	})
}

// wantClosedAs checks that exactly one connection closed, as kind with
// cause, and none is left open.
func wantClosedAs(t *testing.T, r *rig, kind, cause int) {
	t.Helper()
	s := &r.w.m.s
	var n uint64
	for k := range s.Closed {
		for c := range s.Closed[k] {
			n += s.Closed[k][c]
		}
	}
	if n != 1 || s.Closed[kind][cause] != 1 {
		t.Fatalf("closed %v, want one %s/%s", s.Closed, KindNames[kind], CauseNames[cause])
	}
	for li := range r.w.listeners {
		if s.Open[li] != [NumKinds]int64{} {
			t.Fatalf("listener %d: open %v after the close", li, s.Open[li])
		}
	}
}

func TestMetricsSessions(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*Options)
		run  func(t *testing.T, r *rig)
	}{
		{"keep-alive response, then the client leaves", nil, func(t *testing.T, r *rig) {
			cs, id := startGet(t, r)
			r.handler(ok200(id, 0))
			r.clientFin(cs)
			wantClosedAs(t, r, KindHTTP, CauseClientClose)
			s := &r.w.m.s
			if s.Accepted[rigStream] != 1 || s.Requests[modeStream] != 1 || s.Responses[modeStream][2] != 1 ||
				s.PacketsOut[zhttp.TypeData] != 1 || s.PacketsIn[zhttp.TypeData] != 1 || s.FirstByte.Counts[0] != 1 {
				t.Fatalf("stats %+v", s)
			}
		}},
		{"response with Connection: close", nil, func(t *testing.T, r *rig) {
			cs := r.connect(rigStream)
			r.client(cs, "GET /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
			r.handler(ok200(str(r.onePacket().p, "id"), 0))
			wantClosedAs(t, r, KindHTTP, CauseDone)
		}},
		{"handler cancel before the response: 502", nil, func(t *testing.T, r *rig) {
			_, id := startGet(t, r)
			r.handler(typed(id, 0, "cancel"))
			wantClosedAs(t, r, KindHTTP, CauseHandlerCancel)
			if r.w.m.s.Responses[modeStream][5] != 1 || r.w.m.s.BadInput != [badInputSpan]uint64{} {
				t.Fatalf("responses %v bad input counted", r.w.m.s.Responses)
			}
		}},
		{"handler bad seq", nil, func(t *testing.T, r *rig) {
			_, id := startGet(t, r)
			r.handler(ok200(id, 3))
			wantClosedAs(t, r, KindHTTP, CauseHandlerProtocol)
		}},
		{"invalid response: 502 as a protocol error", nil, func(t *testing.T, r *rig) {
			_, id := startGet(t, r)
			r.handler(map[string]any{"id": id, "seq": 0, "code": 42, "reason": "OK"})
			wantClosedAs(t, r, KindHTTP, CauseHandlerProtocol)
		}},
		{"handler silent: 504", nil, func(t *testing.T, r *rig) {
			startGet(t, r)
			r.advance(61 * time.Second)
			wantClosedAs(t, r, KindHTTP, CauseHandlerTimeout)
		}},
		{"idle keep-alive connection", nil, func(t *testing.T, r *rig) {
			r.connect(rigStream)
			r.advance(61 * time.Second)
			wantClosedAs(t, r, KindHTTP, CauseIdleTimeout)
		}},
		{"no handler takes the request: 503", nil, func(t *testing.T, r *rig) {
			r.fx.full["push"] = true
			cs := r.connect(rigStream)
			r.client(cs, getReq)
			r.advance(61 * time.Second)
			wantClosedAs(t, r, KindHTTP, CauseNoHandler)
			if r.w.m.s.SendsBlocked == 0 || r.w.m.s.Requests[modeStream] != 0 {
				t.Fatalf("blocked %d requests %v", r.w.m.s.SendsBlocked, r.w.m.s.Requests)
			}
		}},
		{"stream timeout", func(o *Options) { o.StreamTimeout = 5 * time.Second }, func(t *testing.T, r *rig) {
			_, id := startGet(t, r)
			r.handler(map[string]any{"id": id, "seq": 0, "code": 200, "reason": "OK", "body": "a", "more": true})
			r.advance(6 * time.Second)
			wantClosedAs(t, r, KindHTTP, CauseStreamTimeout)
		}},
		{"bad request: 400", nil, func(t *testing.T, r *rig) {
			cs := r.connect(rigStream)
			r.client(cs, "GET /x HTTP/1.1\r\nHost: a\r\nContent-Length: x\r\n\r\n")
			wantClosedAs(t, r, KindHTTP, CauseClientProtocol)
			if r.w.m.s.BadInput[0] != 1 {
				t.Fatalf("bad input %v", r.w.m.s.BadInput[:32])
			}
		}},
		{"client reset", nil, func(t *testing.T, r *rig) {
			cs, _ := startGet(t, r)
			r.clientReset(cs)
			wantClosedAs(t, r, KindHTTP, CauseClientClose)
		}},
		{"websocket closed both ways", nil, func(t *testing.T, r *rig) {
			cs, id := openWS(t, r)
			if r.w.m.s.Open[rigStream][KindWebSocket] != 1 || r.w.m.s.Responses[modeStream][1] != 1 {
				t.Fatalf("open %v responses %v", r.w.m.s.Open[rigStream], r.w.m.s.Responses)
			}
			r.client(cs, clientFrame(1, "hello"))
			r.handler(map[string]any{"id": id, "seq": 1, "body": "hey"})
			r.client(cs, closeFrame(1000))
			r.handler(map[string]any{"id": id, "seq": 2, "type": "close"})
			wantClosedAs(t, r, KindWebSocket, CauseDone)
			s := &r.w.m.s
			if s.WSMessages != [2]uint64{1, 1} || s.WSBytes != [2]uint64{5, 3} {
				t.Fatalf("messages %v bytes %v", s.WSMessages, s.WSBytes)
			}
		}},
		{"websocket client protocol error", nil, func(t *testing.T, r *rig) {
			cs, _ := openWS(t, r)
			r.client(cs, "\x81\x05hello") // unmasked
			wantClosedAs(t, r, KindWebSocket, CauseClientProtocol)
		}},
		{"websocket handler cancel", nil, func(t *testing.T, r *rig) {
			_, id := openWS(t, r)
			r.handler(typed(id, 1, "cancel"))
			wantClosedAs(t, r, KindWebSocket, CauseHandlerCancel)
		}},
		{"websocket refused", nil, func(t *testing.T, r *rig) {
			cs := r.connect(rigStream)
			r.client(cs, upgradeReq)
			r.handler(map[string]any{"id": str(r.onePacket().p, "id"), "seq": 0, "code": 403, "reason": "Forbidden"})
			wantClosedAs(t, r, KindHTTP, CauseDone)
			if r.w.m.s.Responses[modeStream][4] != 1 || r.w.m.s.BadInput != [badInputSpan]uint64{} {
				t.Fatalf("responses %v", r.w.m.s.Responses)
			}
		}},
		{"req reply, then the client leaves", nil, func(t *testing.T, r *rig) {
			cs := r.connect(rigReq)
			r.client(cs, getReq)
			r.reqReply(reqOK(str(sentReq(t, r), "id"), "hi"))
			r.clientFin(cs)
			wantClosedAs(t, r, KindHTTP, CauseClientClose)
			if r.w.m.s.Requests[modeReq] != 1 || r.w.m.s.Responses[modeReq][2] != 1 {
				t.Fatalf("requests %v responses %v", r.w.m.s.Requests, r.w.m.s.Responses)
			}
		}},
		{"req timeout: 504", nil, func(t *testing.T, r *rig) {
			cs := r.connect(rigReq)
			r.client(cs, getReq)
			sentReq(t, r)
			r.advance(31 * time.Second)
			wantClosedAs(t, r, KindHTTP, CauseReqTimeout)
		}},
		{"req body cut short", nil, func(t *testing.T, r *rig) {
			cs := r.connect(rigReq)
			r.client(cs, "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nab")
			r.clientFin(cs)
			wantClosedAs(t, r, KindHTTP, CauseClientClose)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, metricsRig(t, tc.edit)) })
	}
}
