package http1

import (
	"bytes"
	"math"
)

// Request is a parsed request head. All byte slices are views into the buffer
// given to ParseRequest. Reuse one Request per connection: Reset is implicit
// in ParseRequest and does not allocate. Headers points into the Request
// itself, so a copied Request shares its header array with the original.
type Request struct {
	Method  []byte
	Target  []byte   // request-target exactly as received
	Minor   int      // 0 for HTTP/1.0, 1 for HTTP/1.1
	Headers []Header // every header in order, duplicates kept (backed by hdrs)
	Host    []byte   // value of the Host header (at most one is accepted), nil if none

	ContentLength int64 // -1 when absent (or when Chunked)
	Chunked       bool  // Transfer-Encoding: chunked
	KeepAlive     bool  // persistence per RFC 9112 §9.3 / reference.md §5.4, tokens case-insensitive
	Expect100     bool  // HTTP/1.1, body declared, Expect contains 100-continue
	Upgrade       bool  // an Upgrade header whose value is "websocket" (case-insensitive)
	HeadLen       int   // bytes of the head including the final empty line

	absolute bool // Target is in absolute-form: the uri's authority comes from it
	hdrs     [MaxHeaders]Header
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
//
// The request-target must be origin-form, http(s) absolute-form with a valid
// authority, or "*" for OPTIONS; anything else is ErrBadTarget (RFC 9112
// §3.2). Host must be a valid authority (host and optional port, see
// validAuthority) or empty, at most once, and present on HTTP/1.1, where it
// may be empty only when an absolute-form target supplies the authority. Any
// breach is ErrBadHost (RFC 9112 §3.2, RFC 9110 §7.2). So AppendURI always
// has a well-formed authority to use.
//
// Complete lines are checked as soon as they arrive, so a bad request line or
// header is reported before the head is complete. The server calls
// ParseRequest again on the whole buffer after every read; the work is bounded
// by maxHead. On (0, nil) or an error the contents of req are unspecified.
// The body, if any, starts at buf[n]: Content-Length bytes, or chunked (see
// ChunkedDecoder), or none.
func ParseRequest(buf []byte, req *Request, maxHead int) (int, error) {
	req.reset()
	maxHead = max(maxHead, 0)
	// b is the part of buf the head may occupy: a line ending past maxHead
	// is never looked for, so a flood of bytes costs at most maxHead of work.
	b := buf[:min(len(buf), maxHead)]

	// RFC 9112 §2.2: a server SHOULD ignore empty lines before the
	// request-line (some clients send an extra CRLF after a POST body).
	i := 0
	for i < len(b) && (b[i] == '\r' || b[i] == '\n') {
		if b[i] == '\r' {
			if i+1 == len(b) {
				return incomplete(buf, maxHead)
			}
			if b[i+1] != '\n' {
				return 0, ErrMalformed
			}
			i++
		}
		i++
	}

	// RFC 9112 §3: request-line = method SP request-target SP HTTP-version.
	line, i := nextLine(b, i)
	if i < 0 {
		return incomplete(buf, maxHead)
	}
	if err := req.parseRequestLine(line); err != nil {
		return 0, err
	}

	// RFC 9112 §5: field-line = field-name ":" OWS field-value OWS, up to
	// the empty line that ends the head.
	var h headerState
	for {
		line, i = nextLine(b, i)
		if i < 0 {
			return incomplete(buf, maxHead)
		}
		if len(line) == 0 {
			break
		}
		if len(req.Headers) == MaxHeaders {
			return 0, ErrTooManyHeaders
		}
		name, value, err := splitHeader(line)
		if err != nil {
			return 0, err
		}
		req.Headers = append(req.Headers, Header{Name: name, Value: value})
		if err := h.note(req, name, value); err != nil {
			return 0, err
		}
	}

	if err := req.finish(&h); err != nil {
		return 0, err
	}
	req.HeadLen = i
	return i, nil
}

// reset clears every field without touching the header array, so that the
// 3 KiB of hdrs are not zeroed on every request.
func (req *Request) reset() {
	req.Method, req.Target, req.Host = nil, nil, nil
	req.Minor = 0
	req.absolute = false
	req.Headers = req.hdrs[:0]
	req.ContentLength = -1
	req.Chunked, req.KeepAlive, req.Expect100, req.Upgrade = false, false, false, false
	req.HeadLen = 0
}

// incomplete is the answer for a head whose end is not in sight: wait for
// more bytes, or give up once maxHead bytes are buffered.
func incomplete(buf []byte, maxHead int) (int, error) {
	if len(buf) >= maxHead {
		return 0, ErrHeadTooLarge
	}
	return 0, nil
}

// nextLine returns the line starting at b[i] without its LF or CRLF, and the
// index after the LF; next is -1 when the line is not complete. A CR that is
// not right before the LF stays in the line, where the callers reject it.
func nextLine(b []byte, i int) (line []byte, next int) {
	j := bytes.IndexByte(b[i:], '\n')
	if j < 0 {
		return nil, -1
	}
	line = b[i : i+j]
	if j > 0 && line[j-1] == '\r' {
		line = line[:j-1]
	}
	return line, i + j + 1
}

// parseRequestLine fills Method, Target and Minor from a request-line
// (RFC 9112 §3) given without its line ending. Single spaces only, as the
// grammar says; a line without a version is an HTTP/0.9 simple-request.
func (req *Request) parseRequestLine(line []byte) error {
	m := 0
	for m < len(line) && tokenChar[line[m]] {
		m++
	}
	if m == 0 || m == len(line) || line[m] != ' ' {
		return ErrMalformed
	}
	rest := line[m+1:]
	// request-target: any visible byte (obs-text included, as httparse); no
	// spaces or control bytes, which would let the target hide a second line.
	t := 0
	for t < len(rest) && rest[t] > ' ' && rest[t] != 0x7f {
		t++
	}
	if t == 0 {
		return ErrMalformed
	}
	if t == len(rest) {
		return ErrBadVersion // "GET /": HTTP/0.9
	}
	if rest[t] != ' ' {
		return ErrMalformed
	}
	// RFC 9112 §2.3: HTTP-version = "HTTP/" DIGIT "." DIGIT, case-sensitive.
	v := rest[t+1:]
	if len(v) != len("HTTP/1.1") || string(v[:5]) != "HTTP/" ||
		!isDigit(v[5]) || v[6] != '.' || !isDigit(v[7]) {
		return ErrMalformed
	}
	if v[5] != '1' || v[7] > '1' {
		return ErrBadVersion
	}
	absolute, err := checkTarget(line[:m], rest[:t])
	if err != nil {
		return err
	}
	req.absolute = absolute
	req.Method = line[:m]
	req.Target = rest[:t]
	req.Minor = int(v[7] - '0')
	return nil
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// splitHeader splits a field line into name and trimmed value. A line that
// starts with SP or HTAB is obsolete line folding (RFC 9112 §5.2) and, like
// whitespace before the colon (§5.1), is refused: both are smuggling vectors.
func splitHeader(line []byte) (name, value []byte, err error) {
	c := 0
	for c < len(line) && tokenChar[line[c]] {
		c++
	}
	if c == 0 || c == len(line) || line[c] != ':' {
		return nil, nil, ErrMalformed
	}
	value = trimSpace(line[c+1:])
	if !ValidHeaderValue(value) {
		return nil, nil, ErrMalformed
	}
	return line[:c], value, nil
}

// headerState collects what the framing and persistence decisions need
// while the header lines go by.
type headerState struct {
	contentLength bool // a Content-Length header was seen
	chunked       bool // a Transfer-Encoding header was seen (always "chunked")
	close         bool // Connection: close
	keepAlive     bool // Connection: keep-alive
	expect        bool // Expect: 100-continue
}

// note applies the headers the server itself interprets. Names compare
// case-insensitively (RFC 9110 §5.1, reference.md §12 #4).
func (h *headerState) note(req *Request, name, value []byte) error {
	switch len(name) {
	case len("host"):
		if equalFold(name, "host") {
			// RFC 9112 §3.2: 400 for more than one Host or an invalid one.
			// Empty is allowed here; finish decides whether it may stay so.
			if req.Host != nil || len(value) > 0 && !validAuthority(value) {
				return ErrBadHost
			}
			req.Host = value
		}
	case len("expect"):
		if equalFold(name, "expect") && HasToken(value, "100-continue") {
			h.expect = true
		}
	case len("upgrade"):
		if equalFold(name, "upgrade") && equalFold(value, "websocket") {
			req.Upgrade = true
		}
	case len("connection"):
		if equalFold(name, "connection") {
			h.close = h.close || HasToken(value, "close")
			h.keepAlive = h.keepAlive || HasToken(value, "keep-alive")
		}
	case len("content-length"):
		if equalFold(name, "content-length") {
			n, ok := parseContentLength(value)
			// RFC 9110 §8.6: repeated values must agree, else the
			// framing is ambiguous.
			if !ok || h.contentLength && n != req.ContentLength {
				return ErrContentLength
			}
			h.contentLength = true
			req.ContentLength = n
		}
	case len("transfer-encoding"):
		if equalFold(name, "transfer-encoding") {
			// Only a single, bare "chunked": anything else (lists,
			// other codings, a second header) is a framing another
			// hop may read differently (RFC 9112 §6.3, §11.2).
			if h.chunked || !equalFold(value, "chunked") {
				return ErrTransferEncode
			}
			h.chunked = true
		}
	}
	return nil
}

// parseContentLength parses 1*DIGIT (RFC 9110 §8.6) into an int64: no sign,
// no spaces inside, no list form.
func parseContentLength(v []byte) (int64, bool) {
	if len(v) == 0 {
		return 0, false
	}
	var n int64
	for _, c := range v {
		if !isDigit(c) {
			return 0, false
		}
		d := int64(c - '0')
		if n > (math.MaxInt64-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	return n, true
}

// finish applies the rules that need all header lines: framing
// (RFC 9112 §6.1-§6.3), Host (§3.2), persistence (§9.3) and 100-continue
// (RFC 9110 §10.1.1).
func (req *Request) finish(h *headerState) error {
	if h.chunked {
		// Transfer-Encoding with Content-Length is the classic smuggling
		// pair (RFC 9112 §6.1: "ought to be handled as an error"); an
		// HTTP/1.0 recipient cannot know chunked (§6.1 again).
		if h.contentLength || req.Minor == 0 {
			return ErrTransferEncode
		}
		req.Chunked = true
		req.ContentLength = -1
	}
	// RFC 9112 §3.2: an HTTP/1.1 request must carry Host. An empty one
	// names no authority (RFC 9110 §7.2), and an http URI needs one (§4.2.1):
	// fine only when the target brings its own (§3.2.2). HTTP/1.0 may omit
	// it: the uri then says localhost, as condure does.
	if req.Minor == 1 && (req.Host == nil || len(req.Host) == 0 && !req.absolute) {
		return ErrBadHost
	}
	if req.Minor == 1 {
		req.KeepAlive = !h.close
	} else {
		req.KeepAlive = h.keepAlive && !h.close
	}
	req.Expect100 = req.Minor == 1 && h.expect && (req.Chunked || req.ContentLength > 0)
	return nil
}
