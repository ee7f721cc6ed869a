package missedlog

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// Defaults of HealerConfig.
const (
	DefaultRate     = 50
	DefaultInterval = 30 * time.Second
)

// HealerConfig configures a Healer.
type HealerConfig struct {
	// Log holds the entries to heal. Required.
	Log *Log
	// Heal heals one entry's object and reports whether every drive the
	// entry names now holds what it should, so that the entry can go.
	// Required.
	Heal func(ctx context.Context, e Entry) (bool, error)
	// Ready reports whether a drive the entry names may be back; entries
	// whose drives are all known down are not tried. Nil: always.
	Ready func(e Entry) bool
	// Walk finds and heals, on the given sets (nil: every set of the
	// deployment), the objects whose copies disagree, calling
	// throttle before each heal. It runs when the log may be incomplete.
	// Nil: no walks.
	Walk func(ctx context.Context, sets []int, throttle func(context.Context) error) error
	// Rate bounds the heals per second, entries and walk alike; 0 means
	// DefaultRate. Heals compete with clients for the drives.
	Rate float64
	// Interval is how often the entries are tried without a return to
	// wake the healer (a drive that was slow rather than down sends no
	// event); 0 means DefaultInterval.
	Interval time.Duration
	// Settle is how old an entry must be before it is healed. A write
	// that failed may have left a commit running on a drive it gave up
	// on, landing later; its rollback fences that where it can (see
	// object.Set.withdraw), but not a version published from its record
	// alone. A heal that ran before such a commit landed would find the
	// drive as it was, and the entry would go with the stray version
	// left behind. Healing at once and again once settled was tried and
	// reverted (CI, TestChaosRollingRestart): a heal run at once met the
	// key's next PUT in mid-commit (its writer's lock grants dropped by
	// a liveness view flapping under load) and took the half-committed
	// version for a failed write's leftover (Set.unacknowledged). 0:
	// entries are healed at once.
	Settle time.Duration
	// Logger hears about passes and walks. Nil logs nothing.
	Logger *zap.Logger
}

// HealerStats counts what a Healer did.
type HealerStats struct {
	Passes, Walks       uint64
	Healed, Failed      uint64 // entries
	WalkHealed, Skipped uint64 // objects a walk healed; entries whose drives were down
}

// Healer heals the log's entries in the background, at a bounded rate: at
// start, when told that something came back (Kick), and every Interval; and
// walks sets when asked (WalkSets) or when the log is incomplete.
type Healer struct {
	cfg    HealerConfig
	log    *zap.Logger
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	wake   chan struct{}

	mu       sync.Mutex
	walkAll  bool
	walkSets map[int]bool

	pacer pacer
	// tries counts the failed heals of each entry still waiting; only
	// the run goroutine uses it.
	tries map[uint64]int

	passes, walks, healed, failed, walkHealed, skipped atomic.Uint64
}

// ErrNoHealFunc: HealerConfig.Log or Heal is missing.
var ErrNoHealFunc = errors.New("missedlog: HealerConfig.Log and Heal are required")

// StartHealer starts a healer; its first pass runs at once (a node that
// restarts heals what its log holds without waiting for an event), with a
// walk first if the log is incomplete.
func StartHealer(cfg HealerConfig) (*Healer, error) {
	if cfg.Log == nil || cfg.Heal == nil {
		return nil, ErrNoHealFunc
	}
	if cfg.Rate <= 0 {
		cfg.Rate = DefaultRate
	}
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	h := &Healer{cfg: cfg, log: cfg.Logger, wake: make(chan struct{}, 1), walkSets: map[int]bool{}, tries: map[uint64]int{}}
	if h.log == nil {
		h.log = zap.NewNop()
	}
	h.pacer.every = time.Duration(float64(time.Second) / cfg.Rate)
	h.ctx, h.cancel = context.WithCancel(context.Background())
	if cfg.Log.Incomplete() {
		h.walkAll = true
	}
	h.wake <- struct{}{}
	h.wg.Go(h.run)
	return h, nil
}

// Kick runs a pass over the entries soon: a drive or node came back.
func (h *Healer) Kick() {
	select {
	case h.wake <- struct{}{}:
	default:
	}
}

// WalkSets asks for a walk of these sets (nil: every set),
// after the next pass.
func (h *Healer) WalkSets(sets []int) {
	h.mu.Lock()
	if sets == nil {
		h.walkAll = true
	}
	for _, s := range sets {
		h.walkSets[s] = true
	}
	h.mu.Unlock()
	h.Kick()
}

// Close stops the healer and waits for it.
func (h *Healer) Close() {
	h.cancel()
	h.wg.Wait()
}

// Stats returns the healer's counters.
func (h *Healer) Stats() HealerStats {
	return HealerStats{
		Passes: h.passes.Load(), Walks: h.walks.Load(), Healed: h.healed.Load(), Failed: h.failed.Load(),
		WalkHealed: h.walkHealed.Load(), Skipped: h.skipped.Load(),
	}
}

// firstRetry is how soon a pass that left entries it tried unhealed is
// retried; the delay doubles up to Interval. A node whose return woke the
// healer may take a moment to serve its drives.
const firstRetry = time.Second

// warnAfterTries is the failed heals of one entry after which it is
// logged as a warning.
const warnAfterTries = 3

func (h *Healer) run() {
	retry := firstRetry
	t := time.NewTimer(h.cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-h.ctx.Done():
			return
		case <-h.wake:
			retry = firstRetry
		case <-t.C:
		}
		next := h.cfg.Interval
		if h.pass() {
			next = min(retry, h.cfg.Interval)
			retry *= 2
		} else {
			retry = firstRetry
		}
		h.walk()
		t.Reset(next)
	}
}

// pass tries every waiting entry whose drives may be back. It reports
// whether some it tried are still not healed.
func (h *Healer) pass() (unhealed bool) {
	h.passes.Add(1)
	for _, e := range h.cfg.Log.Entries() {
		if h.ctx.Err() != nil {
			return false
		}
		if h.cfg.Ready != nil && !h.cfg.Ready(e) {
			h.skipped.Add(1)
			continue
		}
		if time.Since(e.Time) < h.cfg.Settle {
			unhealed = true // soon
			continue
		}
		if h.pacer.wait(h.ctx) != nil {
			return false
		}
		ok, err := h.cfg.Heal(h.ctx, e)
		switch {
		case ok:
			h.cfg.Log.Done(e.ID)
			h.healed.Add(1)
			delete(h.tries, e.ID)
		case h.ctx.Err() != nil:
			return false
		default:
			unhealed = true
			h.failed.Add(1)
			h.tries[e.ID]++
			// A drive that is still coming back fails a try or two; an
			// object that keeps failing is the operator's to know of,
			// once.
			level := zap.DebugLevel
			if h.tries[e.ID] == warnAfterTries {
				level = zap.WarnLevel
			}
			h.log.Log(level, "missed write not healed yet", zap.String("bucket", e.Bucket), zap.String("object", e.Object),
				zap.String("version", e.VersionID), zap.Ints("drives", e.Drives), zap.Int("tries", h.tries[e.ID]), zap.Error(err))
		}
	}
	return unhealed
}

// walk runs the walks asked for.
func (h *Healer) walk() {
	if h.cfg.Walk == nil {
		return
	}
	h.mu.Lock()
	all, sets := h.walkAll, h.walkSets
	h.walkAll, h.walkSets = false, map[int]bool{}
	h.mu.Unlock()
	if !all && len(sets) == 0 {
		return
	}
	var which []int
	if !all {
		for s := range sets {
			which = append(which, s)
		}
	}
	start := time.Now()
	h.walks.Add(1)
	throttle := func(ctx context.Context) error {
		h.walkHealed.Add(1)
		return h.pacer.wait(ctx)
	}
	err := h.cfg.Walk(h.ctx, which, throttle)
	switch {
	case err == nil:
		if all {
			h.cfg.Log.Walked(start)
		}
		h.log.Info("heal walk done", zap.Ints("sets", which), zap.Bool("all", all), zap.Duration("took", time.Since(start)))
	case h.ctx.Err() != nil:
	default:
		// Asked again: the next pass (at the latest after Interval)
		// retries it.
		h.log.Warn("heal walk failed; retried later", zap.Ints("sets", which), zap.Error(err))
		h.mu.Lock()
		h.walkAll = h.walkAll || all
		for s := range sets {
			h.walkSets[s] = true
		}
		h.mu.Unlock()
	}
}

// pacer spaces calls every apart.
type pacer struct {
	mu    sync.Mutex
	every time.Duration
	next  time.Time
}

func (p *pacer) wait(ctx context.Context) error {
	p.mu.Lock()
	now := time.Now()
	at := p.next
	if at.Before(now) {
		at = now
	}
	p.next = at.Add(p.every)
	p.mu.Unlock()
	if d := time.Until(at); d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	return ctx.Err()
}
