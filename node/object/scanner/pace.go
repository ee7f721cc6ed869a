package scanner

import (
	"context"
	"sync"
	"time"
)

// pacer spaces work out to at most rate units a second: each wait takes
// cost units and returns when the work may start. It lets a burst of one
// second's worth through after an idle spell, no more.
type pacer struct {
	mu   sync.Mutex
	rate float64 // units a second; <= 0: unpaced
	next time.Time
}

func (p *pacer) wait(ctx context.Context, cost float64) error {
	if p.rate <= 0 || cost <= 0 {
		return ctx.Err()
	}
	p.mu.Lock()
	now := time.Now()
	if floor := now.Add(-time.Second); p.next.Before(floor) {
		p.next = floor
	}
	at := p.next
	p.next = p.next.Add(time.Duration(cost / p.rate * float64(time.Second)))
	p.mu.Unlock()
	return sleepUntil(ctx, at)
}

func sleepUntil(ctx context.Context, at time.Time) error {
	d := time.Until(at)
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// busyPoll is how often a paused scan or rebuild asks again whether the
// node is still busy.
const busyPoll = time.Second

// whileBusy waits as long as busy says the node is under client load. It
// returns how long it waited.
func whileBusy(ctx context.Context, busy func() bool) (time.Duration, error) {
	if busy == nil {
		return 0, ctx.Err()
	}
	start := time.Now()
	for busy() {
		if err := sleepUntil(ctx, time.Now().Add(busyPoll)); err != nil {
			return time.Since(start), err
		}
	}
	return time.Since(start), ctx.Err()
}
