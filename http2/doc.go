// Package http2 is the pure protocol layer of HTTP/2 (RFC 9113): frame
// headers and payloads, SETTINGS, flow-control window arithmetic and HPACK
// (RFC 7541). Bytes in, bytes out: it does no I/O, starts no goroutines,
// keeps no connection state of its own and does not allocate in steady
// state (alloc_test.go asserts 0 for the request and response paths).
// Every parser is fuzzed (FuzzFrame, FuzzHPACKDecode, ...; seeds in
// testdata/fuzz), HPACK differentially against golang.org/x/net, which is
// imported by tests only.
//
// # Frames
//
// A reader takes FrameHeaderLen bytes, ParseFrameHeader, CheckFrame (sizes
// and stream-0 rules of §4.2 and §6 against the SETTINGS_MAX_FRAME_SIZE it
// advertised), waits for h.Length payload bytes (SplitFrame does these
// steps on a read buffer), then calls the parser of the type (DataPayload, HeadersPayload, ParseSettings, ParseWindowUpdate,
// ...). Parsers return views into the payload, valid as long as the
// caller's read buffer holds those bytes. Writers (Append*) append whole
// frames to the caller's buffer and never allocate when it has room;
// AppendDataHeader writes only a DATA header so the payload can go out as
// its own iovec; AppendHeaders splits a field block into HEADERS +
// CONTINUATION by the peer's SETTINGS_MAX_FRAME_SIZE, and BeginHeaders +
// FinishHeaders do the same around a block encoded in place (no copy of
// the block when it fits one frame):
//
//	out, mark := http2.BeginHeaders(out)
//	out = http2.AppendStatus(out, 200)
//	out = http2.AppendField(out, name, value)
//	out = http2.FinishHeaders(out, mark, streamID, endStream, peerMaxFrameSize)
//
// Errors a peer caused are ConnError (answer with GOAWAY carrying Code and
// close) or StreamError (answer with RST_STREAM carrying Code), each with
// the code the RFC names. Returning a ConnError does not allocate; a
// StreamError costs one small allocation. Reason strings are constants for
// logs.
//
// Not here: stream states (§5.1), stream-id ordering and parity,
// CONTINUATION sequencing and its flood limit, SETTINGS acknowledgement
// timing, which frames a server refuses (PUSH_PROMISE, §8.4), HTTP
// semantics (§8: pseudo-headers, connection-specific fields). Those are the
// connection's state machine (package server).
//
// # Settings and flow control
//
// ParseSettings checks each value (Setting.Valid: the code each bad value
// demands, including SETTINGS_ENABLE_CONNECT_PROTOCOL of RFC 8441) and
// hands it to a callback; Settings.Apply records it. Window is an int32
// with the §6.9 bounds: Add refuses to pass 2^31-1, Take refuses to
// overdraw, Adjust applies a SETTINGS_INITIAL_WINDOW_SIZE change and may
// leave a window negative (§6.9.2). The caller maps a refusal to the
// FLOW_CONTROL_ERROR the method's comment names.
//
// # HPACK
//
// Decoder is pointer-free (a few uint32): its dynamic table lives in
// storage the caller lends to every Decode call, DecoderTableLen(limit)
// bytes (4352 for the 4096 default), e.g. a block of a per-worker slab.
// Decode takes one whole field block (HEADERS and CONTINUATION payloads
// joined by the caller) and a scratch buffer for Huffman-decoded strings,
// and calls fn(name, value, sensitive) per field. name and value are
// read-only views into the block, the scratch, the table storage or the
// static table, valid only during that call. Malformed blocks are a
// COMPRESSION_ERROR ConnError (the table is out of step: the connection
// must end); a header list over the limit is ErrHeaderListTooLarge after
// the whole block was decoded (the table stays in step: only the stream
// fails). Table size updates are accepted only at the start of a block
// and up to the limit set by Init/SetLimit (the acknowledged
// SETTINGS_HEADER_TABLE_SIZE).
//
// The encoder keeps no dynamic table, hence no state: AppendField writes a
// static index, or a literal without indexing (name lower-cased, strings
// Huffman-coded when shorter); AppendFieldNeverIndexed for sensitive
// fields; AppendStatus for :status.
package http2
