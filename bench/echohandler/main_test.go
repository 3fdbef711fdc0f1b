package main

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/condure-go/condure/zhttp"
)

type sink struct {
	t    *testing.T
	msgs [][]byte
}

func (s *sink) out(b []byte) error {
	s.msgs = append(s.msgs, append([]byte(nil), b...))
	return nil
}

// take parses and removes the packets sent so far.
func (s *sink) take() []zhttp.Packet {
	s.t.Helper()
	var out []zhttp.Packet
	for _, m := range s.msgs {
		body, ok := bytes.CutPrefix(m, []byte("condure "))
		if !ok {
			s.t.Fatalf("no instance prefix: %q", m)
		}
		var p zhttp.Packet
		if err := p.Parse(body); err != nil {
			s.t.Fatalf("parse %q: %v", body, err)
		}
		if string(p.From) != "h1" {
			s.t.Fatalf("from %q", p.From)
		}
		// Keep the views alive: m is not reused.
		out = append(out, p)
	}
	s.msgs = nil
	return out
}

func serverPkt(o zhttp.Out) []byte {
	o.From = []byte("condure")
	return zhttp.AppendPacket(nil, &o)
}

func setup(t *testing.T) (*handler, *sink) {
	h := newHandler("h1", "condure", 65536)
	s := &sink{t: t}
	h.out = s.out
	return h, s
}

func TestWebSocketEcho(t *testing.T) {
	h, s := setup(t)
	id := []byte("0-0-1")
	h.handle(serverPkt(zhttp.Out{ID: id, Method: []byte("GET"), URI: []byte("ws://example/ws"), Credits: 10}), true)
	ps := s.take()
	if len(ps) != 1 || ps[0].Code != 101 || string(ps[0].Reason) != "Switching Protocols" || ps[0].Credits != 65536 || ps[0].IDs[0].Seq != 0 {
		t.Fatalf("accept: %+v", ps)
	}

	// 12 bytes with 10 credits: split, the rest waits for credit.
	h.handle(serverPkt(zhttp.Out{ID: id, Seq: 1, ContentType: []byte("binary"), Body: []byte("hello world!")}), false)
	ps = s.take()
	if len(ps) != 1 || string(ps[0].Body) != "hello worl" || !ps[0].More || ps[0].Credits != 12 || string(ps[0].ContentType) != "binary" || ps[0].IDs[0].Seq != 1 {
		t.Fatalf("first part: %+v", ps)
	}
	// A ping queues behind the rest.
	h.handle(serverPkt(zhttp.Out{ID: id, Seq: 2, Type: zhttp.TypePing, Body: []byte("p")}), false)
	if ps = s.take(); len(ps) != 0 {
		t.Fatalf("sent without credit: %+v", ps)
	}
	h.handle(serverPkt(zhttp.Out{ID: id, Seq: 3, Type: zhttp.TypeCredit, Credits: 3}), false)
	ps = s.take()
	if len(ps) != 2 || string(ps[0].Body) != "d!" || ps[0].More || ps[0].IDs[0].Seq != 2 || ps[0].Credits != 1 ||
		ps[1].Type != zhttp.TypePong || string(ps[1].Body) != "p" || ps[1].IDs[0].Seq != 3 {
		t.Fatalf("rest and pong: %+v", ps)
	}
	// Keep-alives from the server, single and multi-id, are ignored.
	h.handle(serverPkt(zhttp.Out{ID: id, Seq: 4, Type: zhttp.TypeKeepAlive}), false)
	h.handle(serverPkt(zhttp.Out{Multi: []zhttp.IDSeq{{ID: id, Seq: 5}, {ID: []byte("0-0-9"), Seq: 1}}, Type: zhttp.TypeKeepAlive}), false)
	if ps = s.take(); len(ps) != 0 {
		t.Fatalf("answered a keep-alive: %+v", ps)
	}
	// Close is answered with its code and ends the session.
	h.handle(serverPkt(zhttp.Out{ID: id, Seq: 6, Type: zhttp.TypeClose, Code: 1001, HasCode: true}), false)
	ps = s.take()
	if len(ps) != 1 || ps[0].Type != zhttp.TypeClose || ps[0].Code != 1001 || ps[0].IDs[0].Seq != 4 {
		t.Fatalf("close: %+v", ps)
	}
	if len(h.ws) != 0 {
		t.Fatal("session kept after close")
	}
}

func TestCreditGrantWithoutEcho(t *testing.T) {
	h, s := setup(t)
	id := []byte("0-0-2")
	h.handle(serverPkt(zhttp.Out{ID: id, Method: []byte("GET"), URI: []byte("wss://example/"), Credits: 0}), true)
	s.take()
	// No credit to echo: the bytes owed are granted once half the window is used.
	big := bytes.Repeat([]byte("x"), 40000)
	h.handle(serverPkt(zhttp.Out{ID: id, Seq: 1, ContentType: []byte("text"), Body: big}), false)
	ps := s.take()
	if len(ps) != 1 || ps[0].Type != zhttp.TypeCredit || ps[0].Credits != 40000 || ps[0].IDs[0].Seq != 1 {
		t.Fatalf("grant: %+v", ps)
	}
	h.handle(serverPkt(zhttp.Out{ID: id, Seq: 2, Type: zhttp.TypeCredit, Credits: 50000}), false)
	ps = s.take()
	if len(ps) != 1 || len(ps[0].Body) != 40000 || ps[0].More || ps[0].IDs[0].Seq != 2 || ps[0].Credits != 0 {
		t.Fatalf("echo: %d packets", len(ps))
	}
}

func TestKeepAlivesAndCancel(t *testing.T) {
	h, s := setup(t)
	for i := 0; i < 200; i++ {
		h.handle(serverPkt(zhttp.Out{ID: []byte(fmt.Sprintf("0-%d-1", i)), Method: []byte("GET"), URI: []byte("ws://x/"), Credits: 100}), true)
	}
	s.take()
	// In 30 slots every session is served exactly once.
	seen := map[string]int{}
	for slot := 0; slot < 30; slot++ {
		h.keepAlives(slot, 30)
		ps := s.take()
		n := 0
		for _, p := range ps {
			for _, x := range p.IDs {
				seen[string(x.ID)]++
				n++
			}
		}
		if n < 6 || n > 7 {
			t.Fatalf("slot %d: %d keep-alives, want 200/30", slot, n)
		}
	}
	if len(seen) != 200 {
		t.Fatalf("%d sessions got keep-alives, want 200", len(seen))
	}
	h.keepAlives(0, 1) // all at once
	ps := s.take()
	if len(ps) != 2 || len(ps[0].IDs)+len(ps[1].IDs) != 200 || len(ps[0].IDs) != 128 {
		t.Fatalf("keep-alive batches: %d packets", len(ps))
	}
	for _, p := range ps {
		if p.Type != zhttp.TypeKeepAlive {
			t.Fatal("type")
		}
		for _, x := range p.IDs {
			if !x.HasSeq || x.Seq != 2 { // 1 went to the slot pass
				t.Fatalf("id %s seq %d", x.ID, x.Seq)
			}
		}
	}
	h.handle(serverPkt(zhttp.Out{Multi: []zhttp.IDSeq{{ID: []byte("0-0-1"), Seq: 1}, {ID: []byte("0-1-1"), Seq: 1}}, Type: zhttp.TypeCancel}), false)
	if len(h.ws) != 198 {
		t.Fatalf("%d sessions after cancel", len(h.ws))
	}
	// The next data packet continues each session's seq.
	h.handle(serverPkt(zhttp.Out{ID: []byte("0-5-1"), Seq: 1, Body: []byte("a")}), false)
	if ps = s.take(); len(ps) != 1 || ps[0].IDs[0].Seq != 3 {
		t.Fatalf("seq after keep-alive: %+v", ps)
	}
}

func TestHTTP(t *testing.T) {
	h, s := setup(t)
	h.handle(serverPkt(zhttp.Out{ID: []byte("0-0-3"), Method: []byte("GET"), URI: []byte("http://x/"), Credits: 8192, Stream: true}), true)
	ps := s.take()
	if len(ps) != 1 || ps[0].Code != 200 || string(ps[0].Body) != "hello world\n" || len(ps[0].Headers) != 1 {
		t.Fatalf("GET: %+v", ps)
	}
	id := []byte("0-0-4")
	h.handle(serverPkt(zhttp.Out{ID: id, Method: []byte("POST"), URI: []byte("http://x/"), More: true, Stream: true}), true)
	h.handle(serverPkt(zhttp.Out{ID: id, Seq: 1, Body: []byte("abc"), More: true}), false)
	h.handle(serverPkt(zhttp.Out{ID: id, Seq: 2, Body: []byte("d")}), false)
	ps = s.take()
	if len(ps) != 3 || ps[0].Credits != 65536 || ps[1].Credits != 3 || ps[1].IDs[0].Seq != 1 || ps[2].Code != 200 || ps[2].IDs[0].Seq != 2 {
		t.Fatalf("POST: %+v", ps)
	}
	if len(h.bodies) != 0 {
		t.Fatal("body session kept")
	}
}

func TestEndpoints(t *testing.T) {
	o, os, i, err := endpoints("tcp://127.0.0.1:5000")
	if err != nil || o != "tcp://127.0.0.1:5000" || os != "tcp://127.0.0.1:5001" || i != "tcp://127.0.0.1:5002" {
		t.Fatal(o, os, i, err)
	}
	o, os, i, err = endpoints("ipc:///tmp/c")
	if err != nil || o != "ipc:///tmp/c-out" || os != "ipc:///tmp/c-out-stream" || i != "ipc:///tmp/c-in" {
		t.Fatal(o, os, i, err)
	}
	if _, _, _, err := endpoints("inproc://x"); err == nil {
		t.Fatal("inproc accepted")
	}
	if u := uriOf(serverPkt(zhttp.Out{ID: []byte("1"), URI: []byte("ws://a/b")})); string(u) != "ws://a/b" || !isWS(u) {
		t.Fatalf("uri %q", u)
	}
}
