package gcfloor

import (
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

func TestPercentFor(t *testing.T) {
	const mib = 1 << 20
	for _, tc := range []struct {
		live, floor uint64
		want        int
	}{
		{0, 32 * mib, 800},
		{1 * mib, 32 * mib, 800},
		{4 * mib, 32 * mib, 800},
		{8 * mib, 32 * mib, 400},
		{16 * mib, 32 * mib, 200},
		{32 * mib, 32 * mib, 100},
		{500 * mib, 32 * mib, 100},
	} {
		if got := PercentFor(tc.live, tc.floor); got != tc.want {
			t.Errorf("PercentFor(%d MiB, %d MiB) = %d, want %d", tc.live/mib, tc.floor/mib, got, tc.want)
		}
	}
}

var sink []byte

// collections counts the collections while n bytes of short-lived garbage
// are allocated over a small live heap.
func collections(n int) uint32 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range n / (64 << 10) {
		sink = make([]byte, 64<<10)
	}
	runtime.ReadMemStats(&after)
	return after.NumGC - before.NumGC
}

func TestFloorSpacesCollections(t *testing.T) {
	const garbage = 512 << 20
	runtime.GC()
	without := collections(garbage)

	f := Start(32 << 20)
	defer f.Stop()
	runtime.GC() // the policy adjusts after a collection
	runtime.GC()
	if p := f.Percent(); p < 400 {
		t.Fatalf("GOGC %d over a live heap of a few MB, want >= 400", p)
	}
	with := collections(garbage)
	t.Logf("collections over %d MiB of garbage: %d without the floor, %d with", garbage>>20, without, with)
	// Without: one per 4 MB or so; with: one per ~32 MB. Judged against a
	// bound rather than against the count without: a collector short of CPU
	// (other test binaries alongside) runs fewer collections, never more,
	// so the bound holds on a busy machine, while the count without the
	// floor may halve from one moment to the next.
	if limit := uint32(garbage / (16 << 20)); with > limit {
		t.Fatalf("%d collections with the floor over %d MiB of garbage (%d without): want at most %d, one per 16 MiB",
			with, garbage>>20, without, limit)
	}

	// After Stop, GOGC is 100 again and collections no longer set it. Read
	// rather than counted: how many collections a stretch of garbage takes
	// also depends on how much CPU the collector gets, which other test
	// binaries running alongside change from one moment to the next (CI
	// once counted 75 after Stop against 162 before Start).
	f.Stop()
	for range 5 {
		runtime.GC() // each collection runs the policy's cleanup, were it still armed
		time.Sleep(10 * time.Millisecond)
	}
	if p := debug.SetGCPercent(100); p != 100 {
		t.Fatalf("after Stop and 5 collections: GOGC %d, want 100", p)
	}
}
