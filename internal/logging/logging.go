// Package logging writes condure's log lines to stdout:
// "[LEVEL] YYYY-MM-DD HH:MM:SS.mmm [target] message" (reference.md §8.4).
// Safe for concurrent use; a line is written with one write call.
package logging

import (
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Levels as --log-level numbers them.
const (
	LevelError = 0
	LevelWarn  = 1
	LevelInfo  = 2
	LevelDebug = 3
	LevelTrace = 4
)

// timeLayout is condure's timestamp: local time with milliseconds.
const timeLayout = "2006-01-02 15:04:05.000"

// maxPooledBuf: line buffers that grew past this (a TRACE line with a big
// body) are dropped rather than kept in the pool.
const maxPooledBuf = 64 << 10

var (
	level atomic.Int32 // most verbose level written; condure's default is INFO

	outMu sync.Mutex // serializes writes so lines never interleave
	out   io.Writer  = os.Stdout

	now = time.Now // test hook

	bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 256); return &b }}
)

func init() { level.Store(LevelInfo) }

// prefixes indexed by level; every level above TRACE prints as TRACE.
var prefixes = [...]string{"[ERR] ", "[WARN] ", "[INFO] ", "[DEBUG] ", "[TRACE] "}

// SetLevel sets the most verbose level written. Values above LevelTrace
// mean LevelTrace, as with --log-level; a negative value silences even
// errors.
func SetLevel(l int) {
	switch {
	case l > LevelTrace:
		l = LevelTrace
	case l < -1:
		l = -1
	}
	level.Store(int32(l))
}

// Enabled reports whether level l is written; check it before building
// expensive arguments on hot paths. It is one atomic load.
func Enabled(l int) bool { return int32(l) <= level.Load() }

// SetOutput sends lines to w instead of os.Stdout (for tests, or a caller
// that wraps stdout). w sees one Write per line, never concurrently.
func SetOutput(w io.Writer) {
	outMu.Lock()
	out = w
	outMu.Unlock()
}

func Error(target, format string, args ...any) { logf(LevelError, target, format, args) }
func Warn(target, format string, args ...any)  { logf(LevelWarn, target, format, args) }
func Info(target, format string, args ...any)  { logf(LevelInfo, target, format, args) }
func Debug(target, format string, args ...any) { logf(LevelDebug, target, format, args) }
func Trace(target, format string, args ...any) { logf(LevelTrace, target, format, args) }

// logf formats one line into a pooled buffer outside the lock, then writes
// it with a single Write under outMu. Write errors are ignored: there is
// nowhere left to report them.
func logf(l int, target, format string, args []any) {
	if !Enabled(l) {
		return
	}
	bp := bufPool.Get().(*[]byte)
	b := append((*bp)[:0], prefixes[l]...)
	b = now().AppendFormat(b, timeLayout)
	b = append(b, " ["...)
	b = append(b, target...)
	b = append(b, "] "...)
	b = fmt.Appendf(b, format, args...)
	b = append(b, '\n')

	outMu.Lock()
	_, _ = out.Write(b)
	outMu.Unlock()

	if cap(b) <= maxPooledBuf {
		*bp = b
		bufPool.Put(bp)
	}
}
