package server

import (
	"errors"

	"github.com/condure-go/condure/http2"
	"github.com/condure-go/condure/zhttp"
)

// Decoding a request's header block into what the request packet carries
// (docs/design.md "HTTP/2", "Handler view"), with the checks of RFC 9113
// §8.2 and §8.3 that make a request malformed.

// h2Request is the decoded request head of the stream being opened: views
// into w.h2arena.
type h2Request struct {
	method, scheme, authority, path []byte
	headers                         []zhttp.Header
	cl                              int64 // content-length, -1 = none
	pseudo                          bool  // a pseudo-header field was seen
	regular                         bool  // a regular field was seen
	size                            int   // header list size (§6.5.2: name + value + 32 per field)
	cookies                         int   // cookie fields, joined after decoding
}

// Decode results.
const (
	h2DecodeOK        = iota
	h2DecodeMalformed // stream error PROTOCOL_ERROR (§8.1.1)
	h2DecodeTooLarge  // over SETTINGS_MAX_HEADER_LIST_SIZE: 431
	h2DecodeFatal     // HPACK failed: the connection was closed (COMPRESSION_ERROR)
)

var (
	errMalformed = errors.New("malformed")
	errTooLarge  = errors.New("too large")
)

var hostName = []byte("Host")

// h2DecodeRequest decodes the header block in w.h2blk with the
// connection's HPACK decoder into w.h2req.
func (w *Worker) h2DecodeRequest(cs int32, c *conn, h *h2conn) int {
	r := &w.h2req
	*r = h2Request{headers: r.headers[:0], cl: -1}
	w.h2arena = w.h2arena[:0]
	status := h2DecodeOK
	tooLarge, err := w.hpackDecode(c, w.h2blk, func(name, value []byte) error {
		if status != h2DecodeOK {
			return nil // keep decoding: the table must stay in step
		}
		r.size += len(name) + len(value) + 32
		if r.size > w.opts.BufferSize || len(w.h2arena)+len(name)+len(value)+4 > cap(w.h2arena) || len(r.headers) == cap(r.headers) {
			status = h2DecodeTooLarge
			return nil
		}
		if e := w.h2Field1(r, name, value); e != nil {
			status = h2DecodeMalformed
		}
		return nil
	})
	if err != nil {
		w.h2ConnError(cs, c, http2.ErrCompression, "header block does not decode")
		return h2DecodeFatal
	}
	if tooLarge {
		return h2DecodeTooLarge
	}
	if !r.regular && r.authority != nil && status == h2DecodeOK {
		r.headers = append(r.headers, zhttp.Header{Name: hostName, Value: r.authority}) // only pseudo-fields: Host still
	}
	if status != h2DecodeOK {
		return status
	}
	if r.cookies > 1 {
		w.h2JoinCookies(r)
	}
	return h2DecodeOK
}

// h2CheckRequest applies the rules a request (not trailers) must meet.
func h2CheckRequest(r *h2Request) bool {
	if len(r.method) == 0 || len(r.scheme) == 0 || len(r.path) == 0 {
		return false // CONNECT (no :scheme, :path) is not served
	}
	return true
}

// h2Field1 takes one decoded field.
func (w *Worker) h2Field1(r *h2Request, name, value []byte) error {
	if len(name) == 0 {
		return errMalformed
	}
	for _, b := range name {
		if 'A' <= b && b <= 'Z' {
			return errMalformed
		}
	}
	if !http1ValidValue(value) {
		return errMalformed
	}
	if name[0] == ':' {
		if r.regular {
			return errMalformed // pseudo-header fields come first (§8.3)
		}
		r.pseudo = true
		var dst *[]byte
		switch string(name) {
		case ":method":
			dst = &r.method
		case ":scheme":
			dst = &r.scheme
		case ":authority":
			dst = &r.authority
		case ":path":
			dst = &r.path
		default:
			return errMalformed
		}
		if *dst != nil {
			return errMalformed // repeated
		}
		*dst = w.h2keep(value)
		return nil
	}
	if !r.regular {
		r.regular = true
		if r.authority != nil {
			// The Host an HTTP/1 client would have sent, first.
			r.headers = append(r.headers, zhttp.Header{Name: hostName, Value: r.authority})
		}
	}
	if isConnSpecific(name) {
		return errMalformed
	}
	switch string(name) {
	case "te":
		if string(value) != "trailers" {
			return errMalformed
		}
	case "host":
		if r.authority != nil {
			return nil // :authority said it
		}
		r.authority = w.h2keep(value)
		value = r.authority
	case "content-length":
		v, ok := parseDecimal(value)
		if !ok || (r.cl >= 0 && v != r.cl) {
			return errMalformed
		}
		r.cl = v
	case "cookie":
		r.cookies++
	}
	r.headers = append(r.headers, zhttp.Header{Name: w.h2keep(name), Value: w.h2keep(value)})
	return nil
}

// http1ValidValue: no NUL, CR, LF (or other controls but HTAB), and no
// leading or trailing whitespace (RFC 9113 §8.2.1).
func http1ValidValue(v []byte) bool {
	for _, b := range v {
		if !(b >= ' ' && b != 0x7f || b == '\t') {
			return false
		}
	}
	if n := len(v); n > 0 && (v[0] == ' ' || v[0] == '\t' || v[n-1] == ' ' || v[n-1] == '\t') {
		return false
	}
	return true
}

// h2keep copies b into the arena (fields are only valid during the decode
// callback).
func (w *Worker) h2keep(b []byte) []byte {
	start := len(w.h2arena)
	w.h2arena = append(w.h2arena, b...)
	return w.h2arena[start:len(w.h2arena):len(w.h2arena)]
}

var cookieSep = []byte("; ")

// h2JoinCookies makes the cookie fields one, joined with "; " (§8.2.3), at
// the place of the first.
func (w *Worker) h2JoinCookies(r *h2Request) {
	first := -1
	start := len(w.h2arena)
	out := r.headers[:0]
	for _, hd := range r.headers {
		if string(hd.Name) != "cookie" {
			out = append(out, hd)
			continue
		}
		if first < 0 {
			first = len(out)
			out = append(out, hd)
		} else {
			w.h2arena = append(w.h2arena, cookieSep...)
		}
		w.h2arena = append(w.h2arena, hd.Value...)
	}
	if len(w.h2arena) > cap(w.h2arena) {
		return
	}
	out[first].Value = w.h2arena[start:]
	r.headers = out
}

// h2Field appends one response field to an HPACK block.
func (w *Worker) h2Field(dst []byte, name string, value []byte) []byte {
	w.h2fields = append(w.h2fields[:0], name...)
	return hpackAppend(dst, w.h2fields, value)
}
