package grid

import (
	"context"
	"sync"
	"time"
)

// handlerCtx is the context a handler runs under. It is cancelled when the
// caller cancels, when the connection is lost, or when the handler returns,
// and it ends with DeadlineExceeded when the caller's deadline passes.
//
// It is a small hand-written context rather than context.WithCancel plus
// WithDeadline because it is created for every request: it lives inside the
// per-request bookkeeping (one allocation for both), and creates its Done
// channel and its deadline timer only when somebody waits on it (Done or
// AfterFunc; Err compares with the clock), so a handler that never waits
// costs neither. The caller also sends a cancel when its deadline passes,
// marked as such, but the timer does not depend on that message arriving.
// It implements AfterFunc so contexts derived from it register directly
// instead of starting a goroutine each.
type handlerCtx struct {
	mu       sync.Mutex
	done     chan struct{}
	err      error
	afters   map[*afterFunc]struct{}
	deadline time.Time
	timer    *time.Timer // started by the first wait; stopped by cancel
	caller   string
	subroute string
}

type afterFunc struct{ f func() }

var closedDone = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

func (c *handlerCtx) Deadline() (time.Time, bool) { return c.deadline, !c.deadline.IsZero() }

func (c *handlerCtx) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done == nil {
		if c.err != nil {
			return closedDone
		}
		c.done = make(chan struct{})
		c.watchDeadlineLocked()
	}
	return c.done
}

// watchDeadlineLocked starts the deadline timer, once, for a context that
// somebody waits on.
func (c *handlerCtx) watchDeadlineLocked() {
	if c.timer != nil || c.deadline.IsZero() || c.err != nil {
		return
	}
	c.timer = time.AfterFunc(time.Until(c.deadline), func() { c.cancel(context.DeadlineExceeded) })
}

func (c *handlerCtx) Err() error {
	c.mu.Lock()
	err := c.err
	expired := err == nil && !c.deadline.IsZero() && !time.Now().Before(c.deadline)
	c.mu.Unlock()
	if expired {
		c.cancel(context.DeadlineExceeded)
		return c.Err()
	}
	return err
}

type callerKey struct{}
type subrouteKey struct{}

func (c *handlerCtx) Value(key any) any {
	switch key.(type) {
	case callerKey:
		return c.caller
	case subrouteKey:
		return c.subroute
	}
	return nil
}

// AfterFunc is what context.AfterFunc and derived contexts use to hear about
// cancellation without a goroutine of their own.
func (c *handlerCtx) AfterFunc(f func()) (stop func() bool) {
	a := &afterFunc{f: f}
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		go f()
		return func() bool { return false }
	}
	if c.afters == nil {
		c.afters = map[*afterFunc]struct{}{}
	}
	c.afters[a] = struct{}{}
	c.watchDeadlineLocked()
	c.mu.Unlock()
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		if _, ok := c.afters[a]; !ok {
			return false
		}
		delete(c.afters, a)
		return true
	}
}

func (c *handlerCtx) cancel(err error) {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return
	}
	c.err = err
	if c.timer != nil {
		c.timer.Stop()
	}
	if c.done != nil {
		close(c.done)
	}
	afters := c.afters
	c.afters = nil
	c.mu.Unlock()
	for a := range afters {
		go a.f()
	}
}

func (c *handlerCtx) String() string { return "grid.handlerCtx(" + c.caller + ")" }

// CallerFromContext returns the grid address of the peer whose call a handler
// is serving.
func CallerFromContext(ctx context.Context) string {
	s, _ := ctx.Value(callerKey{}).(string)
	return s
}

// SubrouteFromContext returns the subroute a handler was called on.
func SubrouteFromContext(ctx context.Context) string {
	s, _ := ctx.Value(subrouteKey{}).(string)
	return s
}
