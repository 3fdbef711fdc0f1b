package main

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/condure-go/condure/zhttp/zhttptest"
)

// Chaos checks of issue #12 from the outside (black-box verification).

// Pipelined requests sent while no handler is connected wait in the server
// (in both modes); a handler that appears later gets every one of them, and
// each client gets its answers complete and in order, nothing stuck.
func TestChaosPipelinedBeforeHandler(t *testing.T) {
	for _, connect := range []bool{false, true} {
		name := "bind"
		if connect {
			name = "connect"
		}
		t.Run(name, func(t *testing.T) { pipelinedBeforeHandler(t, connect) })
	}
}

func pipelinedBeforeHandler(t *testing.T, connect bool) {
	const clients, perClient = 40, 10
	var extra []string
	if connect {
		extra = append(extra, "--zclient-connect")
	}
	s := startServer(t, extra...)
	conns := make([]net.Conn, clients)
	for i := range conns {
		conns[i] = s.dial()
		var b strings.Builder
		for j := 0; j < perClient; j++ {
			fmt.Fprintf(&b, "GET /c%d/r%d HTTP/1.1\r\nHost: x\r\nX-Pad: %s\r\n\r\n", i, j, strings.Repeat("p", 1000))
		}
		if _, err := conns[i].Write([]byte(b.String())); err != nil {
			t.Fatal(err)
		}
	}
	// Give the server the requests to hold before any handler exists: one
	// round trip on a fresh connection is answered by nobody either.
	probe := s.dial()
	probe.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	fmt.Fprintf(probe, "GET /probe HTTP/1.1\r\nHost: x\r\n\r\n")
	if n, err := probe.Read(make([]byte, 1)); err == nil || n > 0 {
		t.Fatalf("an answer without a handler")
	}
	probe.Close()

	var h *zhttptest.Handler
	if connect {
		var err error
		if h, err = zhttptest.BindHandler(s.base, "late", "condure"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(h.Close)
		// Each worker's SUB must reach our PUB before we answer (slow
		// joiner): answers published earlier are lost, in any server.
		if err := h.WaitSubscribers(workersOf(extra), 5*time.Second); err != nil {
			t.Fatal(err)
		}
	} else {
		h = s.handler("late")
	}
	answered := 0
	deadline := time.Now().Add(20 * time.Second)
	for answered < clients*perClient {
		p, err := h.Recv(time.Until(deadline))
		if err != nil {
			t.Fatalf("after %d answers: %v", answered, err)
		}
		if str(p, "method") == "" || strings.HasSuffix(str(p, "uri"), "/probe") {
			continue
		}
		newSession(t, h, p).respond(200, "OK", str(p, "uri"), false)
		answered++
	}
	for i, c := range conns {
		br := bufio.NewReader(c)
		for j := 0; j < perClient; j++ {
			resp, body := readResponse(t, br, "GET")
			want := fmt.Sprintf("http://x/c%d/r%d", i, j)
			if resp.StatusCode != 200 || body != want {
				t.Fatalf("client %d response %d: %d %q, want 200 %q", i, j, resp.StatusCode, body, want)
			}
		}
	}
}
