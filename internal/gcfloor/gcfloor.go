package gcfloor

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// basePercent is GOGC's default, which Start never goes below.
const basePercent = 100

// maxPercent caps the percentage: the runtime's smallest heap goal grows
// with it (4 MB × GOGC/100), so 800 lets a nearly empty heap reach 32 MB
// and no further before a collection.
const maxPercent = 800

// Floor is a running policy; Stop ends it.
type Floor struct {
	floor uint64 // bytes the heap may grow by between collections, at least

	mu      sync.Mutex
	stopped bool
	percent int
	sample  []metrics.Sample
}

// sentinel is allocated for the collector to free: its cleanup runs once
// per collection. Larger than 16 bytes and with a pointer, so the tiny
// allocator does not share its block with other objects, which could keep
// it alive.
type sentinel struct {
	_ *int
	_ [3]uint64
}

// Start applies the policy to the process until Stop: after each
// collection, GOGC becomes what lets the heap grow by floor bytes, between
// 100 and 800. A GOGC the operator set in the environment is theirs: it is
// up to the caller not to Start then.
func Start(floor uint64) *Floor {
	f := &Floor{
		floor:   floor,
		percent: basePercent,
		sample:  []metrics.Sample{{Name: "/gc/heap/live:bytes"}},
	}
	f.adjust()
	f.arm()
	return f
}

// PercentFor returns GOGC for a live heap of live bytes: 100 × floor/live,
// within [100, 800].
func PercentFor(live, floor uint64) int {
	if live == 0 {
		return maxPercent
	}
	p := floor * 100 / live
	return int(min(max(p, basePercent), maxPercent))
}

func (f *Floor) arm() {
	runtime.AddCleanup(&sentinel{}, func(f *Floor) {
		f.mu.Lock()
		stopped := f.stopped
		f.mu.Unlock()
		if stopped {
			return
		}
		f.adjust()
		f.arm()
	}, f)
}

// adjust reads the heap live after the last collection and sets GOGC for
// it, when it changed by more than an eighth (each change is a call into
// the runtime under its heap lock).
func (f *Floor) adjust() {
	metrics.Read(f.sample)
	if f.sample[0].Value.Kind() != metrics.KindUint64 {
		return // a runtime without the metric: leave GOGC alone
	}
	want := PercentFor(f.sample[0].Value.Uint64(), f.floor)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.stopped {
		return
	}
	if diff := want - f.percent; diff*8 > f.percent || -diff*8 > f.percent {
		debug.SetGCPercent(want)
		f.percent = want
	}
}

// Stop ends the policy and sets GOGC back to 100.
func (f *Floor) Stop() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.stopped {
		return
	}
	f.stopped = true
	debug.SetGCPercent(basePercent)
	f.percent = basePercent
}

// Percent reports the GOGC the policy set last.
func (f *Floor) Percent() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.percent
}
