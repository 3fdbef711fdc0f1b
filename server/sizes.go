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
	var gen uint32    // reactor.Slab: generation per slot
	var free int32    // reactor.Slab: free-list entry per slot
	var link [3]int32 // backpressure: next, prev, on (gates.go)
	slab := int(unsafe.Sizeof(gen) + unsafe.Sizeof(free))
	timers := timersPerConn * reactor.TimerNodeBytes
	gates := int(unsafe.Sizeof(link))
	var tls *tlsSession
	return []Size{
		{"connection_slot", int(unsafe.Sizeof(c)), "pointer-free, one per --stream-maxconn/--req-maxconn"},
		{"slab_bookkeeping", slab, "generation and free-list entry"},
		{"connection_timers", timers, "2 timer-wheel nodes"},
		{"backpressure_links", gates, "gate list links"},
		{"connection_fixed", int(unsafe.Sizeof(c)) + slab + timers + gates, "per slot, allocated at start"},
		{"tls_session_ref", int(unsafe.Sizeof(tls)), "per slot on tls ports, plus crypto/tls state while connected"},
		{"stream_connection_buffers", 2 * bufferSize, "2 x --buffer-size, lent while bytes wait"},
		{"req_connection_buffers", 3*bufferSize + bodyBufferSize, "2 x --buffer-size + --buffer-size + --body-buffer-size"},
	}
}
