package zhttp

import (
	"math"
	"strconv"
)

// Session ids are the `id` of every packet: the server issues them, the
// handler echoes them, and the hub routes a handler packet by them to the
// worker that issued them. Their text is "<worker>-<slot>-<counter hex>":
// the worker's index (decimal), the session's slot in that worker's
// connection slab (decimal), and the worker's session counter when the
// session began (lower-case hex), which tells a slot's successive sessions
// apart. Writing and reading them allocate nothing.

const (
	maxWorkerDigits  = 5  // room for any worker count
	maxSlotDigits    = 10 // an int32
	maxCounterDigits = 16 // a uint64 in hex
)

// SessionID is a parsed session id.
type SessionID struct {
	Worker  int
	Slot    int32
	Counter uint64
}

// Append writes id as "<worker>-<slot>-<counter hex>" to dst.
func (id SessionID) Append(dst []byte) []byte {
	dst = strconv.AppendInt(dst, int64(id.Worker), 10)
	dst = append(dst, '-')
	dst = strconv.AppendInt(dst, int64(id.Slot), 10)
	dst = append(dst, '-')
	return strconv.AppendUint(dst, id.Counter, 16)
}

// WorkerOf returns the worker an id was issued by, reading only its first
// part (the decimal digits before the first '-'): all the hub needs to
// route it. The worker parses the rest (ParseSessionID).
func WorkerOf(id []byte) (int, bool) {
	n := 0
	for i, c := range id {
		if c == '-' {
			return n, i > 0
		}
		if c < '0' || c > '9' || i >= maxWorkerDigits {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return 0, false
}

// ParseSessionID reads an id written by Append. It reports false for
// anything else: a missing or empty part, a character out of place, a part
// too long for its type (leading zeros count toward the length).
func ParseSessionID(id []byte) (SessionID, bool) {
	w, ok := WorkerOf(id)
	if !ok {
		return SessionID{}, false
	}
	i := 0
	for id[i] != '-' {
		i++
	}
	i++
	slot := 0
	j := i
	for ; j < len(id) && id[j] != '-'; j++ {
		c := id[j]
		if c < '0' || c > '9' || j-i >= maxSlotDigits {
			return SessionID{}, false
		}
		slot = slot*10 + int(c-'0')
	}
	if j == i || j >= len(id)-1 || slot > math.MaxInt32 {
		return SessionID{}, false
	}
	var counter uint64
	for k := j + 1; k < len(id); k++ {
		c := id[k]
		var d byte
		switch {
		case c >= '0' && c <= '9':
			d = c - '0'
		case c >= 'a' && c <= 'f':
			d = c - 'a' + 10
		default:
			return SessionID{}, false
		}
		if k-j > maxCounterDigits {
			return SessionID{}, false
		}
		counter = counter<<4 | uint64(d)
	}
	return SessionID{Worker: w, Slot: int32(slot), Counter: counter}, true
}
