package object

import (
	"math"
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

// DefaultLateDriveHalfLife is Config.LateDriveHalfLife's default.
const DefaultLateDriveHalfLife = 4 * time.Second

// Lateness scores (driveLateness): a drive is avoided at avoidScore, and
// its score is capped at maxLateScore, so that a drive that recovers is
// asked again about log2(maxLateScore/avoidScore) half-lives (8 s by
// default) of its last late read.
const (
	avoidScore   = 2.0
	maxLateScore = 8.0
)

// driveLateness remembers, across GETs, which drives of the set keep being
// late: without it every GET would ask a late drive for its data shard
// first and pay the late threshold on its first block again. Each drive
// has a score that decays exponentially (halving every halfLife). A read
// that was outrun by parity or gave up (late, stalled, failed) doubles it
// plus one, up to maxLateScore; a GET that read the drive on time halves
// it. At avoidScore, two late reads in close succession, GETs read the
// drive's shard only as a last resort (erasure.DecodeOptions.Avoid):
// parity from on-time drives stands in for it from the first block.
//
// Once avoided, a drive is no longer read and its score only decays: it
// falls below avoidScore after about two half-lives at most and the next GET
// tries it again. A drive still late goes straight back, with a score
// that has doubled, so it is retried less often the longer it stays late;
// one that has recovered is read on time and its score drains.
type driveLateness struct {
	halfLife time.Duration // <= 0: never avoid (scores are not kept)
	mu       sync.Mutex
	score    []float64
	at       []time.Time // when score was last brought up to date
}

func newDriveLateness(drives int, halfLife time.Duration) *driveLateness {
	return &driveLateness{halfLife: halfLife, score: make([]float64, drives), at: make([]time.Time, drives)}
}

// current returns pos's score decayed to now; the caller holds mu.
func (l *driveLateness) current(pos int, now time.Time) float64 {
	s := l.score[pos]
	if s == 0 {
		return 0
	}
	s *= math.Exp2(-float64(now.Sub(l.at[pos])) / float64(l.halfLife))
	if s < 0.01 {
		s = 0
	}
	l.score[pos], l.at[pos] = s, now
	return s
}

// late records that pos's read was late or gave up.
func (l *driveLateness) late(pos int) {
	if l.halfLife <= 0 {
		return
	}
	now := time.Now()
	l.mu.Lock()
	l.score[pos] = min(2*l.current(pos, now)+1, maxLateScore)
	l.at[pos] = now
	l.mu.Unlock()
}

// onTime records that a GET read pos without it being late.
func (l *driveLateness) onTime(pos int) {
	if l.halfLife <= 0 {
		return
	}
	l.mu.Lock()
	l.score[pos] = l.current(pos, time.Now()) / 2
	l.mu.Unlock()
}

// avoided reports whether GETs read pos's shard only as a last resort.
func (l *driveLateness) avoided(pos int) bool {
	if l.halfLife <= 0 {
		return false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.current(pos, time.Now()) >= avoidScore
}
