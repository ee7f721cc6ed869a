package object

import (
	"sync"
	"time"
)

// Bounds of the learned threshold after which a GET reads parity instead of
// waiting for a late shard (Config.LateShard).
const (
	minLateShard = 50 * time.Millisecond
	maxLateShard = 500 * time.Millisecond
)

// lateTracker learns when a GET's shard reads are late: a moving average
// of how long blocks take to have their shards, times lateFactor, within
// [minLateShard, maxLateShard]. A drive that is merely slower than its
// peers then costs parity reads, not the request's time; the bounds keep
// a burst of slow reads from making the threshold either useless or
// hair-trigger. Until it has seen a block, it says maxLateShard.
type lateTracker struct {
	mu    sync.Mutex
	avg   time.Duration
	fixed time.Duration // Config.LateShard when set: not learned
}

// lateFactor: a block taking this many times the recent average is late.
const lateFactor = 4

// lateWeight is the weight of one observation in the average.
const lateWeight = 0.05

func (t *lateTracker) threshold() time.Duration {
	if t.fixed != 0 {
		return max(t.fixed, 0)
	}
	t.mu.Lock()
	avg := t.avg
	t.mu.Unlock()
	if avg == 0 {
		return maxLateShard
	}
	return min(max(lateFactor*avg, minLateShard), maxLateShard)
}

// observe records how long a block took to have its shards.
func (t *lateTracker) observe(d time.Duration) {
	t.mu.Lock()
	if t.avg == 0 {
		t.avg = d
	} else {
		t.avg += time.Duration(lateWeight * float64(d-t.avg))
	}
	t.mu.Unlock()
}
