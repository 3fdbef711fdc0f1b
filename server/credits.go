package server

import "math"

// addCredits returns the credits c plus a handler's grant (reference.md §4.2),
// saturating at math.MaxInt64. A grant is any non-negative int64 (zhttp
// clamps it to int); two large ones must not wrap the sum negative, which
// would stop the session's input for good. condure copes with such grants.
func addCredits(c int64, grant int) int64 {
	g := int64(grant)
	if g < 0 {
		return c // never sent: packet parsing refuses negative credits
	}
	if c > 0 && g > math.MaxInt64-c {
		return math.MaxInt64
	}
	return c + g
}
