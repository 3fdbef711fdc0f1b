package http1

// localhost stands in for the Host an HTTP/1.0 request may omit (or send
// empty), as condure does (reference.md §5.2).
var localhost = []byte("localhost")

// AppendURI appends the target URI of a request (RFC 9112 §3.3) as scheme +
// "://" + authority + path, for host and target as ParseRequest accepted
// them (req.Host, req.Target); other input gives an unspecified result:
//
//   - origin-form ("/p?q"): the authority is host, or "localhost" when
//     host is empty (HTTP/1.0 only), and the path is the target;
//   - absolute-form ("http://a/p"): authority and path come from the
//     target and host is ignored (RFC 9112 §3.2.2, reference.md §12 #9); the
//     path defaults to "/" and the listener's scheme argument is kept;
//   - asterisk-form ("*", OPTIONS): the authority alone, the path empty.
//
// Returns ErrURITooLong past MaxURI bytes; on error dst is returned
// unchanged.
func AppendURI(dst []byte, scheme string, host, target []byte) ([]byte, error) {
	auth, path, slash := host, target, false
	if a, p, ok := splitAbsolute(target); ok {
		// "http://a" and "http://a?q" have an empty path: "/" it is.
		auth, path, slash = a, p, len(p) == 0 || p[0] != '/'
	} else if len(target) == 1 && target[0] == '*' {
		path = nil
	}
	if len(auth) == 0 {
		auth = localhost
	} else if auth[len(auth)-1] == ':' {
		auth = auth[:len(auth)-1] // empty port (RFC 3986 §6.2.3): "a:" is "a"
	}
	n := len(scheme) + len("://") + len(auth) + len(path)
	if slash {
		n++
	}
	if n > MaxURI {
		return dst, ErrURITooLong
	}
	dst = append(dst, scheme...)
	dst = append(dst, "://"...)
	dst = append(dst, auth...)
	if slash {
		dst = append(dst, '/')
	}
	return append(dst, path...), nil
}

// splitAbsolute splits an http or https absolute-form target (RFC 9112
// §3.2.2, RFC 3986 §3) into its authority and the rest (path, query and
// fragment). ok is false for any other form.
func splitAbsolute(target []byte) (auth, rest []byte, ok bool) {
	switch {
	case len(target) >= len("http://") && equalFold(target[:len("http://")], "http://"):
		rest = target[len("http://"):]
	case len(target) >= len("https://") && equalFold(target[:len("https://")], "https://"):
		rest = target[len("https://"):]
	default:
		return nil, nil, false
	}
	for i, c := range rest {
		if c == '/' || c == '?' || c == '#' {
			return rest[:i], rest[i:], true
		}
	}
	return rest, nil, true
}
