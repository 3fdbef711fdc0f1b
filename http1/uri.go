package http1

import "unicode/utf8"

// localhost stands in for a missing, empty or non-UTF-8 Host, as condure
// does (ZHTTP.md §5.2).
var localhost = []byte("localhost")

// AppendURI appends scheme + "://" + authority + path for a request: with an
// origin-form target the authority is host (or "localhost" when host is
// empty); with an absolute-form target ("http://a/b") its authority and path
// are used instead (RFC 9112 §3.2.2); "*" gives scheme://host*. Returns
// ErrURITooLong past MaxURI bytes.
//
// Absolute form is recognised for the http and https schemes in any case
// (ZHTTP.md §12 #9); the result keeps the listener's scheme argument
// (http/https/ws/wss), the path defaults to "/", and an empty authority falls
// back to host. A host or authority that is not UTF-8 is replaced by
// "localhost". Authority-form and any other target are appended after the
// host unchanged, as condure does. On error dst is returned unchanged.
func AppendURI(dst []byte, scheme string, host, target []byte) ([]byte, error) {
	auth, path, slash := host, target, false
	if a, p, ok := splitAbsolute(target); ok {
		if len(a) > 0 {
			auth = a
		}
		// "http://a" and "http://a?q" have an empty path: "/" it is.
		path, slash = p, len(p) == 0 || p[0] != '/'
	}
	if len(auth) == 0 || !utf8.Valid(auth) {
		auth = localhost
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
