package http1

// Request-target forms (RFC 9112 §3.2) and the Host field (RFC 9110 §7.2,
// RFC 9112 §3.2), checked so that the uri built from them (uri.go) is
// always scheme "://" authority path, with the authority exactly one valid
// host and optional port, whatever the client sent.

// maxPort is the largest TCP port (RFC 3986 §3.2.3 allows any digits; a
// port that cannot exist is an invalid authority).
const maxPort = 65535

// checkTarget accepts the request-target forms a server of origin can serve
// (RFC 9112 §3.2): origin-form ("/path?query"), absolute-form with the http
// or https scheme and a valid authority (§3.2.2; userinfo is an error per
// RFC 9110 §4.2.4), and asterisk-form ("*") for OPTIONS only (§3.2.4).
// Authority-form (CONNECT, §3.2.3) and everything else is ErrBadTarget. It
// reports whether the target is in absolute-form.
func checkTarget(method, target []byte) (absolute bool, err error) {
	switch {
	case target[0] == '/':
		return false, nil
	case len(target) == 1 && target[0] == '*':
		if string(method) != "OPTIONS" { // methods are case-sensitive (RFC 9110 §9.1)
			return false, ErrBadTarget
		}
		return false, nil
	}
	auth, _, ok := splitAbsolute(target)
	if !ok || !validAuthority(auth) {
		return false, ErrBadTarget
	}
	return true, nil
}

// validAuthority reports whether b is host [ ":" port ] (RFC 3986 §3.2
// without userinfo, as RFC 9110 §7.2 defines Host), with a non-empty host
// (RFC 9110 §4.2.1: an http URI must not have an empty host):
//
//	host = "[" ( IPv6address / IPvFuture ) "]" / reg-name   (IPv4address is a reg-name too)
//	port = *DIGIT, at most 65535 (empty is valid: "a:" is "a", RFC 3986 §6.2.3)
//
// IPv6 zone identifiers are refused (RFC 6874 is not RFC 3986); so are "@"
// (userinfo), "/", "?", "#", spaces and every byte outside the URI
// character set.
func validAuthority(b []byte) bool {
	host, port, hasPort := b, []byte(nil), false
	if len(b) > 0 && b[0] == '[' {
		end := 1
		for end < len(b) && b[end] != ']' {
			end++
		}
		if end == len(b) || !validIPv6(b[1:end]) && !validIPvFuture(b[1:end]) {
			return false
		}
		if rest := b[end+1:]; len(rest) > 0 {
			if rest[0] != ':' {
				return false
			}
			port, hasPort = rest[1:], true
		}
	} else {
		for i := len(b) - 1; i >= 0; i-- {
			if b[i] == ':' {
				host, port, hasPort = b[:i], b[i+1:], true
				break
			}
		}
		if len(host) == 0 || !validRegName(host) {
			return false
		}
	}
	// "host:" has an empty port: RFC 3986 §3.2.3 allows it (AppendURI drops
	// the ':' as §6.2.3 normalizes it).
	return !hasPort || len(port) == 0 || validPort(port)
}

// validIPvFuture reports whether b is an RFC 3986 IPvFuture:
// "v" 1*HEXDIG "." 1*( unreserved / sub-delims / ":" ).
func validIPvFuture(b []byte) bool {
	if len(b) < 4 || b[0] != 'v' && b[0] != 'V' {
		return false
	}
	i := 1
	for i < len(b) && isHex(b[i]) {
		i++
	}
	if i == 1 || i >= len(b)-1 || b[i] != '.' {
		return false
	}
	for _, c := range b[i+1:] {
		if c != ':' && !regNameChar[c] {
			return false
		}
	}
	return true
}

// regNameChar marks RFC 3986 unreserved and sub-delims characters, the bytes
// a reg-name holds besides pct-encoded triplets.
var regNameChar = [256]bool{
	'-': true, '.': true, '_': true, '~': true, // unreserved
	'!': true, '$': true, '&': true, '\'': true, '(': true, ')': true, // sub-delims
	'*': true, '+': true, ',': true, ';': true, '=': true,
	'0': true, '1': true, '2': true, '3': true, '4': true, '5': true, '6': true, '7': true, '8': true, '9': true,
	'A': true, 'B': true, 'C': true, 'D': true, 'E': true, 'F': true, 'G': true, 'H': true, 'I': true,
	'J': true, 'K': true, 'L': true, 'M': true, 'N': true, 'O': true, 'P': true, 'Q': true, 'R': true,
	'S': true, 'T': true, 'U': true, 'V': true, 'W': true, 'X': true, 'Y': true, 'Z': true,
	'a': true, 'b': true, 'c': true, 'd': true, 'e': true, 'f': true, 'g': true, 'h': true, 'i': true,
	'j': true, 'k': true, 'l': true, 'm': true, 'n': true, 'o': true, 'p': true, 'q': true, 'r': true,
	's': true, 't': true, 'u': true, 'v': true, 'w': true, 'x': true, 'y': true, 'z': true,
}

// validRegName reports whether b is *( unreserved / pct-encoded / sub-delims ).
func validRegName(b []byte) bool {
	for i := 0; i < len(b); i++ {
		if b[i] == '%' {
			if i+2 >= len(b) || !isHex(b[i+1]) || !isHex(b[i+2]) {
				return false
			}
			i += 2
			continue
		}
		if !regNameChar[b[i]] {
			return false
		}
	}
	return true
}

// validPort reports whether b is 1*DIGIT with a value of at most maxPort
// (leading zeros allowed, as RFC 3986 does).
func validPort(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	n := 0
	for _, c := range b {
		if !isDigit(c) {
			return false
		}
		n = n*10 + int(c-'0')
		if n > maxPort {
			return false
		}
	}
	return true
}

// validIPv6 reports whether b is an RFC 3986 IPv6address: eight h16 groups
// (1-4 hex digits), or fewer with exactly one "::" standing for the rest;
// the last 32 bits may be written as an IPv4address.
func validIPv6(b []byte) bool {
	groups, elided := 0, false
	i := 0
	if len(b) >= 2 && b[0] == ':' && b[1] == ':' {
		elided, i = true, 2
		if i == len(b) {
			return true // "::"
		}
	}
	for {
		// One group at b[i:]: h16, or an IPv4address that ends the address.
		j := i
		for j < len(b) && j-i < 5 && isHex(b[j]) {
			j++
		}
		if j < len(b) && b[j] == '.' {
			if !validIPv4(b[i:]) {
				return false
			}
			groups += 2
			break
		}
		if j == i || j-i > 4 {
			return false
		}
		groups++
		if j == len(b) {
			break
		}
		if b[j] != ':' || j+1 == len(b) {
			return false // a single trailing ':' ends nothing
		}
		i = j + 1
		if b[i] == ':' {
			if elided {
				return false // "::" at most once
			}
			elided = true
			i++
			if i == len(b) {
				break // trailing "::"
			}
		}
	}
	if elided {
		return groups <= 7
	}
	return groups == 8
}

// validIPv4 reports whether b is an RFC 3986 IPv4address: four dec-octets
// (0-255, no leading zeros) separated by dots.
func validIPv4(b []byte) bool {
	for k := 0; k < 4; k++ {
		j := 0
		for j < len(b) && j < 4 && isDigit(b[j]) {
			j++
		}
		if j == 0 || j > 3 || j > 1 && b[0] == '0' {
			return false
		}
		n := 0
		for _, c := range b[:j] {
			n = n*10 + int(c-'0')
		}
		if n > 255 {
			return false
		}
		b = b[j:]
		if k < 3 {
			if len(b) == 0 || b[0] != '.' {
				return false
			}
			b = b[1:]
		}
	}
	return len(b) == 0
}

func isHex(c byte) bool {
	return isDigit(c) || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
