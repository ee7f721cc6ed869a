package scanner

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/gridstore/gridstore/node/object"
	"github.com/gridstore/gridstore/node/object/listing"
)

// Defaults of Config.
const (
	DefaultRate        = 100      // objects a second
	DefaultBitrotRate  = 32 << 20 // object bytes a second verified
	DefaultBitrotEvery = 7        // passes: one in seven checks bitrot
	DefaultInterval    = 24 * time.Hour
	// DefaultSaveEvery is how often a pass in progress saves its cursor.
	DefaultSaveEvery = 10 * time.Second
	// retryAfter is how soon a set this node did not own is looked at
	// again, and the longest wait before a pass that failed (no read
	// quorum, say) is resumed: failRetry after the first failure,
	// doubling.
	retryAfter = time.Minute
	failRetry  = 2 * time.Second
)

// Config configures a Scanner.
type Config struct {
	// Layer holds the sets. Required.
	Layer *object.Layer
	// Owns reports whether this node scans set si now (one node per set:
	// see node/healing.go). Nil: every set.
	Owns func(si int) bool
	// Rate bounds the objects checked a second; 0 means DefaultRate.
	Rate float64
	// BitrotRate bounds the object bytes a second whose shards a bitrot
	// pass verifies (each drive reads its own shards); 0 means
	// DefaultBitrotRate, negative never checks bitrot.
	BitrotRate float64
	// BitrotEvery: one pass in this many checks bitrot, the others only
	// metadata; 0 means DefaultBitrotEvery.
	BitrotEvery int
	// Interval is the least time between the starts of two passes of a
	// set; 0 means DefaultInterval.
	Interval time.Duration
	// Busy reports whether the node is under client load: the scan waits
	// while it is. Nil: never.
	Busy func() bool
	// Store keeps the cursor (the sets' positions and pass times) on the
	// node's local drives, so that a restart resumes.
	Store Store
	// SaveEvery is how often a pass saves its cursor; 0 means
	// DefaultSaveEvery.
	SaveEvery time.Duration
	Logger    *zap.Logger
}

// setState is one set's scan, as saved.
type setState struct {
	// Passes completed.
	Passes uint64
	// InPass: a pass is in progress, at Cursor; Deep if it checks bitrot.
	InPass bool
	Deep   bool
	Cursor object.WalkPosition
	// PassStarted is when the pass in progress began; PassObjects and
	// PassBytes what it has checked so far.
	PassStarted            time.Time
	PassObjects, PassBytes uint64
	// The last completed pass.
	LastPassEnd                    time.Time
	LastPassTook                   time.Duration
	LastPassObjects, LastPassBytes uint64
	LastPassDeep                   bool
}

type savedState struct {
	Sets map[int]*setState
}

// SetStatus is one set's scan as Status shows it.
type SetStatus struct {
	Set int
	// Owned: this node scans the set (another node does otherwise).
	Owned bool
	// Scanning: a pass is in progress (maybe paused under load), at
	// Bucket/Object; Deep if it checks bitrot.
	Scanning       bool
	Deep           bool
	Bucket, Object string
	// Passes completed by this node.
	Passes                 uint64
	PassStarted            time.Time `json:",omitzero"`
	PassObjects, PassBytes uint64
	// LastPassEnd is when the last full pass ended (zero: none yet).
	LastPassEnd                    time.Time `json:",omitzero"`
	LastPassTook                   time.Duration
	LastPassObjects, LastPassBytes uint64
	LastPassDeep                   bool
	// NextPass is when the next pass is due, when none is in progress.
	NextPass time.Time `json:",omitzero"`
}

// Stats counts what a Scanner did since it started.
type Stats struct {
	// Scanned objects; Verified object bytes whose shards were checked.
	Scanned, Verified uint64
	// Healed objects and the shard bytes written for them; Failed heals.
	Healed, HealedBytes, Failed uint64
	// Paused is how long the scan waited for client load to fall.
	Paused time.Duration
}

// Scanner walks every set it owns, slowly, checking each object's
// metadata agreement (and, one pass in BitrotEvery, its shards' bitrot)
// and healing what disagrees. See the package documentation.
type Scanner struct {
	cfg    Config
	log    *zap.Logger
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	objects, bytes pacer

	mu    sync.Mutex
	state savedState
	owned map[int]bool

	scanned, verified, healed, healedBytes, failed atomic.Uint64
	paused                                         atomic.Int64
}

// Start starts a Scanner.
func Start(cfg Config) (*Scanner, error) {
	if cfg.Layer == nil {
		return nil, errors.New("scanner: no layer")
	}
	if cfg.Rate == 0 {
		cfg.Rate = DefaultRate
	}
	if cfg.Rate < 0 {
		return nil, fmt.Errorf("scanner: rate %v objects/s", cfg.Rate)
	}
	if cfg.BitrotRate == 0 {
		cfg.BitrotRate = DefaultBitrotRate
	}
	if cfg.BitrotEvery <= 0 {
		cfg.BitrotEvery = DefaultBitrotEvery
	}
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.SaveEvery <= 0 {
		cfg.SaveEvery = DefaultSaveEvery
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	s := &Scanner{cfg: cfg, log: cfg.Logger, owned: map[int]bool{}}
	s.objects.rate = cfg.Rate
	s.bytes.rate = max(cfg.BitrotRate, 0)
	if err := cfg.Store.Load(&s.state); err != nil && !errors.Is(err, ErrNoRecord) {
		s.log.Warn("scan cursor not read: scanning from the start", zap.Error(err))
	}
	if s.state.Sets == nil {
		s.state.Sets = map[int]*setState{}
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.wg.Go(s.run)
	return s, nil
}

// Close stops the scan, saves the cursor and waits.
func (s *Scanner) Close() {
	s.cancel()
	s.wg.Wait()
}

func (s *Scanner) owns(si int) bool {
	return s.cfg.Owns == nil || s.cfg.Owns(si)
}

func (s *Scanner) run() {
	defer s.save()
	failures := map[int]int{} // consecutive failed passes, by set
	for {
		due := time.Now().Add(retryAfter)
		for si := range s.cfg.Layer.Layout().Sets {
			if s.ctx.Err() != nil {
				return
			}
			owned := s.owns(si)
			s.mu.Lock()
			s.owned[si] = owned
			st := s.setState(si)
			at := st.LastPassEnd.Add(-st.LastPassTook).Add(s.cfg.Interval)
			s.mu.Unlock()
			if !owned {
				continue
			}
			if !st.InPass && time.Now().Before(at) {
				due = earlier(due, at)
				continue
			}
			err := s.pass(si)
			switch {
			case s.ctx.Err() != nil:
				return
			case err == nil:
				// The next pass is due Interval after this one started,
				// maybe before the others' turn.
				delete(failures, si)
				s.mu.Lock()
				due = earlier(due, st.LastPassEnd.Add(-st.LastPassTook).Add(s.cfg.Interval))
				s.mu.Unlock()
			case !errors.Is(err, errNotOwner):
				failures[si]++
				wait := min(retryAfter, failRetry<<min(failures[si]-1, 10))
				due = earlier(due, time.Now().Add(wait))
				s.log.Warn("scan pass stopped: it resumes where it stopped", zap.Int("set", si),
					zap.Duration("retry_in", wait), zap.Error(err))
			}
		}
		if sleepUntil(s.ctx, due) != nil {
			return
		}
	}
}

func earlier(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// setState returns set si's state, created if new; s.mu held.
func (s *Scanner) setState(si int) *setState {
	st := s.state.Sets[si]
	if st == nil {
		st = &setState{}
		s.state.Sets[si] = st
	}
	return st
}

var errNotOwner = errors.New("scanner: set no longer owned")

// pass runs (or resumes) a pass of set si to its end.
func (s *Scanner) pass(si int) error {
	set := s.cfg.Layer.Set(si)
	s.mu.Lock()
	st := s.setState(si)
	if !st.InPass {
		*st = setState{
			Passes: st.Passes, InPass: true, PassStarted: time.Now().UTC(),
			Deep:        s.cfg.BitrotRate > 0 && (st.Passes+1)%uint64(s.cfg.BitrotEvery) == 0,
			LastPassEnd: st.LastPassEnd, LastPassTook: st.LastPassTook,
			LastPassObjects: st.LastPassObjects, LastPassBytes: st.LastPassBytes, LastPassDeep: st.LastPassDeep,
		}
		s.log.Info("scan pass started", zap.Int("set", si), zap.Bool("bitrot", st.Deep), zap.Uint64("pass", st.Passes+1))
	}
	from, deep := st.Cursor, st.Deep
	s.mu.Unlock()
	lastSave := time.Now()
	// This run's heal failures, summed up in the pass's last log line
	// (each is logged at debug level only: a node down fails them all).
	var failed int
	var lastFailure error
	err := s.cfg.Layer.WalkSet(s.ctx, si, from, func(bucket string, o listing.ObjectInfo) error {
		if !s.owns(si) {
			return errNotOwner
		}
		waited, err := whileBusy(s.ctx, s.cfg.Busy)
		s.paused.Add(int64(waited))
		if err != nil {
			return err
		}
		if err := s.objects.wait(s.ctx, 1); err != nil {
			return err
		}
		if deep {
			if err := s.bytes.wait(s.ctx, float64(o.Size)); err != nil {
				return err
			}
		}
		res, err := set.ScanObject(s.ctx, bucket, o.Name, deep)
		if s.ctx.Err() != nil {
			return s.ctx.Err()
		}
		s.scanned.Add(1)
		if res.Verified {
			s.verified.Add(uint64(res.Size))
		}
		switch {
		case res.Heal != nil && err == nil:
			s.healed.Add(1)
			s.healedBytes.Add(uint64(HealedBytes(*res.Heal)))
		case err != nil:
			s.failed.Add(1)
			failed++
			lastFailure = fmt.Errorf("%s/%s: %w", bucket, o.Name, err)
			s.log.Debug("scan: heal failed", zap.String("bucket", bucket), zap.String("object", o.Name), zap.Error(err))
		}
		s.mu.Lock()
		st.Cursor = object.WalkPosition{Bucket: bucket, Object: o.Name}
		st.PassObjects++
		st.PassBytes += uint64(max(o.Size, 0))
		s.mu.Unlock()
		if time.Since(lastSave) >= s.cfg.SaveEvery {
			lastSave = time.Now()
			s.save()
		}
		return nil
	})
	if failed > 0 {
		s.log.Info("scan: objects found damaged and not healed (the next pass tries again)", zap.Int("set", si),
			zap.Int("objects", failed), zap.NamedError("last", lastFailure))
	}
	if err != nil {
		s.save()
		return err
	}
	s.mu.Lock()
	now := time.Now().UTC()
	*st = setState{
		Passes: st.Passes + 1, LastPassEnd: now, LastPassTook: now.Sub(st.PassStarted),
		LastPassObjects: st.PassObjects, LastPassBytes: st.PassBytes, LastPassDeep: st.Deep,
	}
	done := *st
	s.mu.Unlock()
	s.save()
	s.log.Info("scan pass done", zap.Int("set", si), zap.Bool("bitrot", done.LastPassDeep),
		zap.Uint64("objects", done.LastPassObjects), zap.Uint64("bytes", done.LastPassBytes), zap.Duration("took", done.LastPassTook))
	return nil
}

func (s *Scanner) save() {
	s.mu.Lock()
	snap := savedState{Sets: map[int]*setState{}}
	for si, st := range s.state.Sets {
		c := *st
		snap.Sets[si] = &c
	}
	s.mu.Unlock()
	if err := s.cfg.Store.Save(&snap); err != nil {
		s.log.Warn("scan cursor not saved", zap.Error(err))
	}
}

// Status returns every set's scan, in set order.
func (s *Scanner) Status() []SetStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []SetStatus
	for si := range s.cfg.Layer.Layout().Sets {
		st := s.state.Sets[si]
		if st == nil {
			st = &setState{}
		}
		ss := SetStatus{
			Set: si, Owned: s.owned[si], Scanning: st.InPass, Deep: st.Deep,
			Bucket: st.Cursor.Bucket, Object: st.Cursor.Object, Passes: st.Passes,
			PassObjects: st.PassObjects, PassBytes: st.PassBytes,
			LastPassEnd: st.LastPassEnd, LastPassTook: st.LastPassTook,
			LastPassObjects: st.LastPassObjects, LastPassBytes: st.LastPassBytes, LastPassDeep: st.LastPassDeep,
		}
		if st.InPass {
			ss.PassStarted = st.PassStarted
		} else if ss.Owned {
			ss.NextPass = st.LastPassEnd.Add(-st.LastPassTook).Add(s.cfg.Interval)
		}
		out = append(out, ss)
	}
	return out
}

// Stats returns the scanner's counters.
func (s *Scanner) Stats() Stats {
	return Stats{
		Scanned: s.scanned.Load(), Verified: s.verified.Load(),
		Healed: s.healed.Load(), HealedBytes: s.healedBytes.Load(), Failed: s.failed.Load(),
		Paused: time.Duration(s.paused.Load()),
	}
}

// HealedBytes is the shard bytes a heal wrote: each healed drive got one
// shard of every block of the object.
func HealedBytes(r object.HealResult) int64 {
	return int64(len(r.Healed)) * ShardBytes(r.Size, r.DataBlocks)
}

// ShardBytes is one drive's share of an object of size bytes over data
// data shards (bitrot checksums aside).
func ShardBytes(size int64, data int) int64 {
	if data <= 0 || size <= 0 {
		return 0
	}
	return (size + int64(data) - 1) / int64(data)
}
