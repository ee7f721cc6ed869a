package scanner

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/gridstore/gridstore/node/object"
	"github.com/gridstore/gridstore/node/object/listing"
)

// Defaults of RebuildConfig.
const (
	DefaultRebuildWorkers = 8
	DefaultRebuildRetry   = time.Minute
)

// RebuildConfig configures the rebuild of one drive.
type RebuildConfig struct {
	// Layer holds the drive's set. Required.
	Layer *object.Layer
	// Set and Pos are where the drive is in the layout; Drive and
	// Endpoint name it in the status.
	Set, Pos int
	Drive    int
	Endpoint string
	// Store keeps the rebuild's cursor and counts, on the drive itself
	// (a drive wiped again starts over).
	Store Store
	// Workers heal this many objects of 1 MiB or more at once, or
	// eight times as many smaller ones; 0 means DefaultRebuildWorkers.
	Workers int
	// Busy reports whether the node is under client load: the rebuild
	// waits while it is. Nil: never.
	Busy func() bool
	// Done is called once a pass has put every object of the set on the
	// drive: it takes the drive's healing mark off. An error is retried
	// after Retry.
	Done func() error
	// Retry bounds how soon a pass that left objects unhealed (or failed)
	// is run again: after 2 s first, doubling up to Retry; 0 means
	// DefaultRebuildRetry.
	Retry     time.Duration
	SaveEvery time.Duration
	Logger    *zap.Logger
}

// Rebuild states in RebuildStatus.State.
const (
	RebuildCounting = "counting" // estimating the total
	RebuildRunning  = "running"
	RebuildWaiting  = "waiting" // for a retry of what failed
	RebuildDone     = "done"
)

// rebuildState is a rebuild as saved.
type rebuildState struct {
	Cursor                     object.WalkPosition
	Started                    time.Time
	Pass                       int
	ObjectsDone, BytesDone     uint64 // objects (and their bytes) checked this pass
	ObjectsHealed, BytesHealed uint64 // objects rebuilt on the drive, shard bytes written (every pass)
	Failed                     uint64 // objects not healed this pass
	TotalObjects, TotalBytes   uint64 // the estimate, counted at the pass's start
	LastError                  string
}

// RebuildStatus is a drive's rebuild as Status shows it.
type RebuildStatus struct {
	Drive    int
	Endpoint string
	Set, Pos int
	State    string
	// Pass counts the passes over the set (a pass that left failures is
	// followed by another).
	Pass    int
	Started time.Time
	// ObjectsDone and BytesDone are what this pass has checked (and healed
	// where missing) of TotalObjects and TotalBytes, the objects the set
	// held when it started (an estimate: writes go on).
	ObjectsDone, BytesDone   uint64
	TotalObjects, TotalBytes uint64
	// ObjectsHealed and BytesHealed (shard bytes written) are what was
	// rebuilt on the drive; Failed the objects this pass could not heal.
	ObjectsHealed, BytesHealed uint64
	Failed                     uint64
	LastError                  string `json:",omitempty"`
	// Bucket and Object are where the pass is.
	Bucket, Object string
	// Progress is BytesDone/TotalBytes (objects when the set holds no
	// bytes), 0..1; ETA the time left at the rate of this run.
	Progress float64
	ETA      time.Duration
}

// Rebuilder refills one drive marked healing: a walk of every bucket of
// its set that heals each object onto it, resumable, then clears the mark.
type Rebuilder struct {
	cfg    RebuildConfig
	log    *zap.Logger
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu         sync.Mutex
	st         rebuildState
	state      string
	runStart   time.Time // this process's start of the pass, for the rate
	runBytes   uint64    // BytesDone when it started
	runObjects uint64
	done       chan struct{}
}

// StartRebuild starts rebuilding a drive.
func StartRebuild(cfg RebuildConfig) (*Rebuilder, error) {
	if cfg.Layer == nil || cfg.Layer.Set(cfg.Set) == nil {
		return nil, fmt.Errorf("rebuild: %w: no set %d", object.ErrInvalidArgument, cfg.Set)
	}
	if cfg.Pos < 0 || cfg.Pos >= cfg.Layer.Set(cfg.Set).Drives() {
		return nil, fmt.Errorf("rebuild: %w: no position %d", object.ErrInvalidArgument, cfg.Pos)
	}
	if cfg.Workers <= 0 {
		cfg.Workers = DefaultRebuildWorkers
	}
	if cfg.Retry <= 0 {
		cfg.Retry = DefaultRebuildRetry
	}
	if cfg.SaveEvery <= 0 {
		cfg.SaveEvery = DefaultSaveEvery
	}
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	r := &Rebuilder{cfg: cfg, log: cfg.Logger.With(zap.Int("drive", cfg.Drive)), state: RebuildCounting, done: make(chan struct{})}
	switch err := cfg.Store.Load(&r.st); {
	case err == nil:
		r.log.Info("drive rebuild resumes", zap.String("bucket", r.st.Cursor.Bucket), zap.String("object", r.st.Cursor.Object),
			zap.Uint64("objects_done", r.st.ObjectsDone))
	case !errors.Is(err, ErrNoRecord):
		r.log.Warn("rebuild cursor not read: starting over", zap.Error(err))
	}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	r.wg.Go(r.run)
	return r, nil
}

// Close stops the rebuild (its cursor saved) and waits.
func (r *Rebuilder) Close() {
	r.cancel()
	r.wg.Wait()
}

// Done is closed once the drive is rebuilt and its mark cleared.
func (r *Rebuilder) Done() <-chan struct{} { return r.done }

// firstRetry is how soon a rebuild pass that left objects unhealed is
// first retried; the delay doubles up to Retry. Just after its node
// started, some of its peers may not be connected yet.
const firstRetry = 2 * time.Second

func (r *Rebuilder) run() {
	retry := min(firstRetry, r.cfg.Retry)
	for {
		err := r.pass()
		if err == nil {
			r.setState(RebuildDone)
			_ = r.cfg.Store.Remove()
			close(r.done)
			return
		}
		if r.ctx.Err() != nil {
			r.save()
			return
		}
		r.mu.Lock()
		if r.st.LastError == "" {
			r.st.LastError = err.Error()
		}
		r.mu.Unlock()
		r.save()
		r.setState(RebuildWaiting)
		r.log.Warn("drive rebuild pass incomplete: retrying", zap.Duration("in", retry), zap.Error(err))
		if sleepUntil(r.ctx, time.Now().Add(retry)) != nil {
			return
		}
		retry = min(2*retry, r.cfg.Retry)
		// The next pass starts from the beginning: what failed may be
		// anywhere.
		r.mu.Lock()
		r.st.Cursor, r.st.ObjectsDone, r.st.BytesDone, r.st.Failed, r.st.TotalObjects, r.st.TotalBytes = object.WalkPosition{}, 0, 0, 0, 0, 0
		r.st.LastError = ""
		r.mu.Unlock()
	}
}

func (r *Rebuilder) setState(s string) {
	r.mu.Lock()
	r.state = s
	r.mu.Unlock()
}

// errIncomplete: a pass ended with objects not healed onto the drive.
var errIncomplete = errors.New("objects not rebuilt on the drive")

// pass walks the set from the cursor and heals every object onto the
// drive; nil once every object is there and the mark is cleared.
func (r *Rebuilder) pass() error {
	ctx := r.ctx
	l := r.cfg.Layer
	set := l.Set(r.cfg.Set)
	buckets, err := l.ListBuckets(ctx)
	if err != nil {
		return fmt.Errorf("list buckets: %w", err)
	}
	names := make([]string, len(buckets))
	for i, b := range buckets {
		names[i] = b.Name
	}
	if n, err := set.EnsureBuckets(ctx, r.cfg.Pos, names); err != nil {
		return err
	} else if n > 0 {
		r.log.Info("buckets created on the drive being rebuilt", zap.Int("buckets", n))
	}

	r.mu.Lock()
	if r.st.Started.IsZero() {
		r.st.Started = time.Now().UTC()
	}
	if r.st.Cursor == (object.WalkPosition{}) {
		r.st.Pass++
	}
	counted := r.st.TotalObjects > 0
	r.mu.Unlock()
	if !counted {
		// The estimate: one listing of the set, metadata only.
		r.setState(RebuildCounting)
		var objs, bytes uint64
		if err := l.WalkSet(ctx, r.cfg.Set, object.WalkPosition{}, func(_ string, o listing.ObjectInfo) error {
			objs++
			bytes += uint64(max(o.Size, 0))
			return nil
		}); err != nil {
			return fmt.Errorf("count the set's objects: %w", err)
		}
		r.mu.Lock()
		r.st.TotalObjects, r.st.TotalBytes = objs, bytes
		r.mu.Unlock()
	}
	r.mu.Lock()
	r.state = RebuildRunning
	r.runStart, r.runBytes, r.runObjects = time.Now(), r.st.BytesDone, r.st.ObjectsDone
	from := r.st.Cursor
	r.mu.Unlock()

	// Objects are healed as the walk yields them, as many at once as the
	// window admits; the cursor moves past an object once it and every
	// earlier one are done, so a restart never skips an object.
	win := newHealWindow(r.cfg.Workers)
	publish := func() {
		if cur, moved := win.take(); moved {
			r.mu.Lock()
			r.st.Cursor = cur
			r.mu.Unlock()
		}
	}
	lastSave := time.Now()
	err = l.WalkSet(ctx, r.cfg.Set, from, func(bucket string, o listing.ObjectInfo) error {
		if _, err := whileBusy(ctx, r.cfg.Busy); err != nil {
			return err
		}
		slot := win.admit(object.WalkPosition{Bucket: bucket, Object: o.Name}, o.Size)
		go func() { win.finish(slot, r.heal(ctx, set, bucket, o)) }()
		publish()
		if time.Since(lastSave) >= r.cfg.SaveEvery {
			lastSave = time.Now()
			r.save()
		}
		return nil
	})
	win.wait()
	publish()
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		return fmt.Errorf("walk: %w", err)
	}
	r.mu.Lock()
	failed := r.st.Failed
	r.mu.Unlock()
	if failed > 0 {
		return fmt.Errorf("%w: %d", errIncomplete, failed)
	}
	if r.cfg.Done != nil {
		if err := r.cfg.Done(); err != nil {
			return fmt.Errorf("clear the healing mark: %w", err)
		}
	}
	r.mu.Lock()
	st := r.st
	r.mu.Unlock()
	r.log.Info("drive rebuilt: healing mark cleared", zap.Uint64("objects_healed", st.ObjectsHealed),
		zap.Uint64("shard_bytes", st.BytesHealed), zap.Duration("took", time.Since(st.Started)))
	return nil
}

// heal brings one object onto the drive. It reports false when ctx ended
// first: the object was not dealt with, and the cursor must not pass it.
func (r *Rebuilder) heal(ctx context.Context, set *object.Set, bucket string, o listing.ObjectInfo) bool {
	// Straight to the heal, without the scan that first checks whether
	// one is needed (ScanObject): on a drive being rebuilt nearly every
	// object needs one, and the heal reads every drive's record anyway,
	// under the object's lock.
	res, err := set.HealObject(ctx, bucket, o.Name, object.HealOptions{})
	if ctx.Err() != nil {
		return false
	}
	pos := r.cfg.Pos
	healed, failed := false, false
	switch {
	case slices.Contains(res.Healed, pos):
		healed = true
	case slices.Contains(res.Skipped, pos):
		failed = true
		err = fmt.Errorf("drive %d offline", pos)
	case slices.Contains(res.Targets, pos):
		failed = true // it lacked the object and did not get it
		switch {
		case res.Failed[pos] != nil:
			err = res.Failed[pos]
		case err == nil:
			err = fmt.Errorf("drive %d not healed", pos)
		}
	case err != nil && !errors.Is(err, object.ErrHealIncomplete):
		// Its state is not known. (An incomplete heal named its failed
		// targets, and this drive is not one: it holds the object.)
		failed = true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.st.ObjectsDone++
	r.st.BytesDone += uint64(max(o.Size, 0))
	if healed {
		r.st.ObjectsHealed++
		r.st.BytesHealed += uint64(ShardBytes(res.Size, res.DataBlocks))
	}
	if failed {
		r.st.Failed++
		if err != nil {
			r.st.LastError = fmt.Sprintf("%s/%s: %v", bucket, o.Name, err)
		}
		r.log.Info("rebuild: object not healed (the next pass retries it)", zap.String("bucket", bucket), zap.String("object", o.Name), zap.Error(err))
	}
	return true
}

func (r *Rebuilder) save() {
	r.mu.Lock()
	st := r.st
	r.mu.Unlock()
	if err := r.cfg.Store.Save(&st); err != nil {
		r.log.Warn("rebuild cursor not saved", zap.Error(err))
	}
}

// Status describes the rebuild.
func (r *Rebuilder) Status() RebuildStatus {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := r.st
	out := RebuildStatus{
		Drive: r.cfg.Drive, Endpoint: r.cfg.Endpoint, Set: r.cfg.Set, Pos: r.cfg.Pos, State: r.state,
		Pass: st.Pass, Started: st.Started,
		ObjectsDone: st.ObjectsDone, BytesDone: st.BytesDone, TotalObjects: st.TotalObjects, TotalBytes: st.TotalBytes,
		ObjectsHealed: st.ObjectsHealed, BytesHealed: st.BytesHealed, Failed: st.Failed, LastError: st.LastError,
		Bucket: st.Cursor.Bucket, Object: st.Cursor.Object,
	}
	switch {
	case r.state == RebuildDone:
		out.Progress = 1
	case st.TotalBytes > 0:
		out.Progress = min(float64(st.BytesDone)/float64(st.TotalBytes), 1)
	case st.TotalObjects > 0:
		out.Progress = min(float64(st.ObjectsDone)/float64(st.TotalObjects), 1)
	}
	if r.state == RebuildRunning {
		el := time.Since(r.runStart).Seconds()
		switch {
		case st.TotalBytes > 0 && st.BytesDone > r.runBytes && el > 0:
			rate := float64(st.BytesDone-r.runBytes) / el
			out.ETA = time.Duration(float64(st.TotalBytes-min(st.BytesDone, st.TotalBytes)) / rate * float64(time.Second))
		case st.TotalObjects > 0 && st.ObjectsDone > r.runObjects && el > 0:
			rate := float64(st.ObjectsDone-r.runObjects) / el
			out.ETA = time.Duration(float64(st.TotalObjects-min(st.ObjectsDone, st.TotalObjects)) / rate * float64(time.Second))
		}
	}
	return out
}
