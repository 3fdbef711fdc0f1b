package zhttp

import (
	"math"
	"testing"
)

func TestWorkerOf(t *testing.T) {
	cases := []struct {
		id   string
		w    int
		isOK bool
	}{
		{"0-0-0", 0, true}, {"12-3-ff", 12, true}, {"-1-2", 0, false}, {"x-1-2", 0, false},
		{"123456-1-2", 0, false}, {"99999-1-2", 99999, true}, {"7", 0, false}, {"", 0, false},
	}
	for _, c := range cases {
		w, ok := WorkerOf([]byte(c.id))
		if ok != c.isOK || (ok && w != c.w) {
			t.Errorf("WorkerOf(%q) = %d, %v", c.id, w, ok)
		}
	}
}

func TestSessionIDAppend(t *testing.T) {
	cases := []struct {
		id   SessionID
		text string
	}{
		{SessionID{}, "0-0-0"},
		{SessionID{Worker: 1, Slot: 12, Counter: 0x1f}, "1-12-1f"},
		{SessionID{Worker: 99999, Slot: math.MaxInt32, Counter: math.MaxUint64}, "99999-2147483647-ffffffffffffffff"},
	}
	for _, c := range cases {
		if got := string(c.id.Append([]byte("x"))); got != "x"+c.text {
			t.Errorf("Append(%+v) = %q, want %q", c.id, got, "x"+c.text)
		}
		got, ok := ParseSessionID([]byte(c.text))
		if !ok || got != c.id {
			t.Errorf("ParseSessionID(%q) = %+v, %v; want %+v", c.text, got, ok, c.id)
		}
	}
}

func TestParseSessionIDRejects(t *testing.T) {
	for _, s := range []string{
		"", "0", "0-", "0-1", "0-1-", "0--1", "-1-1", "x-1-1", "0-x-1", "0-1-x",
		"0-1-1F",                        // upper-case hex is not what Append writes
		"0-1-1-1",                       // a fourth part
		"123456-1-1",                    // worker too long
		"0-12345678901-1",               // slot too long
		"0-2147483648-1",                // slot past int32
		"0-1-10000000000000000",         // counter past 16 hex digits
		"0-1-0000000000000000000000001", // leading zeros count
	} {
		if id, ok := ParseSessionID([]byte(s)); ok {
			t.Errorf("ParseSessionID(%q) = %+v, accepted", s, id)
		}
	}
}

func TestSessionIDNoAllocs(t *testing.T) {
	buf := make([]byte, 0, 64)
	text := []byte("3-4097-abcdef")
	n := testing.AllocsPerRun(100, func() {
		id, ok := ParseSessionID(text)
		if !ok {
			t.Fatal("parse failed")
		}
		buf = id.Append(buf[:0])
		if _, ok := WorkerOf(buf); !ok {
			t.Fatal("WorkerOf failed")
		}
	})
	if n != 0 {
		t.Fatalf("%v allocations per parse and append", n)
	}
}

// FuzzSessionID: whatever ParseSessionID accepts is written back by Append
// to an id that parses to the same value, and WorkerOf agrees on the worker.
func FuzzSessionID(f *testing.F) {
	for _, s := range []string{"0-0-0", "1-12-1f", "99999-2147483647-ffffffffffffffff", "0-007-01", "0-1-x"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		id, ok := ParseSessionID(b)
		if !ok {
			return
		}
		if w, ok := WorkerOf(b); !ok || w != id.Worker {
			t.Fatalf("WorkerOf(%q) = %d, %v; ParseSessionID worker %d", b, w, ok, id.Worker)
		}
		again, ok := ParseSessionID(id.Append(nil))
		if !ok || again != id {
			t.Fatalf("%q: %+v written as %q parses to %+v, %v", b, id, id.Append(nil), again, ok)
		}
	})
}
