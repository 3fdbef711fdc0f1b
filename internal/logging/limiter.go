package logging

import "time"

// Limiter lets through at most one event per interval (for "at most once a
// second" log lines); used by one thread. It does not allocate.
//
//	var full = logging.NewLimiter(time.Second)
//	…
//	if full.Allow(time.Now()) {
//		logging.Warn("condure::server", "maxconn reached, not accepting")
//	}
//
// The zero Limiter has a zero interval and allows every event.
type Limiter struct {
	interval time.Duration
	last     time.Time // when the last allowed event happened
	started  bool      // an event has been allowed
}

// NewLimiter returns a Limiter allowing one event per interval.
func NewLimiter(interval time.Duration) *Limiter {
	return &Limiter{interval: interval}
}

// Allow reports whether an event at now may go through: the first event
// always does, later ones when at least the interval has passed since the
// last one allowed. Give it times from time.Now so that the monotonic clock
// is used; a clock going backwards never allows early.
func (l *Limiter) Allow(now time.Time) bool {
	if l.started {
		if d := now.Sub(l.last); d < l.interval {
			return false
		}
	}
	l.started = true
	l.last = now
	return true
}
