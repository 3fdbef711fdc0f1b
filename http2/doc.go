// Package http2 is the pure protocol layer of HTTP/2 (RFC 9113): frame
// headers and payloads, SETTINGS, flow-control window arithmetic and HPACK
// (RFC 7541). Bytes in, bytes out: it does no I/O, starts no goroutines,
// keeps no connection state and does not allocate in steady state.
//
// # Frames
//
// A reader takes FrameHeaderLen bytes, ParseFrameHeader, CheckFrame (sizes
// and stream-0 rules of §4.2 and §6 against the SETTINGS_MAX_FRAME_SIZE it
// advertised), waits for h.Length payload bytes, then calls the parser of
// the type (DataPayload, HeadersPayload, ParseSettings, ...). Parsers
// return views into the payload: they are valid as long as the caller's
// read buffer holds those bytes. Writers (Append*) append whole frames to a
// caller's buffer; AppendDataHeader writes only a DATA header so the
// payload can go out as its own iovec.
//
// Errors a peer caused are ConnError (answer with GOAWAY and close) or
// StreamError (answer with RST_STREAM), each with the RFC's error code.
// Connection errors are preallocated; a StreamError costs one small
// allocation when returned.
//
// Not here: stream states (§5.1), stream-id ordering, CONTINUATION
// sequencing, SETTINGS acknowledgement timing, which frames a server
// refuses (PUSH_PROMISE, §8.4), HTTP semantics (§8). Those belong to the
// connection's state machine (package server).
//
// # Flow control
//
// Window is an int32 with the §6.9 bounds: Add refuses to pass 2^31-1,
// Take refuses to overdraw, Adjust applies a SETTINGS_INITIAL_WINDOW_SIZE
// change and may leave a window negative (§6.9.2).
package http2
