package server

import (
	"fmt"
	"testing"
	"time"

	"github.com/condure-go/condure/http2"
)

// WebSocket over HTTP/2 (RFC 8441) in-process: exact frames in, frames and
// packets out.

// wsConnect sends the extended CONNECT of stream id, with extra fields.
func (c *h2client) wsConnect(id uint32, extra ...string) {
	c.headers(id, false, append([]string{":method", "CONNECT", ":protocol", "websocket", ":scheme", "http",
		":authority", "a", ":path", "/ws", "sec-websocket-version", "13"}, extra...)...)
}

// openH2WS opens a WebSocket on stream 1, accepted by handler h1 with
// credits, and returns its session id.
func openH2WS(t *testing.T, r *rig, c *h2client, credits int) string {
	t.Helper()
	c.wsConnect(1, "origin", "https://a")
	p := r.onePacket()
	if p.via != "push" || str(p.p, "uri") != "ws://a/ws" || str(p.p, "method") != "GET" || p.p["stream"] != nil ||
		p.p["more"] != nil || num(p.p, "credits") != 8192 ||
		fmt.Sprint(p.p["headers"]) != "[[Host a] [sec-websocket-version 13] [origin https://a]]" {
		t.Fatalf("upgrade packet %v", p.p)
	}
	c.wantPhase(1, "ws-await")
	id := str(p.p, "id")
	r.handler(map[string]any{"id": id, "seq": 0, "code": 101, "reason": "Switching Protocols", "credits": credits,
		"headers": [][]string{{"Sec-WebSocket-Accept", "x"}, {"Upgrade", "websocket"}, {"Sec-WebSocket-Protocol", "chat"}}})
	c.want("HEADERS 1 :status=200 sec-websocket-protocol=chat | WINDOW_UPDATE 1 +8192")
	c.wantPhase(1, "ws-open")
	return id
}

func wsDATA(id uint32, end bool, frames ...string) []byte {
	var b []byte
	for _, f := range frames {
		b = append(b, f...)
	}
	return http2.AppendData(nil, id, b, end)
}

func TestH2WebSocket(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts func(*Options)
		run  func(t *testing.T, r *rig, c *h2client)
	}{
		{"messages both ways; a frame split over DATA frames; client closes first", nil, func(t *testing.T, r *rig, c *h2client) {
			id := openH2WS(t, r, c, 1024)
			c.send(wsDATA(1, false, clientFrame(1, "hello")))
			p := r.onePacket()
			if p.via != "h1" || str(p.p, "body") != "hello" || str(p.p, "content-type") != "text" || num(p.p, "seq") != 1 {
				t.Fatalf("message packet %v", p.p)
			}
			c.want("WINDOW_UPDATE 1 +11") // the bytes read go back to the stream window
			r.handler(map[string]any{"id": id, "seq": 1, "content-type": "binary", "body": "yo"})
			c.want(`DATA 1 "\x82\x02yo"`)
			wantType(t, r.onePacket(), "h1", "credit")
			// A frame whose header and payload come in separate DATA frames,
			// the second padded.
			f := clientFrame(2, "abc")
			c.send(wsDATA(1, false, f[:3]))
			r.noPackets()
			padded := http2.AppendFrameHeader(nil, http2.FrameHeader{Length: uint32(1 + len(f) - 3 + 4), Type: http2.FrameData, Flags: http2.FlagPadded, StreamID: 1})
			padded = append(append(append(padded, 4), f[3:]...), 0, 0, 0, 0)
			c.send(padded)
			if p = r.onePacket(); str(p.p, "body") != "abc" || str(p.p, "content-type") != "binary" {
				t.Fatalf("message packet %v", p.p)
			}
			c.want("WINDOW_UPDATE 1 +5 | WINDOW_UPDATE 1 +9") // padding back at once, then the frame read
			c.send(wsDATA(1, false, closeFrame(1000)))        // ws-open -> ws-peer-closed
			p = r.onePacket()
			wantType(t, p, "h1", "close")
			c.wantPhase(1, "ws-peer-closed")
			c.want("WINDOW_UPDATE 1 +8")
			r.handler(map[string]any{"id": id, "seq": 2, "type": "close", "code": 1000}) // -> ws-finished, freed
			c.want(`DATA 1 END_STREAM "\x88\x02\x03\xe8" | RST_STREAM 1 NO_ERROR`)
			c.wantPhase(1, "")
			r.noPackets()
		}},
		{"handler closes first; the client's close and END_STREAM end the stream", nil, func(t *testing.T, r *rig, c *h2client) {
			id := openH2WS(t, r, c, 1024)
			r.handler(map[string]any{"id": id, "seq": 1, "type": "close", "code": 1001, "body": "bye"}) // -> ws-closing
			c.want(`DATA 1 END_STREAM "\x88\x05\x03\xe9bye"`)
			c.wantPhase(1, "ws-closing")
			c.send(wsDATA(1, true, clientFrame(1, "late"), closeFrame(1001))) // still forwarded, then -> ws-finished
			ps := r.packets()
			if len(ps) != 2 || str(ps[0].p, "body") != "late" || str(ps[1].p, "type") != "close" {
				t.Fatalf("packets %v", ps)
			}
			c.want("") // both sides ended: no RST
			c.wantPhase(1, "")
		}},
		{"fragmented message, ping and pong, handler ping", nil, func(t *testing.T, r *rig, c *h2client) {
			id := openH2WS(t, r, c, 1024)
			first := clientFrame(1, "frag")
			first = string([]byte{0x01}) + first[1:] // FIN off
			c.send(wsDATA(1, false, first, clientFrame(9, "pi"), clientFrame(0, "ment")))
			ps := r.packets()
			if len(ps) != 3 || str(ps[0].p, "body") != "frag" || ps[0].p["more"] != true || str(ps[1].p, "type") != "ping" ||
				str(ps[2].p, "body") != "ment" || ps[2].p["more"] == true {
				t.Fatalf("packets %v", ps)
			}
			c.want("WINDOW_UPDATE 1 +28")
			r.handler(map[string]any{"id": id, "seq": 1, "type": "pong", "body": "pi"})
			r.handler(map[string]any{"id": id, "seq": 2, "type": "ping", "body": "x"})
			c.want(`DATA 1 "\x8a\x02pi" | DATA 1 "\x89\x01x"`)
			ps = r.packets() // the control payloads written are credited, as over HTTP/1
			if len(ps) != 2 || num(ps[0].p, "credits") != 2 || num(ps[1].p, "credits") != 1 {
				t.Fatalf("packets %v", ps)
			}
			c.send(wsDATA(1, false, clientFrame(10, "x")))
			wantType(t, r.onePacket(), "h1", "pong")
		}},
		{"credits hold client frames; the window opens only for bytes read", nil, func(t *testing.T, r *rig, c *h2client) {
			id := openH2WS(t, r, c, 4)
			c.send(wsDATA(1, false, clientFrame(1, "abcd"), clientFrame(1, "efgh")))
			if p := r.onePacket(); str(p.p, "body") != "abcd" {
				t.Fatalf("packet %v", p.p)
			}
			c.want("WINDOW_UPDATE 1 +16") // the first frame and the second's header were read
			r.handler(map[string]any{"id": id, "seq": 1, "type": "credit", "credits": 4})
			if p := r.onePacket(); str(p.p, "body") != "efgh" {
				t.Fatalf("packet %v", p.p)
			}
			c.want("WINDOW_UPDATE 1 +4")
		}},
		{"send window: the rest waits for WINDOW_UPDATE, credits after it went", nil, func(t *testing.T, r *rig, c *h2client) {
			c.send(http2.AppendSettings(nil, http2.Setting{ID: http2.SettingInitialWindowSize, Val: 3}))
			c.want("SETTINGS 0 ACK")
			id := openH2WS(t, r, c, 1024)
			r.handler(map[string]any{"id": id, "seq": 1, "body": "hello"})
			c.want(`DATA 1 "\x81\x05h"`)
			r.noPackets() // no credit while bytes are held
			c.send(http2.AppendWindowUpdate(nil, 1, 2))
			c.want(`DATA 1 "el"`)
			r.noPackets()
			c.send(http2.AppendWindowUpdate(nil, 1, 100))
			c.want(`DATA 1 "lo"`)
			if p := r.onePacket(); str(p.p, "type") != "credit" || num(p.p, "credits") != 5 {
				t.Fatalf("credit %v", p.p)
			}
		}},
		{"client close not answered in 5 s: reset, cancel", nil, func(t *testing.T, r *rig, c *h2client) {
			openH2WS(t, r, c, 1024)
			c.send(wsDATA(1, false, closeFrame(1000)))
			wantType(t, r.onePacket(), "h1", "close")
			c.want("WINDOW_UPDATE 1 +8")
			r.advance(4 * time.Second)
			c.want("")
			r.advance(1100 * time.Millisecond)
			c.want("RST_STREAM 1 CANCEL")
			wantType(t, r.onePacket(), "h1", "cancel")
			c.wantPhase(1, "")
		}},
		{"handler silent before its answer: 504", nil, func(t *testing.T, r *rig, c *h2client) {
			c.wsConnect(1)
			r.onePacket()
			r.advance(61 * time.Second)
			c.want(`HEADERS 1 :status=504 content-type=text/plain content-length=16 | DATA 1 END_STREAM "Gateway Timeout\n" | RST_STREAM 1 NO_ERROR`)
			r.noPackets() // no handler known yet: nobody to cancel
			c.wantPhase(1, "")
		}},
		{"client RST_STREAM: cancel to the handler", nil, func(t *testing.T, r *rig, c *h2client) {
			openH2WS(t, r, c, 1024)
			c.send(http2.AppendRSTStream(nil, 1, http2.ErrCancel))
			wantType(t, r.onePacket(), "h1", "cancel")
			c.wantPhase(1, "")
			c.want("")
		}},
		{"client END_STREAM without a close frame: cancel, our END_STREAM", nil, func(t *testing.T, r *rig, c *h2client) {
			openH2WS(t, r, c, 1024)
			c.send(wsDATA(1, true, clientFrame(1, "last")))
			ps := r.packets()
			if len(ps) != 2 || str(ps[0].p, "body") != "last" || str(ps[1].p, "type") != "cancel" {
				t.Fatalf("packets %v", ps)
			}
			c.want(`DATA 1 END_STREAM ""`)
			c.wantPhase(1, "")
		}},
		{"client protocol error: close 1002, END_STREAM, cancel", nil, func(t *testing.T, r *rig, c *h2client) {
			openH2WS(t, r, c, 1024)
			c.send(wsDATA(1, false, "\x81\x02hi")) // unmasked
			wantType(t, r.onePacket(), "h1", "cancel")
			c.want(`DATA 1 END_STREAM "\x88\x02\x03\xea" | RST_STREAM 1 NO_ERROR`)
			c.wantPhase(1, "")
		}},
		{"handler cancel: RST_STREAM CANCEL", nil, func(t *testing.T, r *rig, c *h2client) {
			id := openH2WS(t, r, c, 1024)
			r.handler(map[string]any{"id": id, "seq": 1, "type": "cancel"})
			c.want("RST_STREAM 1 CANCEL")
			c.wantPhase(1, "")
			r.noPackets()
		}},
		{"handler refusal: its status and body, END_STREAM", nil, func(t *testing.T, r *rig, c *h2client) {
			c.wsConnect(1)
			id := str(r.onePacket().p, "id")
			r.handler(map[string]any{"id": id, "seq": 0, "code": 403, "reason": "Forbidden", "body": "no\n",
				"headers": [][]string{{"Content-Type", "text/plain"}, {"Content-Length", "3"}}}) // ws-await -> ws-respond
			c.want(`HEADERS 1 :status=403 content-type=text/plain content-length=3 | DATA 1 END_STREAM "no\n" | RST_STREAM 1 NO_ERROR`)
			c.wantPhase(1, "")
			r.noPackets()
		}},
		{"handler refusal without headers or body", nil, func(t *testing.T, r *rig, c *h2client) {
			c.wsConnect(1)
			id := str(r.onePacket().p, "id")
			r.handler(map[string]any{"id": id, "seq": 0, "code": 404, "reason": "Not Found"})
			c.want(`HEADERS 1 END_STREAM :status=404 content-length=0 | RST_STREAM 1 NO_ERROR`)
			c.wantPhase(1, "")
		}},
		{"handler 200 instead of 101: 502, not an open tunnel", nil, func(t *testing.T, r *rig, c *h2client) {
			c.wsConnect(1)
			id := str(r.onePacket().p, "id")
			r.handler(map[string]any{"id": id, "seq": 0, "code": 200, "reason": "OK", "body": "x"})
			c.want(`HEADERS 1 :status=502 content-type=text/plain content-length=12 | DATA 1 END_STREAM "Bad Gateway\n" | RST_STREAM 1 NO_ERROR`)
			r.noPackets()
		}},
		{"refused CONNECTs", nil, func(t *testing.T, r *rig, c *h2client) {
			c.headers(1, true, ":method", "CONNECT", ":authority", "a:443") // plain CONNECT: no tunnels here
			c.want(`HEADERS 1 :status=501 content-type=text/plain content-length=16 | DATA 1 END_STREAM "Not Implemented\n"`)
			c.headers(3, false, ":method", "CONNECT", ":protocol", "webtransport", ":scheme", "http", ":authority", "a", ":path", "/")
			c.want(`HEADERS 3 :status=501 content-type=text/plain content-length=16 | DATA 3 END_STREAM "Not Implemented\n" | RST_STREAM 3 NO_ERROR`)
			c.headers(5, false, ":method", "CONNECT", ":protocol", "websocket", ":authority", "a") // no :scheme, :path
			c.want("RST_STREAM 5 PROTOCOL_ERROR")
			c.headers(7, false, ":method", "GET", ":protocol", "websocket", ":scheme", "http", ":authority", "a", ":path", "/")
			c.want("RST_STREAM 7 PROTOCOL_ERROR")
			c.headers(9, false, ":method", "CONNECT", ":scheme", "http", ":authority", "a", ":path", "/") // plain CONNECT with :path
			c.want("RST_STREAM 9 PROTOCOL_ERROR")
			c.headers(11, false, ":method", "CONNECT", ":protocol", "websocket", ":scheme", "http", ":authority", "a", ":path", "/",
				"sec-websocket-version", "8")
			c.want(`HEADERS 11 :status=400 content-type=text/plain content-length=12 | DATA 11 END_STREAM "Bad Request\n" | RST_STREAM 11 NO_ERROR`)
			r.noPackets()
			if !r.w.conns.InUse(c.cs) {
				t.Fatal("connection closed")
			}
		}},
		{"permessage-deflate negotiated as over HTTP/1", func(o *Options) { o.Compression = true }, func(t *testing.T, r *rig, c *h2client) {
			c.wsConnect(1, "sec-websocket-extensions", "permessage-deflate; client_max_window_bits")
			id := str(r.onePacket().p, "id")
			r.handler(map[string]any{"id": id, "seq": 0, "code": 101, "credits": 1024})
			c.want("HEADERS 1 :status=200 sec-websocket-extensions=permessage-deflate; server_no_context_takeover; client_no_context_takeover | WINDOW_UPDATE 1 +8192")
			r.handler(map[string]any{"id": id, "seq": 1, "body": "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"})
			b0s, payloads := serverFrames(t, dataPayloads(t, c.frames()))
			if len(b0s) != 1 || b0s[0] != 0xc1 || string(inflateRaw(t, payloads[0])) != "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" {
				t.Fatalf("frames %x %q", b0s, payloads)
			}
			c.send(wsDATA(1, false, clientFrameB(0xc1, deflateRaw(t, []byte("hello hello hello")))))
			if p := r.packets(); len(p) != 2 || num(p[0].p, "credits") != 40 || str(p[1].p, "body") != "hello hello hello" { // the credit of the message written, then the client's
				t.Fatalf("packets %v", p)
			}
		}},
		{"held output: a whole credit's message plus its framing fits; a handler ignoring credits is reset", nil, func(t *testing.T, r *rig, c *h2client) {
			c.send(http2.AppendSettings(nil, http2.Setting{ID: http2.SettingInitialWindowSize, Val: 0}))
			c.want("SETTINGS 0 ACK")
			id := openH2WS(t, r, c, 1024)
			big := make([]byte, 8192) // all its credits: 8196 bytes framed
			r.handler(map[string]any{"id": id, "seq": 1, "body": string(big)})
			c.want("")
			c.wantPhase(1, "ws-open")
			c.send(http2.AppendWindowUpdate(nil, 1, 100000))
			if got := dataPayloads(t, c.frames()); len(got) != 8196 || got[:4] != "\x82\x7e\x20\x00" && got[:4] != "\x81\x7e\x20\x00" {
				t.Fatalf("client got %d bytes %q", len(got), got[:4])
			}
			if p := r.onePacket(); num(p.p, "credits") != 8192 {
				t.Fatalf("credit %v", p.p)
			}
			c.send(http2.AppendRSTStream(nil, 1, http2.ErrCancel))
			r.packets()
			c.send(http2.AppendSettings(nil, http2.Setting{ID: http2.SettingInitialWindowSize, Val: 0}))
			c.want("SETTINGS 0 ACK")
			c.wsConnect(3)
			id = str(r.onePacket().p, "id")
			r.handler(map[string]any{"id": id, "seq": 0, "code": 101, "credits": 1024})
			c.frames()
			for seq := 1; seq <= 8; seq++ { // 64 KiB beyond its credits: the bound is 8192*6+16384
				r.handler(map[string]any{"id": id, "seq": seq, "body": string(big)})
				if seq < 8 {
					c.want("")
				}
			}
			c.want("RST_STREAM 3 INTERNAL_ERROR")
			c.wantPhase(3, "")
			c.get(5, "/")
			c.request("GET", "http://example.com/", false)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, func(o *Options) {
				o.HTTP2 = true
				o.HTTP2MaxStreams = 100
				if tc.opts != nil {
					tc.opts(o)
				}
			})
			c := h2open(t, r)
			tc.run(t, r, c)
		})
	}
}

func TestH2WebSocketOnReqListener(t *testing.T) {
	r := h2rig(t, 0)
	c := h2openOn(t, r, rigReq)
	c.wsConnect(1)
	c.want(`HEADERS 1 :status=400 content-type=text/plain content-length=48 | DATA 1 END_STREAM "WebSockets not supported on req mode interface.\n" | RST_STREAM 1 NO_ERROR`)
	r.noPackets()
}

// dataPayloads joins the payloads of the DATA frames of a frames() rendering.
func dataPayloads(t *testing.T, frames string) string {
	t.Helper()
	var out string
	for _, f := range splitFrames(frames) {
		var id int
		var q string
		if _, err := fmt.Sscanf(f, "DATA %d %q", &id, &q); err != nil {
			t.Fatalf("not a DATA frame: %s", f)
		}
		out += q
	}
	return out
}

func splitFrames(s string) []string {
	var out []string
	for len(s) > 0 {
		i := 0
		for i < len(s) && !(s[i] == '|' && i > 0 && s[i-1] == ' ' && i+1 < len(s) && s[i+1] == ' ') {
			i++
		}
		if i >= len(s) {
			out = append(out, s)
			break
		}
		out = append(out, s[:i-1])
		s = s[i+2:]
	}
	return out
}
