package reactor

import (
	"testing"
)

// benchTimers is the scale condure-go aims at: a million armed timers.
const benchTimers = 1_000_000

// xorshift is a tiny allocation-free generator for the benchmarks.
type xorshift uint64

func (x *xorshift) next() uint64 {
	*x ^= *x << 13
	*x ^= *x >> 7
	*x ^= *x << 17
	return uint64(*x)
}

// newLoadedWheel arms every timer at a random tick within horizon.
func newLoadedWheel(horizon uint64) (*TimerWheel, *xorshift) {
	rng := xorshift(0x9e3779b97f4a7c15)
	w := NewTimerWheel(benchTimers, 0)
	for id := range int32(benchTimers) {
		w.Schedule(id, 1+rng.next()%horizon)
	}
	return w, &rng
}

// BenchmarkTimerWheel measures the operations a worker does with a million
// armed timers (ticks of 10 ms; horizons of 1 min and 10 min).
func BenchmarkTimerWheel(b *testing.B) {
	const minute = 6000 // ticks

	b.Run("schedule", func(b *testing.B) {
		// Re-arm an armed timer to a new deadline (activity on a connection).
		w, rng := newLoadedWheel(10 * minute)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			r := rng.next()
			w.Schedule(int32(r%benchTimers), 1+(r>>32)%(10*minute))
		}
	})

	b.Run("cancel+schedule", func(b *testing.B) {
		w, rng := newLoadedWheel(10 * minute)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			r := rng.next()
			id := int32(r % benchTimers)
			w.Cancel(id)
			w.Schedule(id, 1+(r>>32)%(10*minute))
		}
	})

	b.Run("advance", func(b *testing.B) {
		// One op = one tick; each fired timer is re-armed within a minute,
		// so about benchTimers/minute ≈ 167 timers fire per tick.
		w, rng := newLoadedWheel(minute)
		now := uint64(0)
		fired := 0
		fire := func(id int32) {
			fired++
			w.Schedule(id, now+1+rng.next()%minute)
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			now++
			w.Advance(now, fire)
		}
		b.ReportMetric(float64(fired)/float64(b.N), "fires/op")
		if fired > 0 {
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(fired), "ns/fire")
		}
	})

	b.Run("mixed", func(b *testing.B) {
		// One op = one timer re-armed; every 100 ops the wheel advances a
		// tick (a worker's steady state: activity, then timeouts).
		w, rng := newLoadedWheel(10 * minute)
		now := uint64(0)
		fire := func(id int32) { w.Schedule(id, now+1+rng.next()%(10*minute)) }
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			r := rng.next()
			id := int32(r % benchTimers)
			if r&64 == 0 {
				w.Schedule(id, now+1+(r>>32)%(10*minute))
			} else {
				w.Cancel(id)
				w.Schedule(id, now+1+(r>>32)%minute)
			}
			if i%100 == 99 {
				now++
				w.Advance(now, fire)
			}
		}
	})

	b.Run("next", func(b *testing.B) {
		w, _ := newLoadedWheel(10 * minute)
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			w.Next()
		}
	})

	b.Run("jump", func(b *testing.B) {
		// A long sleep: every op moves 2^40 ticks ahead with one far timer
		// armed beside a million near ones; cost must not depend on the gap.
		w, _ := newLoadedWheel(minute)
		w.Advance(minute, func(id int32) {}) // leaves the wheel empty
		now := uint64(minute)
		for id := range int32(1000) {
			w.Schedule(id, now+1<<30+uint64(id))
		}
		fire := func(id int32) { w.Schedule(id, now+1<<30+uint64(id)) }
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			now += 1 << 40
			w.Advance(now, fire)
		}
	})
}
