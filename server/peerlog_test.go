package server

import (
	"strconv"
	"testing"
	"time"
)

// Each distinct certificate error gets its own line a second; repeats are
// counted; past certErrKeys distinct errors, the rest share one limiter.
func TestCertErrLogs(t *testing.T) {
	var c certErrLogs
	now := time.Now()
	if _, ok := c.allow("identity a: bad", now); !ok {
		t.Fatal("first error refused")
	}
	if _, ok := c.allow("identity b: bad", now); !ok {
		t.Fatal("a different error refused")
	}
	for i := 0; i < 3; i++ {
		if _, ok := c.allow("identity a: bad", now); ok {
			t.Fatal("repeat allowed within the interval")
		}
	}
	if note, ok := c.allow("identity a: bad", now.Add(time.Second)); !ok || note != " (3 similar suppressed)" {
		t.Fatalf("after the interval: %q %v", note, ok)
	}
	allowed := 0
	for i := 0; i < 2*certErrKeys; i++ {
		if _, ok := c.allow("identity x"+strconv.Itoa(i)+": bad", now); ok {
			allowed++
		}
	}
	if len(c.byID) != certErrKeys || allowed != certErrKeys-2+1 {
		t.Fatalf("%d keys, %d allowed; want %d keys and %d allowed", len(c.byID), allowed, certErrKeys, certErrKeys-1)
	}
}
