// Package logging writes condure's log lines to stdout:
// "[LEVEL] YYYY-MM-DD HH:MM:SS.mmm [target] message" (ZHTTP.md §8.4).
// Safe for concurrent use; a line is written with one write call.
package logging

// Levels as --log-level numbers them.
const (
	LevelError = 0
	LevelWarn  = 1
	LevelInfo  = 2
	LevelDebug = 3
	LevelTrace = 4
)

// SetLevel sets the most verbose level written.
func SetLevel(l int) { panic("todo") }

// Enabled reports whether level l is written; check it before building
// expensive arguments on hot paths.
func Enabled(l int) bool { panic("todo") }

func Error(target, format string, args ...any) { panic("todo") }
func Warn(target, format string, args ...any)  { panic("todo") }
func Info(target, format string, args ...any)  { panic("todo") }
func Debug(target, format string, args ...any) { panic("todo") }
func Trace(target, format string, args ...any) { panic("todo") }

// Limiter lets through at most one event per interval (for "at most once a
// second" log lines); used by one thread.
type Limiter struct{}
