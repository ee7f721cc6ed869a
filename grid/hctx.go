package grid

import (
	"context"
	"sync"
	"time"
)

// handlerCtx is the context a handler runs under. It is cancelled when the
// caller cancels, when the connection is lost, or when the handler returns,
// and reports the caller's deadline.
//
// It is a small hand-written context rather than context.WithCancel plus
// WithDeadline because it is created for every request: it lives inside the
// per-request bookkeeping (one allocation for both), creates its Done channel
// only when a handler asks for it, and needs no timer, since the caller
// enforces the deadline and sends a cancel when it passes. It implements
// AfterFunc so contexts derived from it register directly instead of
// starting a goroutine each.
type handlerCtx struct {
	mu       sync.Mutex
	done     chan struct{}
	err      error
	afters   map[*afterFunc]struct{}
	deadline time.Time
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
	}
	return c.done
}

func (c *handlerCtx) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
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
