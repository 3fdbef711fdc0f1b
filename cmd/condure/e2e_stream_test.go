package main

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/condure-go/condure/zhttp/zhttptest"
)

func TestStreamGetRequestFields(t *testing.T) {
	s := startServer(t)
	h := s.handler("h1")
	c := s.dial()
	fmt.Fprintf(c, "GET /path?q=1 HTTP/1.1\r\nHost: example.com\r\nX-Test: a\r\nX-Test: b\r\n\r\n")

	req := recv(t, h, "")
	checks := map[string]string{"from": "condure", "method": "GET", "uri": "http://example.com/path?q=1", "peer-address": "127.0.0.1"}
	for k, want := range checks {
		if got := str(req, k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if num(req, "seq") != 0 || num(req, "credits") != 8192 || req["stream"] != true || req["more"] != nil {
		t.Errorf("seq/credits/stream/more wrong: %v", req)
	}
	if ext, _ := req["ext"].(map[string]any); ext["multi"] != true {
		t.Errorf("ext.multi missing: %v", req["ext"])
	}
	if port := num(req, "peer-port"); port != int64(c.LocalAddr().(*net.TCPAddr).Port) {
		t.Errorf("peer-port = %d", port)
	}
	hdrs := fmt.Sprint(req["headers"])
	if hdrs != "[[Host example.com] [X-Test a] [X-Test b]]" {
		t.Errorf("headers = %s", hdrs)
	}
	if !strings.HasPrefix(str(req, "id"), "0-") && !strings.HasPrefix(str(req, "id"), "1-") {
		t.Errorf("id = %q", str(req, "id"))
	}

	newSession(t, h, req).respond(200, "OK", "hello world\n", false, "Content-Type", "text/plain")
	br := bufio.NewReader(c)
	resp, body := readResponse(t, br, "GET")
	if resp.StatusCode != 200 || body != "hello world\n" || resp.ContentLength != 12 || resp.Header.Get("Content-Type") != "text/plain" {
		t.Fatalf("response %v %q", resp, body)
	}
	if resp.Header.Get("Connection") != "" || resp.TransferEncoding != nil {
		t.Errorf("unexpected framing headers: %v", resp.Header)
	}
}

func TestStreamKeepAliveAndPipelining(t *testing.T) {
	s := startServer(t)
	h := s.handler("h1")
	c := s.dial()
	br := bufio.NewReader(c)
	// Two requests one after another, then three pipelined in one write.
	ids := map[string]bool{}
	for i := 0; i < 2; i++ {
		fmt.Fprintf(c, "GET /%d HTTP/1.1\r\nHost: x\r\n\r\n", i)
		req := recv(t, h, "")
		ids[str(req, "id")] = true
		newSession(t, h, req).respond(200, "OK", "r"+strconv.Itoa(i), false)
		if _, body := readResponse(t, br, "GET"); body != "r"+strconv.Itoa(i) {
			t.Fatalf("body %q", body)
		}
	}
	fmt.Fprintf(c, "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\nGET /c HTTP/1.1\r\nHost: x\r\n\r\n")
	for _, want := range []string{"/a", "/b", "/c"} {
		req := recv(t, h, "")
		if !strings.HasSuffix(str(req, "uri"), want) {
			t.Fatalf("uri %q, want %s (pipelined requests out of order)", str(req, "uri"), want)
		}
		ids[str(req, "id")] = true
		newSession(t, h, req).respond(200, "OK", want, false)
		if _, body := readResponse(t, br, "GET"); body != want {
			t.Fatalf("body %q want %q", body, want)
		}
	}
	if len(ids) != 5 {
		t.Errorf("each request must get a new id: %v", ids)
	}
}

func TestStreamPostBodyWithCredits(t *testing.T) {
	s := startServer(t)
	h := s.handler("h1")
	c := s.dial()
	fmt.Fprintf(c, "POST /orders HTTP/1.1\r\nHost: api\r\nContent-Length: 5\r\n\r\nhello")
	req := recv(t, h, "")
	if req["more"] != true {
		t.Fatalf("request with a body must say more: %v", req)
	}
	ss := newSession(t, h, req)
	ss.send(map[string]any{"type": "credit", "credits": 8192})
	body := recv(t, h, "")
	if str(body, "body") != "hello" || body["more"] != nil || num(body, "seq") != 1 {
		t.Fatalf("body packet %v", body)
	}
	ss.respond(200, "OK", "hi ", true, "Content-Type", "text/plain")
	cr := recv(t, h, "credit")
	if num(cr, "credits") != 3 || num(cr, "seq") != 2 {
		t.Fatalf("credit packet %v", cr)
	}
	ss.send(map[string]any{"body": "there"})
	resp, got := readResponse(t, bufio.NewReader(c), "POST")
	if got != "hi there" || len(resp.TransferEncoding) != 1 || resp.TransferEncoding[0] != "chunked" {
		t.Fatalf("response %v %q", resp.TransferEncoding, got)
	}
	if resp.Header.Get("Connection") != "" {
		t.Errorf("no Connection header expected on chunked responses (§12 #5): %v", resp.Header)
	}
}

// streamResponse has the handler send body in credit-sized packets.
func streamResponse(t *testing.T, h *zhttptest.Handler, ss *session, data []byte, credits int64) {
	t.Helper()
	first := true
	for len(data) > 0 {
		for credits <= 0 {
			cr := recv(t, h, "credit")
			credits += num(cr, "credits")
		}
		n := min(int64(len(data)), credits)
		part := data[:n]
		data = data[n:]
		credits -= n
		if first {
			ss.respond(200, "OK", string(part), len(data) > 0)
			first = false
		} else {
			p := map[string]any{"body": part}
			if len(data) > 0 {
				p["more"] = true
			}
			ss.send(p)
		}
	}
}

func TestStreamLargeStreamedResponse(t *testing.T) {
	s := startServer(t)
	h := s.handler("h1")
	c := s.dial()
	data := make([]byte, 10<<20)
	rand.Read(data)
	fmt.Fprintf(c, "GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
	req := recv(t, h, "")
	done := make(chan []byte)
	go func() {
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			done <- nil
			return
		}
		b, _ := io.ReadAll(resp.Body)
		done <- b
	}()
	streamResponse(t, h, newSession(t, h, req), data, num(req, "credits"))
	got := <-done
	if !bytes.Equal(got, data) {
		t.Fatalf("10 MB response differs: got %d bytes", len(got))
	}
}

func TestStreamLargeChunkedRequestBody(t *testing.T) {
	s := startServer(t)
	h := s.handler("h1")
	c := s.dial()
	data := make([]byte, 10<<20)
	rand.Read(data)
	go func() {
		bw := bufio.NewWriter(c)
		fmt.Fprintf(bw, "POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
		for off := 0; off < len(data); {
			n := min(len(data)-off, 1000+off%7777)
			fmt.Fprintf(bw, "%x\r\n", n)
			bw.Write(data[off : off+n])
			bw.WriteString("\r\n")
			off += n
		}
		bw.WriteString("0\r\n\r\n")
		bw.Flush()
	}()
	req := recv(t, h, "")
	ss := newSession(t, h, req)
	var got []byte
	owed := 0
	ss.send(map[string]any{"type": "credit", "credits": 8192})
	for {
		p := recv(t, h, "")
		b := []byte(str(p, "body"))
		if len(b) > 8192 {
			t.Fatalf("packet of %d bytes exceeds the credits", len(b))
		}
		got = append(got, b...)
		if p["more"] != true {
			break
		}
		// Grant credits back in batches, as real handlers do: crediting
		// every packet separately splits the window into ever smaller
		// packets.
		if owed += len(b); owed >= 4096 {
			ss.send(map[string]any{"type": "credit", "credits": owed})
			owed = 0
		}
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("10 MB chunked body differs: got %d bytes", len(got))
	}
	ss.respond(200, "OK", "ok", false)
	if _, body := readResponse(t, bufio.NewReader(c), "POST"); body != "ok" {
		t.Fatalf("body %q", body)
	}
}

func TestStreamHTTP10StreamedResponseClosesConnection(t *testing.T) {
	s := startServer(t)
	h := s.handler("h1")
	c := s.dial()
	fmt.Fprintf(c, "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
	req := recv(t, h, "")
	if str(req, "uri") != "http://localhost/" {
		t.Errorf("uri without Host = %q", str(req, "uri"))
	}
	ss := newSession(t, h, req)
	ss.respond(200, "OK", "part1-", true)
	recv(t, h, "credit")
	ss.send(map[string]any{"body": "part2"})
	all := readAllUntilClose(t, c)
	if !strings.HasPrefix(all, "HTTP/1.0 200 OK\r\n") || !strings.HasSuffix(all, "\r\n\r\npart1-part2") {
		t.Fatalf("response %q", all)
	}
	if strings.Contains(all, "Content-Length") || strings.Contains(all, "chunked") || strings.Contains(all, "keep-alive") {
		t.Fatalf("close-delimited body expected: %q", all)
	}
}

func TestStreamExpectContinue(t *testing.T) {
	s := startServer(t)
	h := s.handler("h1")
	c := s.dial()
	fmt.Fprintf(c, "PUT /x HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n")
	req := recv(t, h, "")
	ss := newSession(t, h, req)
	ss.send(map[string]any{"type": "credit", "credits": 100})
	br := bufio.NewReader(c)
	line, _ := br.ReadString('\n')
	blank, _ := br.ReadString('\n')
	if line != "HTTP/1.1 100 Continue\r\n" || blank != "\r\n" {
		t.Fatalf("got %q %q", line, blank)
	}
	c.Write([]byte("abc"))
	if p := recv(t, h, ""); str(p, "body") != "abc" {
		t.Fatalf("body %v", p)
	}
	ss.respond(201, "Created", "", false)
	if resp, _ := readResponse(t, br, "PUT"); resp.StatusCode != 201 {
		t.Fatal(resp.Status)
	}
}

func TestStreamHeadHasNoBody(t *testing.T) {
	s := startServer(t)
	h := s.handler("h1")
	c := s.dial()
	fmt.Fprintf(c, "HEAD / HTTP/1.1\r\nHost: x\r\n\r\n")
	req := recv(t, h, "")
	newSession(t, h, req).respond(200, "OK", "should not be sent", false, "Content-Length", "18")
	fmt.Fprintf(c, "GET /next HTTP/1.1\r\nHost: x\r\n\r\n")
	br := bufio.NewReader(c)
	resp, body := readResponse(t, br, "HEAD")
	if resp.StatusCode != 200 || body != "" || resp.Header.Get("Content-Length") != "18" {
		t.Fatalf("HEAD response %v %q", resp.Header, body)
	}
	// The connection stays usable: the next request is answered.
	req = recv(t, h, "")
	newSession(t, h, req).respond(200, "OK", "next", false)
	if _, body := readResponse(t, br, "GET"); body != "next" {
		t.Fatalf("after HEAD: %q", body)
	}
}

func TestStreamClientDisconnectSendsCancel(t *testing.T) {
	s := startServer(t)
	h := s.handler("h1")
	c := s.dial()
	fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	req := recv(t, h, "")
	ss := newSession(t, h, req)
	mark := s.logMark()
	ss.send(map[string]any{"type": "keep-alive"})
	s.waitLogSince(t, mark, "conn "+ss.id+": handle packet: keep-alive") // the handler is known
	// A reset: a FIN alone is a half-close, served (e2e_edge_test.go).
	c.(*net.TCPConn).SetLinger(0)
	c.Close()
	start := time.Now()
	p := recv(t, h, "cancel")
	if str(p, "id") != ss.id || time.Since(start) > 2*time.Second {
		t.Fatalf("cancel %v after %v", p, time.Since(start))
	}
}

func TestStreamClientDisconnectBeforeHandlerAnswers(t *testing.T) {
	s := startServer(t, "--stream-maxconn", "2", "--workers", "1")
	h := s.handler("h1")
	// Fill both slots, reset both clients before any handler packet: the
	// slots must be freed at once (§12 #3), so new clients are served. (A
	// FIN alone is a half-close: the request is still served.)
	mark := s.logMark()
	for i := 0; i < 2; i++ {
		c := s.dial()
		fmt.Fprintf(c, "GET /gone HTTP/1.1\r\nHost: x\r\n\r\n")
		recv(t, h, "")
		c.(*net.TCPConn).SetLinger(0)
		c.Close()
	}
	if !eventually(t, 5*time.Second, func() bool { return strings.Count(s.log.String()[mark:], "client reset") >= 2 }) {
		t.Fatal("the server did not log both resets")
	}
	c := s.dial()
	fmt.Fprintf(c, "GET /next HTTP/1.1\r\nHost: x\r\n\r\n")
	req := recv(t, h, "")
	newSession(t, h, req).respond(200, "OK", "ok", false)
	if _, body := readResponse(t, bufio.NewReader(c), "GET"); body != "ok" {
		t.Fatal(body)
	}
}

func TestStreamHandlerCancelOrErrorGives502(t *testing.T) {
	for _, typ := range []string{"cancel", "error"} {
		t.Run(typ, func(t *testing.T) {
			s := startServer(t)
			h := s.handler("h1")
			c := s.dial()
			fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
			req := recv(t, h, "")
			newSession(t, h, req).send(map[string]any{"type": typ, "condition": "bad-request"})
			all := readAllUntilClose(t, c)
			if !strings.HasPrefix(all, "HTTP/1.1 502 Bad Gateway\r\n") {
				t.Fatalf("got %q", all)
			}
			expectNothing(t, h, 300*time.Millisecond) // no cancel back
		})
	}
}

func TestStreamHandlerCancelMidResponseCloses(t *testing.T) {
	s := startServer(t)
	h := s.handler("h1")
	c := s.dial()
	fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	ss := newSession(t, h, recv(t, h, ""))
	ss.respond(200, "OK", "partial", true)
	recv(t, h, "credit")
	ss.send(map[string]any{"type": "cancel"})
	all := readAllUntilClose(t, c)
	if !strings.HasPrefix(all, "HTTP/1.1 200 OK") || !strings.Contains(all, "7\r\npartial\r\n") || strings.HasSuffix(all, "0\r\n\r\n") {
		t.Fatalf("got %q", all)
	}
}

// TestStreamBadInput sends each kind of bad request of reference.md §12 and
// checks the status, the close, and that the server keeps serving.
func TestStreamBadInput(t *testing.T) {
	s := startServer(t, "--buffer-size", "4096")
	h := s.handler("h1")
	many := "GET / HTTP/1.1\r\nHost: x\r\n"
	for i := 0; i < 70; i++ {
		many += fmt.Sprintf("X-H%d: v\r\n", i)
	}
	cases := []struct {
		name, req string
		status    int
	}{
		{"malformed_request_line", "GARBAGE\r\n\r\n", 400},
		{"bad_header_line", "GET / HTTP/1.1\r\nHost x\r\n\r\n", 400},
		{"space_before_colon", "GET / HTTP/1.1\r\nHost : x\r\n\r\n", 400},
		{"unsupported_version", "GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505},
		{"too_many_headers", many + "\r\n", 431},
		{"head_too_large", "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", 5000) + "\r\n\r\n", 431},
		{"cl_and_te", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
		{"bad_content_length", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1x\r\n\r\n", 400},
		{"unknown_transfer_encoding", "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 400},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := s.dial()
			c.Write([]byte(tc.req))
			all := readAllUntilClose(t, c)
			want := fmt.Sprintf("HTTP/1.1 %d ", tc.status)
			if !strings.HasPrefix(all, want) {
				t.Fatalf("got %q, want %q", all, want)
			}
			s.waitLog("bad request")
		})
	}
	t.Run("invalid_chunk_size", func(t *testing.T) {
		c := s.dial()
		fmt.Fprintf(c, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n")
		ss := newSession(t, h, recv(t, h, ""))
		ss.send(map[string]any{"type": "credit", "credits": 1000})
		all := readAllUntilClose(t, c)
		if !strings.HasPrefix(all, "HTTP/1.1 400 ") {
			t.Fatalf("got %q", all)
		}
		if p := recv(t, h, "cancel"); str(p, "id") != ss.id {
			t.Fatalf("cancel for %v", p)
		}
	})
	t.Run("handler_header_with_crlf", func(t *testing.T) {
		c := s.dial()
		fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		ss := newSession(t, h, recv(t, h, ""))
		ss.respond(200, "OK", "x", false, "X-Evil", "a\r\nSet-Cookie: injected=1")
		all := readAllUntilClose(t, c)
		if !strings.HasPrefix(all, "HTTP/1.1 502 ") || strings.Contains(all, "injected") {
			t.Fatalf("got %q", all)
		}
		s.waitLog("bad response from handler")
		// The handler is told its response was refused.
		if p := recv(t, h, "cancel"); str(p, "id") != ss.id {
			t.Fatalf("cancel for %v", p)
		}
	})
	// The worker still serves.
	c := s.dial()
	fmt.Fprintf(c, "GET /ok HTTP/1.1\r\nHost: x\r\n\r\n")
	newSession(t, h, recv(t, h, "")).respond(200, "OK", "alive", false)
	if _, body := readResponse(t, bufio.NewReader(c), "GET"); body != "alive" {
		t.Fatal(body)
	}
}

func TestStreamBadHandlerPackets(t *testing.T) {
	s := startServer(t)
	h := s.handler("h1")
	c := s.dial()
	fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	req := recv(t, h, "")
	id := str(req, "id")
	// Garbage, wrong types, unknown and stale ids: dropped, session unharmed.
	h.SendRaw([]byte("condure garbage"))
	h.SendRaw([]byte("condure T3:abc,"))
	h.SendRaw([]byte("nocolon"))
	h.Send(map[string]any{"id": id, "seq": 0, "code": "notanint"})
	h.Send(map[string]any{"id": "0-999-ff", "seq": 0, "code": 200, "reason": "OK"})
	h.Send(map[string]any{"id": "zzz", "seq": 0, "code": 200})
	ss := newSession(t, h, req)
	ss.respond(200, "OK", "fine", false)
	if _, body := readResponse(t, bufio.NewReader(c), "GET"); body != "fine" {
		t.Fatalf("body %q", body)
	}
	// A bad seq ends the session without a cancel.
	c2 := s.dial()
	fmt.Fprintf(c2, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	req2 := recv(t, h, "")
	h.Send(map[string]any{"id": str(req2, "id"), "seq": 5, "code": 200, "reason": "OK"})
	if all := readAllUntilClose(t, c2); all != "" {
		t.Fatalf("got %q", all)
	}
	expectNothing(t, h, 300*time.Millisecond)
}

func TestStreamConnectMode(t *testing.T) {
	s, h, _ := startConnectMode(t)
	c := s.dial()
	fmt.Fprintf(c, "GET /c HTTP/1.1\r\nHost: x\r\n\r\n")
	req := recv(t, h, "")
	ss := newSession(t, h, req)
	ss.respond(200, "OK", "connected ", true)
	recv(t, h, "credit")
	ss.send(map[string]any{"body": "mode"})
	if _, body := readResponse(t, bufio.NewReader(c), "GET"); body != "connected mode" {
		t.Fatalf("body %q", body)
	}
}
