// Package http1 is the pure HTTP/1.x protocol code of condure: an incremental
// request-head parser, a chunked body decoder and response serializers.
// Bytes in, bytes out: no I/O, no goroutines, no allocation on the hot path.
// Parsed values are views into the caller's buffer and stay valid only as long
// as that buffer is not modified.
//
// Files: parser.go (request head, RFC 9112 §2-§6), chunked.go (chunked body,
// RFC 9112 §7.1), response.go (response head and chunk framing), uri.go (the
// ZHTTP uri field, reference.md §5.2), target.go (request-target forms and the
// Host authority, RFC 9112 §3.2) and token.go (RFC 9110 token and field-value
// rules shared by all of them).
package http1

import "errors"

// MaxHeaders is the most request or response headers accepted (condure ≥1.6).
const MaxHeaders = 64

// MaxURI bounds the assembled request URI (reference.md §9).
const MaxURI = 4096

// Header is one header line, name and value as views (value trimmed of
// surrounding spaces and tabs).
type Header struct {
	Name  []byte
	Value []byte
}

// Errors returned by ParseRequest, ChunkedDecoder.Decode and AppendURI. They
// are sentinels: callers compare with errors.Is and answer with Status(err).
var (
	ErrMalformed      = errors.New("malformed request")         // 400
	ErrTooManyHeaders = errors.New("too many headers")          // 431
	ErrHeadTooLarge   = errors.New("request head too large")    // 431
	ErrBadVersion     = errors.New("unsupported http version")  // 505
	ErrContentLength  = errors.New("invalid content-length")    // 400
	ErrTransferEncode = errors.New("invalid transfer-encoding") // 400 (also CL together with TE)
	ErrURITooLong     = errors.New("uri too long")              // 414
	ErrBadTarget      = errors.New("invalid request target")    // 400
	ErrBadHost        = errors.New("invalid host")              // 400 (also missing or repeated)
	ErrBadChunk       = errors.New("invalid chunk")             // 400
)

// Status returns the HTTP status code the server answers a parse error with,
// and its reason phrase (reference.md §12 #1). Wrapped errors are recognised; an
// unknown error is a 400.
func Status(err error) (int, string) {
	switch {
	case errors.Is(err, ErrTooManyHeaders), errors.Is(err, ErrHeadTooLarge):
		return 431, "Request Header Fields Too Large"
	case errors.Is(err, ErrBadVersion):
		return 505, "HTTP Version Not Supported"
	case errors.Is(err, ErrURITooLong):
		return 414, "URI Too Long"
	default:
		// ErrMalformed, ErrContentLength, ErrTransferEncode, ErrBadChunk,
		// ErrBadTarget, ErrBadHost and anything unexpected: the request cannot be trusted.
		return 400, "Bad Request"
	}
}
