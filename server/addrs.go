package server

// addrTable interns handler addresses (the `from` of handler packets, ≤64
// bytes) per worker. Handlers are few and sessions many, so a session keeps a
// 4-byte reference instead of 64 bytes of address, and keep-alives can be
// batched per address.
type addrTable struct {
	index map[string]int32
	names [][]byte
	refs  []int32
	free  []int32
	live  int    // references held: sessions with a handler, which need keep-alives
	gates []gate // per address: its sessions waiting for room (gates.go)
	last  int32  // the reference ref returned last (0: none): most packets come from the handler of the one before
}

func newAddrTable() *addrTable { return &addrTable{index: make(map[string]int32)} }

// ref returns the reference (1-based) for name, taking one reference.
func (t *addrTable) ref(name []byte) int32 {
	t.live++
	if l := t.last; l != 0 && string(t.names[l-1]) == string(name) {
		t.refs[l-1]++
		return l
	}
	if i, ok := t.index[string(name)]; ok { // no allocation for the lookup
		t.refs[i]++
		t.last = i + 1
		return i + 1
	}
	var i int32
	if n := len(t.free); n > 0 {
		i = t.free[n-1]
		t.free = t.free[:n-1]
		t.names[i] = append(t.names[i][:0], name...)
		t.refs[i] = 1
		t.gates[i] = gate{fresh: true}
	} else {
		i = int32(len(t.names))
		t.names = append(t.names, append([]byte(nil), name...))
		t.refs = append(t.refs, 1)
		t.gates = append(t.gates, gate{fresh: true})
	}
	t.index[string(t.names[i])] = i
	t.last = i + 1
	return i + 1
}

// keepAddrs: unused addresses stay interned up to this many entries, so a
// handler whose sessions come and go does not cost a map insertion (and its
// key allocation) per request; past it they are forgotten, so a handler
// inventing addresses cannot grow the table without bound.
const keepAddrs = 1024

// unref drops one reference; 0 is ignored.
func (t *addrTable) unref(r int32) {
	if r == 0 {
		return
	}
	t.live--
	t.release(r)
}

// hold takes a reference that is not a session's (a cancel waiting to be
// sent): it keeps the address without counting toward live.
func (t *addrTable) hold(r int32) { t.refs[r-1]++ }

// release drops a reference taken by hold (or, through unref, by ref).
func (t *addrTable) release(r int32) {
	i := r - 1
	t.refs[i]--
	if t.refs[i] == 0 && len(t.index) > keepAddrs {
		delete(t.index, string(t.names[i]))
		t.free = append(t.free, i)
		if t.last == r {
			t.last = 0
		}
	}
}

// name returns the address behind r.
func (t *addrTable) name(r int32) []byte { return t.names[r-1] }
