package object

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"
)

// A Trace notes where one request spent its time in the object layer: the
// waits that can take seconds (a lock, a fan-out to the drives, a block of
// a GET) and the drives a fan-out gave up on. The front end attaches one
// to each request's context (WithTrace) and logs it when the request was
// slow: an operator, or a chaos test, learns what a 10 s request waited
// for without a debugger. Steps quicker than TraceMinStep are not kept, so
// a healthy request costs a few clock reads. Safe for concurrent use; a
// nil *Trace does nothing.
type Trace struct {
	start time.Time
	mu    sync.Mutex
	steps []traceStep
	// dropped counts the steps past maxTraceSteps.
	dropped int
}

type traceStep struct {
	name     string
	at, took time.Duration // since the trace began
	detail   string
}

// TraceMinStep is the shortest step a Trace keeps.
const TraceMinStep = 100 * time.Millisecond

// maxTraceSteps bounds a trace's memory: a GET of a large object may have
// many slow blocks.
const maxTraceSteps = 16

// NewTrace starts a trace of a request that began at start.
func NewTrace(start time.Time) *Trace { return &Trace{start: start} }

type traceKey struct{}

// WithTrace returns ctx carrying t.
func WithTrace(ctx context.Context, t *Trace) context.Context {
	return context.WithValue(ctx, traceKey{}, t)
}

// traceOf returns the trace ctx carries, or nil.
func traceOf(ctx context.Context) *Trace {
	t, _ := ctx.Value(traceKey{}).(*Trace)
	return t
}

// step notes that name began at began and ended now, if it took at least
// TraceMinStep. detail, if not empty, says more (the drives it waited on).
func (t *Trace) step(name string, began time.Time, detail string) {
	if t == nil {
		return
	}
	took := time.Since(began)
	if took < TraceMinStep {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.steps) >= maxTraceSteps {
		t.dropped++
		return
	}
	t.steps = append(t.steps, traceStep{name: name, at: began.Sub(t.start), took: took, detail: detail})
}

// traceStepOf notes a step of the request ctx carries (see Trace.step).
func traceStepOf(ctx context.Context, name string, began time.Time) {
	traceOf(ctx).step(name, began, "")
}

// String lists the steps kept, in the order they ended: "lock at 0s took
// 4.2s; commit at 4.3s took 1.1s (timed out: 3, 5)". "" when none was slow.
func (t *Trace) String() string {
	if t == nil {
		return ""
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	var b strings.Builder
	for i, s := range t.steps {
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%s at %s took %s", s.name, traceRound(s.at), traceRound(s.took))
		if s.detail != "" {
			fmt.Fprintf(&b, " (%s)", s.detail)
		}
	}
	if t.dropped > 0 {
		fmt.Fprintf(&b, "; %d more", t.dropped)
	}
	return b.String()
}

// traceRound rounds a trace's times to what a reader needs: milliseconds,
// or tens of them past a second.
func traceRound(d time.Duration) time.Duration {
	if d > time.Second {
		return d.Round(10 * time.Millisecond)
	}
	return d.Round(time.Millisecond)
}
