package main

import (
	"bytes"
	"crypto/tls"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// WebSocket over HTTP/2 (RFC 8441) through the real binary: a minimal Go
// client on x/net's Framer and hpack (extended CONNECT, messages,
// fragments, ping, a message larger than every window, close), over h2c
// and over TLS with ALPN h2; and headless Chromium opening a WebSocket on
// the HTTP/2 connection of an https page. The handler is echoHandler
// (e2e_realclients_test.go).

// h2wsServer starts the binary with --http2 on a plain and a tls listener,
// and an echo handler.
func h2wsServer(t *testing.T, page []byte, extra ...string) (*testServer, *echoHandler, string, *tlsEnv) {
	t.Helper()
	env := newTLSEnv(t)
	tlsAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	s := startServer(t, append([]string{"--http2", "--listen", tlsAddr + ",tls,default-cert=default",
		"--tls-identities-dir", env.dir}, extra...)...)
	s.waitLog("[condure] started")
	return s, startEchoHandler(t, s, page), tlsAddr, env
}

// h2wsClient is one HTTP/2 connection with WebSocket streams on it.
type h2wsClient struct {
	t       *testing.T
	conn    net.Conn
	fr      *http2.Framer
	enc     *hpack.Encoder
	encBuf  bytes.Buffer
	dec     *hpack.Decoder
	connWin int64            // what we may send on the connection
	winOf   map[uint32]int64 // what we may send on each stream
	data    map[uint32][]byte
	ended   map[uint32]bool
	reset   map[uint32]http2.ErrCode
	heads   map[uint32][]hpack.HeaderField
	connect bool // the server's SETTINGS_ENABLE_CONNECT_PROTOCOL
}

const h2wsClientWindow = 1 << 20

func dialH2WS(t *testing.T, c net.Conn) *h2wsClient {
	t.Helper()
	cl := &h2wsClient{t: t, conn: c, connWin: 65535, winOf: map[uint32]int64{}, data: map[uint32][]byte{},
		ended: map[uint32]bool{}, reset: map[uint32]http2.ErrCode{}, heads: map[uint32][]hpack.HeaderField{}}
	cl.fr = http2.NewFramer(c, c)
	cl.enc = hpack.NewEncoder(&cl.encBuf)
	cl.dec = hpack.NewDecoder(4096, nil)
	c.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := io.WriteString(c, http2.ClientPreface); err != nil {
		t.Fatal(err)
	}
	cl.fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: h2wsClientWindow})
	cl.fr.WriteWindowUpdate(0, h2wsClientWindow)
	// The server's SETTINGS come first.
	f := cl.read()
	sf, ok := f.(*http2.SettingsFrame)
	if !ok || sf.IsAck() {
		t.Fatalf("first frame %v", f)
	}
	sf.ForeachSetting(func(s http2.Setting) error {
		if s.ID == http2.SettingEnableConnectProtocol && s.Val == 1 {
			cl.connect = true
		}
		return nil
	})
	return cl
}

// read reads one frame, applying settings, window updates and pings.
func (cl *h2wsClient) read() http2.Frame {
	cl.t.Helper()
	f, err := cl.fr.ReadFrame()
	if err != nil {
		cl.t.Fatalf("read frame: %v", err)
	}
	switch f := f.(type) {
	case *http2.SettingsFrame:
		if !f.IsAck() {
			cl.fr.WriteSettingsAck()
		}
	case *http2.WindowUpdateFrame:
		if f.StreamID == 0 {
			cl.connWin += int64(f.Increment)
		} else {
			cl.winOf[f.StreamID] += int64(f.Increment)
		}
	case *http2.PingFrame:
		if !f.IsAck() {
			cl.fr.WritePing(true, f.Data)
		}
	case *http2.DataFrame:
		id := f.StreamID
		cl.data[id] = append(cl.data[id], f.Data()...)
		if n := uint32(len(f.Data())); n > 0 {
			cl.fr.WriteWindowUpdate(0, n)
			if !f.StreamEnded() {
				cl.fr.WriteWindowUpdate(id, n)
			}
		}
		if f.StreamEnded() {
			cl.ended[id] = true
		}
	case *http2.HeadersFrame:
		fields, err := cl.dec.DecodeFull(f.HeaderBlockFragment())
		if err != nil || !f.HeadersEnded() {
			cl.t.Fatalf("response headers: %v", err)
		}
		cl.heads[f.StreamID] = fields
		if f.StreamEnded() {
			cl.ended[f.StreamID] = true
		}
	case *http2.RSTStreamFrame:
		cl.reset[f.StreamID] = f.ErrCode
	case *http2.GoAwayFrame:
		cl.t.Fatalf("GOAWAY %v", f.ErrCode)
	}
	return f
}

// until reads frames until cond holds.
func (cl *h2wsClient) until(what string, cond func() bool) {
	cl.t.Helper()
	for !cond() {
		cl.read()
	}
}

// headers sends a HEADERS frame of fields "name", "value", ...
func (cl *h2wsClient) headers(id uint32, end bool, fields ...string) {
	cl.encBuf.Reset()
	for i := 0; i+1 < len(fields); i += 2 {
		cl.enc.WriteField(hpack.HeaderField{Name: fields[i], Value: fields[i+1]})
	}
	if err := cl.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: cl.encBuf.Bytes(),
		EndHeaders: true, EndStream: end}); err != nil {
		cl.t.Fatal(err)
	}
}

// field returns a response field of stream id.
func (cl *h2wsClient) field(id uint32, name string) string {
	for _, f := range cl.heads[id] {
		if f.Name == name {
			return f.Value
		}
	}
	return ""
}

// open runs the extended CONNECT of stream id and waits for :status 200.
func (cl *h2wsClient) open(id uint32, scheme, authority string, extra ...string) {
	cl.t.Helper()
	cl.headers(id, false, append([]string{":method", "CONNECT", ":protocol", "websocket", ":scheme", scheme,
		":path", "/chat?x=1", ":authority", authority, "sec-websocket-version", "13"}, extra...)...)
	cl.until("response", func() bool { return cl.heads[id] != nil })
	if st := cl.field(id, ":status"); st != "200" {
		cl.t.Fatalf("extended CONNECT answered %v", cl.heads[id])
	}
}

// send writes client WebSocket frames (masked) on stream id, in DATA frames
// within the connection's and the stream's windows.
func (cl *h2wsClient) send(id uint32, end bool, frames ...[]byte) {
	cl.t.Helper()
	var b []byte
	for _, f := range frames {
		b = append(b, f...)
	}
	for len(b) > 0 || end {
		n := min(int64(len(b)), cl.connWin, cl.winOf[id], 16384)
		if n == 0 && len(b) > 0 {
			cl.read() // wait for a window
			continue
		}
		last := end && int(n) == len(b)
		if err := cl.fr.WriteData(id, last, b[:n]); err != nil {
			cl.t.Fatal(err)
		}
		cl.connWin -= n
		cl.winOf[id] -= n
		b = b[n:]
		if last {
			break
		}
	}
}

// h2wsMasked is a masked client frame.
func h2wsMasked(fin bool, op byte, payload []byte) []byte {
	b0 := op
	if fin {
		b0 |= 0x80
	}
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
	mask := [4]byte{9, 8, 7, 6}
	b = append(b, mask[:]...)
	for i := range payload {
		b = append(b, payload[i]^mask[i%4])
	}
	return b
}

// next returns the next server WebSocket frame of stream id.
func (cl *h2wsClient) next(id uint32) (fin bool, op byte, payload []byte) {
	cl.t.Helper()
	for {
		b := cl.data[id]
		if len(b) >= 2 {
			if b[1]&0x80 != 0 {
				cl.t.Fatalf("masked server frame")
			}
			n, h := int(b[1]&0x7f), 2
			switch {
			case n == 126 && len(b) >= 4:
				n, h = int(binary.BigEndian.Uint16(b[2:])), 4
			case n == 127 && len(b) >= 10:
				n, h = int(binary.BigEndian.Uint64(b[2:])), 10
			case n >= 126:
				n = 1 << 30
			}
			if len(b) >= h+n {
				cl.data[id] = b[h+n:]
				return b[0]&0x80 != 0, b[0] & 0x0f, b[h : h+n]
			}
		}
		if cl.ended[id] || cl.reset[id] != 0 {
			cl.t.Fatalf("stream %d ended (reset %v) inside a frame: %q", id, cl.reset[id], b)
		}
		cl.read()
	}
}

// message reads a whole message (fragments joined) of stream id.
func (cl *h2wsClient) message(id uint32) (op byte, payload []byte, frames int) {
	cl.t.Helper()
	for {
		fin, o, p := cl.next(id)
		if o >= 8 {
			cl.t.Fatalf("control frame %d inside a message", o)
		}
		if frames == 0 {
			op = o
		}
		frames++
		payload = append(payload, p...)
		if fin {
			return
		}
	}
}

func TestH2WebSocketGoClient(t *testing.T) {
	s, e, tlsAddr, env := h2wsServer(t, nil)
	for _, tc := range []struct {
		name, scheme string
		dial         func() net.Conn
	}{
		{"h2c", "http", func() net.Conn {
			c, err := net.Dial("tcp", s.addr)
			if err != nil {
				t.Fatal(err)
			}
			return c
		}},
		{"tls alpn h2", "https", func() net.Conn {
			cfg := env.clientConfig("localhost")
			cfg.NextProtos = []string{"h2"}
			c, err := tls.Dial("tcp", tlsAddr, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if c.ConnectionState().NegotiatedProtocol != "h2" {
				t.Fatalf("ALPN chose %q", c.ConnectionState().NegotiatedProtocol)
			}
			return c
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.dial()
			defer c.Close()
			cl := dialH2WS(t, c)
			if !cl.connect {
				t.Fatal("no SETTINGS_ENABLE_CONNECT_PROTOCOL=1")
			}
			opened0, closed0, _, _ := e.stats()
			cl.open(1, tc.scheme, "example.com", "sec-websocket-protocol", "chat, superchat")
			if p := cl.field(1, "sec-websocket-protocol"); p != "chat" || cl.field(1, "sec-websocket-accept") != "" {
				t.Fatalf("response fields %v", cl.heads[1])
			}
			wantURI := "ws://example.com/chat?x=1"
			if tc.scheme == "https" {
				wantURI = "wss://example.com/chat?x=1"
			}
			if !strings.Contains(e.log.String(), ": websocket "+wantURI+" offered") {
				t.Fatalf("handler did not see %s:\n%s", wantURI, e.log.String())
			}

			// Two streams at once on the connection: messages do not mix.
			cl.open(3, tc.scheme, "example.com")
			cl.send(1, false, h2wsMasked(true, 1, []byte("hello")))
			cl.send(3, false, h2wsMasked(true, 2, []byte{0, 1, 2}))
			if op, p, _ := cl.message(1); op != 1 || string(p) != "hello" {
				t.Fatalf("echo op %d %q", op, p)
			}
			if op, p, _ := cl.message(3); op != 2 || !bytes.Equal(p, []byte{0, 1, 2}) {
				t.Fatalf("echo op %d %q", op, p)
			}

			// A fragmented message, with a ping between its fragments.
			cl.send(1, false, h2wsMasked(false, 1, []byte("frag")), h2wsMasked(true, 9, []byte("pi")), h2wsMasked(true, 0, []byte("ment")))
			fin, op, p := cl.next(1)
			if fin || op != 1 || string(p) != "frag" {
				t.Fatalf("first fragment fin=%v op=%d %q", fin, op, p)
			}
			if fin, op, p = cl.next(1); !fin || op != 10 || string(p) != "pi" {
				t.Fatalf("pong fin=%v op=%d %q", fin, op, p)
			}
			if fin, op, p = cl.next(1); !fin || op != 0 || string(p) != "ment" {
				t.Fatalf("last fragment fin=%v op=%d %q", fin, op, p)
			}

			// A message larger than every window and buffer on the way.
			big := make([]byte, 300000)
			for i := range big {
				big[i] = byte(i % 251)
			}
			cl.send(3, false, h2wsMasked(true, 2, big))
			if op, p, frames := cl.message(3); op != 2 || !bytes.Equal(p, big) {
				t.Fatalf("large echo op %d, %d bytes in %d frames", op, len(p), frames)
			}

			// Close handshakes: the client closes first; the echo of its
			// close comes back with END_STREAM.
			for _, id := range []uint32{1, 3} {
				cl.send(id, false, h2wsMasked(true, 8, []byte{0x03, 0xe8, 'b', 'y', 'e'}))
				if fin, op, p := cl.next(id); !fin || op != 8 || string(p) != "\x03\xe8bye" {
					t.Fatalf("close echo fin=%v op=%d %q", fin, op, p)
				}
				cl.until("END_STREAM", func() bool { return cl.ended[id] })
			}
			// The handler counts a session closed once the server's close
			// packet reached it, which may follow the client's END_STREAM.
			if !eventually(t, 5*time.Second, func() bool {
				opened, closed, _, _ := e.stats()
				return opened == opened0+2 && closed == closed0+2
			}) {
				opened, closed, _, _ := e.stats()
				t.Fatalf("handler opened %d closed %d sessions, want 2 and 2", opened-opened0, closed-closed0)
			}

			// A client that resets its stream: the handler gets a cancel.
			_, _, cancels0, _ := e.stats()
			cl.open(5, tc.scheme, "example.com")
			cl.fr.WriteRSTStream(5, http2.ErrCodeCancel)
			if !eventually(t, 5*time.Second, func() bool { _, _, n, _ := e.stats(); return n == cancels0+1 }) {
				t.Fatal("no cancel to the handler after RST_STREAM")
			}

			// A plain CONNECT is refused with 501; the connection goes on.
			cl.headers(7, true, ":method", "CONNECT", ":authority", "example.com:443")
			cl.until("501", func() bool { return cl.ended[7] })
			if st := cl.field(7, ":status"); st != "501" {
				t.Fatalf("plain CONNECT answered %v", cl.heads[7])
			}
			cl.open(9, tc.scheme, "example.com")
			cl.send(9, false, h2wsMasked(true, 1, []byte("still here")))
			if _, p, _ := cl.message(9); string(p) != "still here" {
				t.Fatalf("echo %q", p)
			}

			// The connection goes with stream 9 open: its handler gets a cancel.
			c.Close()
			if !eventually(t, 5*time.Second, func() bool { _, _, n, _ := e.stats(); return n == cancels0+2 }) {
				t.Fatal("no cancel to the handler when the connection closed")
			}
		})
	}
}

// TestH2WebSocketChromium: headless Chromium loads a page over https (ALPN
// h2) and opens a WebSocket to the same origin, which it runs over that
// HTTP/2 connection (RFC 8441) since the server allows extended CONNECT.
func TestH2WebSocketChromium(t *testing.T) {
	if _, err := os.Stat(chromiumBin); err != nil {
		t.Skipf("chromium is not installed: %v", err)
	}
	page, err := os.ReadFile(filepath.Join("testdata", "ws_echo_page.html"))
	if err != nil {
		t.Fatal(err)
	}
	_, e, tlsAddr, _ := h2wsServer(t, page, "--compression")
	_, port, _ := net.SplitHostPort(tlsAddr)
	exited := startChromium(t, "https://localhost:"+port+"/page?protocol=chat", "--ignore-certificate-errors")
	select {
	case q := <-e.results:
		v, err := url.ParseQuery(q)
		if err != nil || v.Get("status") != "ok" || v.Get("code") != "1000" ||
			v.Get("ext") != "permessage-deflate; server_no_context_takeover; client_no_context_takeover" || v.Get("protocol") != "chat" {
			t.Fatalf("page reported %q", q)
		}
	case err := <-exited:
		t.Fatalf("chromium exited before the page reported: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("no result from the page within 30 s")
	}
	// Over HTTP/1 the upgrade would carry Sec-WebSocket-Key; over HTTP/2
	// there is none (RFC 8441 §5).
	if keys := e.wsKeys(); len(keys) != 1 || keys[0] != "" {
		t.Fatalf("Sec-WebSocket-Key of the upgrades %q: the WebSocket did not go over HTTP/2", keys)
	}
	if !strings.Contains(e.log.String(), ": websocket wss://localhost:"+port+"/echo offered") {
		t.Fatalf("handler log:\n%s", e.log.String())
	}
}

// wsKeys returns the Sec-WebSocket-Key of each upgrade the handler took.
func (e *echoHandler) wsKeys() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.keys...)
}

// TestH2WebSocketHandlerCloses: the handler speaks first and closes first
// (close frame, then END_STREAM); the client's close frame and END_STREAM
// end the stream, and the handler sees the client's close. A refusal
// (403 with a body) reaches the client as that response.
func TestH2WebSocketHandlerCloses(t *testing.T) {
	s := startServer(t, "--http2")
	h := s.handler("raw")
	c, err := net.Dial("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cl := dialH2WS(t, c)
	cl.headers(1, false, ":method", "CONNECT", ":protocol", "websocket", ":scheme", "http", ":path", "/feed",
		":authority", "example.com", "sec-websocket-version", "13")
	req := recv(t, h, "")
	if str(req, "uri") != "ws://example.com/feed" || str(req, "method") != "GET" {
		t.Fatalf("request %v", req)
	}
	ss := newSession(t, h, req)
	ss.send(map[string]any{"code": 101, "reason": "Switching Protocols", "credits": 1000})
	ss.send(map[string]any{"body": "news"})
	ss.send(map[string]any{"type": "close", "code": 1001, "body": "going"})
	cl.until("200", func() bool { return cl.heads[1] != nil })
	if cl.field(1, ":status") != "200" {
		t.Fatalf("response %v", cl.heads[1])
	}
	if fin, op, p := cl.next(1); !fin || op != 1 || string(p) != "news" {
		t.Fatalf("message fin=%v op=%d %q", fin, op, p)
	}
	if fin, op, p := cl.next(1); !fin || op != 8 || string(p) != "\x03\xe9going" {
		t.Fatalf("close fin=%v op=%d %q", fin, op, p)
	}
	cl.until("END_STREAM", func() bool { return cl.ended[1] })
	cl.send(1, true, h2wsMasked(true, 8, []byte{0x03, 0xe9}))
	if p := recv(t, h, "close"); num(p, "code") != 1001 {
		t.Fatalf("close packet %v", p)
	}

	cl.headers(3, false, ":method", "CONNECT", ":protocol", "websocket", ":scheme", "http", ":path", "/private",
		":authority", "example.com", "sec-websocket-version", "13")
	ss = newSession(t, h, recv(t, h, ""))
	ss.send(map[string]any{"code": 403, "reason": "Forbidden", "headers": []any{[]any{"Content-Type", "text/plain"}}, "body": "no\n"})
	cl.until("403", func() bool { return cl.ended[3] })
	if cl.field(3, ":status") != "403" || string(cl.data[3]) != "no\n" {
		t.Fatalf("refusal %v %q", cl.heads[3], cl.data[3])
	}
	expectNothing(t, h, 200*time.Millisecond) // neither stream sends the handler anything more
}
