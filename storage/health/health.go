package health

import (
	"context"
	"fmt"
	"maps"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/gridstore/gridstore/storage"
)

// Defaults of Config.
const (
	DefaultCallTimeout       = 5 * time.Second
	DefaultStreamIdleTimeout = 10 * time.Second
	DefaultFaultyAfter       = 3
	DefaultMaxAbandoned      = 32
	DefaultProbeInterval     = time.Second
)

// The states of Status.State.
const (
	StateOK     = storage.HealthOK
	StateFaulty = storage.HealthFaulty
)

// Status is a drive's health: Drive.Health, and DiskInfo.Health.
type Status = storage.DriveHealth

// Config tunes a Drive. The zero value is the production setting.
type Config struct {
	// CallTimeout bounds each metadata call; 0 means DefaultCallTimeout.
	// A sooner deadline of the caller's context wins.
	CallTimeout time.Duration
	// StreamIdleTimeout is how long a streaming call (CreateFile,
	// ReadFileStream's reads, WalkDir) may go without progress; 0 means
	// DefaultStreamIdleTimeout. It must exceed the time the drive takes to
	// move one of its buffers (1 MiB for the local drive's writes, 256 KiB
	// for reads through this package) at the slowest rate that should still
	// count as working.
	StreamIdleTimeout time.Duration
	// FaultyAfter is how many timeouts in a row take the drive out of
	// service; 0 means DefaultFaultyAfter.
	FaultyAfter int
	// MaxAbandoned is how many abandoned goroutines may be stuck in the
	// drive at once; at that many the drive is faulty, so that a hung disk
	// costs a bounded number of goroutines and buffers. 0 means
	// DefaultMaxAbandoned.
	MaxAbandoned int
	// ProbeInterval is the time between probes of a faulty drive; 0 means
	// DefaultProbeInterval.
	ProbeInterval time.Duration
	// ProbeTimeout bounds one probe; 0 means CallTimeout.
	ProbeTimeout time.Duration
	// OnStateChange, if set, is called with false when the drive is taken
	// out of service and with true when a probe puts it back, in that
	// order, on a goroutine of the package's (never a caller's). It should
	// return quickly; Close waits for a call in progress.
	OnStateChange func(healthy bool)
}

func (c Config) withDefaults() Config {
	if c.CallTimeout <= 0 {
		c.CallTimeout = DefaultCallTimeout
	}
	if c.StreamIdleTimeout <= 0 {
		c.StreamIdleTimeout = DefaultStreamIdleTimeout
	}
	if c.FaultyAfter <= 0 {
		c.FaultyAfter = DefaultFaultyAfter
	}
	if c.MaxAbandoned <= 0 {
		c.MaxAbandoned = DefaultMaxAbandoned
	}
	if c.ProbeInterval <= 0 {
		c.ProbeInterval = DefaultProbeInterval
	}
	if c.ProbeTimeout <= 0 {
		c.ProbeTimeout = c.CallTimeout
	}
	return c
}

// epoch is a stretch of time in service. Its faulty channel is closed when
// the drive is taken out of service, which fails the calls admitted during
// the epoch that are still waiting; a probe that puts the drive back starts
// a new epoch.
type epoch struct {
	faulty chan struct{}
}

func (e *epoch) isFaulty() bool {
	select {
	case <-e.faulty:
		return true
	default:
		return false
	}
}

// Drive is a storage.Drive whose calls return on time. Use Wrap.
type Drive struct {
	inner    storage.Drive
	cfg      Config
	log      *zap.Logger
	endpoint string

	closed      atomic.Bool
	epoch       atomic.Pointer[epoch]
	abandoned   atomic.Int64 // goroutines given up on and still in the drive
	timeouts    atomic.Uint64
	consecutive atomic.Int64
	probing     atomic.Bool  // a probe's goroutine is running
	buffers     atomic.Int64 // stream buffers taken from the pool, not yet back

	mu       sync.Mutex
	since    time.Time        // of the last state change
	lastErr  string           // why it went faulty, or why the last probe failed
	lastInfo storage.DiskInfo // the last figures DiskInfo had
	stop     chan struct{}    // closed by Close: stops the probe loop
	monitors sync.WaitGroup   // the probe loop
}

var _ storage.Drive = (*Drive)(nil)

// Wrap returns inner with deadlines and health tracking. log may be nil.
// Wrap starts no goroutine: a probe loop runs only while the drive is
// faulty, and stops at Close.
func Wrap(inner storage.Drive, cfg Config, log *zap.Logger) *Drive {
	if log == nil {
		log = zap.NewNop()
	}
	d := &Drive{
		inner:    inner,
		cfg:      cfg.withDefaults(),
		endpoint: inner.Endpoint(),
		since:    time.Now(),
		stop:     make(chan struct{}),
	}
	d.log = log.With(zap.String("drive", d.endpoint))
	d.epoch.Store(&epoch{faulty: make(chan struct{})})
	return d
}

// Inner returns the wrapped drive.
func (d *Drive) Inner() storage.Drive { return d.inner }

// Health returns the drive's health now.
func (d *Drive) Health() Status {
	state := StateOK
	if d.epoch.Load().isFaulty() {
		state = StateFaulty
	}
	d.mu.Lock()
	since, lastErr := d.since, d.lastErr
	d.mu.Unlock()
	return Status{
		State:       state,
		Since:       since,
		Timeouts:    d.timeouts.Load(),
		Consecutive: int(d.consecutive.Load()),
		Abandoned:   int(d.abandoned.Load()),
		LastErr:     lastErr,
	}
}

// String returns the endpoint.
func (d *Drive) String() string { return d.endpoint }

// Endpoint returns the wrapped drive's endpoint.
func (d *Drive) Endpoint() string { return d.endpoint }

// Close stops the probe loop and closes the wrapped drive (within
// CallTimeout). Every later call fails with storage.ErrDriveOffline.
// Goroutines still stuck in the drive end when their system calls return.
func (d *Drive) Close() error {
	d.mu.Lock()
	if d.closed.Swap(true) {
		d.mu.Unlock()
		return nil
	}
	close(d.stop)
	d.mu.Unlock()
	d.monitors.Wait()
	bg := context.Background()
	_, err := runCall(d, bg, bg, nil, nil, "Close", d.cfg.CallTimeout, nil,
		func(context.Context) (struct{}, error) { return struct{}{}, d.inner.Close() })
	return err
}

// DiskInfo reports the wrapped drive's DiskInfo with Health filled in. A
// faulty drive is not asked: DiskInfo then answers from memory, with the
// last figures it had, Online false, and no error, so that the drive's state
// reaches admin info and metrics (even over the grid, which carries no
// figures with an error). A call that times out returns the same with
// the error.
func (d *Drive) DiskInfo(ctx context.Context) (storage.DiskInfo, error) {
	const op = "DiskInfo"
	ep, err := d.admit(ctx, op)
	if err != nil {
		if d.closed.Load() || ctx.Err() != nil {
			return storage.DiskInfo{}, err
		}
		return d.report(), nil
	}
	info, err := run(d, ctx, ep, op, d.cfg.CallTimeout, nil, d.inner.DiskInfo)
	if err != nil {
		if d.closed.Load() || ctx.Err() != nil {
			return storage.DiskInfo{}, err
		}
		return d.report(), err
	}
	last := info
	last.Latency = maps.Clone(info.Latency) // the caller may change its copy
	d.mu.Lock()
	d.lastInfo = last
	d.mu.Unlock()
	info.Health = d.Health()
	if info.Health.State != StateOK {
		// Taken out of service while the call ran.
		info.Online = false
	}
	return info, nil
}

// report is DiskInfo from memory.
func (d *Drive) report() storage.DiskInfo {
	d.mu.Lock()
	info := d.lastInfo
	d.mu.Unlock()
	info.Latency = maps.Clone(info.Latency)
	info.Endpoint, info.Online, info.Health = d.endpoint, false, d.Health()
	return info
}

// admit decides whether a call may go to the drive, and returns the epoch
// it goes in.
func (d *Drive) admit(ctx context.Context, op string) (*epoch, error) {
	if d.closed.Load() {
		return nil, fmt.Errorf("%s on %s: %w: closed", op, d.endpoint, storage.ErrDriveOffline)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("%s on %s: %w", op, d.endpoint, err)
	}
	ep := d.epoch.Load()
	if ep.isFaulty() {
		return nil, d.faultyErr(op)
	}
	if n := d.abandoned.Load(); n >= int64(d.cfg.MaxAbandoned) {
		d.markFaulty(fmt.Sprintf("%d abandoned calls still stuck in the drive", n))
		return nil, d.faultyErr(op)
	}
	return ep, nil
}

func (d *Drive) faultyErr(op string) error {
	return fmt.Errorf("%s on %s: %w", op, d.endpoint, storage.ErrDriveFaulty)
}

// answered notes a call that returned within its deadline.
func (d *Drive) answered() {
	if d.consecutive.Load() != 0 {
		d.consecutive.Store(0)
	}
}

// timedOut notes a call that did not return within its deadline.
func (d *Drive) timedOut(op string, bound time.Duration) {
	d.timeouts.Add(1)
	n := d.consecutive.Add(1)
	d.log.Warn("drive call timed out", zap.String("op", op), zap.Duration("deadline", bound),
		zap.Int64("in a row", n), zap.Int64("abandoned", d.abandoned.Load()))
	if n >= int64(d.cfg.FaultyAfter) {
		d.markFaulty(fmt.Sprintf("%d calls in a row timed out, the last %s after %v", n, op, bound))
	}
}

// markFaulty takes the drive out of service, fails the calls waiting on
// it, and starts the probe loop.
func (d *Drive) markFaulty(reason string) {
	d.mu.Lock()
	ep := d.epoch.Load()
	if d.closed.Load() || ep.isFaulty() {
		d.mu.Unlock()
		return
	}
	close(ep.faulty)
	d.since, d.lastErr = time.Now(), reason
	d.monitors.Add(1)
	go d.monitor()
	d.mu.Unlock()
	d.log.Warn("drive taken out of service", zap.String("reason", reason),
		zap.Uint64("timeouts", d.timeouts.Load()), zap.Int64("abandoned", d.abandoned.Load()))
}

// recover puts a faulty drive back in service, unless too many goroutines
// are still stuck in it (the next call would take it out again).
func (d *Drive) recover() (down time.Duration, ok bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed.Load() || !d.epoch.Load().isFaulty() {
		return 0, false
	}
	if n := d.abandoned.Load(); n >= int64(d.cfg.MaxAbandoned) {
		d.lastErr = fmt.Sprintf("probe passed, but %d abandoned calls are still stuck in the drive", n)
		return 0, false
	}
	d.consecutive.Store(0)
	d.epoch.Store(&epoch{faulty: make(chan struct{})})
	now := time.Now()
	down, d.since = now.Sub(d.since), now
	return down, true
}

// monitor is the probe loop of one faulty spell: it probes the drive every
// ProbeInterval until a probe passes or the drive is closed. The state
// change callbacks run here, so they come in order and never on a caller's
// goroutine.
func (d *Drive) monitor() {
	defer d.monitors.Done()
	d.notify(false)
	t := time.NewTicker(d.cfg.ProbeInterval)
	defer t.Stop()
	for {
		select {
		case <-d.stop:
			return
		case <-t.C:
		}
		if d.probing.Load() {
			continue // the last probe is still stuck in the drive
		}
		if err := d.probe(); err != nil {
			d.mu.Lock()
			d.lastErr = err.Error()
			d.mu.Unlock()
			d.log.Debug("drive probe failed", zap.Error(err))
			continue
		}
		if down, ok := d.recover(); ok {
			d.log.Info("drive back in service: probe passed", zap.Duration("out of service for", down))
			d.notify(true)
			return
		}
	}
}

func (d *Drive) notify(healthy bool) {
	if d.cfg.OnStateChange != nil {
		d.cfg.OnStateChange(healthy)
	}
}
