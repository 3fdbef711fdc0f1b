package http1

import "bytes"

// tokenChar marks the RFC 9110 §5.6.2 tchar set:
// "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA.
var tokenChar = [256]bool{
	'!': true, '#': true, '$': true, '%': true, '&': true, '\'': true, '*': true,
	'+': true, '-': true, '.': true, '^': true, '_': true, '`': true, '|': true, '~': true,
	'0': true, '1': true, '2': true, '3': true, '4': true, '5': true, '6': true, '7': true, '8': true, '9': true,
	'A': true, 'B': true, 'C': true, 'D': true, 'E': true, 'F': true, 'G': true, 'H': true, 'I': true,
	'J': true, 'K': true, 'L': true, 'M': true, 'N': true, 'O': true, 'P': true, 'Q': true, 'R': true,
	'S': true, 'T': true, 'U': true, 'V': true, 'W': true, 'X': true, 'Y': true, 'Z': true,
	'a': true, 'b': true, 'c': true, 'd': true, 'e': true, 'f': true, 'g': true, 'h': true, 'i': true,
	'j': true, 'k': true, 'l': true, 'm': true, 'n': true, 'o': true, 'p': true, 'q': true, 'r': true,
	's': true, 't': true, 'u': true, 'v': true, 'w': true, 'x': true, 'y': true, 'z': true,
}

// valueChar reports whether c may appear in a field value (RFC 9110 §5.5):
// HTAB, SP, VCHAR and obs-text. Every other control byte, DEL included, is
// refused; CR, LF and NUL are what header injection and smuggling need.
func valueChar(c byte) bool {
	return c >= ' ' && c != 0x7f || c == '\t'
}

// ValidHeaderName reports whether b is a non-empty RFC 9110 token.
func ValidHeaderName(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if !tokenChar[c] {
			return false
		}
	}
	return true
}

// ValidHeaderValue reports whether b has no CR, LF or NUL (and no other
// control byte except HTAB). An empty value is valid. The same rule suits a
// reason phrase (RFC 9112 §4).
func ValidHeaderValue(b []byte) bool {
	for _, c := range b {
		if !valueChar(c) {
			return false
		}
	}
	return true
}

// HasToken reports whether the comma-separated header value v contains token
// t, compared case-insensitively with surrounding spaces trimmed.
func HasToken(v []byte, t string) bool {
	for {
		i := bytes.IndexByte(v, ',')
		elem := v
		if i >= 0 {
			elem = v[:i]
		}
		if equalFold(trimSpace(elem), t) {
			return true
		}
		if i < 0 {
			return false
		}
		v = v[i+1:]
	}
}

// equalFold reports whether b equals s, ignoring the case of ASCII letters.
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		if toLower(b[i]) != toLower(s[i]) {
			return false
		}
	}
	return true
}

func toLower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + ('a' - 'A')
	}
	return c
}

// trimSpace trims SP and HTAB (RFC 9110 OWS) from both ends of b.
func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}
