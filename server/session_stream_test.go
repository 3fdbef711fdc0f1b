package server

import (
	"strings"
	"testing"
	"time"

	"github.com/condure-go/condure/reactor"
)

// Stream-mode HTTP sessions in-process (rig_test.go): every transition of
// streamTable, and the rows of ZHTTP.md §4.6 ("who is told what") that
// concern them, as condure-go answers them (docs/differences.md).

const (
	getReq  = "GET /x HTTP/1.1\r\nHost: a\r\n\r\n"
	resp200 = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nhi"
	resp504 = "HTTP/1.1 504 Gateway Timeout\r\n"
)

// startGet connects, sends a GET and returns the connection and the id of
// its session, checking the request packet.
func startGet(t *testing.T, r *rig) (int32, string) {
	t.Helper()
	cs := r.connect(rigStream)
	if p := r.phase(cs); p != "" {
		t.Fatalf("a new connection holds a session (%q)", p)
	}
	r.client(cs, getReq)
	p := r.onePacket()
	if p.via != "push" || str(p.p, "method") != "GET" || str(p.p, "uri") != "http://a/x" || num(p.p, "seq") != 0 ||
		num(p.p, "credits") != 8192 || p.p["stream"] != true || str(p.p, "peer-address") != "10.0.0.7" {
		t.Fatalf("request packet %v", p.p)
	}
	r.wantPhase(cs, "await-handler")
	return cs, str(p.p, "id")
}

func ok200(id string, seq int) map[string]any {
	return map[string]any{"id": id, "seq": seq, "code": 200, "reason": "OK",
		"headers": [][]string{{"Content-Type", "text/plain"}}, "body": "hi"}
}

func typed(id string, seq int, typ string) map[string]any {
	return map[string]any{"id": id, "seq": seq, "type": typ}
}

func TestStreamSession(t *testing.T) {
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, r *rig)
	}{
		{"response then keep-alive with no session between requests", func(t *testing.T, r *rig) {
			cs, id := startGet(t, r)
			r.handler(ok200(id, 0)) // await-handler -> await-response -> send-body
			if got := r.out(cs); got != resp200 {
				t.Fatalf("client got %q", got)
			}
			r.wantPhase(cs, "") // idle: the session is freed
			r.noPackets()       // no credit after the last part (§4.2)
			r.client(cs, getReq)
			p := r.onePacket()
			if str(p.p, "id") == id || num(p.p, "seq") != 0 {
				t.Fatalf("second request reuses id %s or seq: %v", id, p.p)
			}
		}},
		{"body forwarded within credits", func(t *testing.T, r *rig) {
			cs := r.connect(rigStream)
			r.client(cs, "POST /u HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nhello")
			p := r.onePacket()
			id := str(p.p, "id")
			if p.p["more"] != true {
				t.Fatalf("request packet without more: %v", p.p)
			}
			r.handler(map[string]any{"id": id, "seq": 0, "type": "credit", "credits": 3}) // -> recv-body
			p = r.onePacket()
			if p.via != "h1" || str(p.p, "body") != "hel" || p.p["more"] != true || num(p.p, "seq") != 1 {
				t.Fatalf("body packet %v", p.p)
			}
			r.wantPhase(cs, "recv-body")
			r.handler(map[string]any{"id": id, "seq": 1, "type": "credit", "credits": 100})
			r.client(cs, "world")
			ps := r.packets() // what was buffered goes when credits come, then the rest
			if len(ps) != 2 || str(ps[0].p, "body") != "lo" || ps[0].p["more"] != true ||
				str(ps[1].p, "body") != "world" || ps[1].p["more"] != nil || num(ps[1].p, "seq") != 3 {
				t.Fatalf("rest of the body: %v", ps)
			}
			r.wantPhase(cs, "await-response") // recv-body -> await-response
			r.handler(ok200(id, 2))
			if got := r.out(cs); got != resp200 {
				t.Fatalf("client got %q", got)
			}
		}},
		{"bad request answered by the server", func(t *testing.T, r *rig) {
			cs := r.connect(rigStream)
			fd := r.fd(cs)
			r.client(cs, "GET / HTTP/1.1\r\nHost: a\r\nBad Header\r\n\r\n") // new -> send-body
			if got := r.outFd(fd); !strings.HasPrefix(got, "HTTP/1.1 400 Bad Request\r\n") {
				t.Fatalf("client got %q", got)
			}
			r.wantClosed(fd)
			r.noPackets()
		}},
		{"handler silent 60 s: 504, no cancel", func(t *testing.T, r *rig) {
			cs, _ := startGet(t, r)
			fd := r.fd(cs)
			r.advance(59 * time.Second)
			r.wantPhase(cs, "await-handler")
			r.advance(2 * time.Second) // await-handler -> send-body
			if got := r.outFd(fd); !strings.HasPrefix(got, resp504) {
				t.Fatalf("client got %q", got)
			}
			r.wantClosed(fd)
			r.noPackets()
		}},
		{"handoff before the first answer", func(t *testing.T, r *rig) {
			cs, id := startGet(t, r)
			r.handler(typed(id, 0, "handoff-start")) // await-handler -> await-response -> handoff
			wantType(t, r.onePacket(), "h1", "handoff-proceed")
			r.wantPhase(cs, "handoff")
			r.sweep()
			r.noPackets() // nothing is sent while paused (§12 #14)
			h2 := typed(id, 1, "keep-alive")
			h2["from"] = "h2"
			r.handler(h2) // handoff -> await-response
			r.wantPhase(cs, "await-response")
			r.sweep()
			wantType(t, r.onePacket(), "h2", "keep-alive") // the new address
			p := ok200(id, 2)
			p["from"] = "h2"
			r.handler(p)
			if got := r.out(cs); got != resp200 {
				t.Fatalf("client got %q", got)
			}
		}},
		{"bad chunk in the body: 400 and a cancel", func(t *testing.T, r *rig) {
			cs := r.connect(rigStream)
			fd := r.fd(cs)
			r.client(cs, "POST /u HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")
			id := str(r.onePacket().p, "id")
			r.handler(map[string]any{"id": id, "seq": 0, "type": "credit", "credits": 100}) // -> recv-body -> send-body
			if got := r.outFd(fd); !strings.HasPrefix(got, "HTTP/1.1 400 Bad Request\r\n") {
				t.Fatalf("client got %q", got)
			}
			p := r.onePacket()
			wantType(t, p, "h1", "cancel")
			if num(p.p, "seq") != 1 {
				t.Fatalf("cancel seq %v", p.p)
			}
			r.wantClosed(fd)
		}},
		{"handoff while the body waits for credits", func(t *testing.T, r *rig) {
			cs := r.connect(rigStream)
			r.client(cs, "POST /u HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc")
			id := str(r.onePacket().p, "id")
			r.handler(typed(id, 0, "keep-alive")) // no credits: -> recv-body, nothing read
			r.wantPhase(cs, "recv-body")
			r.noPackets()
			r.handler(typed(id, 1, "handoff-start")) // recv-body -> handoff
			wantType(t, r.onePacket(), "h1", "handoff-proceed")
			r.handler(map[string]any{"id": id, "seq": 2, "type": "credit", "credits": 5}) // handoff -> recv-body
			p := r.onePacket()
			if str(p.p, "body") != "abc" || num(p.p, "seq") != 2 {
				t.Fatalf("body after the handoff: %v", p.p)
			}
			r.wantPhase(cs, "recv-body")
		}},
		{"handoff while awaiting the response", func(t *testing.T, r *rig) {
			cs, id := startGet(t, r)
			r.handler(typed(id, 0, "keep-alive")) // -> await-response
			r.handler(typed(id, 1, "handoff-start"))
			wantType(t, r.onePacket(), "h1", "handoff-proceed")
			r.wantPhase(cs, "handoff")
			r.handler(ok200(id, 2)) // handoff -> await-response -> send-body
			if got := r.out(cs); got != resp200 {
				t.Fatalf("client got %q", got)
			}
		}},
		{"handoff mid-response waits for the writes", func(t *testing.T, r *rig) {
			cs, id := startGet(t, r)
			fd := r.fd(cs)
			p := ok200(id, 0)
			p["more"] = true
			r.fx.stalled[fd] = true // the client reads nothing for now
			r.handler(p)            // chunked: the client is HTTP/1.1
			r.wantPhase(cs, "send-body")
			r.handler(typed(id, 1, "handoff-start"))
			r.noPackets() // proceed only once the writes are out (§4.7)
			r.fx.stalled[fd] = false
			r.event(cs, reactor.EvOut)
			if got := r.out(cs); got != "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n" {
				t.Fatalf("client got %q", got)
			}
			ps := r.packets() // the credit for the body written, then the proceed
			if len(ps) != 2 || str(ps[0].p, "type") != "credit" || num(ps[0].p, "credits") != 2 || str(ps[1].p, "type") != "handoff-proceed" {
				t.Fatalf("packets %v", ps)
			}
			r.wantPhase(cs, "handoff")
			r.handler(map[string]any{"id": id, "seq": 2, "body": "!"}) // handoff -> send-body; last part
			if got := r.out(cs); got != "1\r\n!\r\n0\r\n\r\n" {
				t.Fatalf("client got %q", got)
			}
			r.wantPhase(cs, "")
		}},
		{"tiny body packets within credits to a stalled client: framing is not overflow", func(t *testing.T, r *rig) {
			// 8192 one-byte packets use the 8192 credits exactly, and their
			// chunk framing ("1\r\n" and "\r\n") takes five times that.
			cs, id := startGet(t, r)
			fd := r.fd(cs)
			p := ok200(id, 0)
			p["more"] = true
			p["body"] = ""
			r.fx.stalled[fd] = true
			r.handler(p)
			const n = 8192
			for i := 1; i <= n; i++ {
				r.handler(map[string]any{"id": id, "seq": i, "body": "x", "more": true})
			}
			r.handler(map[string]any{"id": id, "seq": n + 1, "body": ""})
			r.fx.stalled[fd] = false
			r.event(cs, reactor.EvOut)
			want := "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n" +
				strings.Repeat("1\r\nx\r\n", n) + "0\r\n\r\n"
			if got := r.outFd(fd); got != want {
				t.Fatalf("client got %d bytes, want %d", len(got), len(want))
			}
			r.wantPhase(cs, "")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, newRig(t, nil)) })
	}
}

// TestStreamEndings: ZHTTP.md §4.6, one row per case: what the client sees
// and whether the handler gets a cancel.
func TestStreamEndings(t *testing.T) {
	for _, tc := range []struct {
		row    string
		run    func(t *testing.T, r *rig, cs int32, id string) int // after a GET whose handler answered keep-alive (address known); the fd to check, 0: cs's
		client string                                              // prefix of what the client sees after the request ("" = nothing)
		cancel bool
	}{
		{"client reset after the handler address is known", func(t *testing.T, r *rig, cs int32, id string) int {
			r.clientReset(cs)
			return 0
		}, "", true},
		{"HTTP parse error (bad chunk) with the address known", nil, "HTTP/1.1 400 Bad Request\r\n", true}, // TestStreamSession
		{"oversized header", func(t *testing.T, r *rig, _ int32, _ string) int {
			cs := r.connect(rigStream)
			fd := r.fd(cs)
			r.client(cs, "GET / HTTP/1.1\r\nHost: a\r\nX: "+strings.Repeat("a", 9000))
			if got := r.outFd(fd); !strings.HasPrefix(got, "HTTP/1.1 431 ") {
				t.Fatalf("client got %q", got)
			}
			r.wantClosed(fd)
			return -1
		}, "", false},
		{"write buffer overflow (handler ignored credits)", func(t *testing.T, r *rig, cs int32, id string) int {
			r.fx.stalled[r.fd(cs)] = true
			p := ok200(id, 1)
			p["more"], p["body"] = true, strings.Repeat("x", 8192*(1+maxFramingPerByte)+writeSlack+1)
			r.handler(p)
			return 0
		}, "", true},
		{"handler cancel mid-response: truncated body", func(t *testing.T, r *rig, cs int32, id string) int {
			p := ok200(id, 1)
			p["more"] = true
			r.handler(p)
			r.handler(typed(id, 2, "cancel"))
			return 0
		}, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n", false},
		{"handler error before the response: 502 (docs/differences.md)", func(t *testing.T, r *rig, cs int32, id string) int {
			r.handler(map[string]any{"id": id, "seq": 1, "type": "error", "condition": "bad-request"})
			return 0
		}, "HTTP/1.1 502 Bad Gateway\r\n", false},
		{"bad seq", func(t *testing.T, r *rig, cs int32, id string) int {
			r.handler(ok200(id, 5))
			return 0
		}, "", false},
		{"unexpected type (close on HTTP)", func(t *testing.T, r *rig, cs int32, id string) int {
			r.handler(typed(id, 1, "close"))
			return 0
		}, "", false},
		{"unknown type", func(t *testing.T, r *rig, cs int32, id string) int {
			r.handler(typed(id, 1, "bogus"))
			return 0
		}, "", false},
		{"from over 64 bytes", func(t *testing.T, r *rig, cs int32, id string) int {
			p := typed(id, 1, "keep-alive")
			p["from"] = strings.Repeat("h", 65)
			r.handler(p)
			return 0
		}, "", false},
		{"session timer (60 s) mid-response", func(t *testing.T, r *rig, cs int32, id string) int {
			p := ok200(id, 1)
			p["more"] = true
			r.handler(p)
			r.advance(61 * time.Second)
			return 0
		}, "HTTP/1.1 200 OK\r\n", true},
		{"stream timeout", func(t *testing.T, r *rig, cs int32, id string) int {
			r.advance(1801 * time.Second)
			return 0
		}, "", true},
		{"shutdown", func(t *testing.T, r *rig, cs int32, id string) int {
			r.w.shutdown()
			return 0
		}, "", true},
	} {
		if tc.run == nil {
			continue
		}
		t.Run(tc.row, func(t *testing.T) {
			r := newRig(t, func(o *Options) { o.SessionTimeout = 3600 * time.Second })
			if strings.HasPrefix(tc.row, "session timer") {
				r = newRig(t, nil)
			}
			cs, id := startGet(t, r)
			fd := r.fd(cs)
			r.handler(typed(id, 0, "keep-alive"))
			r.noPackets()
			if tc.run(t, r, cs, id) < 0 {
				return // checked in the case
			}
			if got := r.outFd(fd); !strings.HasPrefix(got, tc.client) || (tc.client == "" && got != "") {
				t.Fatalf("client got %q, want %q...", got, tc.client)
			}
			r.wantClosed(fd)
			var ps []sent
			for _, p := range r.packets() {
				if str(p.p, "type") != "credit" { // for body written before the end
					ps = append(ps, p)
				}
			}
			if !tc.cancel {
				if len(ps) != 0 {
					t.Fatalf("handler got %v, want nothing", ps)
				}
				return
			}
			if len(ps) != 1 {
				t.Fatalf("handler got %v, want one cancel", ps)
			}
			wantType(t, ps[0], "h1", "cancel")
			if str(ps[0].p, "id") != id {
				t.Fatalf("cancel for %v", ps[0].p)
			}
		})
	}
}

// TestStreamEndedBeforeHandler: §4.6 "client EOF before the handler's first
// packet": the slot is freed at once (no address to tell), and the
// handler's first packet for the session is answered with a cancel.
func TestStreamEndedBeforeHandler(t *testing.T) {
	r := newRig(t, nil)
	cs, id := startGet(t, r)
	fd := r.fd(cs)
	r.clientReset(cs)
	r.wantClosed(fd)
	r.noPackets()
	r.handler(ok200(id, 0))
	p := r.onePacket()
	wantType(t, p, "h1", "cancel")
	if str(p.p, "id") != id || num(p.p, "seq") != 1 {
		t.Fatalf("cancel %v", p.p)
	}
	if r.outFd(fd) != "" {
		t.Fatal("the response reached a closed client")
	}
}
