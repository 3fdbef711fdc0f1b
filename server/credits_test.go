package server

import (
	"math"
	"testing"
)

func TestAddCredits(t *testing.T) {
	tests := []struct {
		name  string
		c     int64
		grant int
		want  int64
	}{
		{"zero", 0, 0, 0},
		{"plain", 100, 8192, 8292},
		{"from_zero_to_max", 0, math.MaxInt64, math.MaxInt64},
		{"max_twice_saturates", math.MaxInt64, math.MaxInt64, math.MaxInt64},
		{"one_past_max_saturates", math.MaxInt64 - 10, 11, math.MaxInt64},
		{"exactly_max", math.MaxInt64 - 10, 10, math.MaxInt64},
		{"max_plus_zero", math.MaxInt64, 0, math.MaxInt64},
		{"negative_balance_no_overflow", -5, math.MaxInt64, math.MaxInt64 - 5},
		{"negative_grant_ignored", 7, -1, 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := addCredits(tt.c, tt.grant); got != tt.want {
				t.Fatalf("addCredits(%d, %d) = %d, want %d", tt.c, tt.grant, got, tt.want)
			}
		})
	}
}
