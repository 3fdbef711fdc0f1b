package server

import (
	"runtime"
	"testing"
	"time"
)

// TestMemTrimDecision: the trimmer trims once a handshake burst is over,
// not during it, not when nothing happened, and at most once per
// trimMinGap.
func TestMemTrimDecision(t *testing.T) {
	t0 := time.Unix(1000, 0)
	st := trimState{lastTrim: t0.Add(-trimMinGap)}
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	steps := []struct {
		count uint64
		sec   int
		want  bool
		why   string
	}{
		{0, 1, false, "idle, nothing to trim"},
		{500, 2, false, "burst running"},
		{1000, 3, false, "burst steady"},
		{1100, 4, true, "rate dropped to a fifth: trim"},
		{1100, 5, false, "nothing since the trim"},
		{1600, 6, false, "a new burst"},
		{1600, 7, false, "burst over, but the last trim is 3 s old"},
		{1600, 13, false, "still within trimMinGap"},
		{1600, 14, true, "trimMinGap passed: trim the second burst"},
		{1600, 40, false, "idle again"},
	}
	for _, s := range steps {
		if got := st.tick(s.count, at(s.sec)) > 0; got != s.want {
			t.Fatalf("t=%ds count=%d: trim=%v, want %v (%s)", s.sec, s.count, got, s.want, s.why)
		}
	}
}

// TestFlushPageCachesKeepsProcs: the trim's GOMAXPROCS dip is undone: a
// value the program set comes back as it was, a default one as the
// runtime's default (which keeps following the CPU limit).
func TestFlushPageCachesKeepsProcs(t *testing.T) {
	orig := runtime.GOMAXPROCS(0)
	defer runtime.GOMAXPROCS(orig)
	runtime.SetDefaultGOMAXPROCS()
	def := runtime.GOMAXPROCS(0)
	set := def + 3
	runtime.GOMAXPROCS(set)
	flushPageCaches(false)
	if got := runtime.GOMAXPROCS(0); got != set {
		t.Fatalf("GOMAXPROCS set to %d: %d after the flush", set, got)
	}
	flushPageCaches(true)
	if got := runtime.GOMAXPROCS(0); got != def {
		t.Fatalf("default GOMAXPROCS %d: %d after the flush", def, got)
	}
}
