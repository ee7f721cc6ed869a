package object

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gridstore/gridstore/storage"
)

// fanOut calls fn on every non-nil drive of drives (set positions; nil
// positions get errNotAsked) at once, each call under its own deadline of
// timeout, and returns what each call returned, in position order.
//
// It returns when every call has returned, or timeout (plus a little
// slack) after the start, whichever comes first: a call that ignores its
// context is abandoned with errDriveTimeout and finishes on its own. If
// settled is set, it is asked after every answer whether those so far
// (vals and errs where answered is set; pending counts the rest) decide
// the outcome; from then on fanOut waits at most grace for the others.
// settled runs on the caller's goroutine. Calls still running
// when fanOut returns are cancelled and reported as errDriveTimeout.
func fanOut[T any](ctx context.Context, drives []storage.Drive, timeout time.Duration,
	fn func(ctx context.Context, pos int, d storage.Drive) (T, error),
	settled func(vals []T, errs []error, answered []bool, pending int) bool, grace time.Duration,
) ([]T, []error) {
	return fanOutWith(ctx, drives, fanOpts[T]{timeout: timeout, settled: settled, grace: grace}, fn)
}

// fanOutWrite is fanOut for the steps of a write (shard commits, deletes,
// cleanups): it returns once quorum calls have succeeded (ok decides what
// counts; nil means a nil error) and grace more has passed, or once quorum
// can no longer be reached, so one slow or paused drive does not hold up
// the answer. The calls it stops waiting for are not cancelled: they run
// to the end of their own timeout and report errStraggler, and the caller
// queues the object for healing on those drives, as for any drive that
// missed the write. A quorum of 0 waits grace for everything.
func fanOutWrite[T any](ctx context.Context, drives []storage.Drive, timeout time.Duration, quorum int, grace time.Duration,
	ok func(error) bool, fn func(ctx context.Context, pos int, d storage.Drive) (T, error),
) ([]T, []error) {
	if ok == nil {
		ok = func(err error) bool { return err == nil }
	}
	return fanOutWith(ctx, drives, fanOpts[T]{timeout: timeout, grace: grace, detach: true, waitFirst: quorum <= 0,
		settled: func(_ []T, errs []error, answered []bool, pending int) bool {
			good := 0
			for pos, err := range errs {
				if answered[pos] && ok(err) {
					good++
				}
			}
			return good >= quorum || good+pending < quorum
		}}, fn)
}

// fanOpts are fanOutWith's choices; see fanOut and fanOutWrite.
type fanOpts[T any] struct {
	timeout time.Duration
	settled func(vals []T, errs []error, answered []bool, pending int) bool
	grace   time.Duration
	// detach leaves the calls fanOutWith stops waiting for running, under
	// their own timeout, instead of cancelling them.
	detach bool
	// waitFirst starts the grace period at once, before any answer.
	waitFirst bool
	// later marks positions called only when the others cannot settle
	// the outcome alone (settled is required): once every call started
	// has answered without settling it, or hedge after the start,
	// whichever comes first. settled counts them as pending until then;
	// those never called report errNotNeeded.
	later []bool
	hedge time.Duration
}

// liveRecheck is how often a fan-out waiting on drives that can report
// their own availability asks whether one has been declared down.
const liveRecheck = 50 * time.Millisecond

func fanOutWith[T any](ctx context.Context, drives []storage.Drive, o fanOpts[T],
	fn func(ctx context.Context, pos int, d storage.Drive) (T, error),
) ([]T, []error) {
	type answer struct {
		pos int
		v   T
		err error
	}
	vals := make([]T, len(drives))
	errs := make([]error, len(drives))
	answered := make([]bool, len(drives))
	began := time.Now()
	var tr *Trace
	var took []time.Duration // each answer's time, for the trace
	var tookBuf [16]time.Duration
	if tr = traceOf(ctx); tr != nil {
		took = tookBuf[:0]
		if len(drives) > len(tookBuf) {
			took = make([]time.Duration, 0, len(drives))
		}
		took = took[:len(drives)]
		defer func() {
			if time.Since(began) >= TraceMinStep { // the strings only for a step kept
				tr.step(fmt.Sprintf("fan-out to %d drives", len(drives)), began, fanOutDetail(drives, errs, took))
			}
		}()
	}
	parent, cancel := context.WithCancel(ctx)
	defer cancel() // stops the calls we no longer wait for, unless detached
	if o.detach {
		parent = context.WithoutCancel(ctx)
	}
	ch := make(chan answer, len(drives)) // late answers never block
	// pending counts the calls started and not answered, deferred the
	// positions of o.later not called yet.
	pending, deferred := 0, 0
	watched := false // some call went to a drive that can report itself down
	call := func(pos int, d storage.Drive) {
		if storage.KnownDown(d) {
			errs[pos], answered[pos] = fmt.Errorf("%w (%s)", errKnownOffline, d), true
			return
		}
		pending++
		if _, ok := d.(storage.Availability); ok {
			watched = true
		}
		go func() {
			dctx, dcancel := context.WithTimeout(parent, o.timeout)
			defer dcancel()
			v, err := fn(dctx, pos, d)
			if err != nil && errors.Is(dctx.Err(), context.DeadlineExceeded) && ctx.Err() == nil {
				err = fmt.Errorf("%w: %w", errDriveTimeout, err)
			}
			ch <- answer{pos, v, err}
		}()
	}
	for pos, d := range drives {
		switch {
		case d == nil:
			errs[pos], answered[pos] = errNotAsked, true
		case o.later != nil && o.later[pos] && o.settled != nil:
			deferred++
		default:
			call(pos, d)
		}
	}
	var hedgeC <-chan time.Time
	callLater := func() {
		for pos, d := range drives {
			if deferred > 0 && d != nil && o.later[pos] && !answered[pos] {
				deferred--
				call(pos, d)
			}
		}
		hedgeC = nil
	}
	if deferred > 0 {
		if pending == 0 || o.settled == nil {
			callLater()
		} else {
			hedgeT := time.NewTimer(o.hedge)
			defer hedgeT.Stop()
			hedgeC = hedgeT.C
		}
	}
	// The slack lets calls that honour their deadline report it themselves.
	hard := time.NewTimer(o.timeout + o.timeout/10 + 10*time.Millisecond)
	defer hard.Stop()
	var graceC <-chan time.Time
	var graceT *time.Timer
	if o.waitFirst && pending > 0 {
		graceT = time.NewTimer(o.grace)
		graceC = graceT.C
	}
	// A paused node's drives are declared down by the liveness view a
	// second or so into its silence, often while a fan-out waits on them:
	// from then on they are not waited for, as if they had been known down
	// at the start. Without this a fan-out whose outcome needs more than
	// the answers of the live drives (a version read on which the drives
	// disagree) waits for the whole timeout.
	var recheck <-chan time.Time
	if watched {
		t := time.NewTicker(liveRecheck)
		defer t.Stop()
		recheck = t.C
	}
	onAnswer := func() {
		if graceC == nil && o.settled != nil && pending+deferred > 0 && o.settled(vals, errs, answered, pending+deferred) {
			graceT = time.NewTimer(o.grace)
			graceC = graceT.C
		}
		if deferred > 0 && pending == 0 && graceC == nil {
			callLater() // what answered does not settle it
		}
	}
	for pending > 0 {
		select {
		case <-hedgeC:
			if graceC == nil {
				callLater()
			}
			continue
		case a := <-ch:
			if answered[a.pos] {
				continue // given up on when its drive was declared down
			}
			vals[a.pos], errs[a.pos], answered[a.pos] = a.v, a.err, true
			if took != nil {
				took[a.pos] = time.Since(began)
			}
			pending--
			onAnswer()
			continue
		case <-recheck:
			for pos, d := range drives {
				if answered[pos] || d == nil || !storage.KnownDown(d) {
					continue
				}
				// Its call still runs (cancelled on return unless
				// detached, when it is a straggler like any other).
				errs[pos], answered[pos] = fmt.Errorf("%w (%s)", errKnownOffline, d), true
				if o.detach {
					errs[pos] = fmt.Errorf("%w (%s)", errStraggler, d)
				}
				pending--
				onAnswer()
			}
			continue
		case <-hard.C:
		case <-graceC:
		}
		break
	}
	if graceT != nil {
		graceT.Stop()
	}
	for pos := range drives {
		if !answered[pos] {
			if deferred > 0 && o.later[pos] {
				// callLater starts them all at once: none was.
				errs[pos] = errNotNeeded
				continue
			}
			if o.detach {
				errs[pos] = fmt.Errorf("%w (%s)", errStraggler, drives[pos])
			} else {
				errs[pos] = fmt.Errorf("%w (%s)", errDriveTimeout, drives[pos])
			}
		}
	}
	return vals, errs
}

// fanOutDetail says, for a slow fan-out's trace, which drives it stopped
// waiting for and which answered last.
func fanOutDetail(drives []storage.Drive, errs []error, took []time.Duration) string {
	var cut []string
	slowest := -1
	for pos, err := range errs {
		switch {
		case errors.Is(err, errDriveTimeout), errors.Is(err, errKnownOffline):
			cut = append(cut, fmt.Sprintf("%s: %v", drives[pos], errorKind(err)))
		case took[pos] > 0 && (slowest < 0 || took[pos] > took[slowest]):
			slowest = pos
		}
	}
	var b strings.Builder
	if len(cut) > 0 {
		fmt.Fprintf(&b, "not waited for: %s", strings.Join(cut, ", "))
	}
	if slowest >= 0 {
		if b.Len() > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "last answer: %s after %s", drives[slowest], traceRound(took[slowest]))
	}
	return b.String()
}

// errorKind names why a fan-out stopped waiting for a drive.
func errorKind(err error) string {
	switch {
	case errors.Is(err, errStraggler):
		return "straggler"
	case errors.Is(err, errKnownOffline):
		return "known offline"
	}
	return "timed out"
}
