package health

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/gridstore/gridstore/storage"
)

// The life of a call: running until its goroutine returns (finished) or
// the caller gives up on it (abandoned); an abandoned call whose goroutine
// has returned at last is late. Exactly one of the two sides wins the
// running state, with a compare-and-swap: the goroutine that wins hands its
// result over, the caller that wins walks away and the goroutine, when it
// returns, releases the result itself.
const (
	stRunning int32 = iota
	stFinished
	stAbandoned
	stLate
)

// why a call is abandoned.
type why int

const (
	whyTimeout  why = iota + 1 // its own deadline passed: counts against the drive
	whyDeadline                // the caller's deadline came first: counts only if it runs on
	whyFaulty                  // the drive was taken out of service meanwhile
	whyProbe                   // a probe that timed out, or was stopped by Close
)

// errAbandoned is the cause of the wrapped drive's context being cancelled
// when the caller walked away, and what the gates (gate.go) answer the
// wrapped drive once the call is over. Callers never see it.
var errAbandoned = errors.New("health: call abandoned")

// call is one call of the wrapped drive in flight on its own goroutine.
type call struct {
	op    string
	bound time.Duration
	start time.Time
	state atomic.Int32
	// late counts a call abandoned at the caller's deadline as timed out
	// if it is still running a whole deadline later. Set before the
	// abandoning compare-and-swap, read by the goroutine only after it
	// has lost it.
	late *time.Timer
}

func (d *Drive) newCall(op string, bound time.Duration) *call {
	return &call{op: op, bound: bound, start: time.Now()}
}

// finish is the goroutine's side: true if the caller still waits for the
// result.
func (c *call) finish() bool { return c.state.CompareAndSwap(stRunning, stFinished) }

// abandon is the caller's side: it gives up on c, unless c has just
// finished (false: take its result).
func (d *Drive) abandon(c *call, w why) bool {
	// Counted before the swap, so that a late return never takes the
	// count below what it should be.
	d.abandoned.Add(1)
	if w == whyDeadline {
		c.late = time.AfterFunc(c.bound, func() {
			if c.state.Load() == stAbandoned {
				d.timedOut(c.op+" (given up at the caller's deadline, still running)", c.bound)
			}
		})
	}
	if !c.state.CompareAndSwap(stRunning, stAbandoned) {
		d.abandoned.Add(-1)
		if c.late != nil {
			c.late.Stop()
		}
		return false
	}
	if w == whyTimeout {
		d.timedOut(c.op, c.bound)
	}
	return true
}

// lateReturn is called by an abandoned call's goroutine when it returns at
// last, after releasing what the call produced.
func (d *Drive) lateReturn(c *call, err error) {
	c.state.Store(stLate)
	if c.late != nil {
		c.late.Stop()
	}
	n := d.abandoned.Add(-1)
	d.log.Info("abandoned drive call returned", zap.String("op", c.op), zap.Duration("after", time.Since(c.start)),
		zap.Int64("still abandoned", n), zap.Error(err))
}

// abandonErr is the error of a call given up on for w.
func (d *Drive) abandonErr(ctx context.Context, op string, bound time.Duration, w why, what string) error {
	switch w {
	case whyTimeout:
		if err := ctx.Err(); err != nil {
			// Cancelled, and the drive did not finish within its deadline.
			return fmt.Errorf("%s on %s: %w: %s within %v (%w)", op, d.endpoint, storage.ErrDriveTimeout, what, bound, err)
		}
		return fmt.Errorf("%s on %s: %w: %s within %v", op, d.endpoint, storage.ErrDriveTimeout, what, bound)
	case whyDeadline:
		return fmt.Errorf("%s on %s: given up at the caller's deadline: %w", op, d.endpoint, ctx.Err())
	default:
		return fmt.Errorf("%s on %s: given up: %w", op, d.endpoint, storage.ErrDriveFaulty)
	}
}

// deadlineOnly reports whether ctx ended by its deadline rather than by
// cancellation: the caller wants an answer by then, whatever the drive is
// doing. A cancelled caller gets the drive's own answer, within the call's
// deadline, so that it learns what the drive did.
func deadlineOnly(ctx context.Context) bool {
	return errors.Is(ctx.Err(), context.DeadlineExceeded)
}

type result[T any] struct {
	v   T
	err error
}

// run calls fn with a context of its own (derived from ctx, cancelled when
// run returns) on a goroutine of its own, and waits for it within bound.
func run[T any](d *Drive, ctx context.Context, ep *epoch, op string, bound time.Duration,
	release func(T), fn func(context.Context) (T, error),
) (T, error) {
	inner, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	return runCall(d, ctx, inner, cancel, ep, op, bound, release, fn)
}

// runCall runs fn(inner) on a goroutine of its own and waits for its result
// until bound passes, ctx's deadline passes, or the drive is taken out of
// service (ep's epoch ends; nil: never). It then returns an error and walks
// away; the goroutine passes what fn returns to release (if not nil) when
// it finally returns. cancel (if not nil) cancels inner with the cause.
// fn must not touch memory the caller owns after the call is over.
func runCall[T any](d *Drive, ctx, inner context.Context, cancel context.CancelCauseFunc, ep *epoch,
	op string, bound time.Duration, release func(T), fn func(context.Context) (T, error),
) (T, error) {
	c := d.newCall(op, bound)
	ch := make(chan result[T], 1)
	go func() {
		v, err := fn(inner)
		if c.finish() {
			ch <- result[T]{v, err}
			return
		}
		if release != nil {
			release(v)
		}
		d.lateReturn(c, err)
	}()
	t := time.NewTimer(bound)
	defer t.Stop()
	done := ctx.Done()
	var faulty <-chan struct{}
	if ep != nil {
		faulty = ep.faulty
	}
	for {
		var w why
		select {
		case r := <-ch:
			d.answered()
			return r.v, r.err
		case <-t.C:
			w = whyTimeout
		case <-done:
			if !deadlineOnly(ctx) {
				done = nil // inner is cancelled with ctx; wait for its answer
				continue
			}
			w = whyDeadline
		case <-faulty:
			w = whyFaulty
		}
		if !d.abandon(c, w) {
			r := <-ch
			d.answered()
			return r.v, r.err
		}
		if cancel != nil {
			cancel(errAbandoned)
		}
		var zero T
		return zero, d.abandonErr(ctx, op, bound, w, "no answer")
	}
}
