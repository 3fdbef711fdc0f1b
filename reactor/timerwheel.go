package reactor

import (
	"math"
	"math/bits"
	"unsafe"
)

// Timer wheel geometry. A timer due at tick `at` lives on the level of the
// highest 6-bit group in which `at` and the wheel's current tick differ, in
// the slot named by that group of `at`; when the wheel's tick enters a slot of
// level L ≥ 1, the slot's timers are re-placed on lower levels (cascaded).
const (
	wheelBits   = 6 // 64 slots per level: one uint64 occupancy bitmap finds the next busy slot
	wheelSlots  = 1 << wheelBits
	wheelLevels = 4 // 2^24 ticks (46 h at 10 ms) before a deadline spills into the overflow list
	wheelSpan   = wheelBits * wheelLevels
	wheelLists  = wheelLevels * wheelSlots

	listOverflow = wheelLists     // deadlines beyond the top level; re-sorted when the tick enters their 2^24 epoch
	listPending  = wheelLists + 1 // two lists: deadlines ≤ the current tick, fired by the next Advance
	numLists     = wheelLists + 3 // wheel slots, overflow, two pending lists
	listNone     = math.MaxUint16 // not armed
	noTick       = math.MaxUint64 // "no deadline" for the min trackers
)

// timerNode is one timer, or the sentinel head of a circular list. Indices
// instead of pointers keep the node array invisible to the garbage collector.
type timerNode struct {
	at   uint64
	prev int32
	next int32
	list uint16 // which list holds it, listNone when disarmed
}

// TimerNodeBytes is what one timer id costs (--sizes).
const TimerNodeBytes = int(unsafe.Sizeof(timerNode{}))

// TimerWheel is a hierarchical timing wheel over a fixed set of timer ids
// 0..capacity-1 (e.g. one per connection slot and kind). Schedule and Cancel
// are O(1); Advance runs expired timers. Time is in ticks of the caller's
// choosing (condure uses 10 ms). Pointer-free: nodes are indices.
//
// Four levels of 64 slots cover 2^24 ticks ahead; later deadlines wait in an
// overflow list that is re-sorted when the wheel reaches their 2^24-tick
// epoch. Advance visits only ticks where a busy slot fires or cascades, so a
// jump of any size costs O(timers touched), not O(ticks). Nothing allocates
// after NewTimerWheel. A TimerWheel is used by its owning thread only.
type TimerWheel struct {
	nodes       []timerNode // ids 0..cap-1, then numLists sentinels
	cap         int32
	now         uint64
	occupied    [wheelLevels]uint64 // bit s of level L: slot s is non-empty
	pending     int                 // pending list (0 or 1) that Schedule fills
	pendingMin  [2]uint64           // lower bound of each pending list's deadlines
	overflowMin uint64              // lower bound of the overflow list's deadlines
	armed       int
}

// NewTimerWheel makes a wheel for timer ids [0, capacity), starting at tick now.
func NewTimerWheel(capacity int, now uint64) *TimerWheel {
	if capacity < 0 {
		capacity = 0
	}
	if capacity > math.MaxInt32-numLists {
		panic("reactor: timer wheel capacity too large")
	}
	w := &TimerWheel{
		nodes:       make([]timerNode, capacity+numLists),
		cap:         int32(capacity),
		now:         now,
		pendingMin:  [2]uint64{noTick, noTick},
		overflowMin: noTick,
	}
	for i := range w.nodes {
		n := &w.nodes[i]
		if i < capacity {
			n.list = listNone
		} else {
			n.prev, n.next, n.list = int32(i), int32(i), uint16(i-capacity)
		}
	}
	return w
}

func (w *TimerWheel) head(list int) int32 { return w.cap + int32(list) }

func (w *TimerWheel) empty(list int) bool {
	h := w.head(list)
	return w.nodes[h].next == h
}

func (w *TimerWheel) push(list int, id int32) {
	h := w.head(list)
	last := w.nodes[h].prev
	n := &w.nodes[id]
	n.prev, n.next, n.list = last, h, uint16(list)
	w.nodes[last].next = id
	w.nodes[h].prev = id
}

// unlink takes an armed id off its list, keeping the bitmaps and the min
// trackers of emptied lists right. The caller adjusts w.armed.
func (w *TimerWheel) unlink(id int32) {
	n := &w.nodes[id]
	w.nodes[n.prev].next = n.next
	w.nodes[n.next].prev = n.prev
	list := int(n.list)
	n.list = listNone
	if !w.empty(list) {
		return
	}
	switch {
	case list < wheelLists:
		w.occupied[list/wheelSlots] &^= 1 << uint(list%wheelSlots)
	case list == listOverflow:
		w.overflowMin = noTick
	default:
		w.pendingMin[list-listPending] = noTick
	}
}

// place puts a disarmed id on the list its deadline belongs to relative to
// w.now: pending when already due, else the wheel (or overflow).
func (w *TimerWheel) place(id int32, at uint64) {
	w.nodes[id].at = at
	if at <= w.now {
		w.push(listPending+w.pending, id)
		w.pendingMin[w.pending] = min(w.pendingMin[w.pending], at)
		return
	}
	w.placeWheel(id, at)
}

// placeWheel puts id (due at ≥ w.now) on the wheel: on the level of the
// highest 6-bit group where at and now differ. at == now (only during a
// cascade) lands in the current level-0 slot, which Advance fires next.
func (w *TimerWheel) placeWheel(id int32, at uint64) {
	w.nodes[id].at = at
	x := at ^ w.now
	if x>>wheelSpan != 0 {
		w.push(listOverflow, id)
		w.overflowMin = min(w.overflowMin, at)
		return
	}
	level := 0
	if x != 0 {
		level = (bits.Len64(x) - 1) / wheelBits
	}
	slot := int(at>>(uint(level)*wheelBits)) & (wheelSlots - 1)
	w.push(level*wheelSlots+slot, id)
	w.occupied[level] |= 1 << uint(slot)
}

// Schedule (re)arms timer id to fire at tick `at` (a past tick fires on the
// next Advance). Re-scheduling an armed timer moves it. An id outside
// [0, capacity) is a programming error and panics.
func (w *TimerWheel) Schedule(id int32, at uint64) {
	if uint32(id) >= uint32(w.cap) {
		panic("reactor: timer id out of range")
	}
	if w.nodes[id].list != listNone {
		w.unlink(id)
	} else {
		w.armed++
	}
	w.place(id, at)
}

// Cancel disarms timer id; no-op if not armed.
func (w *TimerWheel) Cancel(id int32) {
	if w.Armed(id) {
		w.unlink(id)
		w.armed--
	}
}

// Armed reports whether id is scheduled (false for an id out of range).
func (w *TimerWheel) Armed(id int32) bool {
	return uint32(id) < uint32(w.cap) && w.nodes[id].list != listNone
}

// fireList disarms and fires the timers of list until it is empty. Callers
// guarantee that fire cannot add to this list.
func (w *TimerWheel) fireList(list int, fire func(id int32)) {
	h := w.head(list)
	for {
		id := w.nodes[h].next
		if id == h {
			return
		}
		w.unlink(id)
		w.armed--
		fire(id)
	}
}

// Advance moves the wheel to tick now and calls fire for every timer whose
// tick is ≤ now (each is disarmed before fire is called; fire may Schedule or
// Cancel any timer, including the one firing).
//
// Timers are fired in tick order, those already due when Advance is called
// first. While a timer due at tick t fires, the wheel stands at t: a timer
// scheduled by fire for a tick ≤ t fires on the next Advance (so a timer that
// re-arms itself "now" cannot loop), one for a tick in (t, now] fires in this
// Advance. A now behind the wheel's tick only fires what is already due. fire
// must not call Advance.
func (w *TimerWheel) Advance(now uint64, fire func(id int32)) {
	// Swap pending lists so that fire's "already due" schedules go to the
	// other one and wait for the next Advance.
	due := listPending + w.pending
	w.pending ^= 1
	w.fireList(due, fire)

	for {
		t, ok := w.nextEvent()
		if !ok || t > now {
			break
		}
		w.now = t
		w.cascade(t)
		// Nothing scheduled by fire at tick t can land in this slot: a
		// deadline ≤ t goes to pending, later ones to other slots.
		w.fireList(int(t&(wheelSlots-1)), fire)
	}
	// No busy slot starts in (w.now, now]: every timer keeps its level and
	// slot relative to the new tick.
	w.now = max(w.now, now)
}

// nextEvent returns the first tick after w.now at which a busy slot must be
// fired (level 0) or cascaded (higher levels, overflow).
func (w *TimerWheel) nextEvent() (uint64, bool) {
	if t, ok := w.nextBusySlot(); ok {
		return t, true
	}
	if !w.empty(listOverflow) {
		return w.overflowMin >> wheelSpan << wheelSpan, true
	}
	return 0, false
}

// nextBusySlot returns the start tick of the first busy wheel slot. A busy
// slot of a level always lies after the current tick's group on that level,
// and every level-L slot start precedes every level-(L+1) one, so the lowest
// busy level decides.
func (w *TimerWheel) nextBusySlot() (uint64, bool) {
	for level := range wheelLevels {
		shift := uint(level) * wheelBits
		cur := (w.now >> shift) & (wheelSlots - 1)
		m := w.occupied[level] & (^uint64(0) << cur << 1)
		if m != 0 {
			base := w.now &^ (uint64(1)<<(shift+wheelBits) - 1)
			return base | uint64(bits.TrailingZeros64(m))<<shift, true
		}
	}
	return 0, false
}

// cascade re-places the timers of every slot the wheel enters at tick t,
// highest level first: the overflow timers of t's epoch, then on each level
// L ≥ 1 whose lower groups of t are all zero, the slot named by t's group L.
// Every re-placed timer lands on a strictly lower level (or in the current
// level-0 slot when due at t).
func (w *TimerWheel) cascade(t uint64) {
	if t&(1<<wheelSpan-1) == 0 && !w.empty(listOverflow) {
		h := w.head(listOverflow)
		w.overflowMin = noTick
		for id := w.nodes[h].next; id != h; {
			next := w.nodes[id].next
			at := w.nodes[id].at
			if at>>wheelSpan == t>>wheelSpan {
				w.unlink(id)
				w.placeWheel(id, at)
			} else {
				w.overflowMin = min(w.overflowMin, at)
			}
			id = next
		}
	}
	for level := wheelLevels - 1; level >= 1; level-- {
		shift := uint(level) * wheelBits
		if t&(1<<shift-1) != 0 {
			continue
		}
		slot := int(t>>shift) & (wheelSlots - 1)
		if w.occupied[level]&(1<<uint(slot)) == 0 {
			continue
		}
		list := level*wheelSlots + slot
		h := w.head(list)
		for {
			id := w.nodes[h].next
			if id == h {
				break
			}
			w.unlink(id)
			w.placeWheel(id, w.nodes[id].at)
		}
	}
}

// Next returns the tick of the earliest armed timer, or ok=false when none are
// armed (an upper bound is acceptable if exact is costly: never later than the
// real earliest).
//
// The answer is exact for due timers' lists and level 0 (the next 64 ticks);
// for a deadline further out it is the start of the slot holding it, so a
// caller sleeping until Next wakes at most a few times per deadline. After
// Cancel it may name a tick where nothing fires any more; Advance there is
// cheap.
func (w *TimerWheel) Next() (tick uint64, ok bool) {
	if w.armed == 0 {
		return 0, false
	}
	if !w.empty(listPending) || !w.empty(listPending+1) {
		return min(w.pendingMin[0], w.pendingMin[1]), true
	}
	if t, ok := w.nextBusySlot(); ok {
		return t, true
	}
	return w.overflowMin, !w.empty(listOverflow)
}
