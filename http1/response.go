package http1

import "strconv"

// Framing says how a response body is delimited.
type Framing uint8

const (
	FramingNone    Framing = iota // no body (1xx, 204, 304, HEAD) or body delimited by close
	FramingLength                 // Content-Length: N
	FramingChunked                // Transfer-Encoding: chunked
)

// ResponseHead describes a response head to serialize.
type ResponseHead struct {
	Minor         int // HTTP/1.Minor of the request
	Code          int
	Reason        []byte
	Headers       []Header // handler headers; Content-Length, Transfer-Encoding, and (unless Code is 101) Connection are dropped
	Framing       Framing
	ContentLength int64 // with FramingLength
	Close         bool  // connection closes after this response
}

// AppendResponseHead appends the status line and headers and the empty line:
// handler headers in order (minus the dropped ones), then
// "Connection: keep-alive" for a persistent HTTP/1.0 response or
// "Connection: close" for a closing HTTP/1.1 response (never for 101), then
// "Content-Length: N" or "Transfer-Encoding: chunked" per Framing.
//
// Reason and header names and values are written as given: the caller checks
// them with ValidHeaderName and ValidHeaderValue first (reference.md §12 #10).
// A Minor other than 0 is written as 1. No "Connection: Transfer-Encoding"
// (reference.md §12 #5). It does not allocate when dst has room for the head.
func AppendResponseHead(dst []byte, h *ResponseHead) []byte {
	dst = appendStatusLine(dst, h.Minor, h.Code, h.Reason)
	for _, f := range h.Headers {
		if dropResponseHeader(f.Name, h.Code) {
			continue
		}
		dst = append(dst, f.Name...)
		dst = append(dst, ": "...)
		dst = append(dst, f.Value...)
		dst = append(dst, "\r\n"...)
	}
	// RFC 9112 §9.3: 1.0 closes unless told otherwise, 1.1 persists
	// unless told otherwise. A 101 hands the connection over; the
	// handler's own Connection: upgrade is what goes out.
	if h.Code != 101 {
		switch {
		case h.Minor == 0 && !h.Close:
			dst = append(dst, "Connection: keep-alive\r\n"...)
		case h.Minor != 0 && h.Close:
			dst = append(dst, "Connection: close\r\n"...)
		}
	}
	switch h.Framing {
	case FramingLength:
		dst = append(dst, "Content-Length: "...)
		dst = strconv.AppendInt(dst, h.ContentLength, 10)
		dst = append(dst, "\r\n"...)
	case FramingChunked:
		dst = append(dst, "Transfer-Encoding: chunked\r\n"...)
	}
	return append(dst, "\r\n"...)
}

// dropResponseHeader reports whether a handler header is left out because
// the server decides it: framing, and persistence except on a 101.
func dropResponseHeader(name []byte, code int) bool {
	switch len(name) {
	case len("connection"):
		return code != 101 && equalFold(name, "connection")
	case len("content-length"):
		return equalFold(name, "content-length")
	case len("transfer-encoding"):
		return equalFold(name, "transfer-encoding")
	}
	return false
}

// appendStatusLine appends "HTTP/1.<minor> <code> <reason>\r\n" (RFC 9112 §4).
func appendStatusLine(dst []byte, minor, code int, reason []byte) []byte {
	if minor == 0 {
		dst = append(dst, "HTTP/1.0 "...)
	} else {
		dst = append(dst, "HTTP/1.1 "...)
	}
	dst = strconv.AppendInt(dst, int64(code), 10)
	dst = append(dst, ' ')
	dst = append(dst, reason...)
	return append(dst, "\r\n"...)
}

// AppendChunkHeader appends the header of one chunk of n body bytes
// (RFC 9112 §7.1): lower-case hex size and CRLF. The caller follows it with
// the n bytes and ChunkTrailer, and splits data so each chunk is at most
// 0xffff bytes. n <= 0 appends nothing: a zero size would end the body, which
// is LastChunk's job.
func AppendChunkHeader(dst []byte, n int) []byte {
	if n <= 0 {
		return dst
	}
	dst = strconv.AppendUint(dst, uint64(n), 16)
	return append(dst, "\r\n"...)
}

// ChunkTrailer is written after each chunk's data; LastChunk ends a chunked body.
// Both are shared and must not be modified.
var (
	ChunkTrailer = []byte("\r\n")
	LastChunk    = []byte("0\r\n\r\n")
)

// AppendErrorResponse appends a complete response the server generates itself
// (400, 413, 431, 502, 504, 505 ...): status line with the given HTTP minor
// version, Content-Type: text/plain, Content-Length, "Connection: close", and
// body = reason + "\n". reason must be a constant phrase such as Status
// returns; it is not checked.
func AppendErrorResponse(dst []byte, minor int, code int, reason string) []byte {
	if minor == 0 {
		dst = append(dst, "HTTP/1.0 "...)
	} else {
		dst = append(dst, "HTTP/1.1 "...)
	}
	dst = strconv.AppendInt(dst, int64(code), 10)
	dst = append(dst, ' ')
	dst = append(dst, reason...)
	dst = append(dst, "\r\nContent-Type: text/plain\r\nContent-Length: "...)
	dst = strconv.AppendInt(dst, int64(len(reason)+1), 10)
	dst = append(dst, "\r\nConnection: close\r\n\r\n"...)
	dst = append(dst, reason...)
	return append(dst, '\n')
}
