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

// Every refused event is counted, and the count is reported with the next
// event let through, then starts again from zero.
func TestLimiterCountsSuppressed(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := NewLimiter(time.Second)
	type step struct {
		ms         int
		allowed    bool
		suppressed int // Suppressed() after the event, when allowed
	}
	steps := []step{
		{0, true, 0},
		{1, false, 0}, {2, false, 0}, {999, false, 0},
		{1000, true, 3},
		{1500, false, 0},
		{2000, true, 1},
		{5000, true, 0}, // a quiet interval: nothing to report
		{5001, false, 0},
		{4000, false, 0}, // clock backwards: refused and counted
		{6000, true, 2},
	}
	for i, s := range steps {
		got := l.Allow(t0.Add(time.Duration(s.ms) * time.Millisecond))
		if got != s.allowed {
			t.Fatalf("step %d at %d ms: Allow = %v", i, s.ms, got)
		}
		if got && l.Suppressed() != s.suppressed {
			t.Fatalf("step %d at %d ms: Suppressed = %d, want %d", i, s.ms, l.Suppressed(), s.suppressed)
		}
	}
}

// A flood through Allow lets one event per interval through, and the
// events let through plus the counts they report add up to the flood.
func TestLimiterFloodAccounting(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := NewLimiter(time.Second)
	const events = 10000 // one per 0.5 ms: 5 s of flood
	allowed, reported := 0, 0
	for i := 0; i < events; i++ {
		if l.Allow(t0.Add(time.Duration(i) * 500 * time.Microsecond)) {
			allowed++
			reported += l.Suppressed()
		}
	}
	if allowed != 5 {
		t.Errorf("%d events let through in 5 s, want 5", allowed)
	}
	// The refusals after the last allowed event are still pending.
	if pending := events - allowed - reported; pending != 1999 {
		t.Errorf("%d allowed + %d reported suppressed leave %d pending, want 1999", allowed, reported, pending)
	}
}

func TestSuppressedNote(t *testing.T) {
	for n, want := range map[int]string{0: "", 1: " (1 similar suppressed)", 12345: " (12345 similar suppressed)"} {
		if got := SuppressedNote(n); got != want {
			t.Errorf("SuppressedNote(%d) = %q, want %q", n, got, want)
		}
	}
	l := NewLimiter(time.Hour)
	now := time.Now()
	l.Allow(now)
	l.Allow(now)
	l.Allow(now)
	if l.Note() != "" { // the first event had nothing before it
		t.Errorf("Note after the first event = %q", l.Note())
	}
	l.Allow(now.Add(time.Hour))
	if l.Note() != " (2 similar suppressed)" {
		t.Errorf("Note = %q", l.Note())
	}
}

func TestLimiterRefusalDoesNotAllocate(t *testing.T) {
	l := NewLimiter(time.Hour)
	now := time.Now()
	l.Allow(now)
	allocs := testing.AllocsPerRun(1000, func() {
		if l.Allow(now) {
			t.Fatal("allowed within the interval")
		}
	})
	if allocs != 0 {
		t.Fatalf("a refused Allow allocates %v times", allocs)
	}
}

// AllowN: a batch of n events is one line, and the rest of the batch is
// reported with it (allowed) or with the next line (refused).
func TestLimiterAllowN(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := NewLimiter(time.Second)
	if !l.AllowN(t0, 5) || l.Suppressed() != 4 {
		t.Fatalf("first batch of 5: Suppressed = %d, want 4", l.Suppressed())
	}
	if l.AllowN(t0.Add(10*time.Millisecond), 7) {
		t.Fatal("second batch allowed within the interval")
	}
	if !l.AllowN(t0.Add(time.Second), 1) || l.Suppressed() != 7 {
		t.Fatalf("next line: Suppressed = %d, want 7", l.Suppressed())
	}
	if !l.AllowN(t0.Add(2*time.Second), 3) || l.Note() != " (2 similar suppressed)" {
		t.Fatalf("Note = %q", l.Note())
	}
}
