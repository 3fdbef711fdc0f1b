package reactor

import "testing"

type slot struct {
	fd    int32
	state uint8
	data  [5]uint64
}

func TestSlab(t *testing.T) {
	s := NewSlab[slot](3)
	if s.Cap() != 3 || s.Len() != 0 {
		t.Fatalf("new slab: cap %d len %d", s.Cap(), s.Len())
	}
	var gens [3]uint32
	for want := range int32(3) {
		idx, gen, ok := s.Alloc()
		if !ok || idx != want || gen == 0 {
			t.Fatalf("Alloc = %d, %d, %v; want %d, nonzero, true", idx, gen, ok, want)
		}
		if !s.InUse(idx) || s.Gen(idx) != gen {
			t.Fatalf("slot %d: InUse %v Gen %d", idx, s.InUse(idx), s.Gen(idx))
		}
		gens[idx] = gen
		s.Get(idx).fd = 100 + idx
		s.Get(idx).data[4] = 9
	}
	if _, _, ok := s.Alloc(); ok || s.Len() != 3 {
		t.Fatalf("Alloc on full slab succeeded (len %d)", s.Len())
	}

	s.Free(1)
	if s.InUse(1) || s.Len() != 2 {
		t.Fatal("Free did not release slot 1")
	}
	if s.Gen(1) == gens[1] {
		t.Fatal("Free did not bump the generation: a stale (idx, gen) would still match")
	}
	s.Free(1) // double free: no-op, else slot 1 would be handed out twice
	if s.Len() != 2 {
		t.Fatalf("double Free changed Len to %d", s.Len())
	}
	staleGen := gens[1]
	idx, gen, ok := s.Alloc()
	if !ok || idx != 1 || gen == staleGen || gen != s.Gen(1) {
		t.Fatalf("re-Alloc = %d, %d, %v; want slot 1 with a new generation", idx, gen, ok)
	}
	if *s.Get(1) != (slot{}) {
		t.Fatalf("re-allocated slot not zeroed: %+v", *s.Get(1))
	}
	if _, _, ok := s.Alloc(); ok {
		t.Fatal("slab over-allocated after double Free")
	}
	// Other slots untouched.
	if s.Get(0).fd != 100 || s.Get(2).fd != 102 {
		t.Fatal("neighbouring slots changed")
	}
	if s.InUse(-1) || s.InUse(3) {
		t.Fatal("InUse true out of range")
	}
	s.Free(-1)
	s.Free(3)
}

func TestSlabGenerationSkipsZero(t *testing.T) {
	s := NewSlab[slot](1)
	idx, _, _ := s.Alloc()
	s.gens[idx] = ^uint32(0)
	s.Free(idx)
	if g := s.Gen(idx); g == 0 {
		t.Fatal("generation wrapped to 0")
	}
}

func TestSlabLIFOAndBitsetBoundaries(t *testing.T) {
	s := NewSlab[uint8](130)
	for range 130 {
		s.Alloc()
	}
	for _, i := range []int32{63, 64, 127, 128, 129, 0} {
		s.Free(i)
		if s.InUse(i) {
			t.Fatalf("slot %d still in use", i)
		}
	}
	if s.Len() != 124 {
		t.Fatalf("Len = %d, want 124", s.Len())
	}
	for _, want := range []int32{0, 129, 128, 127, 64, 63} {
		if idx, _, _ := s.Alloc(); idx != want {
			t.Fatalf("Alloc = %d, want %d (most recently freed first)", idx, want)
		}
	}
}

// The high-water mark follows the most slots in use at once, not the
// capacity: churn below it (free, then alloc again) does not raise it.
func TestSlabHighWater(t *testing.T) {
	s := NewSlab[uint8](1000)
	if s.HighWater() != 0 {
		t.Fatalf("new slab: HighWater %d, want 0", s.HighWater())
	}
	for range 10 {
		s.Alloc()
	}
	for range 100 { // churn: free and re-alloc reuse the same slots
		s.Free(3)
		s.Free(7)
		s.Alloc()
		s.Alloc()
	}
	if s.HighWater() != 10 {
		t.Fatalf("HighWater %d after 10 slots and churn, want 10", s.HighWater())
	}
	for i := range int32(10) {
		s.Free(i)
	}
	if s.HighWater() != 10 {
		t.Fatalf("HighWater %d after freeing all, want 10 (a mark, never lowered)", s.HighWater())
	}
	s.Alloc()
	if s.HighWater() != 10 {
		t.Fatalf("HighWater %d after one more, want 10", s.HighWater())
	}
}

func TestSlabNoAllocs(t *testing.T) {
	s := NewSlab[slot](16)
	allocs := testing.AllocsPerRun(1000, func() {
		idx, _, _ := s.Alloc()
		s.Get(idx).fd = 1
		s.Free(idx)
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per Alloc+Free, want 0", allocs)
	}
}
