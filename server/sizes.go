package server

import (
	"unsafe"

	"github.com/condure-go/condure/reactor"
)

// Size is one line of --sizes: what a connection costs, from the types the
// workers allocate.
type Size struct {
	Name  string
	Bytes int
	Note  string
}

// Sizes lists the memory one connection slot costs, held for the life of
// the process (slot, slab bookkeeping, timers, backpressure links), and the
// buffers a connection borrows while bytes wait (lent from a pool, so an
// idle connection holds none), for the given --buffer-size and
// --body-buffer-size.
func Sizes(bufferSize, bodyBufferSize int) []Size {
	var c conn
	var s session
	var gen uint32    // reactor.Slab: generation per slot
	var free int32    // reactor.Slab: free-list entry per slot
	var link [3]int32 // backpressure: next, prev, on (gates.go), per session slot
	slab := int(unsafe.Sizeof(gen) + unsafe.Sizeof(free))
	timers := (connTimers + 1) * reactor.TimerNodeBytes
	gates := int(unsafe.Sizeof(link))
	slots := int(unsafe.Sizeof(c) + unsafe.Sizeof(s))
	var tls *tlsSession
	var rec recState
	return []Size{
		{"connection_slot", slots, "transport + session slots, pointer-free, one each per --stream-maxconn/--req-maxconn"},
		{"transport_slot", int(unsafe.Sizeof(c)), "all an idle keep-alive connection holds"},
		{"session_slot", int(unsafe.Sizeof(s)), "held from a request head to its response's end, and by a WebSocket"},
		{"slab_bookkeeping", 2 * slab, "generation and free-list entry, connection and session"},
		{"connection_timers", timers, "3 timer-wheel nodes: 2 per connection, 1 per session"},
		{"backpressure_links", gates, "gate list links"},
		{"connection_fixed", slots + 2*slab + timers + gates, "per slot, allocated at start"},
		{"tls_session_ref", int(unsafe.Sizeof(tls)), "per slot on tls ports"},
		{"tls_record_state", int(unsafe.Sizeof(rec)), "per TLS connection on the record layer, in per-worker chunks of 256 slots allocated on demand"},
		{"tls_session", int(unsafe.Sizeof(*tls)), "during the handshake (beside crypto/tls's own state), and per connection left on crypto/tls"},
		{"http2_connection_block", int(unsafe.Sizeof(h2conn{})), "per HTTP/2 connection (--http2): windows, stream ids, HPACK decoder and its table; from a slab grown 64 at a time"},
		{"stream_connection_buffers", 2 * bufferSize, "2 x --buffer-size, lent while bytes wait"},
		{"req_connection_buffers", 3*bufferSize + bodyBufferSize, "2 x --buffer-size + --buffer-size + --body-buffer-size"},
	}
}
