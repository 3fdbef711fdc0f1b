package config

import (
	"errors"
	"math"
)

// The messages of Rust's core::num::ParseIntError. Condure reports its flag
// parse failures with them (reference.md §8.1), so we reproduce them exactly.
var (
	errIntEmpty    = errors.New("cannot parse integer from empty string")
	errIntDigit    = errors.New("invalid digit found in string")
	errIntOverflow = errors.New("number too large to fit in target type")
)

// parseUint parses s as Rust's from_str_radix does for an unsigned type whose
// maximum is max: an optional leading '+', then at least one digit of the
// radix (no '_', no "0x"/"0o" prefix, no spaces). Digits are checked left to
// right and overflow is reported at the first digit that overflows, so
// "99999999999999999999x" is an overflow and "1x9999999999999999999" a bad
// digit, as in Rust.
func parseUint(s string, radix, max uint64) (uint64, error) {
	if s == "" {
		return 0, errIntEmpty
	}
	if s[0] == '+' {
		s = s[1:]
		if s == "" {
			return 0, errIntDigit
		}
	}
	var n uint64
	for i := 0; i < len(s); i++ {
		d := uint64(s[i]) - '0' // wraps for bytes below '0'
		if d >= radix {
			return 0, errIntDigit
		}
		if n > (max-d)/radix {
			return 0, errIntOverflow
		}
		n = n*radix + d
	}
	return n, nil
}

// parseUsize parses a decimal flag value the way condure parses its usize
// flags, limited to what a Go int holds.
func parseUsize(s string) (int, error) {
	n, err := parseUint(s, 10, math.MaxInt)
	return int(n), err
}
