package main

import (
	"testing"

	"github.com/condure-go/condure/zhttp"
)

// The req-mode reply keeps the envelope and delimiter and answers the
// request's id with 200 "hello world\n"; what is not a request gets none.
func TestReqReply(t *testing.T) {
	h := newHandler("h1", "condure", 65536)
	pkt := zhttp.AppendPacket(nil, &zhttp.Out{ID: []byte("0-3-7"), NoSeq: true, Method: []byte("GET"), URI: []byte("http://x/")})
	reply := h.reqReply([][]byte{[]byte("peer"), nil, pkt})
	if len(reply) != 3 || string(reply[0]) != "peer" || len(reply[1]) != 0 {
		t.Fatalf("envelope not kept: %q", reply)
	}
	var p zhttp.Packet
	if err := p.Parse(reply[2]); err != nil {
		t.Fatalf("parse %q: %v", reply[2], err)
	}
	if string(p.IDs[0].ID) != "0-3-7" || p.Code != 200 || string(p.Body) != "hello world\n" || len(p.From) != 0 {
		t.Fatalf("reply %q", reply[2])
	}
	for _, bad := range [][][]byte{{pkt}, {[]byte("peer"), nil}, {nil, []byte("junk")}} {
		if r := h.reqReply(bad); r != nil {
			t.Fatalf("%q: reply %q", bad, r)
		}
	}
}
