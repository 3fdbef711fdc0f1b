package reactor

import (
	"testing"
	"time"
)

func TestYielderYieldsOnlyWhenBusy(t *testing.T) {
	var y Yielder
	ms := time.Millisecond
	// Busy: short waits for 12 ms yield at 5 and 10 ms.
	for now := time.Duration(0); now <= 12*ms; now += 100 * time.Microsecond {
		y.Maybe(now, 50*time.Microsecond)
	}
	if y.yields != 2 {
		t.Fatalf("busy loop yielded %d times in 12 ms, want 2", y.yields)
	}
	// Idle: every wake-up follows a long wait; never yields however long.
	for now := 20 * ms; now <= 2*time.Second; now += 10 * ms {
		y.Maybe(now, 10*ms)
	}
	if y.yields != 2 {
		t.Fatalf("idle loop yielded (%d in total)", y.yields)
	}
	// Busy again: the clock restarted at the last long wait.
	y.Maybe(2*time.Second+4*ms, 0)
	if y.yields != 2 {
		t.Fatal("yielded 4 ms after an idle wait")
	}
	y.Maybe(2*time.Second+5*ms, 0)
	if y.yields != 3 {
		t.Fatal("did not yield after 5 busy ms")
	}
}
