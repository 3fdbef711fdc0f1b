// Package stats holds the latency histogram of the load generator and exact
// percentiles for small sample sets.
package stats

import (
	"math"
	"math/bits"
	"sort"
)

// subBits sets the precision of Hist: values below 2^(subBits+1) are exact,
// larger ones fall in buckets no wider than 1/2^subBits of their value.
const (
	subBits  = 7
	subCount = 1 << subBits
	nBuckets = subCount * (64 - subBits)
)

// Hist is a log-linear histogram of non-negative integers (nanoseconds in
// the load generator): fixed memory, O(1) Record, quantiles within 1/128
// (0.8%) of the exact value. The zero value is ready to use; it is not safe
// for concurrent use (give each goroutine its own and Merge).
type Hist struct {
	counts   []uint64
	n        uint64
	min, max int64
	sum      float64
}

func bucketOf(v int64) int {
	u := uint64(v)
	shift := bits.Len64(u) - (subBits + 1)
	if shift < 0 {
		shift = 0
	}
	return subCount*shift + int(u>>uint(shift))
}

// bucketRange returns the smallest and largest value of bucket i.
func bucketRange(i int) (lo, hi int64) {
	if i < 2*subCount {
		return int64(i), int64(i)
	}
	shift := i/subCount - 1
	m := int64(i - subCount*shift)
	return m << uint(shift), (m+1)<<uint(shift) - 1
}

// Record adds one value; negative values count as 0.
func (h *Hist) Record(v int64) {
	if v < 0 {
		v = 0
	}
	if h.counts == nil {
		h.counts = make([]uint64, nBuckets)
	}
	h.counts[bucketOf(v)]++
	if h.n == 0 || v < h.min {
		h.min = v
	}
	if v > h.max {
		h.max = v
	}
	h.n++
	h.sum += float64(v)
}

// Merge adds every value of o to h.
func (h *Hist) Merge(o *Hist) {
	if o.n == 0 {
		return
	}
	if h.counts == nil {
		h.counts = make([]uint64, nBuckets)
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	if h.n == 0 || o.min < h.min {
		h.min = o.min
	}
	if o.max > h.max {
		h.max = o.max
	}
	h.n += o.n
	h.sum += o.sum
}

// Reset empties h, keeping its memory.
func (h *Hist) Reset() {
	clear(h.counts)
	h.n, h.min, h.max, h.sum = 0, 0, 0, 0
}

func (h *Hist) Count() uint64 { return h.n }
func (h *Hist) Min() int64    { return h.min }
func (h *Hist) Max() int64    { return h.max }

// Mean is the exact mean (0 when empty).
func (h *Hist) Mean() float64 {
	if h.n == 0 {
		return 0
	}
	return h.sum / float64(h.n)
}

// Quantile returns the nearest-rank q-quantile (0 ≤ q ≤ 1): the value of
// rank ceil(q·n) in sorted order, as the midpoint of its bucket clamped to
// [Min, Max]. Quantile(1) is Max exactly; an empty histogram gives 0.
func (h *Hist) Quantile(q float64) int64 {
	if h.n == 0 {
		return 0
	}
	rank := nearestRank(q, int(min(h.n, math.MaxInt)))
	if rank == int(h.n) {
		return h.max
	}
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= uint64(rank) {
			lo, hi := bucketRange(i)
			v := lo + (hi-lo)/2
			return max(h.min, min(v, h.max))
		}
	}
	return h.max
}

// nearestRank is ceil(q·n) clamped to [1, n].
func nearestRank(q float64, n int) int {
	r := int(math.Ceil(q * float64(n)))
	return max(1, min(r, n))
}

// Percentile returns the nearest-rank q-quantile of sorted (ascending)
// values, 0 when empty.
func Percentile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[nearestRank(q, len(sorted))-1]
}

// Percentiles sorts a copy of vals and returns the q-quantiles for each qs.
func Percentiles(vals []float64, qs ...float64) []float64 {
	s := append([]float64(nil), vals...)
	sort.Float64s(s)
	out := make([]float64, len(qs))
	for i, q := range qs {
		out[i] = Percentile(s, q)
	}
	return out
}
