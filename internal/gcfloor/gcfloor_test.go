package gcfloor

import (
	"runtime"
	"testing"
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
	// Without: one per 4 MB or so; with: one per ~32 MB.
	if with*3 > without {
		t.Fatalf("%d collections with the floor, %d without: want at most a third", with, without)
	}

	f.Stop()
	runtime.GC()
	if again := collections(garbage); again*2 < without {
		t.Fatalf("after Stop: %d collections, want about %d (GOGC back to 100)", again, without)
	}
}
