package reactor

import (
	"testing"

	"golang.org/x/sys/unix"
)

func TestPollerEdgeTriggered(t *testing.T) {
	p := newPoller(t)
	a, b := socketpair(t)
	const tag = 0xfedcba98_76543210
	if err := p.Add(a, EvIn|EvRdHup, tag); err != nil {
		t.Fatal(err)
	}
	if evs := waitEvents(t, p, 0); len(evs) != 0 {
		t.Fatalf("events before any data: %v", evs)
	}

	unix.Write(b, []byte("hello"))
	evs := waitEvents(t, p, 1000)
	if len(evs) != 1 || evs[0].Tag != tag || evs[0].Events&EvIn == 0 {
		t.Fatalf("after write: %+v, want one EvIn with tag %#x", evs, uint64(tag))
	}
	// Not drained, but edge-triggered: no new report until new data.
	if evs := waitEvents(t, p, 50); len(evs) != 0 {
		t.Fatalf("reported again without new data: %+v", evs)
	}
	unix.Write(b, []byte(" world"))
	if evs := waitEvents(t, p, 1000); len(evs) != 1 || evs[0].Events&EvIn == 0 {
		t.Fatalf("after second write: %+v", evs)
	}
	buf := make([]byte, 64)
	n, err := Read(a, buf)
	if err != nil || string(buf[:n]) != "hello world" {
		t.Fatalf("Read = %q, %v", buf[:n], err)
	}
	if _, err := Read(a, buf); err != unix.EAGAIN {
		t.Fatalf("Read on drained socket: %v, want EAGAIN", err)
	}
	if evs := waitEvents(t, p, 0); len(evs) != 0 {
		t.Fatalf("events after drain: %+v", evs)
	}

	// Peer goes away: EPOLLRDHUP is reported (and the read gives EOF).
	unix.Shutdown(b, unix.SHUT_WR)
	evs = waitEvents(t, p, 1000)
	if len(evs) != 1 || evs[0].Events&EvRdHup == 0 {
		t.Fatalf("after peer shutdown: %+v, want EvRdHup", evs)
	}
	if n, err := Read(a, buf); n != 0 || err != nil {
		t.Fatalf("Read at EOF = %d, %v; want 0, nil", n, err)
	}
}

func TestPollerTags(t *testing.T) {
	p := newPoller(t)
	tags := []uint64{0, 1, 0xffffffff, 1 << 32, 0x80000000_80000000, ^uint64(0)}
	fds := make(map[uint64]int)
	for _, tag := range tags {
		a, b := socketpair(t)
		if err := p.Add(a, EvOut, tag); err != nil {
			t.Fatal(err)
		}
		fds[tag] = a
		_ = b
	}
	got := make(map[uint64]bool)
	for _, ev := range waitEvents(t, p, 1000) {
		if ev.Events&EvOut == 0 {
			t.Errorf("tag %#x: events %#x without EvOut", ev.Tag, ev.Events)
		}
		got[ev.Tag] = true
	}
	for _, tag := range tags {
		if !got[tag] {
			t.Errorf("tag %#x not reported (got %v)", tag, got)
		}
	}

	// Mod re-arms with a new tag (and reports the current state again).
	const newTag = 0x1234_5678_9abc_def0
	if err := p.Mod(fds[0], EvOut, newTag); err != nil {
		t.Fatal(err)
	}
	evs := waitEvents(t, p, 1000)
	if len(evs) != 1 || evs[0].Tag != newTag {
		t.Fatalf("after Mod: %+v, want tag %#x", evs, uint64(newTag))
	}

	if err := p.Del(fds[0]); err != nil {
		t.Fatal(err)
	}
	if err := p.Del(fds[0]); err == nil {
		t.Fatal("second Del succeeded")
	}
	if err := p.Add(-1, EvIn, 0); err == nil {
		t.Fatal("Add of a bad fd succeeded")
	}
}

func TestPollerMaxEvents(t *testing.T) {
	p, err := NewPoller(2)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for i := range 5 {
		a, _ := socketpair(t)
		p.Add(a, EvOut, uint64(i))
	}
	seen := map[uint64]bool{}
	for range 3 {
		evs := waitEvents(t, p, 1000)
		if len(evs) > 2 {
			t.Fatalf("%d events from a poller sized 2", len(evs))
		}
		for _, ev := range evs {
			seen[ev.Tag] = true
		}
	}
	if len(seen) != 5 {
		t.Fatalf("saw %d distinct fds in 3 waits, want 5", len(seen))
	}
}

func TestPollerWaitNoAllocs(t *testing.T) {
	p := newPoller(t)
	a, _ := socketpair(t)
	p.Add(a, EvOut, 7)
	allocs := testing.AllocsPerRun(100, func() {
		p.Mod(a, EvOut, 7) // re-arm so every Wait reports
		evs, err := p.Wait(0)
		if err != nil || len(evs) != 1 {
			t.Fatalf("Wait = %v, %v", evs, err)
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per Wait, want 0", allocs)
	}
}
