package logging

import (
	"strconv"
	"time"
)

// Limiter lets through at most one event per interval, for log lines a
// client or a handler can trigger per packet or per connection, and counts
// the events it refuses so the next line let through can say how many
// there were. Used by one thread; it does not allocate.
//
//	var parseLog = logging.NewLimiter(time.Second)
//	…
//	if parseLog.Allow(time.Now()) {
//		logging.Warn("condure::server", "zhttp parse error: %v%s", err, parseLog.Note())
//	}
//
// A run of refused events is reported only with the next line let through
// (as the kernel's printk_ratelimit does): nothing is written meanwhile.
//
// The zero Limiter has a zero interval and allows every event.
type Limiter struct {
	interval   time.Duration
	last       time.Time // when the last allowed event happened
	started    bool      // an event has been allowed
	suppressed int       // events refused since the last one allowed
	reported   int       // events refused before the last one allowed
}

// NewLimiter returns a Limiter allowing one event per interval.
func NewLimiter(interval time.Duration) *Limiter {
	return &Limiter{interval: interval}
}

// Allow reports whether an event at now may go through: the first event
// always does, later ones when at least the interval has passed since the
// last one allowed. Refused events are counted (see Suppressed). Give it
// times from time.Now so that the monotonic clock is used; a clock going
// backwards never allows early.
func (l *Limiter) Allow(now time.Time) bool {
	if l.started {
		if d := now.Sub(l.last); d < l.interval {
			l.suppressed++
			return false
		}
	}
	l.started = true
	l.last = now
	l.reported, l.suppressed = l.suppressed, 0
	return true
}

// AllowN is Allow for n events at once (n ≥ 1; a batch counted in C, for
// instance): one line may stand for them all, the other n-1 count as
// suppressed and are reported with it.
func (l *Limiter) AllowN(now time.Time, n int) bool {
	if !l.Allow(now) {
		l.suppressed += n - 1
		return false
	}
	l.reported += n - 1
	return true
}

// Suppressed is how many events Allow refused between the last event it
// allowed and the one allowed before it (AllowN: plus the n-1 let through
// with it).
func (l *Limiter) Suppressed() int { return l.reported }

// Note is the suffix for the line just allowed: "" when nothing was
// suppressed before it, else " (N similar suppressed)".
func (l *Limiter) Note() string { return SuppressedNote(l.reported) }

// SuppressedNote is " (N similar suppressed)", or "" for n == 0.
func SuppressedNote(n int) string {
	if n == 0 {
		return ""
	}
	return " (" + strconv.Itoa(n) + " similar suppressed)"
}
