package reactor

import (
	"math/rand/v2"
	"testing"
)

// refWheel is the brute-force reference: a map of armed deadlines, searched
// in full on every question.
type refWheel struct {
	now      uint64
	deadline map[int32]uint64
	late     map[int32]bool // scheduled by fire for a tick ≤ the firing tick: due next Advance
}

func newRefWheel(now uint64) *refWheel {
	return &refWheel{now: now, deadline: map[int32]uint64{}, late: map[int32]bool{}}
}

// earliest returns the smallest deadline among armed, non-late timers other than skip.
func (r *refWheel) earliest(skip int32) (uint64, bool) {
	var best uint64
	found := false
	for id, d := range r.deadline {
		if id == skip || r.late[id] {
			continue
		}
		if !found || d < best {
			best, found = d, true
		}
	}
	return best, found
}

// wheelChecker drives a TimerWheel and the reference in lockstep and fails
// the test at the first difference.
type wheelChecker struct {
	t     *testing.T
	rng   *rand.Rand
	w     *TimerWheel
	ref   *refWheel
	n     int32
	fired int

	// state of the Advance in progress
	advancing bool
	start     uint64 // wheel tick when Advance began
	target    uint64
	cur       uint64 // tick of the timer being fired
	wheelSeen bool   // a timer not due at the start of Advance has fired
}

func (c *wheelChecker) schedule(id int32, at uint64) {
	c.w.Schedule(id, at)
	c.ref.deadline[id] = at
	delete(c.ref.late, id)
	if c.advancing && at <= c.cur {
		c.ref.late[id] = true
	}
}

func (c *wheelChecker) cancel(id int32) {
	c.w.Cancel(id)
	delete(c.ref.deadline, id)
	delete(c.ref.late, id)
}

// randomTick picks a deadline around base: past, now, near, far, beyond the
// wheel (overflow), far beyond.
func (c *wheelChecker) randomTick(base uint64) uint64 {
	switch c.rng.IntN(12) {
	case 0:
		return base - min(base, c.rng.Uint64N(100))
	case 1:
		return base
	case 2, 3, 4:
		return base + 1 + c.rng.Uint64N(64)
	case 5, 6:
		return base + 1 + c.rng.Uint64N(4096)
	case 7:
		return base + 1 + c.rng.Uint64N(1<<18)
	case 8:
		return base + 1 + c.rng.Uint64N(1<<24)
	case 9:
		return base + (1 << 24) + c.rng.Uint64N(1<<26)
	case 10:
		return base + c.rng.Uint64N(1<<40)
	default:
		// just past a level boundary of base
		shift := uint(6 * (1 + c.rng.IntN(4)))
		return (base>>shift+1)<<shift + c.rng.Uint64N(3)
	}
}

func (c *wheelChecker) fire(id int32) {
	t, r := c.t, c.ref
	t.Helper()
	d, ok := r.deadline[id]
	if !ok {
		t.Fatalf("fired id %d which is not armed", id)
	}
	if c.w.Armed(id) {
		t.Fatalf("id %d armed while firing", id)
	}
	initial := d <= c.start && !r.late[id]
	switch {
	case r.late[id]:
		t.Fatalf("id %d (due %d) scheduled during this Advance at or before tick %d fired in it", id, d, c.cur)
	case initial:
		if c.wheelSeen {
			t.Fatalf("id %d due before Advance (%d ≤ %d) fired after later timers", id, d, c.start)
		}
	default:
		if d > c.target {
			t.Fatalf("id %d due %d fired by Advance(%d)", id, d, c.target)
		}
		if d < c.cur {
			t.Fatalf("id %d due %d fired after tick %d", id, d, c.cur)
		}
		// Everything due earlier must have fired already.
		for oid, od := range r.deadline {
			if oid != id && !r.late[oid] && od < d {
				t.Fatalf("id %d due %d fired while id %d due %d is still armed", id, d, oid, od)
			}
		}
		c.wheelSeen = true
		c.cur = d
	}
	delete(r.deadline, id)
	c.fired++

	// Act from inside fire: re-arm self, re-arm or cancel others (maybe due
	// at this very tick), or do nothing.
	for range c.rng.IntN(3) {
		switch c.rng.IntN(6) {
		case 0:
			c.schedule(id, c.randomTick(c.cur))
		case 1:
			c.schedule(id, c.cur) // "again now": must wait for the next Advance
		case 2, 3:
			c.schedule(c.rng.Int32N(c.n), c.randomTick(c.cur))
		case 4:
			c.cancel(c.rng.Int32N(c.n))
		case 5:
			// cancel or move a timer due at the same tick, if any
			for oid, od := range r.deadline {
				if od == d {
					if c.rng.IntN(2) == 0 {
						c.cancel(oid)
					} else {
						c.schedule(oid, c.randomTick(c.cur))
					}
					break
				}
			}
		}
	}
}

func (c *wheelChecker) advance(target uint64) {
	c.advancing = true
	c.start = c.w.now
	c.target = target
	c.cur = c.start
	c.wheelSeen = false
	c.w.Advance(target, c.fire)
	c.advancing = false

	end := max(c.start, target)
	for id, d := range c.ref.deadline {
		if !c.ref.late[id] && d <= end {
			c.t.Fatalf("Advance(%d) from %d missed id %d due %d", target, c.start, id, d)
		}
	}
	clear(c.ref.late)
	c.ref.now = end
	if c.w.now != end {
		c.t.Fatalf("wheel at tick %d after Advance(%d) from %d", c.w.now, target, c.start)
	}
}

func (c *wheelChecker) check() {
	t := c.t
	for id := range c.n {
		_, want := c.ref.deadline[id]
		if got := c.w.Armed(id); got != want {
			t.Fatalf("Armed(%d) = %v, reference %v", id, got, want)
		}
	}
	if c.w.armed != len(c.ref.deadline) {
		t.Fatalf("wheel counts %d armed, reference %d", c.w.armed, len(c.ref.deadline))
	}
	next, ok := c.w.Next()
	earliest, any := c.ref.earliest(-1)
	if ok != any {
		t.Fatalf("Next ok=%v, reference has armed=%v", ok, any)
	}
	if !any {
		return
	}
	if next > earliest {
		t.Fatalf("Next = %d, later than the earliest deadline %d (now %d)", next, earliest, c.ref.now)
	}
	if earliest > c.ref.now && next <= c.ref.now {
		t.Fatalf("Next = %d ≤ now %d though nothing is due (earliest %d)", next, c.ref.now, earliest)
	}
	if earliest > c.ref.now && earliest-c.ref.now <= 1 && next != earliest {
		t.Fatalf("Next = %d, want exactly %d for a deadline one tick away", next, earliest)
	}
}

func TestTimerWheelAgainstReference(t *testing.T) {
	starts := []uint64{0, 1, 62, 63, 4095, 1<<24 - 1, 1<<24 - 3, 1 << 24, 1<<36 - 2, 1 << 50}
	seeds := 300
	ops := 1500
	if testing.Short() {
		seeds, ops = 40, 500
	}
	for seed := range seeds {
		rng := rand.New(rand.NewPCG(uint64(seed), 0x7131))
		start := starts[seed%len(starts)]
		n := int32(8 + rng.IntN(200))
		c := &wheelChecker{t: t, rng: rng, w: NewTimerWheel(int(n), start), ref: newRefWheel(start), n: n}
		for range ops {
			switch op := rng.IntN(20); {
			case op < 9:
				c.schedule(rng.Int32N(n), c.randomTick(c.ref.now))
			case op < 12:
				c.cancel(rng.Int32N(n))
			case op < 19:
				var target uint64
				switch rng.IntN(8) {
				case 0:
					target = c.ref.now // fire only what is already due
				case 1:
					target = c.ref.now - min(c.ref.now, rng.Uint64N(10)) // behind: same
				case 2, 3:
					target = c.ref.now + rng.Uint64N(64)
				case 4:
					target = c.ref.now + rng.Uint64N(5000)
				case 5:
					target = c.ref.now + rng.Uint64N(1<<25)
				case 6:
					target = c.ref.now + rng.Uint64N(1<<42) // long sleep
				default:
					// to the next deadline, as a loop sleeping on Next would
					if nx, ok := c.w.Next(); ok && nx > c.ref.now {
						target = nx
					} else {
						target = c.ref.now + 1
					}
				}
				c.advance(target)
			default:
				// drain everything, as at shutdown
				c.advance(c.ref.now + 1<<44)
			}
			c.check()
		}
	}
}

// TestTimerWheelSleepOnNext follows a worker loop: sleep until Next, Advance,
// re-arm; every timer must fire exactly at its deadline's tick or, when Next
// is only a lower bound, no later than the Advance that reaches it.
func TestTimerWheelSleepOnNext(t *testing.T) {
	const n = 500
	rng := rand.New(rand.NewPCG(1, 2))
	w := NewTimerWheel(n, 1000)
	due := make([]uint64, n)
	for id := range int32(n) {
		due[id] = 1000 + 1 + rng.Uint64N(100000)
		w.Schedule(id, due[id])
	}
	fires := 0
	for fires < 20000 {
		next, ok := w.Next()
		if !ok {
			t.Fatal("wheel empty")
		}
		w.Advance(next, func(id int32) {
			if due[id] != next {
				t.Fatalf("id %d due %d fired at %d", id, due[id], next)
			}
			fires++
			due[id] = next + 1 + rng.Uint64N(100000)
			w.Schedule(id, due[id])
		})
	}
}

func TestTimerWheelRearmNowWaitsForNextAdvance(t *testing.T) {
	w := NewTimerWheel(1, 10)
	w.Schedule(0, 5) // already past: fires on the next Advance, even at the same tick
	calls := 0
	w.Advance(10, func(id int32) {
		calls++
		w.Schedule(id, 10) // again "now": must not loop
	})
	if calls != 1 || !w.Armed(0) {
		t.Fatalf("calls = %d, armed = %v; want 1, true", calls, w.Armed(0))
	}
	if nx, ok := w.Next(); !ok || nx != 10 {
		t.Fatalf("Next = %d, %v; want 10, true", nx, ok)
	}
	w.Advance(10, func(id int32) { calls++ })
	if calls != 2 || w.Armed(0) {
		t.Fatalf("calls = %d, armed = %v; want 2, false", calls, w.Armed(0))
	}
	if _, ok := w.Next(); ok {
		t.Fatal("Next reports a timer on an empty wheel")
	}
}

func TestTimerWheelCancelDuringFire(t *testing.T) {
	w := NewTimerWheel(3, 0)
	for id := range int32(3) {
		w.Schedule(id, 7)
	}
	var got []int32
	w.Advance(7, func(id int32) {
		got = append(got, id)
		for o := range int32(3) {
			w.Cancel(o) // the others, due at the same tick, must not fire
		}
	})
	if len(got) != 1 {
		t.Fatalf("fired %v, want exactly one", got)
	}
}

// TestTimerWheelLongJumpIsCheap would take hours if Advance stepped through
// every tick.
func TestTimerWheelLongJumpIsCheap(t *testing.T) {
	w := NewTimerWheel(4, 0)
	fired := 0
	now := uint64(0)
	for i := range 20000 {
		w.Schedule(int32(i%4), now+1<<30+uint64(i))
		now += 1 << 40
		w.Advance(now, func(int32) { fired++ })
	}
	if fired != 20000 {
		t.Fatalf("fired %d, want 20000", fired)
	}
}

func TestTimerWheelNoAllocs(t *testing.T) {
	w := NewTimerWheel(1024, 0)
	rng := rand.New(rand.NewPCG(3, 4))
	now := uint64(0)
	fire := func(id int32) { w.Schedule(id, now+1+uint64(id)*37%5000) }
	allocs := testing.AllocsPerRun(1000, func() {
		id := rng.Int32N(1024)
		w.Schedule(id, now+rng.Uint64N(1<<30))
		w.Cancel(rng.Int32N(1024))
		now += rng.Uint64N(200)
		w.Advance(now, fire)
		w.Next()
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per run, want 0", allocs)
	}
}

func TestTimerWheelOutOfRange(t *testing.T) {
	w := NewTimerWheel(2, 0)
	if w.Armed(-1) || w.Armed(2) {
		t.Fatal("Armed true out of range")
	}
	w.Cancel(-1)
	w.Cancel(5)
	defer func() {
		if recover() == nil {
			t.Fatal("Schedule out of range did not panic")
		}
	}()
	w.Schedule(2, 1)
}
