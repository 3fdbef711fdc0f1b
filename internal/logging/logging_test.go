package logging

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// writeRecorder keeps each Write call separately, so tests can see that a
// line is exactly one write.
type writeRecorder struct {
	mu     sync.Mutex
	writes []string
}

func (w *writeRecorder) Write(p []byte) (int, error) {
	w.mu.Lock()
	w.writes = append(w.writes, string(p))
	w.mu.Unlock()
	return len(p), nil
}

// capture sends output to a recorder, fixes the clock and sets the level for
// the duration of the test.
func capture(t *testing.T, lvl int, clock time.Time) *writeRecorder {
	t.Helper()
	w := &writeRecorder{}
	SetOutput(w)
	SetLevel(lvl)
	now = func() time.Time { return clock }
	t.Cleanup(func() {
		SetOutput(os.Stdout)
		SetLevel(LevelInfo)
		now = time.Now
	})
	return w
}

func TestFormat(t *testing.T) {
	clock := time.Date(2026, 11, 24, 19, 15, 27, 273_999_999, time.Local)
	tests := []struct {
		name string
		log  func()
		want string
	}{
		{"error", func() { Error("condure", "failed to parse workers: %s", "value too large") },
			"[ERR] 2026-11-24 19:15:27.273 [condure] failed to parse workers: value too large\n"},
		{"warn", func() { Warn("condure::server", "conn %d: %v", 7, fmt.Errorf("boom")) },
			"[WARN] 2026-11-24 19:15:27.273 [condure::server] conn 7: boom\n"},
		{"info", func() { Info("condure::app", "zhttp client bind %s", "ipc:///tmp/zh/r") },
			"[INFO] 2026-11-24 19:15:27.273 [condure::app] zhttp client bind ipc:///tmp/zh/r\n"},
		{"debug", func() { Debug("condure::connection", "conn %s: request: %s %s", "0-1-2", "GET", "http://x/") },
			"[DEBUG] 2026-11-24 19:15:27.273 [condure::connection] conn 0-1-2: request: GET http://x/\n"},
		{"trace", func() { Trace("condure::zhttpsocket", "OUT stream %q", "T") },
			"[TRACE] 2026-11-24 19:15:27.273 [condure::zhttpsocket] OUT stream \"T\"\n"},
		{"no_args", func() { Info("condure", "starting...") },
			"[INFO] 2026-11-24 19:15:27.273 [condure] starting...\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := capture(t, LevelTrace, clock)
			tt.log()
			if len(w.writes) != 1 || w.writes[0] != tt.want {
				t.Fatalf("writes %q, want [%q]", w.writes, tt.want)
			}
		})
	}
}

func TestFormatPadsTimestamp(t *testing.T) {
	w := capture(t, LevelInfo, time.Date(2026, 1, 2, 3, 4, 5, 6_000_000, time.Local))
	Info("condure", "x")
	want := "[INFO] 2026-01-02 03:04:05.006 [condure] x\n"
	if len(w.writes) != 1 || w.writes[0] != want {
		t.Fatalf("writes %q, want [%q]", w.writes, want)
	}
}

func TestFormatUsesLocalTime(t *testing.T) {
	clock := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	w := capture(t, LevelInfo, clock)
	now = func() time.Time { return clock.Local() }
	Info("condure", "x")
	want := "[INFO] " + clock.Local().Format("2006-01-02 15:04:05.000") + " [condure] x\n"
	if len(w.writes) != 1 || w.writes[0] != want {
		t.Fatalf("writes %q, want [%q]", w.writes, want)
	}
}

func TestLevelFiltering(t *testing.T) {
	logAll := func() {
		Error("t", "e")
		Warn("t", "w")
		Info("t", "i")
		Debug("t", "d")
		Trace("t", "t")
	}
	tests := []struct {
		name  string
		level int
		want  string // first letters of the levels written
	}{
		{"silent", -1, ""},
		{"error", LevelError, "E"},
		{"warn", LevelWarn, "EW"},
		{"info", LevelInfo, "EWI"},
		{"debug", LevelDebug, "EWID"},
		{"trace", LevelTrace, "EWIDT"},
		{"above_trace_is_trace", 9, "EWIDT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := capture(t, tt.level, time.Now())
			logAll()
			var got strings.Builder
			for _, line := range w.writes {
				got.WriteByte(line[1])
			}
			if got.String() != tt.want {
				t.Fatalf("level %d wrote %q", tt.level, w.writes)
			}
			for l := LevelError; l <= LevelTrace; l++ {
				if Enabled(l) != (l <= tt.level) {
					t.Errorf("level %d: Enabled(%d) = %v", tt.level, l, Enabled(l))
				}
			}
		})
	}
}

func TestDefaultLevelIsInfo(t *testing.T) {
	if !Enabled(LevelInfo) || Enabled(LevelDebug) {
		t.Fatalf("default level: Enabled(Info)=%v Enabled(Debug)=%v", Enabled(LevelInfo), Enabled(LevelDebug))
	}
}

// TestConcurrentLinesAreWhole logs from many goroutines; run with -race.
// Every write must be exactly one complete line.
func TestConcurrentLinesAreWhole(t *testing.T) {
	const goroutines, perG = 16, 200
	w := capture(t, LevelDebug, time.Date(2026, 1, 1, 0, 0, 0, 0, time.Local))
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perG {
				if i%50 == 0 {
					SetLevel(LevelDebug) // races with Enabled: must be safe
				}
				Debug("condure::server", "g%d line %d %s", g, i, strings.Repeat("x", i))
			}
		}()
	}
	wg.Wait()
	if len(w.writes) != goroutines*perG {
		t.Fatalf("%d writes, want %d", len(w.writes), goroutines*perG)
	}
	const prefix = "[DEBUG] 2026-01-01 00:00:00.000 [condure::server] "
	seen := make(map[string]bool)
	for _, line := range w.writes {
		if !strings.HasPrefix(line, prefix) || strings.Index(line, "\n") != len(line)-1 {
			t.Fatalf("torn line %q", line)
		}
		// "g<G> line <I> <I times x>"
		f := strings.Split(line[len(prefix):len(line)-1], " ")
		if len(f) != 4 || f[1] != "line" {
			t.Fatalf("torn line %q", line)
		}
		if i, err := strconv.Atoi(f[2]); err != nil || len(f[3]) != i {
			t.Fatalf("torn line %q", line)
		}
		key := f[0] + " " + f[2]
		if seen[key] {
			t.Fatalf("line %q written twice", line)
		}
		seen[key] = true
	}
}

func TestDisabledLineDoesNotAllocate(t *testing.T) {
	capture(t, LevelInfo, time.Now())
	s := "arg"
	allocs := testing.AllocsPerRun(100, func() {
		Debug("condure::connection", "conn %s: handle packet", s)
	})
	if allocs != 0 {
		t.Fatalf("disabled Debug allocates %v times", allocs)
	}
}

func TestEnabledLineWithoutArgsDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items at random under -race")
	}
	var buf bytes.Buffer
	capture(t, LevelInfo, time.Now())
	SetOutput(&buf)
	allocs := testing.AllocsPerRun(100, func() {
		buf.Reset()
		Info("condure", "starting...")
	})
	if allocs > 0 {
		t.Fatalf("Info without args allocates %v times", allocs)
	}
}
