package zhttp

import (
	"bytes"
	"strconv"
	"testing"
)

// FuzzParseTnet checks that ParseTnet never panics, that what it accepts is
// consistent with the input, and that the writer reproduces each value
// canonically (containers rebuilt child by child through Begin/EndContainer).
// Seeds: testdata/fuzz/FuzzParseTnet.
func FuzzParseTnet(f *testing.F) {
	f.Fuzz(func(t *testing.T, in []byte) {
		v, rest, err := ParseTnet(in)
		if err != nil {
			if len(rest) != len(in) {
				t.Fatalf("error %v consumed input", err)
			}
			return
		}
		checkTnet(t, in, v, rest, 0)
	})
}

// checkTnet verifies one parsed value against its input and, for containers,
// each child. It returns the canonical encoding of v, or nil if a child did
// not parse.
func checkTnet(t *testing.T, in []byte, v TnetValue, rest []byte, depth int) []byte {
	t.Helper()
	used := len(in) - len(rest)
	if used <= 0 || !bytes.Equal(in[used:], rest) {
		t.Fatalf("rest is not a suffix of the input")
	}
	if in[used-1] != byte(v.Kind) || !bytes.Equal(in[used-1-len(v.Payload):used-1], v.Payload) {
		t.Fatalf("payload/kind do not match the input")
	}

	var canon []byte
	switch v.Kind {
	case TnetString:
		canon = AppendTnetString(nil, v.Payload)
	case TnetInt:
		n, err := v.Int()
		if err != nil {
			canon = rawTnet(v)
			break
		}
		canon = AppendTnetInt(nil, n)
		back, _, err := ParseTnet(canon)
		if m, err2 := back.Int(); err != nil || err2 != nil || m != n {
			t.Fatalf("int %d did not round-trip: %q", n, canon)
		}
	case TnetBool:
		b, err := v.Bool()
		if err != nil {
			canon = rawTnet(v)
			break
		}
		canon = AppendTnetBool(nil, b)
	case TnetList, TnetDict:
		if depth > 32 {
			return nil
		}
		var mark int
		canon, mark = BeginContainer(nil)
		body := v.Payload
		for len(body) > 0 {
			c, r, err := ParseTnet(body)
			if err != nil {
				return nil
			}
			cc := checkTnet(t, body, c, r, depth+1)
			if cc == nil {
				return nil
			}
			canon = append(canon, cc...)
			body = r
		}
		canon = EndContainer(canon, mark, v.Kind)
	default:
		canon = rawTnet(v)
	}

	back, r, err := ParseTnet(canon)
	if err != nil || len(r) != 0 || back.Kind != v.Kind {
		t.Fatalf("canonical form %q does not parse back (%v)", canon, err)
	}
	if v.Kind == TnetString && !bytes.Equal(back.Payload, v.Payload) {
		t.Fatalf("string payload changed: %q → %q", v.Payload, back.Payload)
	}
	return canon
}

// rawTnet re-encodes v with its payload as is.
func rawTnet(v TnetValue) []byte {
	b := strconv.AppendInt(nil, int64(len(v.Payload)), 10)
	b = append(b, ':')
	b = append(b, v.Payload...)
	return append(b, byte(v.Kind))
}
