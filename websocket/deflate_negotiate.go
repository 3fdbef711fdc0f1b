package websocket

import "github.com/condure-go/condure/http1"

// permessage-deflate negotiation (RFC 7692 §5, §7.1,
// https://www.rfc-editor.org/rfc/rfc7692#section-7.1; reference.md §6.6).
const (
	extDeflate = "permessage-deflate"

	// minWindowBits, maxWindowBits: the range RFC 7692 §7.1.2 allows for
	// both window-bits parameters.
	minWindowBits = 8
	maxWindowBits = 15
)

// Offer parameters, as bits of a mask so a repeated one is caught.
const (
	pServerNoContext = 1 << iota
	pClientNoContext
	pServerMaxWindow
	pClientMaxWindow
)

// DeflateParams are the permessage-deflate parameters the server agreed to.
// The server always runs without context takeover in both directions (it
// answers with server_no_context_takeover and client_no_context_takeover,
// which RFC 7692 §7.1.1.1 and §7.1.1.2 let a server add unasked), so an idle
// connection keeps no compression state. It is a small value type, fit for
// a connection slot.
type DeflateParams struct {
	// ServerMaxWindowBits is the client's server_max_window_bits (8-15),
	// or 0 when it did not send one. Messages to the client must not
	// refer further back than 1<<ServerMaxWindowBits bytes; the response
	// echoes the value (§7.1.2.1). Pass it to Deflater.AppendChunk.
	ServerMaxWindowBits uint8
}

// NegotiateDeflate walks the Sec-WebSocket-Extensions headers of a request
// (all of them, in order, as one comma-separated list) and returns the
// parameters of the first permessage-deflate offer the server accepts; ok
// is false when there is none. Other extensions are ignored. An offer is
// skipped (not an error, reference.md §6.6) when it has:
//   - a parameter other than server_no_context_takeover,
//     client_no_context_takeover, server_max_window_bits and
//     client_max_window_bits, or one of them twice;
//   - a value on server_no_context_takeover or client_no_context_takeover;
//   - a server_max_window_bits without a value, or a window-bits value
//     that is not a decimal 8-15 without leading zeros (§7.1.2.1, §7.1.2.2);
//     client_max_window_bits may come without a value.
//
// Unlike the reference, which skips an offer whose server_max_window_bits is
// not 15, every value 8-15 is accepted and honoured. Values may be quoted
// (RFC 6455 §9.1: the unescaped value must be a token). Names are compared
// as written (lower case), as the reference does.
//
// Call it only when compression is enabled, after CheckUpgrade accepted the
// header syntax; on a malformed value it returns the offers it could read
// before the fault. It does not allocate.
func NegotiateDeflate(headers []http1.Header) (p DeflateParams, ok bool) {
	for i := range headers {
		h := &headers[i]
		if !equalFold(h.Name, "sec-websocket-extensions") {
			continue
		}
		if p, ok = firstDeflateOffer(h.Value); ok {
			return p, true
		}
	}
	return DeflateParams{}, false
}

// firstDeflateOffer returns the first acceptable permessage-deflate offer in
// one header value (the grammar of validExtensions).
func firstDeflateOffer(v []byte) (DeflateParams, bool) {
	i := skipOWS(v, 0)
	for i < len(v) {
		j := scanToken(v, i)
		if j == i {
			return DeflateParams{}, false
		}
		isDeflate := string(v[i:j]) == extDeflate
		var p DeflateParams
		var seen uint8
		usable := isDeflate
		i = skipOWS(v, j)
		for i < len(v) && v[i] == ';' {
			i = skipOWS(v, i+1)
			j = scanToken(v, i)
			if j == i {
				return DeflateParams{}, false
			}
			name := v[i:j]
			i = skipOWS(v, j)
			var val []byte
			hasVal := false
			if i < len(v) && v[i] == '=' {
				hasVal = true
				i = skipOWS(v, i+1)
				if i < len(v) && v[i] == '"' {
					end, ok := scanQuoted(v, i)
					if !ok {
						return DeflateParams{}, false
					}
					val = v[i+1 : end-1]
					i = end
				} else {
					j = scanToken(v, i)
					if j == i {
						return DeflateParams{}, false
					}
					val = v[i:j]
					i = j
				}
				i = skipOWS(v, i)
			}
			if usable {
				usable = p.param(&seen, name, val, hasVal)
			}
		}
		if usable {
			return p, true
		}
		if i < len(v) {
			if v[i] != ',' {
				return DeflateParams{}, false
			}
			i = skipOWS(v, i+1)
		}
	}
	return DeflateParams{}, false
}

// param records one offer parameter and reports whether the offer is
// still acceptable.
func (p *DeflateParams) param(seen *uint8, name, val []byte, hasVal bool) bool {
	var bit uint8
	switch string(name) {
	case "server_no_context_takeover":
		bit = pServerNoContext
	case "client_no_context_takeover":
		bit = pClientNoContext
	case "server_max_window_bits":
		bit = pServerMaxWindow
	case "client_max_window_bits":
		bit = pClientMaxWindow
	default:
		return false
	}
	if *seen&bit != 0 {
		return false
	}
	*seen |= bit
	switch bit {
	case pServerNoContext, pClientNoContext:
		return !hasVal
	case pServerMaxWindow:
		bits, ok := windowBits(val)
		p.ServerMaxWindowBits = bits
		return hasVal && ok
	default: // client_max_window_bits: a hint that the client can take a value
		if !hasVal {
			return true
		}
		_, ok := windowBits(val)
		return ok
	}
}

// windowBits parses a window-bits value: a decimal 8-15 without leading
// zeros (RFC 7692 §7.1.2.1), possibly the inside of a quoted string, whose
// escapes (RFC 9110 §5.6.4) are undone here.
func windowBits(v []byte) (uint8, bool) {
	var d [2]byte
	n := 0
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == '\\' && i+1 < len(v) {
			i++
			c = v[i]
		}
		if n == len(d) {
			return 0, false
		}
		d[n] = c
		n++
	}
	switch {
	case n == 1 && d[0] >= '8' && d[0] <= '9':
		return d[0] - '0', true
	case n == 2 && d[0] == '1' && d[1] >= '0' && d[1] <= '5':
		return 10 + d[1] - '0', true
	}
	return 0, false
}

// AppendDeflateResponse appends the Sec-WebSocket-Extensions value that
// accepts the offer NegotiateDeflate returned p for:
//
//	permessage-deflate; server_no_context_takeover; client_no_context_takeover[; server_max_window_bits=N]
//
// Both no-context-takeover parameters are always present: the server keeps
// no LZ77 window between messages, nor lets the client rely on one
// (RFC 7692 §7.1.1.1, §7.1.1.2 allow a server to add them). The reference
// echoes them only when asked (reference.md §6.6). server_max_window_bits is
// echoed when the client sent it (§7.1.2.1); client_max_window_bits never is,
// so the client may use a window of 15 bits. It does not allocate when dst
// has room (at most DeflateResponseMax bytes are appended).
func AppendDeflateResponse(dst []byte, p DeflateParams) []byte {
	dst = append(dst, extDeflate+"; server_no_context_takeover; client_no_context_takeover"...)
	if p.ServerMaxWindowBits != 0 {
		dst = append(dst, "; server_max_window_bits="...)
		if p.ServerMaxWindowBits >= 10 {
			dst = append(dst, '1', '0'+p.ServerMaxWindowBits-10)
		} else {
			dst = append(dst, '0'+p.ServerMaxWindowBits)
		}
	}
	return dst
}

// DeflateResponseMax is the longest value AppendDeflateResponse appends.
const DeflateResponseMax = len(extDeflate+"; server_no_context_takeover; client_no_context_takeover") +
	len("; server_max_window_bits=15")
