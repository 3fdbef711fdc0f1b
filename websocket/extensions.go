package websocket

// validExtensions reports whether a Sec-WebSocket-Extensions value is
// well-formed (RFC 6455 §9.1, https://www.rfc-editor.org/rfc/rfc6455#section-9.1,
// with RFC 9110 §5.6 optional whitespace):
//
//	extension-list = extension *( OWS "," OWS extension )
//	extension      = token *( OWS ";" OWS extension-param )
//	extension-param = token [ OWS "=" OWS ( token / quoted-string ) ]
//
// A value of only whitespace is accepted (no offers). Everything else that
// does not match is malformed: an empty element ("a,,b", "a,"), an empty name
// ("; =x", "a;"), an empty value ("a; b="), a stray byte ("a b") or an
// unterminated quoted string. The reference (≥1.9) refuses the handshake for
// a malformed header even without compression (reference.md §6.6); whether a
// well-formed offer is usable is not decided here.
func validExtensions(v []byte) bool {
	i := skipOWS(v, 0)
	if i == len(v) {
		return true
	}
	for {
		j := scanToken(v, i) // extension name
		if j == i {
			return false
		}
		i = skipOWS(v, j)
		for i < len(v) && v[i] == ';' {
			i = skipOWS(v, i+1)
			j = scanToken(v, i) // parameter name
			if j == i {
				return false
			}
			i = skipOWS(v, j)
			if i < len(v) && v[i] == '=' {
				i = skipOWS(v, i+1)
				if i < len(v) && v[i] == '"' {
					var ok bool
					if j, ok = scanQuoted(v, i); !ok {
						return false
					}
				} else if j = scanToken(v, i); j == i {
					return false
				}
				i = skipOWS(v, j)
			}
		}
		if i == len(v) {
			return true
		}
		if v[i] != ',' {
			return false
		}
		i = skipOWS(v, i+1)
	}
}

// skipOWS returns the index of the first byte at or after i that is not SP
// or HTAB.
func skipOWS(v []byte, i int) int {
	for i < len(v) && (v[i] == ' ' || v[i] == '\t') {
		i++
	}
	return i
}

// scanToken returns the end of the RFC 9110 token starting at i (i itself
// when there is none).
func scanToken(v []byte, i int) int {
	for i < len(v) && isTokenChar(v[i]) {
		i++
	}
	return i
}

// scanQuoted scans the quoted-string (RFC 9110 §5.6.4) whose opening quote
// is v[i] and returns the index after the closing quote; ok is false when it
// is unterminated or holds a control byte.
func scanQuoted(v []byte, i int) (end int, ok bool) {
	for i++; i < len(v); i++ {
		switch c := v[i]; {
		case c == '"':
			return i + 1, true
		case c == '\\':
			i++ // quoted-pair: the escaped byte is checked below
			if i == len(v) {
				return 0, false
			}
			if c := v[i]; c < ' ' && c != '\t' || c == 0x7f {
				return 0, false
			}
		case c < ' ' && c != '\t' || c == 0x7f:
			return 0, false
		}
	}
	return 0, false
}

// isTokenChar reports whether c is an RFC 9110 §5.6.2 tchar.
func isTokenChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	switch c {
	case '!', '#', '$', '%', '&', '\'', '*', '+', '-', '.', '^', '_', '`', '|', '~':
		return true
	}
	return false
}
