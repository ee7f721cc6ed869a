package loadgen

import (
	"math"
	"time"
)

// histogram counts latencies in logarithmic buckets 1 % wide, from 1 µs to
// about 20 minutes: a percentile read from it is within 1 % of the exact
// one, and it costs the same memory however long the run. The maximum is
// kept exactly.
type histogram struct {
	counts [histBuckets]int64
	n      int64
	sum    time.Duration
	max    time.Duration
}

const (
	histGrowth  = 1.01
	histMin     = time.Microsecond
	histBuckets = 2100 // 1.01^2100 µs ≈ 1,200 s
)

var logGrowth = math.Log(histGrowth)

func bucketOf(d time.Duration) int {
	if d <= histMin {
		return 0
	}
	b := int(math.Log(float64(d)/float64(histMin))/logGrowth) + 1
	return min(b, histBuckets-1)
}

// bucketValue is a representative latency of bucket b: the geometric middle
// of its bounds (bucket b > 0 holds (min·g^(b-1), min·g^b]).
func bucketValue(b int) time.Duration {
	if b == 0 {
		return histMin
	}
	return time.Duration(float64(histMin) * math.Pow(histGrowth, float64(b)-0.5))
}

func (h *histogram) record(d time.Duration) {
	h.counts[bucketOf(d)]++
	h.n++
	h.sum += d
	h.max = max(h.max, d)
}

func (h *histogram) merge(o *histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.sum += o.sum
	h.max = max(h.max, o.max)
}

// percentile returns the latency below which a fraction q (0..1) of the
// recorded ones fall: the nearest-rank percentile, to 1 %, and never above
// the maximum seen.
func (h *histogram) percentile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := int64(math.Ceil(q * float64(h.n)))
	rank = max(1, min(rank, h.n))
	var seen int64
	for b, c := range h.counts {
		seen += c
		if seen >= rank {
			return min(bucketValue(b), h.max)
		}
	}
	return h.max
}

func (h *histogram) mean() time.Duration {
	if h.n == 0 {
		return 0
	}
	return h.sum / time.Duration(h.n)
}
