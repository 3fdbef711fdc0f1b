package websocket

import (
	"bytes"
	"math/rand/v2"
	"testing"
	"unicode/utf8"
)

// utf8Cases follow the Autobahn TestSuite case 6 groups (valid and invalid
// UTF-8 in text messages) and Markus Kuhn's decoder stress test.
var utf8Cases = []struct {
	name  string
	in    string
	valid bool
}{
	{"empty", "", true},
	{"ascii", "Hello-µ@ßöäüàá-UTF-8!!", true},
	{"greek_kosme", "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5", true},
	{"first_2byte_U+0080", "\xc2\x80", true},
	{"first_3byte_U+0800", "\xe0\xa0\x80", true},
	{"first_4byte_U+10000", "\xf0\x90\x80\x80", true},
	{"last_1byte_U+007F", "\x7f", true},
	{"last_2byte_U+07FF", "\xdf\xbf", true},
	{"last_3byte_U+FFFF", "\xef\xbf\xbf", true},
	{"last_U+10FFFF", "\xf4\x8f\xbf\xbf", true},
	{"U+D7FF_before_surrogates", "\xed\x9f\xbf", true},
	{"U+E000_after_surrogates", "\xee\x80\x80", true},
	{"U+FFFD", "\xef\xbf\xbd", true},
	{"noncharacter_U+FFFE", "\xef\xbf\xbe", true},
	{"noncharacter_U+10FFFE", "\xf4\x8f\xbf\xbe", true},
	{"nul_byte", "a\x00b", true},

	{"above_U+10FFFF_F4_90", "\xf4\x90\x80\x80", false},
	{"5byte_sequence", "\xf8\x88\x80\x80\x80", false},
	{"6byte_sequence", "\xfc\x84\x80\x80\x80\x80", false},
	{"lone_continuation_80", "\x80", false},
	{"lone_continuation_BF", "\xbf", false},
	{"continuations_in_text", "ab\x80\xbfcd", false},
	{"lone_lead_then_space", "\xc0 ", false},
	{"lead_then_ascii", "\xc2A", false},
	{"3byte_lead_then_ascii", "\xe1\x80A", false},
	{"4byte_lead_then_ascii", "\xf1\x80\x80A", false},
	{"byte_FE", "\xfe", false},
	{"byte_FF", "\xff", false},
	{"bytes_FEFF", "\xfe\xfe\xff\xff", false},
	{"overlong_slash_2byte", "\xc0\xaf", false},
	{"overlong_slash_3byte", "\xe0\x80\xaf", false},
	{"overlong_slash_4byte", "\xf0\x80\x80\xaf", false},
	{"overlong_nul_2byte", "\xc0\x80", false},
	{"overlong_max_2byte_C1_BF", "\xc1\xbf", false},
	{"overlong_max_3byte_E0_9F_BF", "\xe0\x9f\xbf", false},
	{"overlong_max_4byte_F0_8F_BF_BF", "\xf0\x8f\xbf\xbf", false},
	{"surrogate_D800", "\xed\xa0\x80", false},
	{"surrogate_DB7F", "\xed\xad\xbf", false},
	{"surrogate_DC00", "\xed\xb0\x80", false},
	{"surrogate_DFFF", "\xed\xbf\xbf", false},
	{"surrogate_pair_D800_DC00", "\xed\xa0\x80\xed\xb0\x80", false},
	{"surrogate_pair_DBFF_DFFF", "\xed\xaf\xbf\xed\xbf\xbf", false},
	{"kosme_then_surrogate", "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80", false},
	{"F5_lead", "\xf5\x80\x80\x80", false},
	{"truncated_2byte", "\xc2", false},
	{"truncated_3byte", "\xe2\x82", false},
	{"truncated_4byte", "\xf0\x9f\x98", false},
	{"valid_then_truncated", "κόσμε\xf4\x8f\xbf", false},
}

// TestUTF8 checks each case whole and split at every position, and that
// truncation is "valid so far but not Complete".
func TestUTF8(t *testing.T) {
	for _, tc := range utf8Cases {
		t.Run(tc.name, func(t *testing.T) {
			if utf8.ValidString(tc.in) != tc.valid {
				t.Fatalf("case disagrees with unicode/utf8")
			}
			for cut := 0; cut <= len(tc.in); cut++ {
				var u UTF8
				ok := u.Write([]byte(tc.in[:cut])) && u.Write([]byte(tc.in[cut:]))
				if got := ok && u.Complete(); got != tc.valid {
					t.Fatalf("split at %d: valid = %v, want %v", cut, got, tc.valid)
				}
			}
			// Byte by byte, Write fails exactly when the prefix cannot
			// be completed.
			var u UTF8
			for i := 0; i < len(tc.in); i++ {
				ok := u.Write([]byte{tc.in[i]})
				if want := prefixCompletable(tc.in[:i+1]); ok != want {
					t.Fatalf("after %d bytes: Write = %v, want %v", i+1, ok, want)
				}
			}
		})
	}
}

// prefixCompletable reports whether some suffix makes s valid UTF-8: s is
// valid except for a trailing sequence that FullRune says is incomplete and
// that has a valid completion.
func prefixCompletable(s string) bool {
	for end := len(s); end >= 0 && end >= len(s)-3; end-- {
		if !utf8.ValidString(s[:end]) {
			continue
		}
		tail := s[end:]
		if tail == "" {
			return true
		}
		if utf8.FullRuneInString(tail) {
			continue
		}
		// Try all completions of the tail to a 4-byte maximum.
		for _, c := range completions(4 - len(tail)) {
			if full := tail + c; utf8.FullRuneInString(full) {
				r, size := utf8.DecodeRuneInString(full)
				if r != utf8.RuneError && size == len(full) {
					return true
				}
			}
		}
	}
	return false
}

// completions lists continuation-byte strings of 1 to n bytes.
func completions(n int) []string {
	var out []string
	var rec func(prefix string, left int)
	rec = func(prefix string, left int) {
		if prefix != "" {
			out = append(out, prefix)
		}
		if left == 0 {
			return
		}
		for b := 0x80; b <= 0xbf; b += 0x0f {
			rec(prefix+string([]byte{byte(b)}), left-1)
		}
		rec(prefix+"\xbf", left-1)
	}
	rec("", n)
	return out
}

// TestUTF8MatchesStdlib compares with unicode/utf8 on random inputs biased
// towards multi-byte and edge bytes, written in random pieces.
func TestUTF8MatchesStdlib(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	edge := []byte{0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xe1, 0xec, 0xed, 0xee, 0xef, 0xf0, 0xf1, 0xf3, 0xf4, 0xf5, 0xff}
	for i := 0; i < 200000; i++ {
		b := make([]byte, rng.IntN(12))
		for j := range b {
			if rng.IntN(3) == 0 {
				b[j] = byte(rng.IntN(256))
			} else {
				b[j] = edge[rng.IntN(len(edge))]
			}
		}
		var u UTF8
		ok := true
		for rest := b; len(rest) > 0 && ok; {
			k := 1 + rng.IntN(len(rest))
			ok = u.Write(rest[:k])
			rest = rest[k:]
		}
		if got := ok && u.Complete(); got != utf8.Valid(b) {
			t.Fatalf("% x: valid = %v, unicode/utf8 says %v", b, got, utf8.Valid(b))
		}
	}
}

// TestUTF8LongASCII exercises the 8-byte fast path around a bad byte at
// every position.
func TestUTF8LongASCII(t *testing.T) {
	base := bytes.Repeat([]byte("abcdefgh"), 8)
	for i := range base {
		b := bytes.Clone(base)
		b[i] = 0xff
		var u UTF8
		if u.Write(b) {
			t.Fatalf("0xff at %d accepted", i)
		}
		if u.Write([]byte("x")) {
			t.Fatal("invalidity not sticky")
		}
		u.Reset()
		if !u.Write(base) || !u.Complete() {
			t.Fatal("Reset did not clear")
		}
	}
}

// TestReaderUTF8 sends every case as a text message, fragmented at every
// byte position and read byte by byte: valid cases come through, invalid
// ones fail with 1007.
func TestReaderUTF8(t *testing.T) {
	for _, tc := range utf8Cases {
		t.Run(tc.name, func(t *testing.T) {
			for cut := 0; cut <= len(tc.in); cut++ {
				in := cat(cframe(false, OpText, tc.in[:cut]), cframe(true, OpContinuation, tc.in[cut:]))
				for _, step := range []int{1, len(in)} {
					var r Reader
					got, err := run(&r, in, whole(step), 1<<20, contract)
					if err != nil {
						t.Fatal(err)
					}
					if tc.valid {
						if got.code != 0 || len(got.items) != 1 || got.items[0] != text(tc.in) {
							t.Fatalf("cut %d step %d: %v", cut, step, got)
						}
					} else if got.code != CloseInvalidData {
						t.Fatalf("cut %d step %d: %v, want error 1007", cut, step, got)
					}
				}
			}
			// As a close reason.
			var r Reader
			got, _ := run(&r, cframe(true, OpClose, closePayload(1000, tc.in)), whole(1), 10, contract)
			if tc.valid != (got.code == 0) {
				t.Fatalf("close reason: %v", got)
			}
		})
	}
}
