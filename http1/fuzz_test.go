package http1

import (
	"bytes"
	"errors"
	"net/url"
	"strings"
	"testing"
)

// Seeds live in testdata/fuzz/<FuzzName>/, past crashers included.

const fuzzMaxHead = 8192

var parseErrors = []error{ErrMalformed, ErrTooManyHeaders, ErrHeadTooLarge, ErrBadVersion, ErrContentLength, ErrTransferEncode, ErrBadTarget, ErrBadHost}

// FuzzParseRequest checks that ParseRequest never panics, returns only its
// sentinels, hands out views into the head, agrees with itself on prefixes,
// on the head alone and on a smaller limit, and that the uri built from an
// accepted request is well formed.
func FuzzParseRequest(f *testing.F) {
	f.Add([]byte(typicalRequest))
	f.Add([]byte("GET /x HTTP/1.1\r\nHost: a:\r\n\r\n"))
	f.Add([]byte("GET http://a:?q HTTP/1.1\r\nHost: [v1.x]:\r\n\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var req Request
		n, err := ParseRequest(data, &req, fuzzMaxHead)
		if err != nil {
			if n != 0 {
				t.Fatalf("n = %d with error %v", n, err)
			}
			known := false
			for _, e := range parseErrors {
				known = known || err == e
			}
			if !known {
				t.Fatalf("unexpected error %v", err)
			}
			if code, _ := Status(err); code != 400 && code != 431 && code != 505 {
				t.Fatalf("Status(%v) = %d", err, code)
			}
			if err != ErrHeadTooLarge {
				// The error is in complete lines: more bytes cannot change it.
				more := append(bytes.Clone(data), "\r\n\r\nGET / HTTP/1.1\r\n\r\n"...)
				if _, err2 := ParseRequest(more, &req, fuzzMaxHead); err2 != err {
					t.Fatalf("error %v, but %v once more bytes arrive", err, err2)
				}
			}
			return
		}
		if n == 0 {
			if len(data) >= fuzzMaxHead {
				t.Fatalf("incomplete at %d bytes, limit %d", len(data), fuzzMaxHead)
			}
			return
		}
		checkParsed(t, data, n, &req)

		// The head alone parses the same; a limit one byte short refuses it.
		var again Request
		if n2, err := ParseRequest(data[:n:n], &again, n); n2 != n || err != nil {
			t.Fatalf("head alone: %d, %v; want %d", n2, err, n)
		}
		if string(again.Target) != string(req.Target) || len(again.Headers) != len(req.Headers) ||
			again.ContentLength != req.ContentLength || again.KeepAlive != req.KeepAlive {
			t.Fatalf("head alone parsed differently")
		}
		if _, err := ParseRequest(data, &again, n-1); err != ErrHeadTooLarge {
			t.Fatalf("limit %d: %v, want ErrHeadTooLarge", n-1, err)
		}
		// Every prefix of a good head is just incomplete.
		step := max(1, n/64)
		for k := 0; k < n; k += step {
			if n2, err := ParseRequest(data[:k], &again, fuzzMaxHead); n2 != 0 || err != nil {
				t.Fatalf("prefix of %d bytes: %d, %v", k, n2, err)
			}
		}

		uri, err := AppendURI(nil, "https", req.Host, req.Target)
		if err != nil && err != ErrURITooLong || len(uri) > MaxURI {
			t.Fatalf("AppendURI = %d bytes, %v", len(uri), err)
		}
		if err == nil {
			checkURI(t, &req, string(uri))
		}
	})
}

// checkURI checks that uri is "https://" authority path, the authority a
// valid host[:port] by the reference (refValidAuthority): the Host, or the
// target's own in absolute-form, or localhost for HTTP/1.0 without one; the
// path the target's (origin-form), empty (asterisk-form, OPTIONS only) or
// starting with "/".
func checkURI(t *testing.T, req *Request, uri string) {
	t.Helper()
	rest, ok := strings.CutPrefix(uri, "https://")
	if !ok {
		t.Fatalf("uri %q: scheme", uri)
	}
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	auth, path := rest[:end], rest[end:]
	if !refValidAuthority(auth) {
		t.Fatalf("uri %q: authority %q", uri, auth)
	}
	target := string(req.Target)
	switch {
	case target[0] == '/':
		if path != target {
			t.Fatalf("uri %q: path, target %q", uri, target)
		}
	case target == "*":
		if path != "" || string(req.Method) != "OPTIONS" {
			t.Fatalf("uri %q for %s *", uri, req.Method)
		}
	default: // absolute-form: scheme "://" auth path, the path maybe without its "/"
		scheme, tail, _ := strings.Cut(target, "://")
		scheme = strings.ToLower(scheme)
		tend := strings.IndexAny(tail, "/?#")
		if tend < 0 {
			tend = len(tail)
		}
		// An empty port ("h:") is dropped from the uri (RFC 3986 §6.2.3).
		after, ok := tail[tend:], strings.TrimSuffix(tail[:tend], ":") == auth
		if scheme != "http" && scheme != "https" || !ok || path == "" || path[0] != '/' ||
			path != after && path != "/"+after {
			t.Fatalf("uri %q: absolute-form target %q", uri, target)
		}
	}
	if target[0] == '/' || target == "*" {
		want := strings.TrimSuffix(string(req.Host), ":") // an empty port is dropped
		if want == "" {
			want = "localhost"
			if req.Minor != 0 {
				t.Fatalf("uri %q: HTTP/1.1 without a Host", uri)
			}
		}
		if auth != want {
			t.Fatalf("uri %q: authority, Host %q", uri, req.Host)
		}
	}
	// A second opinion on the authority (Go refuses some pct-encoded hosts).
	if !strings.Contains(auth, "%") {
		u, err := url.Parse("https://" + auth + "/")
		if err != nil || u.Host != auth || u.User != nil || u.Path != "/" {
			t.Fatalf("uri %q: net/url reads the authority as %+v, %v", uri, u, err)
		}
	}
}

// FuzzValidAuthority checks validAuthority against the regular expression
// and netip reference.
func FuzzValidAuthority(f *testing.F) {
	for _, s := range []string{"example.com:8080", "[::ffff:1.2.3.4]:80", "a%41", "u@h", "[fe80::1%25x]", "h:65536", "h:", "[v1.a:b]:"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := validAuthority([]byte(s)), refValidAuthority(s); got != want {
			t.Fatalf("validAuthority(%q) = %v, reference %v", s, got, want)
		}
	})
}

func checkParsed(t *testing.T, data []byte, n int, req *Request) {
	t.Helper()
	if n > len(data) || n > fuzzMaxHead || req.HeadLen != n || data[n-1] != '\n' {
		t.Fatalf("n = %d, HeadLen = %d of %d bytes", n, req.HeadLen, len(data))
	}
	checkViews(t, data[:n], req)
	if !ValidHeaderName(req.Method) || len(req.Target) == 0 || req.Minor != 0 && req.Minor != 1 {
		t.Fatalf("request line %q %q %d", req.Method, req.Target, req.Minor)
	}
	if len(req.Headers) > MaxHeaders {
		t.Fatalf("%d headers", len(req.Headers))
	}
	var host []byte
	for _, h := range req.Headers {
		if !ValidHeaderName(h.Name) || !ValidHeaderValue(h.Value) || !bytes.Equal(h.Value, trimSpace(h.Value)) {
			t.Fatalf("header %q: %q", h.Name, h.Value)
		}
		if host == nil && equalFold(h.Name, "host") {
			host = h.Value
		}
	}
	if !bytes.Equal(host, req.Host) || (host == nil) != (req.Host == nil) {
		t.Fatalf("Host = %q, first Host header %q", req.Host, host)
	}
	if req.ContentLength < -1 || req.Chunked && (req.ContentLength != -1 || req.Minor != 1) {
		t.Fatalf("ContentLength %d, Chunked %v, minor %d", req.ContentLength, req.Chunked, req.Minor)
	}
	if req.Expect100 && (req.Minor != 1 || !req.Chunked && req.ContentLength <= 0) {
		t.Fatalf("Expect100 without a body or on 1.0")
	}
}

// FuzzChunkedDecoder checks that Decode never panics, consumes no more than
// it is given, returns data from its input, decodes the same however the input
// is split, and agrees with refDecode.
func FuzzChunkedDecoder(f *testing.F) {
	f.Add([]byte("5;a=b\r\nhello\r\n0\r\nX: y\r\n\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		body, n, done, err := feed(t, data, whole)
		if err != nil && err != ErrBadChunk {
			t.Fatalf("unexpected error %v", err)
		}
		if done && n > len(data) || !done && err == nil && n != len(data) {
			t.Fatalf("consumed %d of %d (done %v)", n, len(data), done)
		}
		// Split points taken from the input itself, so the fuzzer steers them.
		i := 0
		splits := func(left int) int {
			i++
			return min(left, 1+int(data[i%len(data)]%13))
		}
		for name, next := range map[string]func(int) int{"byte_by_byte": byteByByte, "input_splits": splits} {
			body2, n2, done2, err2 := feed(t, data, next)
			if !bytes.Equal(body, body2) || n != n2 || done != done2 || !errors.Is(err2, err) && err2 != err {
				t.Fatalf("%s: body %q consumed %d done %v err %v; whole: %q %d %v %v",
					name, body2, n2, done2, err2, body, n, done, err)
			}
		}
		// The reference knows no length limits: compare below them.
		if len(data) < maxChunkLine {
			wantBody, wantN, outcome := refDecode(data)
			got := refMore
			switch {
			case err != nil:
				got = refError
			case done:
				got = refDone
			}
			if got != outcome || !bytes.Equal(body, wantBody) || done && n != wantN {
				t.Fatalf("outcome %d body %q consumed %d; reference %d %q %d", got, body, n, outcome, wantBody, wantN)
			}
		}
	})
}
