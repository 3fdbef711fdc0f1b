package server

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/condure-go/condure/websocket"
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

// permessage-deflate (--compression, ws_deflate.go).

const deflateOffer = "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"

// deflateRaw compresses msg as a permessage-deflate sender does: raw
// DEFLATE, sync flush, the 00 00 ff ff tail removed (RFC 7692 §7.2.1).
func deflateRaw(t *testing.T, msg []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	fw, _ := flate.NewWriter(&b, flate.BestCompression)
	fw.Write(msg)
	fw.Flush()
	out := b.Bytes()
	if !bytes.HasSuffix(out, []byte{0, 0, 0xff, 0xff}) {
		t.Fatal("no sync flush tail")
	}
	return out[:len(out)-4]
}

// inflateRaw undoes deflateRaw.
func inflateRaw(t *testing.T, p []byte) []byte {
	t.Helper()
	out, err := io.ReadAll(flate.NewReader(io.MultiReader(bytes.NewReader(p), bytes.NewReader([]byte{0, 0, 0xff, 0xff, 1, 0, 0, 0xff, 0xff}))))
	if err != nil {
		t.Fatalf("inflate: %v", err)
	}
	return out
}

// clientFrameB is a masked client frame with first byte b0 (FIN, RSV, opcode)
// and any payload length.
func clientFrameB(b0 byte, payload []byte) string {
	mask := [4]byte{1, 2, 3, 4}
	b := []byte{b0}
	switch n := len(payload); {
	case n < 126:
		b = append(b, 0x80|byte(n))
	case n < 65536:
		b = append(b, 0x80|126, byte(n>>8), byte(n))
	default:
		b = append(b, 0x80|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	b = append(b, mask[:]...)
	for i := range payload {
		b = append(b, payload[i]^mask[i%4])
	}
	return string(b)
}

// serverFrames splits what the server wrote into frames: first byte and payload.
func serverFrames(t *testing.T, s string) (b0s []byte, payloads [][]byte) {
	t.Helper()
	b := []byte(s)
	for len(b) > 0 {
		n, h := int(b[1]&0x7f), 2
		switch n {
		case 126:
			n, h = int(binary.BigEndian.Uint16(b[2:])), 4
		case 127:
			n, h = int(binary.BigEndian.Uint64(b[2:])), 10
		}
		if b[1]&0x80 != 0 || len(b) < h+n {
			t.Fatalf("bad server frame %q", s)
		}
		b0s = append(b0s, b[0])
		payloads = append(payloads, b[h:h+n])
		b = b[h+n:]
	}
	return
}

// openDeflateWS is openWS with a permessage-deflate offer, which it checks
// was accepted.
func openDeflateWS(t *testing.T, r *rig, credits int) (int32, string) {
	t.Helper()
	cs := r.connect(rigStream)
	r.client(cs, strings.Replace(upgradeReq, "\r\n\r\n", "\r\n"+deflateOffer+"\r\n", 1))
	id := str(r.onePacket().p, "id")
	r.handler(map[string]any{"id": id, "seq": 0, "code": 101, "reason": "Switching Protocols", "credits": credits})
	got := r.out(cs)
	if !strings.Contains(got, "\r\nSec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; client_no_context_takeover\r\n") {
		t.Fatalf("handshake answer %q", got)
	}
	r.wantPhase(cs, "ws-open")
	return cs, id
}

// bodies gathers the data packets sent so far: their bodies concatenated,
// and whether the last one ended the message.
func bodies(t *testing.T, r *rig) (string, bool) {
	t.Helper()
	var b strings.Builder
	more := true
	for _, p := range r.packets() {
		if typ := str(p.p, "type"); typ != "" {
			t.Fatalf("packet %v", p.p)
		}
		b.WriteString(str(p.p, "body"))
		more = p.p["more"] == true
	}
	return b.String(), !more
}

func TestWebSocketDeflate(t *testing.T) {
	text := []byte(strings.Repeat(`{"key":"value","n":12345},`, 120)) // 3120 bytes, compressible
	for _, tc := range []struct {
		name string
		opts func(o *Options)
		run  func(t *testing.T, r *rig)
	}{
		{"no --compression: the offer is ignored, the answer as before", nil, func(t *testing.T, r *rig) {
			cs := r.connect(rigStream)
			r.client(cs, strings.Replace(upgradeReq, "\r\n\r\n", "\r\n"+deflateOffer+"\r\n", 1))
			id := str(r.onePacket().p, "id")
			r.handler(map[string]any{"id": id, "seq": 0, "code": 101, "reason": "Switching Protocols", "credits": 1024})
			want := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
				"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"
			if got := r.out(cs); got != want {
				t.Fatalf("handshake answer %q, want %q", got, want)
			}
			r.client(cs, clientFrameB(0xc1, deflateRaw(t, text))) // RSV1 not negotiated: 1002
			if got := r.out(cs); got != "\x88\x02\x03\xea" {
				t.Fatalf("client got %q", got)
			}
		}},
		{"--compression, no offer: no extension, messages uncompressed", nil, func(t *testing.T, r *rig) {
			r.w.opts.Compression = true
			cs, id := openWS(t, r)
			r.handler(map[string]any{"id": id, "seq": 1, "body": string(text)})
			if got := r.out(cs); got[0] != 0x81 || got[4:] != string(text) {
				t.Fatalf("client got %q", got[:10])
			}
		}},
		{"compressed message in: inflated, credits count inflated bytes", nil, func(t *testing.T, r *rig) {
			cs, id := openDeflateWS(t, r, 8192)
			r.client(cs, clientFrameB(0xc1, deflateRaw(t, text)))
			got, done := bodies(t, r)
			if got != string(text) || !done {
				t.Fatalf("handler got %d bytes (done %v)", len(got), done)
			}
			_, s, _ := r.w.connSession(r.w.conns.Get(cs))
			if s.credits != 8192-int64(len(text)) {
				t.Fatalf("credits %d", s.credits)
			}
			if r.w.infl.Lent() != 0 {
				t.Fatal("inflater not returned")
			}
			// Binary, and an empty compressed message.
			r.client(cs, clientFrameB(0xc2, deflateRaw(t, []byte{0, 1, 2, 3, 0, 1, 2, 3})))
			if p := r.onePacket(); str(p.p, "content-type") != "binary" || str(p.p, "body") != "\x00\x01\x02\x03\x00\x01\x02\x03" {
				t.Fatalf("packet %v", p.p)
			}
			r.client(cs, clientFrameB(0xc1, deflateRaw(t, nil)))
			if p := r.onePacket(); str(p.p, "body") != "" || p.p["more"] == true {
				t.Fatalf("packet %v", p.p)
			}
			_ = id
		}},
		{"inflated past the credits: the rest waits for credits", nil, func(t *testing.T, r *rig) {
			cs, id := openDeflateWS(t, r, 1000)
			r.client(cs, clientFrameB(0xc1, deflateRaw(t, text)))
			got, done := bodies(t, r)
			if got != string(text[:1000]) || done {
				t.Fatalf("handler got %d bytes (done %v)", len(got), done)
			}
			r.handler(map[string]any{"id": id, "seq": 1, "type": "credit", "credits": 1500})
			got2, done := bodies(t, r)
			r.handler(map[string]any{"id": id, "seq": 2, "type": "credit", "credits": 5000})
			got3, done := bodies(t, r)
			if got+got2+got3 != string(text) || len(got2) != 1500 || !done {
				t.Fatalf("handler got %d+%d+%d bytes (done %v)", len(got), len(got2), len(got3), done)
			}
			r.client(cs, clientFrame(1, "next")) // the stream goes on
			if p := r.onePacket(); str(p.p, "body") != "next" {
				t.Fatalf("packet %v", p.p)
			}
		}},
		{"highly compressed message, 100 credits at a time: output pending after its last byte", nil, func(t *testing.T, r *rig) {
			cs, id := openDeflateWS(t, r, 100)
			msg := bytes.Repeat([]byte("ab"), 5000) // 10000 bytes from a few dozen
			r.client(cs, clientFrameB(0xc2, deflateRaw(t, msg)))
			var all strings.Builder
			for seq := 1; ; seq++ {
				got, done := bodies(t, r)
				if len(got) != 100 && !(done && len(got) == 0) {
					t.Fatalf("packet %d: %d bytes (done %v)", seq, len(got), done)
				}
				all.WriteString(got)
				if done {
					break
				}
				if seq > 200 {
					t.Fatal("message never ends")
				}
				r.handler(map[string]any{"id": id, "seq": seq, "type": "credit", "credits": 100})
			}
			if all.String() != string(msg) {
				t.Fatalf("handler got %d bytes", all.Len())
			}
		}},
		{"handler gate closed after inflating: the bytes wait in a block", nil, func(t *testing.T, r *rig) {
			cs, _ := openDeflateWS(t, r, 8192)
			r.fx.full["h1"] = true
			r.client(cs, clientFrameB(0xc1, deflateRaw(t, text)))
			r.noPackets()
			_, s, _ := r.w.connSession(r.w.conns.Get(cs))
			if !s.has(fInflHeld) || s.blen != int32(len(text)) {
				t.Fatalf("held %v, %d bytes", s.has(fInflHeld), s.blen)
			}
			r.fx.full["h1"] = false
			r.retry()
			got, done := bodies(t, r)
			if got != string(text) || !done || s.bbuf != 0 || r.w.infl.Lent() != 0 {
				t.Fatalf("handler got %d bytes (done %v), block %d", len(got), done, s.bbuf)
			}
		}},
		{"fragmented compressed message in, frames split across reads", nil, func(t *testing.T, r *rig) {
			cs, _ := openDeflateWS(t, r, 8192)
			z := deflateRaw(t, text)
			h := len(z) / 2
			f1, f2 := clientFrameB(0x41, z[:h]), clientFrameB(0x80, z[h:]) // RSV1 on the first only
			r.client(cs, f1[:5])
			r.client(cs, f1[5:]+f2[:3])
			r.client(cs, f2[3:])
			got, done := bodies(t, r)
			if got != string(text) || !done {
				t.Fatalf("handler got %d bytes (done %v)", len(got), done)
			}
		}},
		{"compressed message out: RSV1, inflates back, credits for uncompressed bytes", nil, func(t *testing.T, r *rig) {
			cs, id := openDeflateWS(t, r, 1024)
			r.handler(map[string]any{"id": id, "seq": 1, "body": string(text)})
			b0s, ps := serverFrames(t, r.out(cs))
			if len(b0s) != 1 || b0s[0] != 0xc1 || len(ps[0]) >= len(text) || string(inflateRaw(t, ps[0])) != string(text) {
				t.Fatalf("frames %x", b0s)
			}
			if p := r.onePacket(); str(p.p, "type") != "credit" || num(p.p, "credits") != len(text) {
				t.Fatalf("packet %v", p.p)
			}
			// Short messages that do not shrink go uncompressed; control frames never are.
			r.handler(map[string]any{"id": id, "seq": 2, "content-type": "binary", "body": "yo"})
			r.handler(map[string]any{"id": id, "seq": 3, "type": "ping", "body": "pp"})
			if got := r.out(cs); got != "\x82\x02yo\x89\x02pp" {
				t.Fatalf("client got %q", got)
			}
		}},
		{"fragmented message out: RSV1 on the first frame only", nil, func(t *testing.T, r *rig) {
			cs, id := openDeflateWS(t, r, 1024)
			r.handler(map[string]any{"id": id, "seq": 1, "body": string(text[:2000]), "more": true})
			r.handler(map[string]any{"id": id, "seq": 2, "body": string(text[2000:])})
			b0s, ps := serverFrames(t, r.out(cs))
			if len(b0s) != 2 || b0s[0] != 0x41 || b0s[1] != 0x80 {
				t.Fatalf("frames %x", b0s)
			}
			if got := inflateRaw(t, append(ps[0], ps[1]...)); string(got) != string(text) {
				t.Fatalf("client inflates %d bytes", len(got))
			}
		}},
		{"message larger than --buffer-size out: compressed in pieces, the scratch buffer never grows", nil, func(t *testing.T, r *rig) {
			cs, id := openDeflateWS(t, r, 1024)
			big := []byte(strings.Repeat(`{"key":"value","n":12345},`, 3*r.w.opts.BufferSize/26+10)) // > 3 buffers
			scratch := cap(r.w.dscratch)
			r.handler(map[string]any{"id": id, "seq": 1, "body": string(big)})
			b0s, ps := serverFrames(t, r.out(cs))
			if len(b0s) != 4 || b0s[0] != 0x41 || b0s[1] != 0x00 || b0s[2] != 0x00 || b0s[3] != 0x80 {
				t.Fatalf("frames %x", b0s)
			}
			var z []byte
			for _, p := range ps {
				z = append(z, p...)
			}
			if got := inflateRaw(t, z); string(got) != string(big) || len(z) >= len(big)/4 {
				t.Fatalf("client inflates %d of %d bytes from %d", len(got), len(big), len(z))
			}
			if cap(r.w.dscratch) != scratch {
				t.Fatalf("scratch buffer grew from %d to %d", scratch, cap(r.w.dscratch))
			}
			// Continued by a fragment larger than the buffer: continuation frames only.
			r.handler(map[string]any{"id": id, "seq": 2, "body": "x", "more": true})
			r.handler(map[string]any{"id": id, "seq": 3, "body": string(big)})
			b0s, ps = serverFrames(t, r.out(cs))
			if len(b0s) != 5 || b0s[0] != 0x41 || b0s[1] != 0x00 || b0s[4] != 0x80 {
				t.Fatalf("frames %x", b0s)
			}
			z = z[:0]
			for _, p := range ps {
				z = append(z, p...)
			}
			if got := inflateRaw(t, z); string(got) != "x"+string(big) || cap(r.w.dscratch) != scratch {
				t.Fatalf("client inflates %d bytes; scratch %d", len(got), cap(r.w.dscratch))
			}
		}},
		{"bomb: inflated past --ws-max-message: 1009 and a cancel", func(o *Options) { o.WSMaxMessage = 4096 }, func(t *testing.T, r *rig) {
			cs, _ := openDeflateWS(t, r, 1<<20)
			fd := r.fd(cs)
			r.client(cs, clientFrameB(0xc2, deflateRaw(t, make([]byte, 1<<20)))) // ~1 KB -> 1 MiB
			if got := r.outFd(fd); got != "\x88\x02\x03\xf1" {
				t.Fatalf("client got %q", got)
			}
			ps := r.packets()
			if last := ps[len(ps)-1]; str(last.p, "type") != "cancel" {
				t.Fatalf("packets %v", ps)
			}
			r.wantClosed(fd)
			if r.w.infl.Lent() != 0 {
				t.Fatal("inflater not returned")
			}
		}},
		{"bad compressed data: 1007", nil, func(t *testing.T, r *rig) {
			cs, _ := openDeflateWS(t, r, 1024)
			fd := r.fd(cs)
			r.client(cs, clientFrameB(0xc1, []byte{0xff, 0xff, 0xff}))
			if got := r.outFd(fd); got != "\x88\x02\x03\xef" {
				t.Fatalf("client got %q", got)
			}
			wantType(t, r.onePacket(), "h1", "cancel")
		}},
		{"RSV1 on a continuation frame: 1002", nil, func(t *testing.T, r *rig) {
			cs, _ := openDeflateWS(t, r, 1024)
			fd := r.fd(cs)
			z := deflateRaw(t, text)
			r.client(cs, clientFrameB(0x41, z[:10])+clientFrameB(0xc0, z[10:]))
			if got := r.outFd(fd); !strings.HasSuffix(got, "\x88\x02\x03\xea") {
				t.Fatalf("client got %q", got)
			}
			r.wantClosed(fd)
			if r.w.infl.Lent() != 0 {
				t.Fatal("inflater not returned")
			}
		}},
		{"Inflaters all lent: the next compressed message waits, then goes", nil, func(t *testing.T, r *rig) {
			r.w.infl = websocket.NewInflaterPool(1)
			a, _ := openDeflateWS(t, r, 8192)
			b, _ := openDeflateWS(t, r, 8192)
			z := deflateRaw(t, text)
			r.client(a, clientFrameB(0x41, z[:20])) // a's message in flight: it holds the one Inflater
			r.packets()
			r.client(b, clientFrameB(0xc1, z))
			r.noPackets()
			r.retry() // still lent: b keeps waiting
			r.noPackets()
			r.client(a, clientFrameB(0x80, z[20:])) // a's message ends: the Inflater goes back
			got, done := bodies(t, r)
			if !done || len(got) == 0 {
				t.Fatalf("a: %d bytes, done %v", len(got), done)
			}
			r.retry()
			got, done = bodies(t, r)
			if got != string(text) || !done {
				t.Fatalf("b: %d bytes, done %v", len(got), done)
			}
		}},
		{"session end returns the Inflater", nil, func(t *testing.T, r *rig) {
			cs, _ := openDeflateWS(t, r, 8192)
			r.client(cs, clientFrameB(0x41, deflateRaw(t, text)[:20]))
			if r.w.infl.Lent() != 1 {
				t.Fatal("no inflater lent")
			}
			r.clientFin(cs)
			if r.w.infl.Lent() != 0 {
				t.Fatal("inflater not returned")
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, func(o *Options) {
				o.Compression = !strings.HasPrefix(tc.name, "no ")
				if strings.HasPrefix(tc.name, "--compression, no offer") {
					o.Compression = true
				}
				if tc.opts != nil {
					tc.opts(o)
				}
			})
			tc.run(t, r)
		})
	}
}
