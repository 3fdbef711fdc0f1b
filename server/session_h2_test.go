package server

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/condure-go/condure/http2"
	"github.com/condure-go/condure/reactor"
)

// HTTP/2 connections and streams in-process (rig_test.go): exact frames in,
// frames and packets out, every transition of h2Table.

// h2client is the client side of an h2 connection in the rig.
type h2client struct {
	t     *testing.T
	r     *rig
	cs    int32
	fd    int
	dec   http2.Decoder
	table []byte
}

// h2rig is a rig with --http2 and the given max streams (0: 100).
func h2rig(t *testing.T, maxStreams int) *rig {
	return newRig(t, func(o *Options) {
		o.HTTP2 = true
		o.HTTP2MaxStreams = 100
		if maxStreams > 0 {
			o.HTTP2MaxStreams = maxStreams
		}
	})
}

// serverPreface is the exact SETTINGS frame the server opens with.
const serverPreface = "SETTINGS 0 [MAX_CONCURRENT_STREAMS=100 INITIAL_WINDOW_SIZE=0 MAX_HEADER_LIST_SIZE=8192 ENABLE_CONNECT_PROTOCOL=1]"

// h2open connects, sends the preface and a SETTINGS frame with settings,
// checks the server's SETTINGS and ACK, and acknowledges them.
func h2open(t *testing.T, r *rig, settings ...http2.Setting) *h2client {
	return h2openOn(t, r, rigStream, settings...)
}

func h2openOn(t *testing.T, r *rig, li int, settings ...http2.Setting) *h2client {
	t.Helper()
	c := &h2client{t: t, r: r, table: make([]byte, http2.DecoderTableLen(4096))}
	c.dec.Init(4096, 0)
	c.cs = r.connect(li)
	c.fd = r.fd(c.cs)
	r.client(c.cs, http2.ClientPreface+string(http2.AppendSettings(nil, settings...)))
	c.want(serverPreface + " | SETTINGS 0 ACK")
	r.client(c.cs, string(http2.AppendSettingsAck(nil)))
	c.want("")
	return c
}

// hdrs sends a header block in HEADERS (and CONTINUATION) frames.
func (c *h2client) hdrs(id uint32, blk []byte, end bool) {
	c.send(http2.AppendHeaders(nil, id, blk, end, 16384))
}

func (c *h2client) send(b []byte) { c.r.client(c.cs, string(b)) }

// headers sends a HEADERS frame with fields "name", "value", ...
func (c *h2client) headers(id uint32, end bool, fields ...string) {
	var blk []byte
	for i := 0; i+1 < len(fields); i += 2 {
		blk = http2.AppendField(blk, []byte(fields[i]), []byte(fields[i+1]))
	}
	c.hdrs(id, blk, end)
}

func (c *h2client) get(id uint32, path string) {
	c.headers(id, true, ":method", "GET", ":scheme", "http", ":authority", "example.com", ":path", path, "user-agent", "t")
}

// frames renders what the server wrote since the last call, one frame per
// "|"-separated item: "TYPE stream [FLAGS] [details]".
func (c *h2client) frames() string {
	c.t.Helper()
	b := []byte(c.r.outFd(c.fd))
	var out []string
	for len(b) > 0 {
		if len(b) < http2.FrameHeaderLen {
			c.t.Fatalf("partial frame header %q", b)
		}
		h := http2.ParseFrameHeader(b)
		p := b[http2.FrameHeaderLen : http2.FrameHeaderLen+int(h.Length)]
		b = b[http2.FrameHeaderLen+int(h.Length):]
		s := fmt.Sprintf("%s %d", h.Type, h.StreamID)
		switch h.Type {
		case http2.FrameSettings:
			if h.Flags.Has(http2.FlagAck) {
				s += " ACK"
				break
			}
			var kv []string
			http2.ParseSettings(p, func(x http2.Setting) error {
				kv = append(kv, fmt.Sprintf("%s=%d", x.ID, x.Val))
				return nil
			})
			s += " [" + strings.Join(kv, " ") + "]"
		case http2.FrameHeaders, http2.FrameData:
			if h.Flags.Has(http2.FlagEndStream) {
				s += " END_STREAM"
			}
			if h.Type == http2.FrameData {
				s += fmt.Sprintf(" %q", p)
				break
			}
			var kv []string
			if err := c.dec.Decode(c.table, p, make([]byte, 0, 4096), func(n, v []byte, _ bool) error {
				kv = append(kv, string(n)+"="+string(v))
				return nil
			}); err != nil {
				c.t.Fatalf("response block does not decode: %v", err)
			}
			s += " " + strings.Join(kv, " ")
		case http2.FrameRSTStream:
			code, _ := http2.ParseRSTStream(h, p)
			s += " " + code.String()
		case http2.FrameGoAway:
			last, code, _, _ := http2.ParseGoAway(h, p)
			s = fmt.Sprintf("GOAWAY last=%d %s", last, code)
		case http2.FrameWindowUpdate:
			n, _ := http2.ParseWindowUpdate(h, p)
			s += fmt.Sprintf(" +%d", n)
		case http2.FramePing:
			if h.Flags.Has(http2.FlagAck) {
				s += " ACK"
			}
			s += fmt.Sprintf(" %q", p)
		}
		out = append(out, s)
	}
	return strings.Join(out, " | ")
}

func (c *h2client) want(frames string) {
	c.t.Helper()
	if got := c.frames(); got != frames {
		c.t.Fatalf("server wrote\n  %s\nwant\n  %s", got, frames)
	}
}

// streamPhase is the phase of stream id, "" when it has no session.
func (c *h2client) streamPhase(id uint32) string {
	if !c.r.w.conns.InUse(c.cs) {
		return "closed"
	}
	_, s, ok := c.r.w.h2Find(c.r.w.conns.Get(c.cs), id)
	if !ok {
		return ""
	}
	return s.phaseName()
}

func (c *h2client) wantPhase(id uint32, want string) {
	c.t.Helper()
	if got := c.streamPhase(id); got != want {
		c.t.Fatalf("stream %d phase %q, want %q", id, got, want)
	}
}

// request checks the request packet of a new stream and returns its id.
func (c *h2client) request(method, uri string, more bool) string {
	c.t.Helper()
	p := c.r.onePacket()
	if p.via != "push" || str(p.p, "method") != method || str(p.p, "uri") != uri || num(p.p, "credits") != 8192 ||
		p.p["stream"] != true || (p.p["more"] == true) != more || str(p.p, "peer-address") != "10.0.0.7" {
		c.t.Fatalf("request packet %v", p.p)
	}
	return str(p.p, "id")
}

func h2resp(id string, seq int, body string, more bool, headers ...[]string) map[string]any {
	p := map[string]any{"id": id, "seq": seq, "code": 200, "reason": "OK",
		"headers": append([][]string{{"Content-Type", "text/plain"}}, headers...), "body": body}
	if more {
		p["more"] = true
	}
	return p
}

func TestH2Session(t *testing.T) {
	for _, tc := range []struct {
		name       string
		maxStreams int
		run        func(t *testing.T, r *rig, c *h2client)
	}{
		{"GET: request packet, response headers translated, connection-specific dropped", 0, func(t *testing.T, r *rig, c *h2client) {
			c.get(1, "/p?q=1")
			p := r.onePacket()
			hd := fmt.Sprint(p.p["headers"])
			if str(p.p, "uri") != "http://example.com/p?q=1" || str(p.p, "method") != "GET" || p.p["more"] == true ||
				hd != "[[Host example.com] [user-agent t]]" {
				t.Fatalf("request packet %v", p.p)
			}
			c.wantPhase(1, "await-handler")
			r.handler(h2resp(str(p.p, "id"), 0, "hi", false, []string{"Connection", "close"}, []string{"Transfer-Encoding", "chunked"},
				[]string{"X-A", "b"})) // await-handler -> await-response -> send-body
			c.want(`HEADERS 1 :status=200 content-type=text/plain x-a=b content-length=2 | DATA 1 END_STREAM "hi"`)
			c.wantPhase(1, "") // the stream's session is freed
			r.noPackets()      // no credit after the last part
			if r.w.conns.Get(c.cs).sess != 0 || r.w.h2(r.w.conns.Get(c.cs)).open != 0 {
				t.Fatal("stream not freed")
			}
			c.get(3, "/two")
			if id := c.request("GET", "http://example.com/two", false); id == str(p.p, "id") {
				t.Fatal("second stream reuses the id")
			}
		}},
		{"POST: body waits for credits, which open the stream window", 0, func(t *testing.T, r *rig, c *h2client) {
			c.headers(1, false, ":method", "POST", ":scheme", "http", ":authority", "a", ":path", "/u", "content-length", "5")
			id := c.request("POST", "http://a/u", true)
			// DATA sent under the default window before our SETTINGS were seen: held.
			c.send(http2.AppendData(nil, 1, []byte("hello"), true))
			r.noPackets()
			c.want("")
			r.handler(map[string]any{"id": id, "seq": 0, "type": "credit", "credits": 3}) // -> recv-body
			c.want("")                                                                    // END_STREAM came: no window to open
			p := r.onePacket()
			if str(p.p, "body") != "hel" || p.p["more"] != true || num(p.p, "seq") != 1 {
				t.Fatalf("body packet %v", p.p)
			}
			c.wantPhase(1, "recv-body")
			r.handler(map[string]any{"id": id, "seq": 1, "type": "credit", "credits": 100})
			p = r.onePacket()
			if str(p.p, "body") != "lo" || p.p["more"] == true {
				t.Fatalf("last body packet %v", p.p)
			}
			c.wantPhase(1, "await-response") // recv-body -> await-response
			c.want("")                       // END_STREAM received: no window to open
			r.handler(h2resp(id, 2, "ok", false))
			c.want(`HEADERS 1 :status=200 content-type=text/plain content-length=2 | DATA 1 END_STREAM "ok"`)
		}},
		{"a handler's bad seq resets its stream only; the other stream is answered", 0, func(t *testing.T, r *rig, c *h2client) {
			c.get(1, "/a")
			id1 := c.request("GET", "http://example.com/a", false)
			c.get(3, "/b")
			id3 := c.request("GET", "http://example.com/b", false)
			r.handler(h2resp(id1, 5, "x", false)) // seq 5, 0 expected
			c.want("RST_STREAM 1 INTERNAL_ERROR")
			c.wantPhase(1, "")
			r.handler(h2resp(id3, 0, "ok", false))
			c.want(`HEADERS 3 :status=200 content-type=text/plain content-length=2 | DATA 3 END_STREAM "ok"`)
			r.noPackets() // no cancel back to a handler that broke the protocol (§3.6)
		}},
		{"early response: RST_STREAM NO_ERROR to a client still sending", 0, func(t *testing.T, r *rig, c *h2client) {
			c.headers(1, false, ":method", "POST", ":scheme", "http", ":authority", "a", ":path", "/u")
			id := c.request("POST", "http://a/u", true)
			r.handler(map[string]any{"id": id, "seq": 0, "type": "credit", "credits": 10})
			c.want("WINDOW_UPDATE 1 +10")
			c.send(http2.AppendData(nil, 1, []byte("abc"), false))
			r.onePacket()
			r.handler(h2resp(id, 1, "no", false)) // recv-body -> send-body
			c.want(`HEADERS 1 :status=200 content-type=text/plain content-length=2 | DATA 1 END_STREAM "no" | RST_STREAM 1 NO_ERROR`)
			c.send(http2.AppendData(nil, 1, []byte("de"), true)) // in flight: a closed stream
			c.want("RST_STREAM 1 STREAM_CLOSED")
			r.noPackets()
		}},
		{"send windows: DATA as windows allow, credits for bytes written", 0, func(t *testing.T, r *rig, c *h2client) {
			c.send(http2.AppendSettings(nil, http2.Setting{ID: http2.SettingInitialWindowSize, Val: 3}))
			c.want("SETTINGS 0 ACK")
			c.get(1, "/")
			id := c.request("GET", "http://example.com/", false)
			r.handler(h2resp(id, 0, "hello", true))
			c.want(`HEADERS 1 :status=200 content-type=text/plain | DATA 1 "hel"`)
			cr := r.onePacket()
			if str(cr.p, "type") != "credit" || num(cr.p, "credits") != 3 {
				t.Fatalf("credit %v", cr.p)
			}
			c.send(http2.AppendWindowUpdate(nil, 1, 1))
			c.want(`DATA 1 "l"`)
			if cr = r.onePacket(); num(cr.p, "credits") != 1 {
				t.Fatalf("credit %v", cr.p)
			}
			// A negative window (§6.9.2): the window 0 goes to -2.
			c.send(http2.AppendSettings(nil, http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1}))
			c.want("SETTINGS 0 ACK")
			c.send(http2.AppendWindowUpdate(nil, 1, 2))
			c.want("") // 0 - 2 + 2
			c.send(http2.AppendWindowUpdate(nil, 1, 1))
			c.want(`DATA 1 "o"`)
			r.onePacket()
			r.handler(map[string]any{"id": id, "seq": 1, "body": "", "more": false})
			c.want(`DATA 1 END_STREAM ""`)
			// The connection window: 65535 - 5 left; a second stream may not pass it.
			if w := r.w.h2(r.w.conns.Get(c.cs)).sendWin; w != 65535-5 {
				t.Fatalf("connection send window %d", w)
			}
		}},
		{"RST_STREAM from the client: cancel to the handler", 0, func(t *testing.T, r *rig, c *h2client) {
			c.get(1, "/")
			id := c.request("GET", "http://example.com/", false)
			r.handler(h2resp(id, 0, "x", true))
			c.frames()
			r.onePacket() // credit
			c.send(http2.AppendRSTStream(nil, 1, http2.ErrCancel))
			p := r.onePacket()
			if p.via != "h1" || str(p.p, "type") != "cancel" || str(p.p, "id") != id {
				t.Fatalf("want cancel, got %v", p.p)
			}
			c.wantPhase(1, "")
			c.want("")
		}},
		{"handler cancel: 502 before the response, RST_STREAM after", 0, func(t *testing.T, r *rig, c *h2client) {
			c.get(1, "/")
			id := c.request("GET", "http://example.com/", false)
			r.handler(typed(id, 0, "cancel"))
			c.want(`HEADERS 1 :status=502 content-type=text/plain content-length=12 | DATA 1 END_STREAM "Bad Gateway\n"`)
			r.noPackets()
			c.get(3, "/")
			id = c.request("GET", "http://example.com/", false)
			r.handler(h2resp(id, 0, "x", true))
			c.frames()
			r.packets()
			r.handler(typed(id, 1, "error"))
			c.want("RST_STREAM 3 INTERNAL_ERROR")
			r.noPackets()
			if !r.w.conns.InUse(c.cs) {
				t.Fatal("the connection closed")
			}
		}},
		{"HEAD and 204: no body", 0, func(t *testing.T, r *rig, c *h2client) {
			c.headers(1, true, ":method", "HEAD", ":scheme", "http", ":authority", "a", ":path", "/")
			id := c.request("HEAD", "http://a/", false)
			r.handler(h2resp(id, 0, "body", false, []string{"Content-Length", "4"}))
			c.want(`HEADERS 1 END_STREAM :status=200 content-type=text/plain content-length=4`)
			c.get(3, "/")
			id = c.request("GET", "http://example.com/", false)
			r.handler(map[string]any{"id": id, "seq": 0, "code": 204, "reason": "No Content", "body": "", "more": true})
			c.want(`HEADERS 3 :status=204`)
			r.handler(map[string]any{"id": id, "seq": 1, "body": "zz"})
			c.want(`DATA 3 END_STREAM ""`)
		}},
		{"handler silence: 504 on the stream, the connection lives on", 0, func(t *testing.T, r *rig, c *h2client) {
			c.get(1, "/")
			c.request("GET", "http://example.com/", false)
			r.advance(61 * time.Second)
			c.want(`HEADERS 1 :status=504 content-type=text/plain content-length=16 | DATA 1 END_STREAM "Gateway Timeout\n"`)
			if !r.w.conns.InUse(c.cs) {
				t.Fatal("connection closed")
			}
		}},
		{"idle connection: GOAWAY NO_ERROR after the idle time", 0, func(t *testing.T, r *rig, c *h2client) {
			r.advance(61 * time.Second)
			c.want("GOAWAY last=0 NO_ERROR")
			r.wantClosed(c.fd)
		}},
		{"handoff pauses and resumes a stream", 0, func(t *testing.T, r *rig, c *h2client) {
			c.headers(1, false, ":method", "POST", ":scheme", "http", ":authority", "a", ":path", "/u")
			id := c.request("POST", "http://a/u", true)
			r.handler(typed(id, 0, "handoff-start")) // await-handler -> recv-body -> handoff
			wantType(t, r.onePacket(), "h1", "handoff-proceed")
			c.wantPhase(1, "handoff")
			r.handler(map[string]any{"id": id, "seq": 1, "type": "credit", "credits": 5, "from": "h2"}) // -> recv-body
			c.want("WINDOW_UPDATE 1 +5")
			c.wantPhase(1, "recv-body")
			c.send(http2.AppendData(nil, 1, []byte("x"), true))
			if p := r.onePacket(); p.via != "h2" || str(p.p, "body") != "x" {
				t.Fatalf("body after handoff %v", p.p)
			}
			r.handler(map[string]any{"id": id, "seq": 2, "type": "handoff-start", "from": "h2"}) // await-response -> handoff
			wantType(t, r.onePacket(), "h2", "handoff-proceed")
			r.handler(h2resp(id, 3, "a", true)) // handoff -> await-response -> send-body
			c.frames()
			r.packets()
			r.handler(map[string]any{"id": id, "seq": 4, "type": "handoff-start"}) // send-body -> handoff
			wantType(t, r.onePacket(), "h1", "handoff-proceed")
			r.handler(map[string]any{"id": id, "seq": 5, "body": "b"}) // handoff -> send-body
			c.want(`DATA 1 END_STREAM "b"`)
			c.get(3, "/")
			id = c.request("GET", "http://example.com/", false)
			r.handler(typed(id, 0, "handoff-start")) // await-handler -> await-response -> handoff
			r.onePacket()
			r.handler(map[string]any{"id": id, "seq": 1, "type": "keep-alive"}) // handoff -> await-response
			c.wantPhase(3, "await-response")
		}},
		{"only pseudo-header fields: Host still comes from :authority", 0, func(t *testing.T, r *rig, c *h2client) {
			c.headers(1, true, ":method", "GET", ":scheme", "http", ":authority", "h.example", ":path", "/")
			if p := r.onePacket(); fmt.Sprint(p.p["headers"]) != "[[Host h.example]]" {
				t.Fatalf("headers %v", p.p["headers"])
			}
		}},
		{"PUSH full: the stream waits at the gate, in order, and goes when it opens", 0, func(t *testing.T, r *rig, c *h2client) {
			r.fx.full["push"] = true
			c.get(1, "/first")
			c.get(3, "/second")
			r.noPackets()
			c.want("")
			r.fx.full["push"] = false
			r.retry()
			ps := r.packets()
			if len(ps) != 2 || str(ps[0].p, "uri") != "http://example.com/first" || str(ps[1].p, "uri") != "http://example.com/second" {
				t.Fatalf("packets after the gate opened: %v", ps)
			}
			c.wantPhase(1, "await-handler")
			r.handler(h2resp(str(ps[1].p, "id"), 0, "2", false))
			c.want(`HEADERS 3 :status=200 content-type=text/plain content-length=1 | DATA 3 END_STREAM "2"`)
		}},
		{"header list over the limit: 431, the table kept in step", 0, func(t *testing.T, r *rig, c *h2client) {
			// One 1500-byte field added to the table, then named by index
			// six times: a small block for a 10 KB list.
			big := strings.Repeat("v", 1500)
			blk := http2.AppendField(nil, []byte(":method"), []byte("GET"))
			blk = http2.AppendField(blk, []byte(":scheme"), []byte("http"))
			blk = http2.AppendField(blk, []byte(":path"), []byte("/"))
			blk = append(blk, 0x40, 1, 'x')
			blk = appendHPACKInt(blk, 0, 7, uint32(len(big)))
			blk = append(blk, big...)
			blk = append(blk, 0x80|62, 0x80|62, 0x80|62, 0x80|62, 0x80|62)
			c.hdrs(1, blk, true)
			c.want(`HEADERS 1 :status=431 content-type=text/plain content-length=32 | DATA 1 END_STREAM "Request Header Fields Too Large\n"`)
			r.noPackets()
			c.hdrs(3, append(http2.AppendField(nil, []byte(":method"), []byte("GET")),
				append([]byte{0x86, 0x84}, 0x80|62)...), true) // :scheme http, :path /, x (index 62)
			p := r.onePacket()
			if fmt.Sprint(p.p["headers"]) != "[[x "+big+"]]" {
				t.Fatalf("table out of step: %v", p.p["headers"])
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := h2rig(t, tc.maxStreams)
			c := h2open(t, r)
			tc.run(t, r, c)
		})
	}
}

// appendHPACKInt is RFC 7541 §5.1 for tests that build blocks by hand.
func appendHPACKInt(dst []byte, first byte, n uint, v uint32) []byte {
	max := uint32(1)<<n - 1
	if v < max {
		return append(dst, first|byte(v))
	}
	dst = append(dst, first|byte(max))
	for v -= max; v >= 128; v >>= 7 {
		dst = append(dst, byte(v)|0x80)
	}
	return append(dst, byte(v))
}

// Client errors: each gets its defined answer, the process goes on.
func TestH2ClientErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		send  func(c *h2client)
		want  string
		alive bool
	}{
		{"even stream id", func(c *h2client) { c.get(2, "/") }, "GOAWAY last=0 PROTOCOL_ERROR", false},
		{"DATA on an idle stream", func(c *h2client) { c.send(http2.AppendData(nil, 5, []byte("x"), false)) }, "GOAWAY last=0 PROTOCOL_ERROR", false},
		{"uppercase field name", func(c *h2client) {
			blk := http2.AppendField(nil, []byte(":method"), []byte("GET"))
			blk = append(blk, 0x86, 0x84, 0, 4, 'X', '-', 'U', 'p', 1, '1') // :scheme http, :path /, a raw literal
			c.hdrs(1, blk, true)
		}, "RST_STREAM 1 PROTOCOL_ERROR", true},
		{"connection-specific field", func(c *h2client) {
			c.headers(1, true, ":method", "GET", ":scheme", "http", ":path", "/", "connection", "close")
		}, "RST_STREAM 1 PROTOCOL_ERROR", true},
		{"missing :path", func(c *h2client) { c.headers(1, true, ":method", "GET", ":scheme", "http") }, "RST_STREAM 1 PROTOCOL_ERROR", true},
		{"content-length mismatch", func(c *h2client) {
			c.headers(1, false, ":method", "POST", ":scheme", "http", ":path", "/", "content-length", "1")
			c.r.packets()
			c.send(http2.AppendData(nil, 1, []byte("ab"), true))
		}, "RST_STREAM 1 PROTOCOL_ERROR", true},
		{"WINDOW_UPDATE overflowing the connection window", func(c *h2client) {
			c.send(http2.AppendWindowUpdate(nil, 0, 1<<31-1))
		}, "GOAWAY last=0 FLOW_CONTROL_ERROR", false},
		{"PING answered", func(c *h2client) {
			c.send(http2.AppendPing(nil, false, [8]byte{'p', 'i', 'n', 'g', '1', '2', '3', '4'}))
		},
			`PING 0 ACK "ping1234"`, true},
		{"bad HPACK", func(c *h2client) {
			c.send(http2.AppendHeaders(nil, 1, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, true, 16384))
		},
			"GOAWAY last=0 COMPRESSION_ERROR", false},
		{"header block larger than the read buffer", func(c *h2client) {
			blk := http2.AppendField(nil, []byte("x"), []byte(strings.Repeat("{", 9000))) // Huffman does not shrink it
			c.send(http2.AppendHeaders(nil, 1, blk, true, 4000))
		}, "GOAWAY last=0 ENHANCE_YOUR_CALM", false},
		{"stream over the concurrency limit", func(c *h2client) {
			c.get(1, "/")
			c.get(3, "/")
		}, "RST_STREAM 3 REFUSED_STREAM", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := h2rig(t, 1)
			c := &h2client{t: t, r: r, table: make([]byte, http2.DecoderTableLen(4096))}
			c.dec.Init(4096, 0)
			c.cs = r.connect(rigStream)
			c.fd = r.fd(c.cs)
			r.client(c.cs, http2.ClientPreface+string(http2.AppendSettings(nil))+string(http2.AppendSettingsAck(nil)))
			c.want(strings.Replace(serverPreface, "=100", "=1", 1) + " | SETTINGS 0 ACK")
			tc.send(c)
			if got := c.frames(); got != tc.want {
				t.Fatalf("server wrote %q, want %q", got, tc.want)
			}
			if alive := !r.fx.closed[c.fd]; alive != tc.alive {
				t.Fatalf("connection open: %v, want %v", alive, tc.alive)
			}
		})
	}
}

// The preface on a plain listener with --http2; HTTP/1 unchanged there, and
// a bad preface after a matching start.
func TestH2Preface(t *testing.T) {
	r := h2rig(t, 0)
	cs := r.connect(rigStream)
	r.client(cs, "PRI * HTTP/2.0\r\n") // a prefix: waits
	if r.w.conns.Get(cs).has(fH2) || r.out(cs) != "" {
		t.Fatal("decided on a prefix")
	}
	r.client(cs, "\r\nSM\r\n\r\n")
	if !r.w.conns.Get(cs).has(fH2) {
		t.Fatal("not HTTP/2 after the preface")
	}
	c := &h2client{t: t, r: r, cs: cs, fd: r.fd(cs)}
	c.want(serverPreface)
	r.client(cs, "GET / HTTP/1.1\r\n\r\n") // not a SETTINGS frame
	c.want("GOAWAY last=0 PROTOCOL_ERROR")
	r.wantClosed(c.fd)

	cs = r.connect(rigStream)
	r.client(cs, getReq)
	p := r.onePacket()
	if str(p.p, "uri") != "http://a/x" || r.w.conns.Get(cs).has(fH2) {
		t.Fatalf("HTTP/1 on an --http2 port: %v", p.p)
	}
}

// Req-mode streams: the whole request on the DEALER, one reply.
func TestH2ReqMode(t *testing.T) {
	r := h2rig(t, 0)
	c := h2openOn(t, r, rigReq)
	c.get(1, "/r")
	p := r.onePacket()
	if p.via != "req" || str(p.p, "uri") != "http://example.com/r" || p.p["seq"] != nil || p.p["from"] != nil {
		t.Fatalf("req packet %v", p.p) // new -> await-response
	}
	c.wantPhase(1, "await-response")
	r.reqReply(map[string]any{"id": str(p.p, "id"), "code": 200, "reason": "OK", "body": "whole"}) // -> send-body
	c.want(`HEADERS 1 :status=200 content-length=5 | DATA 1 END_STREAM "whole"`)
	c.wantPhase(1, "")

	c.headers(3, false, ":method", "POST", ":scheme", "http", ":authority", "a", ":path", "/p", "x-h", "v")
	c.want("WINDOW_UPDATE 3 +1000") // --body-buffer-size
	r.noPackets()
	c.get(5, "/between") // another stream's HEADERS while 3 gathers its body
	p5 := r.onePacket()
	c.send(http2.AppendData(nil, 3, []byte("abc"), false))
	c.send(http2.AppendData(nil, 3, []byte("de"), true))
	p = r.onePacket()
	if str(p.p, "method") != "POST" || str(p.p, "uri") != "http://a/p" || str(p.p, "body") != "abcde" ||
		fmt.Sprint(p.p["headers"]) != "[[Host a] [x-h v]]" {
		t.Fatalf("req packet with body %v", p.p)
	}
	r.reqReply(map[string]any{"id": str(p5.p, "id"), "code": 404, "reason": "NF", "body": ""})
	c.want(`HEADERS 5 END_STREAM :status=404 content-length=0`)
	// A body over --body-buffer-size: 413.
	c.headers(7, false, ":method", "POST", ":scheme", "http", ":authority", "a", ":path", "/p", "content-length", "1001")
	c.want(`HEADERS 7 :status=413 content-type=text/plain content-length=18 | DATA 7 END_STREAM "Payload Too Large\n" | RST_STREAM 7 NO_ERROR`)
	// No reply within --req-timeout: 504.
	r.advance(31 * time.Second)
	c.want(`HEADERS 3 :status=504 content-type=text/plain content-length=16 | DATA 3 END_STREAM "Gateway Timeout\n"`)
}

// Keep-alives go to each stream's handler, as for HTTP/1 sessions.
func TestH2KeepAlives(t *testing.T) {
	r := h2rig(t, 0)
	c := h2open(t, r)
	c.get(1, "/a")
	c.get(3, "/b")
	ids := map[string]bool{}
	for _, p := range r.packets() {
		r.handler(h2resp(str(p.p, "id"), 0, "x", true))
		ids[str(p.p, "id")] = true
	}
	c.frames()
	r.packets() // credits
	r.sweep()
	kas := r.packets()
	if len(kas) == 0 {
		t.Fatal("no keep-alive")
	}
	multi, _ := kas[0].p["id"].([]any)
	if str(kas[0].p, "type") != "keep-alive" || len(multi) != 2 || len(ids) != 2 {
		t.Fatalf("keep-alive %v", kas[0].p)
	}
	for _, m := range multi {
		if !ids[str(m.(map[string]any), "id")] {
			t.Fatalf("keep-alive for %v", m)
		}
	}
}

// Defences: each flood ends in GOAWAY ENHANCE_YOUR_CALM; a client that does
// not read stops being read.
func TestH2Floods(t *testing.T) {
	ping := http2.AppendPing(nil, false, [8]byte{})
	for _, tc := range []struct {
		name  string
		frame func(i int) []byte
		n     int
	}{
		{"PING", func(int) []byte { return ping }, h2CtlBudget + 1},
		{"SETTINGS", func(int) []byte { return http2.AppendSettings(nil) }, h2CtlBudget + 1},
		{"empty DATA", func(int) []byte { return http2.AppendData(nil, 1, nil, false) }, h2CtlBudget + 1},
		{"rapid reset", func(i int) []byte {
			id := uint32(2*i + 3)
			blk := http2.AppendField(nil, []byte(":method"), []byte("GET"))
			blk = append(blk, 0x86, 0x84) // :scheme http, :path /
			return http2.AppendRSTStream(http2.AppendHeaders(nil, id, blk, true, 16384), id, http2.ErrCancel)
		}, h2RstBudget + 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := h2rig(t, 0)
			c := h2open(t, r)
			c.headers(1, false, ":method", "POST", ":scheme", "http", ":path", "/") // a stream for the empty DATA
			var in []byte
			for i := 0; i < tc.n; i++ {
				in = append(in, tc.frame(i)...)
			}
			c.send(in)
			got := c.frames()
			if !strings.HasSuffix(got, " ENHANCE_YOUR_CALM") || !strings.Contains(got, "GOAWAY last=") {
				t.Fatalf("no GOAWAY ENHANCE_YOUR_CALM: ...%s", got[max(0, len(got)-200):])
			}
			r.wantClosed(c.fd)
		})
	}
	t.Run("CONTINUATION flood", func(t *testing.T) {
		r := h2rig(t, 0)
		c := h2open(t, r)
		blk := http2.AppendField(nil, []byte(":method"), []byte("GET"))
		in := http2.AppendFrameHeader(nil, http2.FrameHeader{Length: uint32(len(blk)), Type: http2.FrameHeaders, StreamID: 1})
		in = append(in, blk...)
		for i := 0; i < 5000; i++ {
			in = http2.AppendFrameHeader(in, http2.FrameHeader{Type: http2.FrameContinuation, StreamID: 1})
		}
		c.send(in)
		c.want("GOAWAY last=0 ENHANCE_YOUR_CALM")
		r.wantClosed(c.fd)
	})
	t.Run("a client that does not read is not read", func(t *testing.T) {
		r := h2rig(t, 0)
		c := h2open(t, r)
		r.fx.stalled[c.fd] = true
		var in []byte
		for i := 0; i < 900; i++ {
			in = append(in, ping...)
		}
		c.send(in)
		cn := r.w.conns.Get(c.cs)
		if pending := cn.wend - cn.wstart; pending > h2CtlBytesMax+int32(h2FrameBudget*17) {
			t.Fatalf("%d bytes of answers pending", pending)
		}
		if r.fx.closed[c.fd] || len(r.fx.in[c.fd]) == 0 {
			t.Fatal("the connection closed, or all its input was read")
		}
		r.fx.stalled[c.fd] = false
		r.event(c.cs, reactor.EvOut) // the client reads: so are its frames again
		if n := strings.Count(c.frames(), "PING 0 ACK"); n != 900 {
			t.Fatalf("%d PING answers", n)
		}
	})
}

// The HPACK table lives in the connection's block while what it holds fits
// there (2048); a larger table is kept in a lent 4096-byte block, returned
// once the client's table shrinks again.
func TestH2TableHome(t *testing.T) {
	r := h2rig(t, 0)
	c := h2open(t, r)
	h := func() *h2conn { return r.w.h2(r.w.conns.Get(c.cs)) }
	c.get(1, "/")
	r.packets()
	if h().big != 0 || h().dec.Len() != 0 {
		t.Fatalf("table out of its block after a small request (entries %d)", h().dec.Len())
	}
	blk := http2.AppendField(nil, []byte(":method"), []byte("GET"))
	blk = append(blk, 0x86, 0x84, 0x40, 1, 'x')
	blk = appendHPACKInt(blk, 0, 7, 3000)
	blk = append(blk, strings.Repeat("v", 3000)...)
	c.hdrs(3, blk, true)
	r.packets()
	if h().big == 0 || r.w.h2big.bytes(h().big) == nil {
		t.Fatal("a 3 KB table is not in a lent block")
	}
	c.hdrs(5, append(http2.AppendField([]byte{0x20}, []byte(":method"), []byte("GET")), 0x86, 0x84), true) // size update to 0
	r.packets()
	if h().big != 0 {
		t.Fatal("the lent block was kept after the table emptied")
	}
	c.hdrs(7, append(http2.AppendField([]byte{0x3f, 0xe1, 0x1f}, []byte(":method"), []byte("GET")), 0x86, 0x84, 0x40, 1, 'y', 1, 'z'), true) // back to 4096
	c.hdrs(9, append(http2.AppendField(nil, []byte(":method"), []byte("GET")), 0x86, 0x84, 0x80|62), true)
	if ps := r.packets(); len(ps) != 2 || fmt.Sprint(ps[1].p["headers"]) != "[[y z]]" {
		t.Fatalf("table after moving home: %v", ps)
	}
}
