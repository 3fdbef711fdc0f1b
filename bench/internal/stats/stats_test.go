package stats

import (
	"math/rand/v2"
	"slices"
	"testing"
)

func TestBucketsContiguous(t *testing.T) {
	// Every value maps to a bucket whose range holds it, and bucket ranges
	// tile the line without gaps.
	var prevHi int64 = -1
	for i := 0; i < 40*subCount; i++ {
		lo, hi := bucketRange(i)
		if lo != prevHi+1 || hi < lo {
			t.Fatalf("bucket %d = [%d,%d] after %d", i, lo, hi, prevHi)
		}
		if bucketOf(lo) != i || bucketOf(hi) != i {
			t.Fatalf("bucket %d: bucketOf(%d)=%d bucketOf(%d)=%d", i, lo, bucketOf(lo), hi, bucketOf(hi))
		}
		if float64(hi-lo) > float64(lo)/subCount {
			t.Fatalf("bucket %d too wide: [%d,%d]", i, lo, hi)
		}
		prevHi = hi
	}
	if b := bucketOf(1<<63 - 1); b >= nBuckets {
		t.Fatalf("max int64 -> bucket %d of %d", b, nBuckets)
	}
}

func exact(vals []int64, q float64) int64 {
	s := slices.Clone(vals)
	slices.Sort(s)
	return s[nearestRank(q, len(s))-1]
}

func TestQuantileSmallExact(t *testing.T) {
	var h Hist
	for _, v := range []int64{5, 1, 4, 2, 3, 10, 9, 8, 7, 6} {
		h.Record(v)
	}
	for q, want := range map[float64]int64{0: 1, 0.1: 1, 0.5: 5, 0.9: 9, 0.99: 10, 1: 10} {
		if got := h.Quantile(q); got != want {
			t.Errorf("q%.2f = %d, want %d", q, got, want)
		}
	}
	if h.Count() != 10 || h.Min() != 1 || h.Max() != 10 || h.Mean() != 5.5 {
		t.Fatalf("count %d min %d max %d mean %v", h.Count(), h.Min(), h.Max(), h.Mean())
	}
}

func TestQuantileApprox(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var a, b, all Hist
	var vals []int64
	for i := 0; i < 200000; i++ {
		// Log-normal-ish latencies from 10 µs to seconds.
		v := int64(10000 * (1 + r.ExpFloat64()*r.ExpFloat64()*50))
		vals = append(vals, v)
		if i%2 == 0 {
			a.Record(v)
		} else {
			b.Record(v)
		}
	}
	all.Merge(&a)
	all.Merge(&b)
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999, 1} {
		want := exact(vals, q)
		got := all.Quantile(q)
		if d := float64(got-want) / float64(want); d > 1.0/subCount || d < -1.0/subCount {
			t.Errorf("q%v: got %d want %d (%.3f%%)", q, got, want, d*100)
		}
	}
	if all.Count() != 200000 || all.Max() != slices.Max(vals) || all.Min() != slices.Min(vals) {
		t.Fatal("merge lost counts or extremes")
	}
	all.Reset()
	if all.Count() != 0 || all.Quantile(0.5) != 0 {
		t.Fatal("reset")
	}
}

func TestPercentile(t *testing.T) {
	if Percentile(nil, 0.5) != 0 {
		t.Fatal("empty")
	}
	got := Percentiles([]float64{3, 1, 2, 100}, 0.5, 0.75, 0.99, 0)
	want := []float64{2, 3, 100, 1}
	if !slices.Equal(got, want) {
		t.Fatalf("got %v want %v", got, want)
	}
}
