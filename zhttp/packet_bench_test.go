package zhttp

import "testing"

// A handler's first response packet: code, reason, headers, body, more
// (reference.md §10.1).
func BenchmarkPacketParseResponse(b *testing.B) {
	in := []byte(parseVectors[1].in)
	var p Packet
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if err := p.Parse(in); err != nil {
			b.Fatal(err)
		}
	}
}

// The server's stream-mode request packet with two headers (reference.md §10.1).
func BenchmarkAppendPacketRequest(b *testing.B) {
	o := &appendVectors[0].out
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	b.SetBytes(int64(len(appendVectors[0].want)))
	for b.Loop() {
		buf = AppendPacket(buf[:0], o)
	}
}

// The WebSocket request packet with five headers (reference.md §10.3).
func BenchmarkAppendPacketWebSocketRequest(b *testing.B) {
	o := &appendVectors[6].out
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	b.SetBytes(int64(len(appendVectors[6].want)))
	for b.Loop() {
		buf = AppendPacket(buf[:0], o)
	}
}

// A batched keep-alive for MaxIDs sessions.
func BenchmarkAppendPacketKeepAliveMulti(b *testing.B) {
	o := &Out{From: []byte("condure"), Type: TypeKeepAlive, Multi: wantIDs(MaxIDs)}
	buf := make([]byte, 0, 16<<10)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendPacket(buf[:0], o)
	}
}
