package main

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/condure-go/condure/zhttp/zhttptest"
)

// WebSocket sessions (reference.md §4.4, §6) with raw client sockets.

const wsUpgrade = "GET /chat HTTP/1.1\r\nHost: ws.example\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
	"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"

// clientFrame builds a masked client frame.
func clientFrame(fin bool, op byte, payload []byte) []byte {
	b0 := op
	if fin {
		b0 |= 0x80
	}
	f := []byte{b0}
	switch n := len(payload); {
	case n <= 125:
		f = append(f, 0x80|byte(n))
	case n <= 0xffff:
		f = append(f, 0x80|126, byte(n>>8), byte(n))
	default:
		f = append(f, 0x80|127)
		f = binary.BigEndian.AppendUint64(f, uint64(n))
	}
	mask := []byte{0x37, 0xfa, 0x21, 0x3d}
	f = append(f, mask...)
	for i, c := range payload {
		f = append(f, c^mask[i%4])
	}
	return f
}

type wsFrame struct {
	fin     bool
	op      byte
	payload []byte
}

// readFrame reads one server frame (never masked).
func readFrame(t *testing.T, br *bufio.Reader) wsFrame {
	t.Helper()
	h := make([]byte, 2)
	if _, err := io.ReadFull(br, h); err != nil {
		t.Fatalf("read frame: %v", err)
	}
	if h[1]&0x80 != 0 {
		t.Fatalf("server frame is masked")
	}
	n := int(h[1] & 0x7f)
	switch n {
	case 126:
		b := make([]byte, 2)
		io.ReadFull(br, b)
		n = int(binary.BigEndian.Uint16(b))
	case 127:
		b := make([]byte, 8)
		io.ReadFull(br, b)
		n = int(binary.BigEndian.Uint64(b))
	}
	p := make([]byte, n)
	if _, err := io.ReadFull(br, p); err != nil {
		t.Fatalf("read payload: %v", err)
	}
	return wsFrame{fin: h[0]&0x80 != 0, op: h[0] & 0x0f, payload: p}
}

// wsOpen performs the handshake with handler h answering 101; it returns
// the client's reader and the handler's session.
func wsOpen(t *testing.T, s *testServer, h *zhttptest.Handler, extraHeaders ...string) (net.Conn, *bufio.Reader, *session) {
	t.Helper()
	c := s.dial()
	fmt.Fprintf(c, "%s\r\n", wsUpgrade)
	req := recv(t, h, "")
	if str(req, "uri") != "ws://ws.example/chat" || req["stream"] != nil || req["more"] != nil || num(req, "credits") <= 0 {
		t.Fatalf("websocket request packet %v", req)
	}
	ss := newSession(t, h, req)
	hdrs := []any{}
	for i := 0; i+1 < len(extraHeaders); i += 2 {
		hdrs = append(hdrs, []any{extraHeaders[i], extraHeaders[i+1]})
	}
	ss.send(map[string]any{"code": 101, "reason": "Switching Protocols", "credits": 1024, "headers": hdrs})
	br := bufio.NewReader(c)
	return c, br, ss
}

func readHead(t *testing.T, br *bufio.Reader) string {
	t.Helper()
	var b strings.Builder
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("read head: %v (so far %q)", err, b.String())
		}
		b.WriteString(line)
		if line == "\r\n" {
			return b.String()
		}
	}
}

func TestWebSocketHandshakeAndMessages(t *testing.T) {
	s := startServer(t)
	h := s.handler("h1")
	c, br, ss := wsOpen(t, s, h, "Sec-WebSocket-Protocol", "chat", "Content-Length", "5")
	head := readHead(t, br)
	want := "HTTP/1.1 101 Switching Protocols\r\nSec-WebSocket-Protocol: chat\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"
	if head != want {
		t.Fatalf("handshake response %q\nwant %q", head, want)
	}
	// Client text "hi" (§10.3).
	c.Write([]byte{0x81, 0x82, 0x37, 0xfa, 0x21, 0x3d, 0x5f, 0x93})
	p := recv(t, h, "")
	if str(p, "content-type") != "text" || str(p, "body") != "hi" || p["more"] != nil || num(p, "seq") != 1 {
		t.Fatalf("data packet %v", p)
	}
	// Handler text "hello": one unmasked frame, then a credit of 5.
	ss.send(map[string]any{"content-type": "text", "body": "hello"})
	if f := readFrame(t, br); !f.fin || f.op != 1 || string(f.payload) != "hello" {
		t.Fatalf("frame %+v", f)
	}
	if cr := recv(t, h, "credit"); num(cr, "credits") != 5 {
		t.Fatalf("credit %v", cr)
	}
	// Binary both ways.
	c.Write(clientFrame(true, 2, []byte{0, 1, 2, 255}))
	if p := recv(t, h, ""); str(p, "content-type") != "binary" || str(p, "body") != "\x00\x01\x02\xff" {
		t.Fatalf("binary packet %v", p)
	}
	ss.send(map[string]any{"content-type": "binary", "body": []byte{9, 8, 7}})
	if f := readFrame(t, br); f.op != 2 || !bytes.Equal(f.payload, []byte{9, 8, 7}) {
		t.Fatalf("frame %+v", f)
	}
	recv(t, h, "credit")
	// A fragmented client message with a ping between the fragments
	// (allowed by RFC 6455 §5.4, reference.md §12 #12).
	c.Write(clientFrame(false, 1, []byte("frag1-")))
	c.Write(clientFrame(true, 9, []byte("ping!")))
	c.Write(clientFrame(true, 0, []byte("frag2")))
	got := ""
	sawPing := false
	for !strings.HasSuffix(got, "frag2") {
		p := recv(t, h, "*")
		switch str(p, "type") {
		case "":
			got += str(p, "body")
			if (p["more"] == true) == strings.HasSuffix(got, "frag2") {
				t.Fatalf("more flag wrong on %v", p)
			}
		case "ping":
			sawPing = str(p, "body") == "ping!"
		}
	}
	if got != "frag1-frag2" || !sawPing {
		t.Fatalf("fragments %q ping %v", got, sawPing)
	}
	// The handler answers the ping; then a message in two packets goes out
	// as a first frame and a continuation.
	ss.send(map[string]any{"type": "pong", "body": "ping!"})
	if f := readFrame(t, br); f.op != 10 || string(f.payload) != "ping!" {
		t.Fatalf("pong frame %+v", f)
	}
	ss.send(map[string]any{"content-type": "binary", "body": "out1", "more": true})
	ss.send(map[string]any{"content-type": "binary", "body": "out2"})
	f1, f2 := readFrame(t, br), readFrame(t, br)
	if f1.fin || f1.op != 2 || string(f1.payload) != "out1" || !f2.fin || f2.op != 0 || string(f2.payload) != "out2" {
		t.Fatalf("fragments %+v %+v", f1, f2)
	}
	// Close 1000 from the client; the handler's close completes it.
	c.Write([]byte{0x88, 0x82, 0x37, 0xfa, 0x21, 0x3d, 0x34, 0x12})
	cl := recv(t, h, "close")
	if num(cl, "code") != 1000 {
		t.Fatalf("close packet %v", cl)
	}
	ss.send(map[string]any{"type": "close", "code": 1000})
	if f := readFrame(t, br); f.op != 8 || !bytes.Equal(f.payload, []byte{3, 0xe8}) {
		t.Fatalf("close frame %+v", f)
	}
	if _, err := br.ReadByte(); err != io.EOF {
		t.Fatalf("want the TCP connection closed, got %v", err)
	}
}

func TestWebSocketHandlerClosesFirst(t *testing.T) {
	s := startServer(t)
	h := s.handler("h1")
	c, br, ss := wsOpen(t, s, h)
	readHead(t, br)
	// An invalid close code from the handler is replaced by 1011 (§12 #16).
	ss.send(map[string]any{"type": "close", "code": 999, "body": "bye"})
	if f := readFrame(t, br); f.op != 8 || !bytes.Equal(f.payload, []byte{0x03, 0xf3, 'b', 'y', 'e'}) {
		t.Fatalf("close frame %+v", f)
	}
	// Closing: client data is still forwarded, handler data dropped.
	c.Write(clientFrame(true, 1, []byte("late")))
	if p := recv(t, h, ""); str(p, "body") != "late" {
		t.Fatalf("%v", p)
	}
	ss.send(map[string]any{"body": "dropped"})
	c.Write(clientFrame(true, 8, []byte{0x03, 0xe8}))
	if p := recv(t, h, "close"); num(p, "code") != 1000 {
		t.Fatalf("%v", p)
	}
	if _, err := br.ReadByte(); err != io.EOF {
		t.Fatalf("want close after both close frames, got %v", err)
	}
}

func TestWebSocketRejections(t *testing.T) {
	s := startServer(t)
	h := s.handler("h1")
	cases := []struct {
		name   string
		answer map[string]any
		want   string
	}{
		{"non_101_status", map[string]any{"code": 403, "reason": "Forbidden", "body": "denied\n",
			"headers": []any{[]any{"Content-Type", "text/plain"}, []any{"Content-Length", "77"}, []any{"Upgrade", "websocket"}}},
			"HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nConnection: close\r\nContent-Length: 7\r\n\r\ndenied\n"},
		{"error_rejected", map[string]any{"type": "error", "condition": "rejected", "code": 401, "reason": "Unauthorized", "body": "no"},
			"HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 2\r\n\r\nno"},
		{"other_error", map[string]any{"type": "error", "condition": "bad-request"}, "HTTP/1.1 502 Bad Gateway\r\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := s.dial()
			fmt.Fprintf(c, "%s\r\n", wsUpgrade)
			newSession(t, h, recv(t, h, "")).send(tc.answer)
			if all := readAllUntilClose(t, c); !strings.HasPrefix(all, tc.want) {
				t.Fatalf("got %q\nwant %q", all, tc.want)
			}
		})
	}
}

func TestWebSocketInvalidUpgrades(t *testing.T) {
	s := startServer(t)
	h := s.handler("h1")
	cases := []struct{ name, req, want string }{
		{"no_key", "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\r\n", "HTTP/1.1 400 "},
		{"post", "POST / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: a2V5\r\nContent-Length: 0\r\n\r\n", "HTTP/1.1 400 "},
		{"key_too_long", "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: " + strings.Repeat("k", 221) + "\r\n\r\n", "HTTP/1.1 400 "},
		{"wrong_version", "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 8\r\nSec-WebSocket-Key: a2V5\r\n\r\n", "HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\n"},
		{"bad_extensions", "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: a2V5\r\nSec-WebSocket-Extensions: a,,b\r\n\r\n", "HTTP/1.1 400 "},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := s.dial()
			c.Write([]byte(tc.req))
			if all := readAllUntilClose(t, c); !strings.HasPrefix(all, tc.want) {
				t.Fatalf("got %q", all)
			}
		})
	}
	expectNothing(t, h, 200*time.Millisecond) // no request reached the handler
}

func TestWebSocketProtocolErrors(t *testing.T) {
	s := startServer(t, "--ws-max-message", "1000")
	h := s.handler("h1")
	cases := []struct {
		name  string
		bytes []byte
		code  uint16
	}{
		{"unmasked_frame", []byte{0x81, 0x02, 'h', 'i'}, 1002},
		{"reserved_bits", append([]byte{0xc1}, clientFrame(true, 1, []byte("x"))[1:]...), 1002},
		{"unknown_opcode", clientFrame(true, 3, []byte("x")), 1002},
		{"control_over_125", clientFrame(true, 9, make([]byte, 126)), 1002},
		{"fragmented_control", clientFrame(false, 9, []byte("x")), 1002},
		{"continuation_without_start", clientFrame(true, 0, []byte("x")), 1002},
		{"invalid_utf8", clientFrame(true, 1, []byte{0xff, 0xfe}), 1007},
		{"message_over_limit", clientFrame(true, 2, make([]byte, 1001)), 1009},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, br, ss := wsOpen(t, s, h)
			readHead(t, br)
			c.Write(tc.bytes)
			f := readFrame(t, br)
			if f.op != 8 || len(f.payload) < 2 || binary.BigEndian.Uint16(f.payload) != tc.code {
				t.Fatalf("close frame %+v, want code %d", f, tc.code)
			}
			if _, err := br.ReadByte(); err != io.EOF {
				t.Fatalf("want TCP close, got %v", err)
			}
			for {
				p := recv(t, h, "*")
				if str(p, "type") == "cancel" {
					if str(p, "id") != ss.id {
						t.Fatalf("cancel for %v", p)
					}
					break
				}
			}
			s.waitLog("websocket protocol error")
		})
	}
}

func TestWebSocketCreditsHoldBackClient(t *testing.T) {
	s := startServer(t)
	h := s.handler("h1")
	c, br, ss := wsOpen(t, s, h)
	readHead(t, br)
	// The handler granted 1024 credits: a 3000-byte message arrives as at
	// most 1024 bytes until it grants more.
	msg := make([]byte, 3000)
	rand.Read(msg)
	c.Write(clientFrame(true, 2, msg))
	p := recv(t, h, "")
	if len(str(p, "body")) != 1024 || p["more"] != true {
		t.Fatalf("first part %d bytes %v", len(str(p, "body")), p["more"])
	}
	expectNothing(t, h, 300*time.Millisecond)
	ss.send(map[string]any{"type": "credit", "credits": 4000})
	got := str(p, "body")
	for len(got) < 3000 {
		got += str(recv(t, h, ""), "body")
	}
	if got != string(msg) {
		t.Fatal("message differs")
	}
}

func TestWebSocketHandlerIgnoringCreditsIsCut(t *testing.T) {
	s := startServer(t, "--buffer-size", "4096")
	h := s.handler("h1")
	c, br, ss := wsOpen(t, s, h)
	readHead(t, br)
	// The client reads nothing; a handler sending far past its credits
	// fills the write buffer and the connection is closed with a cancel,
	// instead of the server's memory growing.
	c.(*net.TCPConn).SetReadBuffer(4096)
	big := strings.Repeat("x", 60000)
	for i := 0; i < 100; i++ {
		ss.send(map[string]any{"content-type": "binary", "body": big})
	}
	for {
		p := recv(t, h, "*")
		if str(p, "type") == "cancel" {
			break
		}
	}
	s.waitLog("write buffer overflow")
}

func TestWebSocketClientCloseNotAnswered(t *testing.T) {
	s := startServer(t)
	h := s.handler("h1")
	c, br, _ := wsOpen(t, s, h)
	readHead(t, br)
	c.Write(clientFrame(true, 8, []byte{0x03, 0xe8}))
	recv(t, h, "close")
	start := time.Now()
	if _, err := br.ReadByte(); err != io.EOF {
		t.Fatalf("want TCP close, got %v", err)
	}
	if d := time.Since(start); d < 4*time.Second || d > 7*time.Second {
		t.Fatalf("closed after %v, want 5 s", d)
	}
}
