package loadgen

import (
	"math"
	"testing"
	"time"
)

// Percentiles of 1..10,000 ms in shuffled order are within the 1 % the
// buckets promise of the exact nearest-rank values; the maximum is exact.
func TestHistogramPercentiles(t *testing.T) {
	var a, b histogram
	for i := 1; i <= 10000; i++ {
		// Two halves merged, in an order that is not sorted.
		v := time.Duration((i*7919)%10000+1) * time.Millisecond
		if i%2 == 0 {
			a.record(v)
		} else {
			b.record(v)
		}
	}
	a.merge(&b)
	if a.n != 10000 || a.max != 10*time.Second {
		t.Fatalf("n %d max %v", a.n, a.max)
	}
	for q, want := range map[float64]time.Duration{
		0.50: 5000 * time.Millisecond, 0.90: 9000 * time.Millisecond,
		0.99: 9900 * time.Millisecond, 1: 10000 * time.Millisecond, 0.0001: time.Millisecond,
	} {
		got := a.percentile(q)
		if math.Abs(float64(got-want))/float64(want) > 0.01 {
			t.Errorf("p%v = %v, want %v ± 1 %%", q*100, got, want)
		}
	}
	if m := a.mean(); m != 5000500*time.Microsecond {
		t.Errorf("mean %v", m)
	}
}

func TestHistogramEdges(t *testing.T) {
	var h histogram
	if h.percentile(0.5) != 0 || h.mean() != 0 {
		t.Error("empty histogram not zero")
	}
	h.record(0)
	h.record(time.Hour) // beyond the last bucket: kept in it, max exact
	if h.max != time.Hour || h.percentile(1) > time.Hour {
		t.Errorf("max %v, p100 %v", h.max, h.percentile(1))
	}
	if p := h.percentile(0.5); p != histMin {
		t.Errorf("p50 of {0, 1h} = %v, want %v", p, histMin)
	}
	// A single value: every percentile is it (to 1 %), never above it.
	var one histogram
	one.record(1234 * time.Microsecond)
	for _, q := range []float64{0, 0.5, 0.99, 1} {
		if p := one.percentile(q); p > 1234*time.Microsecond || p < 1222*time.Microsecond {
			t.Errorf("p%v of one 1.234 ms = %v", q*100, p)
		}
	}
}
