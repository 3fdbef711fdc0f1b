// Package http1 is the pure HTTP/1.x protocol code of condure: an incremental
// request-head parser, a chunked body decoder and response serializers.
// Bytes in, bytes out: no I/O, no goroutines, no allocation on the hot path.
// Parsed values are views into the caller's buffer and stay valid only as long
// as that buffer is not modified.
package http1

import "errors"

// MaxHeaders is the most request or response headers accepted (condure ≥1.6).
const MaxHeaders = 64

// MaxURI bounds the assembled request URI (ZHTTP.md §9).
const MaxURI = 4096

// Header is one header line, name and value as views (value trimmed of
// surrounding spaces and tabs).
type Header struct {
	Name  []byte
	Value []byte
}

// Errors returned by ParseRequest; each maps to the status the server answers
// with (see Status).
var (
	ErrMalformed       = errors.New("malformed request")          // 400
	ErrTooManyHeaders  = errors.New("too many headers")           // 431
	ErrHeadTooLarge    = errors.New("request head too large")     // 431
	ErrBadVersion      = errors.New("unsupported http version")   // 505
	ErrContentLength   = errors.New("invalid content-length")     // 400
	ErrTransferEncode  = errors.New("invalid transfer-encoding")  // 400 (also CL together with TE)
	ErrURITooLong      = errors.New("uri too long")               // 414
	ErrBadChunk        = errors.New("invalid chunk")              // 400
)

// Request is a parsed request head. All byte slices are views into the buffer
// given to ParseRequest. Reuse one Request per connection: Reset is implicit
// in ParseRequest and does not allocate.
type Request struct {
	Method  []byte
	Target  []byte // request-target exactly as received
	Minor   int    // 0 for HTTP/1.0, 1 for HTTP/1.1
	Headers []Header // every header in order, duplicates kept (backed by hdrs)
	Host    []byte   // value of the first Host header, nil if none

	ContentLength int64 // -1 when absent (or when Chunked)
	Chunked       bool  // Transfer-Encoding: chunked
	KeepAlive     bool  // persistence per RFC 9112 §9.3 / ZHTTP.md §5.4, tokens case-insensitive
	Expect100     bool  // HTTP/1.1, body declared, Expect contains 100-continue
	Upgrade       bool  // an Upgrade header whose value is "websocket" (case-insensitive)
	HeadLen       int   // bytes of the head including the final empty line

	hdrs [MaxHeaders]Header
}

// ParseRequest parses the request head at the start of buf.
// It returns (0, nil) when the head is not complete yet and buf is shorter than
// maxHead; ErrHeadTooLarge when no complete head fits in maxHead bytes.
// On success it returns the head length (also req.HeadLen). Bare LF line
// endings are accepted. Leading empty lines (CRLF) before the request line are
// skipped (counted in n). Content-Length: digits only, repeated values must
// agree; Transfer-Encoding must be exactly "chunked" (case-insensitive); both
// together is ErrTransferEncode (request smuggling). Transfer-Encoding on
// HTTP/1.0 is ErrTransferEncode.
func ParseRequest(buf []byte, req *Request, maxHead int) (int, error) { panic("todo") }

// Status returns the HTTP status code the server answers a parse error with,
// and its reason phrase.
func Status(err error) (int, string) { panic("todo") }

// ChunkedDecoder decodes a chunked request body incrementally. The zero value
// is ready; call Reset between bodies.
type ChunkedDecoder struct {
	state     uint8
	remaining uint64
}

func (d *ChunkedDecoder) Reset() { panic("todo") }

// Decode consumes bytes from in. It returns how many bytes it consumed, the
// body data found (a view into in; at most one contiguous piece per call, may
// be empty), and done once the last chunk and trailers were consumed. Call it
// again with the unconsumed rest while consumed > 0 and !done. Chunk sizes
// over 32 bits, bad hex, missing CRLF and chunk extensions containing bare CR
// or LF give ErrBadChunk. Trailers are parsed and discarded.
func (d *ChunkedDecoder) Decode(in []byte) (consumed int, data []byte, done bool, err error) {
	panic("todo")
}

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
func AppendResponseHead(dst []byte, h *ResponseHead) []byte { panic("todo") }

// AppendChunk appends one chunk: lower-case hex size, CRLF, data, CRLF.
// Callers split data so each chunk is at most 0xffff bytes. Empty data appends nothing.
func AppendChunkHeader(dst []byte, n int) []byte { panic("todo") }

// ChunkTrailer is written after each chunk's data; LastChunk ends a chunked body.
var (
	ChunkTrailer = []byte("\r\n")
	LastChunk    = []byte("0\r\n\r\n")
)

// AppendErrorResponse appends a complete response the server generates itself
// (400, 413, 431, 502, 504, 505 ...): status line with the given HTTP minor
// version, Content-Type: text/plain, Content-Length, "Connection: close", and
// body = reason + "\n".
func AppendErrorResponse(dst []byte, minor int, code int, reason string) []byte { panic("todo") }

// ValidHeaderName reports whether b is a non-empty RFC 9110 token.
func ValidHeaderName(b []byte) bool { panic("todo") }

// ValidHeaderValue reports whether b has no CR, LF or NUL (and no other
// control byte except HTAB).
func ValidHeaderValue(b []byte) bool { panic("todo") }

// AppendURI appends scheme + "://" + authority + path for a request: with an
// origin-form target the authority is host (or "localhost" when host is
// empty); with an absolute-form target ("http://a/b") its authority and path
// are used instead (RFC 9112 §3.2.2); "*" gives scheme://host*. Returns
// ErrURITooLong past MaxURI bytes.
func AppendURI(dst []byte, scheme string, host, target []byte) ([]byte, error) { panic("todo") }

// HasToken reports whether the comma-separated header value v contains token
// t, compared case-insensitively with surrounding spaces trimmed.
func HasToken(v []byte, t string) bool { panic("todo") }
