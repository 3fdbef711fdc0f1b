package websocket

import (
	"crypto/sha1"
	"encoding/base64"
	"errors"

	"github.com/condure-go/condure/http1"
)

// acceptGUID is appended to the client's key before hashing (RFC 6455 §1.3).
const acceptGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// maxKeyHash bounds key+GUID: the reference refuses longer keys (reference.md
// §6.1), which also keeps AppendAccept's hash input on the stack.
const maxKeyHash = 256

// acceptLen is the length of an accept value: base64 of a 20-byte SHA-1.
const acceptLen = 28

// Errors returned by CheckUpgrade. Answer them with Status.
var (
	// ErrBadRequest: the request cannot be a WebSocket handshake (400).
	ErrBadRequest = errors.New("websocket: bad handshake request")
	// ErrVersion: Sec-WebSocket-Version is missing or not 13 (426, with
	// "Sec-WebSocket-Version: 13", RFC 6455 §4.4).
	ErrVersion = errors.New("websocket: unsupported version")
)

// Status returns the status code and reason phrase answering a CheckUpgrade
// error: 426 "Upgrade Required" for ErrVersion, along with the header
// "Sec-WebSocket-Version: 13" (RFC 6455 §4.4), and 400 "Bad Request" for
// anything else.
func Status(err error) (int, string) {
	if errors.Is(err, ErrVersion) {
		return 426, "Upgrade Required"
	}
	return 400, "Bad Request"
}

// Headers CheckUpgrade looks for, as bits of a mask (seen once each).
const (
	hdrKey = 1 << iota
	hdrVersion
)

// CheckUpgrade checks a request the http1 parser flagged as a WebSocket
// upgrade (req.Upgrade) against RFC 6455 §4.2.1
// (https://www.rfc-editor.org/rfc/rfc6455#section-4.2.1) and reference.md §6.1,
// and returns the Sec-WebSocket-Key value, a view into the request buffer.
//
// ErrBadRequest (400) when:
//   - req.Upgrade is false, or the request is HTTP/1.0 (§4.2.1 item 1 asks
//     for HTTP/1.1 or higher);
//   - the method is not GET;
//   - there is a body: chunked, or a Content-Length other than 0;
//   - Sec-WebSocket-Key is missing, empty, repeated (§11.3.1), or longer
//     than 220 bytes (key + GUID over 256 bytes, as the reference). The key
//     is not checked to be 16 base64-encoded bytes (reference behaviour);
//   - Sec-WebSocket-Version is repeated (§11.3.5);
//   - a Sec-WebSocket-Extensions header is malformed (§9.1, reference.md §6.6):
//     an empty element ("a,,b"), an empty extension or parameter name
//     ("; =x"), an empty value ("a; b="), a byte outside the token set in a
//     name or unquoted value, or an unterminated quoted string. An empty
//     header value is accepted as no offers. Extensions are never
//     negotiated here, only checked.
//
// ErrVersion (426) when the request is otherwise acceptable but
// Sec-WebSocket-Version is missing or not exactly "13".
//
// Connection: Upgrade is not required (reference behaviour). It does not
// allocate.
func CheckUpgrade(req *http1.Request) (key []byte, err error) {
	if !req.Upgrade || req.Minor < 1 || string(req.Method) != "GET" {
		return nil, ErrBadRequest
	}
	if req.Chunked || req.ContentLength > 0 {
		return nil, ErrBadRequest
	}
	var seen uint8
	var version []byte
	for i := range req.Headers {
		h := &req.Headers[i]
		switch {
		case equalFold(h.Name, "sec-websocket-key"):
			if seen&hdrKey != 0 {
				return nil, ErrBadRequest
			}
			seen |= hdrKey
			key = h.Value
		case equalFold(h.Name, "sec-websocket-version"):
			if seen&hdrVersion != 0 {
				return nil, ErrBadRequest
			}
			seen |= hdrVersion
			version = h.Value
		case equalFold(h.Name, "sec-websocket-extensions"):
			if !validExtensions(h.Value) {
				return nil, ErrBadRequest
			}
		}
	}
	if len(key) == 0 || len(key)+len(acceptGUID) > maxKeyHash {
		return nil, ErrBadRequest
	}
	if string(version) != "13" {
		return nil, ErrVersion
	}
	return key, nil
}

// AppendAccept appends the Sec-WebSocket-Accept value for key (RFC 6455
// §4.2.2 item 5.4): base64(SHA-1(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")),
// 28 bytes. It does not allocate when dst has room and the key is at most
// 220 bytes (CheckUpgrade's limit).
func AppendAccept(dst, key []byte) []byte {
	var in [maxKeyHash]byte
	b := append(in[:0], key...)
	b = append(b, acceptGUID...)
	sum := sha1.Sum(b)
	n := len(dst)
	dst = append(dst, make([]byte, acceptLen)...)
	base64.StdEncoding.Encode(dst[n:], sum[:])
	return dst
}

// AppendHandshakeResponse appends the 101 response head accepting a
// WebSocket handshake (RFC 6455 §4.2.2, reference.md §6.2):
//
//	HTTP/1.1 101 <reason, "Switching Protocols" if empty>\r\n
//	<the handler's headers in order, minus Upgrade, Connection,
//	 Sec-WebSocket-Accept, Sec-WebSocket-Extensions, Content-Length and
//	 Transfer-Encoding (names compared case-insensitively)>
//	Upgrade: websocket\r\n
//	Connection: Upgrade\r\n
//	Sec-WebSocket-Accept: <AppendAccept(key)>\r\n
//	\r\n
//
// The reason and the headers are written as given: the caller checks them
// with http1.ValidHeaderName and http1.ValidHeaderValue first (reference.md
// §12 #10). It does not allocate when dst has room.
func AppendHandshakeResponse(dst []byte, reason []byte, headers []http1.Header, key []byte) []byte {
	return AppendHandshakeResponseAccept(dst, reason, headers, AppendAccept(make([]byte, 0, AcceptLen), key))
}

// AcceptLen is the length of a Sec-WebSocket-Accept value (base64 of 20 bytes).
const AcceptLen = 28

// AppendHandshakeResponseAccept is AppendHandshakeResponse given the
// Sec-WebSocket-Accept value itself, for a server that computed it when the
// request arrived and kept only those 28 bytes.
func AppendHandshakeResponseAccept(dst []byte, reason []byte, headers []http1.Header, accept []byte) []byte {
	return AppendHandshakeResponseExt(dst, reason, headers, accept, nil)
}

// AppendHandshakeResponseExt is AppendHandshakeResponseAccept with a
// Sec-WebSocket-Extensions header after Sec-WebSocket-Accept when ext is
// not empty (reference.md §6.2): the value of AppendDeflateResponse when
// permessage-deflate was negotiated.
func AppendHandshakeResponseExt(dst []byte, reason []byte, headers []http1.Header, accept, ext []byte) []byte {
	dst = append(dst, "HTTP/1.1 101 "...)
	if len(reason) == 0 {
		dst = append(dst, "Switching Protocols"...)
	} else {
		dst = append(dst, reason...)
	}
	dst = append(dst, "\r\n"...)
	for i := range headers {
		h := &headers[i]
		if IsHandshakeHeader(h.Name) {
			continue
		}
		dst = append(dst, h.Name...)
		dst = append(dst, ": "...)
		dst = append(dst, h.Value...)
		dst = append(dst, "\r\n"...)
	}
	dst = append(dst, "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "...)
	dst = append(dst, accept...)
	if len(ext) > 0 {
		dst = append(dst, "\r\nSec-WebSocket-Extensions: "...)
		dst = append(dst, ext...)
	}
	return append(dst, "\r\n\r\n"...)
}

// IsHandshakeHeader reports whether a handler header is left out of the
// 101 response because the server writes it itself (or, for framing, because
// a 101 has no body).
func IsHandshakeHeader(name []byte) bool {
	switch len(name) {
	case len("upgrade"):
		return equalFold(name, "upgrade")
	case len("connection"):
		return equalFold(name, "connection")
	case len("content-length"):
		return equalFold(name, "content-length")
	case len("transfer-encoding"):
		return equalFold(name, "transfer-encoding")
	case len("sec-websocket-accept"):
		return equalFold(name, "sec-websocket-accept")
	case len("sec-websocket-extensions"):
		return equalFold(name, "sec-websocket-extensions")
	}
	return false
}

// equalFold reports whether b equals the lower-case ASCII string s, ignoring
// the case of ASCII letters in b.
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}
