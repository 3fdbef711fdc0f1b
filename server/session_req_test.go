package server

import (
	"strings"
	"testing"
	"time"
)

// Req-mode HTTP sessions in-process (rig_test.go): every transition of
// reqTable and the §4.6 rows that apply (req mode has no seq, no cancel:
// the handler is never told, §4.3).

func reqOK(id string, body string) map[string]any {
	return map[string]any{"id": id, "code": 200, "reason": "OK", "headers": [][]string{{"Content-Type", "text/plain"}}, "body": body}
}

// sentReq takes the one request packet sent on the DEALER.
func sentReq(t *testing.T, r *rig) map[string]any {
	t.Helper()
	p := r.onePacket()
	if p.via != "req" || p.p["from"] != nil || p.p["seq"] != nil {
		t.Fatalf("req packet %v via %s", p.p, p.via)
	}
	return p.p
}

func TestReqSession(t *testing.T) {
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, r *rig)
	}{
		{"GET: reply, keep-alive, no session between requests", func(t *testing.T, r *rig) {
			cs := r.connect(rigReq)
			r.client(cs, getReq) // new -> req-await
			p := sentReq(t, r)
			r.wantPhase(cs, "req-await")
			r.reqReply(reqOK(str(p, "id"), "hi")) // req-await -> send-body
			if got := r.out(cs); got != resp200 {
				t.Fatalf("client got %q", got)
			}
			r.wantPhase(cs, "")
			r.client(cs, getReq)
			if p2 := sentReq(t, r); str(p2, "id") == str(p, "id") {
				t.Fatal("same id for the next request")
			}
		}},
		{"body gathered whole, then sent", func(t *testing.T, r *rig) {
			cs := r.connect(rigReq)
			r.client(cs, "POST /u HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nhello") // new -> req-body
			r.noPackets()
			r.wantPhase(cs, "req-body")
			r.client(cs, "world") // req-body -> req-await
			p := sentReq(t, r)
			if str(p, "body") != "helloworld" || str(p, "method") != "POST" {
				t.Fatalf("req packet %v", p)
			}
			r.reqReply(reqOK(str(p, "id"), "hi"))
			if got := r.out(cs); got != resp200 {
				t.Fatalf("client got %q", got)
			}
		}},
		{"WebSocket on a req port: 400", func(t *testing.T, r *rig) {
			cs := r.connect(rigReq)
			fd := r.fd(cs)
			r.client(cs, "GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n") // new -> send-body
			if got := r.outFd(fd); got != "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: 48\r\n\r\n"+wsOnReqBody {
				t.Fatalf("client got %q", got)
			}
			r.wantClosed(fd)
			r.noPackets()
		}},
		{"body over --body-buffer-size: 413", func(t *testing.T, r *rig) {
			cs := r.connect(rigReq)
			fd := r.fd(cs)
			r.client(cs, "POST /u HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n")
			r.wantPhase(cs, "req-body")
			r.client(cs, "7d0\r\n"+strings.Repeat("x", 2000)+"\r\n") // req-body -> send-body
			if got := r.outFd(fd); !strings.HasPrefix(got, "HTTP/1.1 413 Payload Too Large\r\n") {
				t.Fatalf("client got %q", got)
			}
			r.wantClosed(fd)
			r.noPackets()
		}},
		{"--req-timeout: 504, the handler not told", func(t *testing.T, r *rig) {
			cs := r.connect(rigReq)
			fd := r.fd(cs)
			r.client(cs, getReq)
			sentReq(t, r)
			r.advance(31 * time.Second)
			if got := r.outFd(fd); !strings.HasPrefix(got, resp504) {
				t.Fatalf("client got %q", got)
			}
			r.wantClosed(fd)
			r.noPackets()
		}},
		{"DEALER full: the request waits unread, 503 if no handler takes it", func(t *testing.T, r *rig) {
			r.fx.full["req"] = true
			cs := r.connect(rigReq)
			fd := r.fd(cs)
			r.client(cs, getReq)
			r.noPackets()
			r.wantPhase(cs, "new") // its id names nothing yet
			r.fx.full["req"] = false
			r.retry() // the gate opens: sent now
			p := sentReq(t, r)
			r.reqReply(reqOK(str(p, "id"), "hi"))
			if got := r.out(cs); got != resp200 {
				t.Fatalf("client got %q", got)
			}
			r.fx.full["req"] = true
			r.client(cs, getReq)
			r.advance(31 * time.Second)
			if got := r.outFd(fd); !strings.HasPrefix(got, "HTTP/1.1 503 Service Unavailable\r\n") {
				t.Fatalf("client got %q", got)
			}
			r.wantClosed(fd)
		}},
		{"client reset: nobody told", func(t *testing.T, r *rig) {
			cs := r.connect(rigReq)
			fd := r.fd(cs)
			r.client(cs, getReq)
			p := sentReq(t, r)
			r.clientReset(cs)
			r.wantClosed(fd)
			r.reqReply(reqOK(str(p, "id"), "hi")) // a stale id: dropped
			r.noPackets()
			if r.outFd(fd) != "" {
				t.Fatal("reply written to a closed client")
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, newRig(t, nil)) })
	}
}
