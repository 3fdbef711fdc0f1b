package websocket

import "unicode/utf8"

// UTF8 validates UTF-8 incrementally (RFC 3629 §4, the well-formed byte
// sequences of Unicode Table 3-7): text may arrive split anywhere, even
// inside a multi-byte sequence. Overlong encodings, surrogates (U+D800 to
// U+DFFF) and code points above U+10FFFF are invalid; noncharacters such as
// U+FFFE are valid. RFC 6455 §8.1 requires text messages and close reasons
// to be valid UTF-8.
//
// The zero value is ready and expects the start of a sequence. Write
// reports invalid input as soon as the bytes given to it show it (a prefix
// that no continuation could make valid, such as E0 80 or ED A0, fails at
// once); invalidity is sticky until Reset.
type UTF8 struct {
	state uint8 // utf8Accept, utf8Reject or a state inside a sequence
}

// DFA states. utf8Accept must be 0 so the zero value is ready.
const (
	utf8Accept  = iota // between sequences
	utf8Reject         // invalid input seen (sticky)
	utf8Need1          // one continuation byte (80-BF) left
	utf8Need2          // two continuation bytes left
	utf8Need3          // three continuation bytes left
	utf8AfterE0        // next A0-BF (no overlong 3-byte form), then 1 more
	utf8AfterED        // next 80-9F (no surrogates), then 1 more
	utf8AfterF0        // next 90-BF (no overlong 4-byte form), then 2 more
	utf8AfterF4        // next 80-8F (nothing above U+10FFFF), then 2 more
	utf8States
)

// Byte classes: bytes that every state treats alike.
const (
	clsASCII = iota // 00-7F
	clsCont8        // 80-8F
	clsCont9        // 90-9F
	clsContA        // A0-BF
	clsBad          // C0, C1, F5-FF: never valid
	clsLead2        // C2-DF
	clsE0           // E0
	clsLead3        // E1-EC, EE-EF
	clsED           // ED
	clsF0           // F0
	clsLead4        // F1-F3
	clsF4           // F4
	utf8Classes
)

var utf8Class, utf8Trans = utf8Tables()

// utf8Tables builds the byte-class table and the transition table
// (utf8Trans[state*utf8Classes+class]) from Unicode Table 3-7.
func utf8Tables() (cls [256]uint8, trans [utf8States * utf8Classes]uint8) {
	for b := 0; b < 256; b++ {
		var c uint8
		switch {
		case b <= 0x7f:
			c = clsASCII
		case b <= 0x8f:
			c = clsCont8
		case b <= 0x9f:
			c = clsCont9
		case b <= 0xbf:
			c = clsContA
		case b <= 0xc1:
			c = clsBad
		case b <= 0xdf:
			c = clsLead2
		case b == 0xe0:
			c = clsE0
		case b == 0xed:
			c = clsED
		case b <= 0xef:
			c = clsLead3
		case b == 0xf0:
			c = clsF0
		case b <= 0xf3:
			c = clsLead4
		case b == 0xf4:
			c = clsF4
		default:
			c = clsBad
		}
		cls[b] = c
	}
	for i := range trans {
		trans[i] = utf8Reject
	}
	set := func(s, c, next uint8) { trans[int(s)*utf8Classes+int(c)] = next }
	// Between sequences: a lead byte chooses what follows.
	set(utf8Accept, clsASCII, utf8Accept)
	set(utf8Accept, clsLead2, utf8Need1)
	set(utf8Accept, clsE0, utf8AfterE0)
	set(utf8Accept, clsLead3, utf8Need2)
	set(utf8Accept, clsED, utf8AfterED)
	set(utf8Accept, clsF0, utf8AfterF0)
	set(utf8Accept, clsLead4, utf8Need3)
	set(utf8Accept, clsF4, utf8AfterF4)
	for _, c := range []uint8{clsCont8, clsCont9, clsContA} {
		set(utf8Need1, c, utf8Accept)
		set(utf8Need2, c, utf8Need1)
		set(utf8Need3, c, utf8Need2)
	}
	set(utf8AfterE0, clsContA, utf8Need1)
	set(utf8AfterED, clsCont8, utf8Need1)
	set(utf8AfterED, clsCont9, utf8Need1)
	set(utf8AfterF0, clsCont9, utf8Need2)
	set(utf8AfterF0, clsContA, utf8Need2)
	set(utf8AfterF4, clsCont8, utf8Need2)
	return cls, trans
}

// Write feeds b to the validator. It returns false once the input seen
// since Reset is invalid, true while it is valid so far (possibly ending
// inside a sequence: see Complete). It does not allocate.
//
// Whole sequences are checked by unicode/utf8.Valid (which follows RFC 3629
// too); the DFA only finishes a sequence left open by the previous Write and
// takes in one left open at the end of b.
func (u *UTF8) Write(b []byte) bool {
	s := u.state
	i := 0
	for s > utf8Reject && i < len(b) { // inside a sequence
		s = utf8Trans[int(s)*utf8Classes+int(utf8Class[b[i]])]
		i++
	}
	if s == utf8Accept && i < len(b) {
		rest := b[i:]
		cut := len(rest) - openTail(rest)
		if !utf8.Valid(rest[:cut]) {
			s = utf8Reject
		}
		for _, c := range rest[cut:] {
			if s == utf8Reject {
				break
			}
			s = utf8Trans[int(s)*utf8Classes+int(utf8Class[c])]
		}
	}
	u.state = s
	return s != utf8Reject
}

// openTail returns the length of the sequence b ends with when that
// sequence lacks bytes (its lead byte announces more than are there), or 0.
func openTail(b []byte) int {
	for k := 1; k <= 3 && k <= len(b); k++ {
		c := b[len(b)-k]
		if c&0xc0 == 0x80 {
			continue // continuation byte: look further back
		}
		var need int
		switch {
		case c >= 0xc2 && c <= 0xdf:
			need = 2
		case c >= 0xe0 && c <= 0xef:
			need = 3
		case c >= 0xf0 && c <= 0xf4:
			need = 4
		}
		if need > k {
			return k
		}
		return 0
	}
	return 0
}

// Complete reports whether the input so far is valid and ends on a sequence
// boundary (no partial sequence pending): true for a whole valid text.
func (u *UTF8) Complete() bool { return u.state == utf8Accept }

// Reset prepares u for a new text.
func (u *UTF8) Reset() { u.state = utf8Accept }

// validUTF8 reports whether b is a complete, valid UTF-8 text.
func validUTF8(b []byte) bool {
	var u UTF8
	return u.Write(b) && u.Complete()
}
