package config

import (
	"math"
	"testing"
)

// TestParseUint pins the Rust from_str_radix behaviour condure's messages
// come from.
func TestParseUint(t *testing.T) {
	tests := []struct {
		name  string
		s     string
		radix uint64
		max   uint64
		want  uint64
		err   error
	}{
		{"zero", "0", 10, math.MaxUint16, 0, nil},
		{"plus_sign", "+42", 10, math.MaxUint16, 42, nil},
		{"leading_zeros", "00042", 10, math.MaxUint16, 42, nil},
		{"u16_max", "65535", 10, math.MaxUint16, 65535, nil},
		{"u64_max", "18446744073709551615", 10, math.MaxUint64, math.MaxUint64, nil},
		{"octal", "755", 8, math.MaxUint32, 0o755, nil},
		{"empty", "", 10, math.MaxUint16, 0, errIntEmpty},
		{"lone_plus", "+", 10, math.MaxUint16, 0, errIntDigit},
		{"lone_minus", "-", 10, math.MaxUint16, 0, errIntDigit},
		{"minus", "-1", 10, math.MaxUint16, 0, errIntDigit},
		{"double_plus", "++1", 10, math.MaxUint16, 0, errIntDigit},
		{"space", "1 ", 10, math.MaxUint16, 0, errIntDigit},
		{"underscore", "1_000", 10, math.MaxUint16, 0, errIntDigit},
		{"octal_digit_8", "8", 8, math.MaxUint32, 0, errIntDigit},
		{"u16_overflow", "65536", 10, math.MaxUint16, 0, errIntOverflow},
		{"u64_overflow", "18446744073709551616", 10, math.MaxUint64, 0, errIntOverflow},
		{"overflow_before_bad_digit", "99999x", 10, math.MaxUint16, 0, errIntOverflow},
		{"bad_digit_before_overflow", "9x9999", 10, math.MaxUint16, 0, errIntDigit},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseUint(tt.s, tt.radix, tt.max)
			if err != tt.err || got != tt.want {
				t.Fatalf("parseUint(%q, %d) = %d, %v; want %d, %v", tt.s, tt.radix, got, err, tt.want, tt.err)
			}
		})
	}
}
