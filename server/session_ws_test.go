package server

import (
	"strings"
	"testing"
	"time"
)

// WebSocket sessions in-process (rig_test.go): every transition of
// wsTable, and the §4.6 rows that concern WebSocket.

const upgradeReq = "GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"

// clientFrame is a masked client frame (RFC 6455 §5.3).
func clientFrame(op byte, payload string) string {
	mask := [4]byte{1, 2, 3, 4}
	b := []byte{0x80 | op, 0x80 | byte(len(payload))}
	b = append(b, mask[:]...)
	for i := 0; i < len(payload); i++ {
		b = append(b, payload[i]^mask[i%4])
	}
	return string(b)
}

func closeFrame(code int) string {
	return clientFrame(8, string([]byte{byte(code >> 8), byte(code)}))
}

// openWS upgrades a connection and returns it and its id (the handler, h1,
// accepted with 101 and 1024 credits).
func openWS(t *testing.T, r *rig) (int32, string) {
	t.Helper()
	cs := r.connect(rigStream)
	r.client(cs, upgradeReq) // new -> ws-await
	p := r.onePacket()
	if p.via != "push" || str(p.p, "uri") != "ws://a/ws" || p.p["stream"] != nil {
		t.Fatalf("upgrade packet %v", p.p)
	}
	id := str(p.p, "id")
	r.wantPhase(cs, "ws-await")
	r.handler(map[string]any{"id": id, "seq": 0, "code": 101, "reason": "Switching Protocols", "credits": 1024}) // -> ws-open
	got := r.out(cs)
	if !strings.HasPrefix(got, "HTTP/1.1 101 Switching Protocols\r\n") || !strings.Contains(got, "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n") {
		t.Fatalf("handshake answer %q", got)
	}
	r.wantPhase(cs, "ws-open")
	return cs, id
}

func TestWebSocketSession(t *testing.T) {
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, r *rig)
	}{
		{"messages both ways, client closes first", func(t *testing.T, r *rig) {
			cs, id := openWS(t, r)
			fd := r.fd(cs)
			r.client(cs, clientFrame(1, "hello"))
			p := r.onePacket()
			if p.via != "h1" || str(p.p, "body") != "hello" || str(p.p, "content-type") != "text" || num(p.p, "seq") != 1 {
				t.Fatalf("message packet %v", p.p)
			}
			r.handler(map[string]any{"id": id, "seq": 1, "content-type": "binary", "body": "yo"})
			if got := r.out(cs); got != "\x82\x02yo" {
				t.Fatalf("client got %q", got)
			}
			wantType(t, r.onePacket(), "h1", "credit") // the 2 bytes written
			r.client(cs, closeFrame(1000))             // ws-open -> ws-peer-closed
			p = r.onePacket()
			wantType(t, p, "h1", "close")
			if num(p.p, "code") != 1000 {
				t.Fatalf("close packet %v", p.p)
			}
			r.wantPhase(cs, "ws-peer-closed")
			r.handler(map[string]any{"id": id, "seq": 2, "type": "close", "code": 1000}) // -> ws-finished, closed once written
			if got := r.outFd(fd); got != "\x88\x02\x03\xe8" {
				t.Fatalf("client got %q", got)
			}
			r.wantClosed(fd)
			r.noPackets()
		}},
		{"handler closes first", func(t *testing.T, r *rig) {
			cs, id := openWS(t, r)
			fd := r.fd(cs)
			r.handler(map[string]any{"id": id, "seq": 1, "type": "close", "code": 1001}) // ws-open -> ws-closing
			if got := r.out(cs); got != "\x88\x02\x03\xe9" {
				t.Fatalf("client got %q", got)
			}
			r.wantPhase(cs, "ws-closing")
			r.client(cs, clientFrame(1, "late")) // still forwarded
			if p := r.onePacket(); str(p.p, "body") != "late" {
				t.Fatalf("packet %v", p.p)
			}
			r.client(cs, closeFrame(1001)) // ws-closing -> ws-finished
			wantType(t, r.onePacket(), "h1", "close")
			r.wantClosed(fd)
		}},
		{"version 12: 426", func(t *testing.T, r *rig) {
			cs := r.connect(rigStream)
			fd := r.fd(cs)
			r.client(cs, strings.Replace(upgradeReq, "Version: 13", "Version: 12", 1)) // still a stream session: new -> send-body
			if got := r.outFd(fd); !strings.HasPrefix(got, "HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\n") {
				t.Fatalf("client got %q", got)
			}
			r.wantClosed(fd)
			r.noPackets()
		}},
		{"handler refuses: its response, then close", func(t *testing.T, r *rig) {
			cs := r.connect(rigStream)
			fd := r.fd(cs)
			r.client(cs, upgradeReq)
			id := str(r.onePacket().p, "id")
			r.handler(map[string]any{"id": id, "seq": 0, "code": 403, "reason": "Forbidden", "body": "no"}) // ws-await -> ws-respond
			if got := r.outFd(fd); got != "HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 2\r\n\r\nno" {
				t.Fatalf("client got %q", got)
			}
			r.wantClosed(fd)
			r.noPackets()
		}},
		{"handoff before the 101, then the 60 s session timer", func(t *testing.T, r *rig) {
			cs := r.connect(rigStream)
			fd := r.fd(cs)
			r.client(cs, upgradeReq)
			id := str(r.onePacket().p, "id")
			r.handler(typed(id, 0, "handoff-start")) // ws-await -> ws-handoff
			wantType(t, r.onePacket(), "h1", "handoff-proceed")
			r.wantPhase(cs, "ws-handoff")
			r.handler(typed(id, 1, "keep-alive")) // ws-handoff -> ws-await
			r.wantPhase(cs, "ws-await")
			r.handler(typed(id, 2, "handoff-start"))
			wantType(t, r.onePacket(), "h1", "handoff-proceed")
			r.advance(61 * time.Second) // ws-handoff -> ws-respond: 504
			if got := r.outFd(fd); !strings.HasPrefix(got, resp504) {
				t.Fatalf("client got %q", got)
			}
			r.wantClosed(fd)
			wantType(t, r.onePacket(), "h1", "cancel") // a response of the server's own tells a known handler
		}},
		{"handoffs while open, peer-closed and closing", func(t *testing.T, r *rig) {
			cs, id := openWS(t, r)
			seq := 1
			handoff := func(want string) {
				t.Helper()
				r.handler(typed(id, seq, "handoff-start")) // -> ws-handoff
				wantType(t, r.onePacket(), "h1", "handoff-proceed")
				r.wantPhase(cs, "ws-handoff")
				r.handler(typed(id, seq+1, "keep-alive")) // ws-handoff -> back
				r.wantPhase(cs, want)
				seq += 2
			}
			handoff("ws-open")
			r.client(cs, closeFrame(1000))
			wantType(t, r.onePacket(), "h1", "close")
			handoff("ws-peer-closed")

			cs, id = openWS(t, r)
			seq = 1
			r.handler(typed(id, seq, "close"))
			r.out(cs)
			seq++
			handoff("ws-closing")
		}},
		{"bad frame from the client: close 1002 and a cancel", func(t *testing.T, r *rig) {
			cs, _ := openWS(t, r)
			fd := r.fd(cs)
			r.client(cs, "\x81\x02hi") // unmasked: ws-open -> ws-finished
			if got := r.outFd(fd); got != "\x88\x02\x03\xea" {
				t.Fatalf("client got %q", got)
			}
			wantType(t, r.onePacket(), "h1", "cancel")
			r.wantClosed(fd)
		}},
		{"invalid handshake: 400, no cancel", func(t *testing.T, r *rig) {
			cs := r.connect(rigStream)
			fd := r.fd(cs)
			r.client(cs, strings.Replace(upgradeReq, "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", "", 1))
			if got := r.outFd(fd); !strings.HasPrefix(got, "HTTP/1.1 400 Bad Request\r\n") {
				t.Fatalf("client got %q", got)
			}
			r.wantClosed(fd)
			r.noPackets()
		}},
		{"over --messages-max queued: close and a cancel", func(t *testing.T, r *rig) {
			cs, id := openWS(t, r)
			fd := r.fd(cs)
			r.fx.stalled[fd] = true
			for i := 0; i < 3; i++ {
				r.handler(map[string]any{"id": id, "seq": 1 + i, "body": "m"})
			}
			r.wantClosed(fd)
			wantType(t, r.onePacket(), "h1", "cancel")
		}},
		{"client gone without a close frame: cancel", func(t *testing.T, r *rig) {
			cs, _ := openWS(t, r)
			fd := r.fd(cs)
			r.clientFin(cs)
			r.wantClosed(fd)
			wantType(t, r.onePacket(), "h1", "cancel")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, newRig(t, func(o *Options) { o.MessagesMax = 1 })) })
	}
}
