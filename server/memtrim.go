package server

import (
	"runtime"
	"runtime/debug"
	"sync/atomic"
	"time"

	"github.com/condure-go/condure/internal/logging"
)

// Memory trimmer: each TLS handshake leaves ~40 KB of garbage (crypto/tls's
// handshake state, the dropped tls.Conn, the config clone). An idle server
// allocates nothing, so no GC follows a burst of handshakes until Go's forced
// one after 2 minutes, and until then the heap's free pages stay resident up
// to the GC goal: RSS per idle TLS connection was 11 KB at 1k connections.
// The trimmer, a goroutine outside the workers' data path, returns that memory
// once a burst is over.
const (
	// trimTick: how often the trimmer looks at the handshake counter.
	trimTick = time.Second
	// trimMinGap: at most one trim per this long (a trim is a forced GC).
	trimMinGap = 10 * time.Second
	// trimQuietRatio: the burst is over when a tick saw at most 1/ratio of
	// the previous tick's handshakes.
	trimQuietRatio = 4
	// releaseWait: how long a trim waits for the workers to drop their free
	// blocks (an idle worker does it within microseconds of its wake-up).
	releaseWait = 100 * time.Millisecond
)

// handshakesDone counts finished TLS handshakes (any outcome), bumped by the
// handshake goroutines; the trimmer only reads it.
var handshakesDone atomic.Uint64

// trimState is the trimmer's decision state, kept apart from the clock and
// debug.FreeOSMemory so that it can be tested in-process.
type trimState struct {
	lastCount uint64    // handshakesDone at the previous tick
	lastTick  uint64    // handshakes during the previous tick
	sinceTrim uint64    // handshakes since the last trim
	lastTrim  time.Time // when the last trim ran
}

// tick records the counter's value at now and returns how many handshakes
// the trim it calls for covers (0: no trim): some
// handshakes happened since the last trim, the rate dropped (this tick saw at
// most a quarter of the previous one's, so a quiet tick after a burst, or an
// idle one) and the last trim is trimMinGap old.
func (t *trimState) tick(count uint64, now time.Time) uint64 {
	n := count - t.lastCount
	prev := t.lastTick
	t.lastCount, t.lastTick = count, n
	t.sinceTrim += n
	if t.sinceTrim == 0 || n*trimQuietRatio > prev || now.Sub(t.lastTrim) < trimMinGap {
		return 0
	}
	hs := t.sinceTrim
	t.sinceTrim = 0
	t.lastTrim = now
	return hs
}

// RunMemTrimmer returns the heap's free pages to the OS (debug.FreeOSMemory)
// after each burst of TLS handshakes, at most once per trimMinGap, until stop
// is closed. It costs the workers one atomic add per handshake. procsDefault
// tells that GOMAXPROCS is the runtime's default (neither the environment nor
// the program set it), so the trim restores it as a default. Before each trim
// the workers drop the free blocks their buffer pools keep.
func RunMemTrimmer(stop <-chan struct{}, procsDefault bool, workers []*Worker) {
	t := time.NewTicker(trimTick)
	defer t.Stop()
	st := trimState{lastTrim: time.Now()}
	st.lastTrim = st.lastTrim.Add(-trimMinGap)
	for {
		select {
		case <-stop:
			return
		case now := <-t.C:
			if hs := st.tick(handshakesDone.Load(), now); hs > 0 {
				t0 := time.Now()
				releaseFree(workers)
				flushPageCaches(procsDefault)
				debug.FreeOSMemory()
				logging.Debug(targetConn, "memory trimmed after %d TLS handshakes in %v", hs, time.Since(t0).Round(time.Microsecond))
			}
		}
	}
}

// releaseFree has the workers drop their pools' free blocks (a burst of
// concurrent requests leaves up to tlsFreeBlocks ciphertext blocks of 18 KiB
// per worker, and plaintext blocks, live until the next burst) and their
// cached AEADs, and waits for them, at most releaseWait: a worker busy past
// it keeps its blocks this time.
func releaseFree(workers []*Worker) {
	for _, w := range workers {
		w.ReleaseFree()
	}
	deadline := time.Now().Add(releaseWait)
	for _, w := range workers {
		for !w.Released() && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
	}
}

// flushPageCaches hands the free pages that each P keeps in its page cache
// (up to 64 pages, 512 KiB, per P) back to the heap's page allocator, where
// the scavenger can return them: the runtime flushes a P's cache only when
// the P is destroyed, or is idle at the end of a GC cycle, and the Ps that
// ran the burst's allocations are often not (a worker's P sits in
// epoll_wait, the GC's own P is running), so 0.1-0.5 MB of the burst's freed
// pages stayed resident after FreeOSMemory. Shrinking GOMAXPROCS to 1
// destroys every P but the first, flushing theirs; two brief stops of the
// world, once per trim.
func flushPageCaches(procsDefault bool) {
	n := runtime.GOMAXPROCS(1)
	if procsDefault {
		runtime.SetDefaultGOMAXPROCS()
		return
	}
	runtime.GOMAXPROCS(n)
}
