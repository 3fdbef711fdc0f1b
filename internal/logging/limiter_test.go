package logging

import (
	"testing"
	"time"
)

func TestLimiter(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	tests := []struct {
		name     string
		interval time.Duration
		events   []int  // ms after t0
		want     []bool // Allow results
	}{
		{"first_event_allowed", time.Second, []int{0}, []bool{true}},
		{"burst_allows_one", time.Second, []int{0, 1, 500, 999}, []bool{true, false, false, false}},
		{"allowed_again_at_interval", time.Second, []int{0, 1000, 1999, 2000}, []bool{true, true, false, true}},
		{"interval_counts_from_last_allowed", time.Second, []int{0, 900, 1100, 1900, 2100}, []bool{true, false, true, false, true}},
		{"clock_backwards_not_allowed_early", time.Second, []int{5000, 4000, 5999, 6000}, []bool{true, false, false, true}},
		{"zero_interval_allows_all", 0, []int{0, 0, 1}, []bool{true, true, true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := NewLimiter(tt.interval)
			for i, ms := range tt.events {
				if got := l.Allow(at(ms)); got != tt.want[i] {
					t.Fatalf("event %d at %d ms: Allow = %v, want %v", i, ms, got, tt.want[i])
				}
			}
		})
	}
}

func TestLimiterZeroValueAllowsAll(t *testing.T) {
	var l Limiter
	now := time.Now()
	if !l.Allow(now) || !l.Allow(now) {
		t.Fatal("zero Limiter refused an event")
	}
}

func TestLimiterDoesNotAllocate(t *testing.T) {
	l := NewLimiter(time.Second)
	now := time.Now()
	allocs := testing.AllocsPerRun(100, func() {
		now = now.Add(300 * time.Millisecond)
		l.Allow(now)
	})
	if allocs != 0 {
		t.Fatalf("Allow allocates %v times", allocs)
	}
}
