// Package healqueue runs the heal requests that reads and writes find
// (object.HealQueue) on a few background workers, so that the request that
// noticed a stale or corrupt shard never waits for it to be repaired.
//
// The queue is bounded and deduplicated: a request for an object already
// waiting is merged into the waiting one (the union of the drives named),
// and a request that finds the queue full is dropped and counted. Dropping
// loses nothing for good: the next read of the object finds the same
// problem and asks again, and a drive-wide sweep (a healing drive) does not
// go through this queue. What a worker does with a request is the caller's
// Heal function (the object layer's HealObject in a node).
//
// A request can also be queued for later (QueueHealAfter): an object a
// heal had to leave because a write of it may still be landing
// (object.HealResult.SettledAt) is healed again once that write has had
// its time, rather than when something next reads it.
package healqueue

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/gridstore/gridstore/node/object"
)

// Defaults of Config.
const (
	DefaultWorkers  = 2
	DefaultCapacity = 10_000
)

// Config configures a Queue.
type Config struct {
	// Heal repairs one object. It is called from the workers, at most once
	// at a time per object. Required.
	Heal func(ctx context.Context, r object.HealRequest) error
	// Workers is how many objects are healed at once; 0 means
	// DefaultWorkers. Healing competes with client requests for the same
	// drives, so keep it small.
	Workers int
	// Capacity bounds the objects waiting; 0 means DefaultCapacity.
	Capacity int
	// Logger hears about heals that failed (at debug: a failure is retried
	// by the next read that finds the problem). Nil logs nothing.
	Logger *zap.Logger
}

// Stats counts what the queue did.
type Stats struct {
	Queued  uint64 // requests accepted (merged ones included)
	Merged  uint64 // requests merged into one already waiting
	Dropped uint64 // requests refused because the queue was full
	Healed  uint64 // heals that returned nil
	Failed  uint64 // heals that returned an error
	Waiting int    // objects waiting now
	Later   int    // objects queued for later (QueueHealAfter), not yet due
}

// Queue is an object.HealQueue served by background workers. Create it
// with New, stop it with Close.
type Queue struct {
	cfg    Config
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	order   []string // keys waiting, oldest first
	waiting map[string]*object.HealRequest
	running map[string]bool // keys a worker is healing now
	later   map[string]*delayed
	closed  bool
	wake    chan struct{} // capacity 1: something was queued

	queued, merged, dropped, healed, failed atomic.Uint64
}

// delayed is a request queued for later, and the timer that queues it.
type delayed struct {
	r     object.HealRequest
	timer *time.Timer
}

// ErrNoHeal: Config.Heal is missing.
var ErrNoHeal = errors.New("healqueue: Config.Heal is required")

// New starts a queue and its workers.
func New(cfg Config) (*Queue, error) {
	if cfg.Heal == nil {
		return nil, ErrNoHeal
	}
	if cfg.Workers <= 0 {
		cfg.Workers = DefaultWorkers
	}
	if cfg.Capacity <= 0 {
		cfg.Capacity = DefaultCapacity
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	q := &Queue{
		cfg:     cfg,
		waiting: map[string]*object.HealRequest{},
		running: map[string]bool{},
		later:   map[string]*delayed{},
		wake:    make(chan struct{}, 1),
	}
	q.ctx, q.cancel = context.WithCancel(context.Background())
	for range cfg.Workers {
		q.wg.Go(q.work)
	}
	return q, nil
}

func key(r object.HealRequest) string { return r.Bucket + "/" + r.Object }

// QueueHeal implements object.HealQueue: it never blocks.
func (q *Queue) QueueHeal(r object.HealRequest) {
	k := key(r)
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return
	}
	if w, ok := q.waiting[k]; ok {
		w.Missing = union(w.Missing, r.Missing)
		w.Corrupt = union(w.Corrupt, r.Corrupt)
		if r.VersionID != "" {
			w.VersionID = r.VersionID
		}
		q.mu.Unlock()
		q.queued.Add(1)
		q.merged.Add(1)
		return
	}
	if len(q.order) >= q.cfg.Capacity {
		q.mu.Unlock()
		q.dropped.Add(1)
		return
	}
	r.Missing, r.Corrupt = slices.Clone(r.Missing), slices.Clone(r.Corrupt)
	q.waiting[k] = &r
	q.order = append(q.order, k)
	q.mu.Unlock()
	q.queued.Add(1)
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// QueueHealAfter queues r once d has passed. An object already queued for
// later gets r's drives added and keeps its time; those queued for later
// count against Capacity with the waiting ones, and are dropped by Close.
func (q *Queue) QueueHealAfter(r object.HealRequest, d time.Duration) {
	k := key(r)
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return
	}
	if l, ok := q.later[k]; ok {
		l.r.Missing = union(l.r.Missing, r.Missing)
		l.r.Corrupt = union(l.r.Corrupt, r.Corrupt)
		return
	}
	if len(q.order)+len(q.later) >= q.cfg.Capacity {
		q.dropped.Add(1)
		return
	}
	r.Missing, r.Corrupt = slices.Clone(r.Missing), slices.Clone(r.Corrupt)
	l := &delayed{r: r}
	q.later[k] = l
	l.timer = time.AfterFunc(max(d, 0), func() {
		q.mu.Lock()
		if q.later[k] != l {
			q.mu.Unlock()
			return // stopped by Close
		}
		delete(q.later, k)
		q.mu.Unlock()
		q.QueueHeal(l.r)
	})
}

// next takes the oldest waiting request that no worker is healing, or
// reports there is none.
func (q *Queue) next() (object.HealRequest, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for i, k := range q.order {
		if q.running[k] {
			continue // another worker has it: it stays queued for after
		}
		r := *q.waiting[k]
		delete(q.waiting, k)
		q.order = slices.Delete(q.order, i, i+1)
		q.running[k] = true
		if len(q.order) > 0 {
			// One wake-up token wakes one worker: pass it on while work is
			// left, so that idle workers do not sleep beside a full queue.
			select {
			case q.wake <- struct{}{}:
			default:
			}
		}
		return r, true
	}
	return object.HealRequest{}, false
}

func (q *Queue) done(k string) {
	q.mu.Lock()
	delete(q.running, k)
	more := len(q.order) > 0
	q.mu.Unlock()
	if more {
		select {
		case q.wake <- struct{}{}:
		default:
		}
	}
}

func (q *Queue) work() {
	for {
		r, ok := q.next()
		if !ok {
			select {
			case <-q.ctx.Done():
				return
			case <-q.wake:
				continue
			}
		}
		if q.ctx.Err() != nil {
			q.done(key(r))
			return
		}
		err := q.cfg.Heal(q.ctx, r)
		switch {
		case err == nil:
			q.healed.Add(1)
		case q.ctx.Err() != nil:
			// Closing: not the object's failure.
		default:
			q.failed.Add(1)
			q.cfg.Logger.Debug("heal failed", zap.String("bucket", r.Bucket), zap.String("object", r.Object), zap.Error(err))
		}
		q.done(key(r))
		// Another worker may be waiting for this key's merged request.
		select {
		case q.wake <- struct{}{}:
		default:
		}
	}
}

// Stats returns the queue's counters.
func (q *Queue) Stats() Stats {
	q.mu.Lock()
	waiting, later := len(q.order), len(q.later)
	q.mu.Unlock()
	return Stats{
		Queued: q.queued.Load(), Merged: q.merged.Load(), Dropped: q.dropped.Load(),
		Healed: q.healed.Load(), Failed: q.failed.Load(), Waiting: waiting, Later: later,
	}
}

// Close stops taking requests, cancels the heals in progress (their Heal
// gets a cancelled context) and waits for the workers. Waiting requests,
// and those queued for later, are dropped: reads will find their objects
// again.
func (q *Queue) Close() {
	q.mu.Lock()
	q.closed = true
	for _, l := range q.later {
		l.timer.Stop()
	}
	clear(q.later)
	q.mu.Unlock()
	q.cancel()
	q.wg.Wait()
}

// union returns a sorted list of the positions in a or b.
func union(a, b []int) []int {
	out := slices.Concat(a, b)
	slices.Sort(out)
	return slices.Compact(out)
}
