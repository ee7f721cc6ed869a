package object

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gridstore/gridstore/storage"
)

// A fan-out with positions to ask later calls them only when the others do
// not settle the outcome: never when they do, at once when what they said
// does not, and after the hedge when one of them does not answer.
func TestFanOutAsksLaterOnlyWhenNeeded(t *testing.T) {
	later := []bool{false, false, false, false, false, true, true, true}
	settled := func(vals []int, _ []error, answered []bool, _ int) bool {
		agree := 0
		for pos, v := range vals {
			if answered[pos] && v == 1 {
				agree++
			}
		}
		return agree >= 5
	}
	for _, tc := range []struct {
		name      string
		hangs     bool
		answer    func(ctx context.Context, h *hangs, pos int) (int, error)
		wantCalls int
		// hedge is long where it must not be what asks the rest: a
		// loaded machine may take longer than a short one to run five
		// goroutines that answer at once.
		hedge time.Duration
	}{
		{"settled by the first", false, func(context.Context, *hangs, int) (int, error) { return 1, nil }, 5, time.Minute},
		{"one disagrees", false, func(_ context.Context, _ *hangs, pos int) (int, error) {
			if pos == 0 {
				return 2, nil
			}
			return 1, nil
		}, 8, time.Minute},
		{"one hangs", true, func(ctx context.Context, h *hangs, pos int) (int, error) {
			if pos == 0 {
				return 0, h.call(ctx)
			}
			return 1, nil
		}, 8, 20 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHangs()
			if tc.hangs {
				h.done.Add(1)
			}
			defer func() { close(h.release); h.done.Wait() }()
			var calls atomic.Int32
			done := make(chan []error, 1)
			go func() {
				_, errs := fanOutWith(context.Background(), namedDrives(8), fanOpts[int]{
					timeout: time.Minute, settled: settled, grace: 5 * time.Millisecond,
					later: later, hedge: tc.hedge,
				}, func(ctx context.Context, pos int, _ storage.Drive) (int, error) {
					calls.Add(1)
					return tc.answer(ctx, h, pos)
				})
				done <- errs
			}()
			var errs []error
			select {
			case errs = <-done:
			case <-time.After(20 * time.Second):
				t.Fatal("the fan-out waited for its hung call (its timeout is a minute)")
			}
			if got := int(calls.Load()); got != tc.wantCalls {
				t.Errorf("%d calls, want %d", got, tc.wantCalls)
			}
			for pos := 5; pos < 8 && tc.wantCalls == 5; pos++ {
				if !errors.Is(errs[pos], errNotNeeded) || !errors.Is(errs[pos], errDriveTimeout) {
					t.Errorf("drive %d not asked reports %v", pos, errs[pos])
				}
			}
			if tc.hangs && !errors.Is(errs[0], errDriveTimeout) {
				t.Errorf("the hung drive reports %v", errs[0])
			}
		})
	}
}

// A metadata read asks the read quorum, and at least n/2+1, of the drives
// when they agree, and successive reads take them in turn: over n reads
// every drive is asked that many times, so a drive that lacks the object
// is noticed (and queued for healing) by one of them. The counts are of
// the rotation alone: the straggler wait is long enough that no read asks
// the rest for want of a timely answer (under the race detector and a
// loaded machine one did, with the tests' 10 ms).
func TestMetadataReadsAskHalfPlusOneInTurn(t *testing.T) {
	for _, n := range setSizes {
		t.Run(fmt.Sprintf("drives=%d", n), func(t *testing.T) {
			t.Parallel()
			ts := newTestSet(t, n, func(c *Config) { c.StragglerWait = 5 * time.Second })
			ctx := context.Background()
			data := randomBytes(1, 1000)
			info := ts.put(t, "k", data)
			first := int64(max(n-ts.Parity(), n/2+1))
			for _, d := range ts.drives {
				d.readVersions.Store(0)
			}
			for range n {
				if _, err := ts.GetObjectInfo(ctx, testBucket, "k"); err != nil {
					t.Fatal(err)
				}
			}
			for pos, d := range ts.drives {
				if got := d.readVersions.Load(); got != first {
					t.Errorf("drive %d asked %d times in %d reads, want %d", pos, got, n, first)
				}
			}

			// One drive lost its record: a read that asks it notices.
			if err := ts.local[n-1].DeleteVersion(ctx, testBucket, "k", info.VersionID); err != nil {
				t.Fatal(err)
			}
			ts.heals.take()
			noticed := false
			for range n {
				ts.mustGet(t, "k", data)
				for _, r := range ts.heals.take() {
					noticed = noticed || (len(r.Missing) == 1 && r.Missing[0] == n-1)
				}
			}
			if !noticed {
				t.Errorf("%d reads did not notice drive %d lacks the object", n, n-1)
			}
		})
	}
}

// A write's read of the versions the drives hold asks max(read quorum,
// n/2+1) drives, in turn, as a metadata read does; the versions of the
// drives it did not ask go all the same (their RenameData reports them).
func TestWriteVersionReadsAskHalfPlusOneInTurn(t *testing.T) {
	for _, n := range setSizes {
		t.Run(fmt.Sprintf("drives=%d", n), func(t *testing.T) {
			t.Parallel()
			ts := newTestSet(t, n, func(c *Config) { c.StragglerWait = 5 * time.Second })
			ts.put(t, "k", randomBytes(1, 1000))
			first := int64(max(n-ts.Parity(), n/2+1))
			for _, d := range ts.drives {
				d.readMetas.Store(0)
			}
			var last ObjectInfo
			for i := range n {
				last = ts.put(t, "k", randomBytes(uint64(i+2), 1000+i))
			}
			for pos, d := range ts.drives {
				if got := d.readMetas.Load(); got != first {
					t.Errorf("drive %d asked %d times in %d writes, want %d", pos, got, n, first)
				}
			}
			ts.onlyVersion(t, "k", last.VersionID)
		})
	}
}

// The newest version on only its quorum of drives (the data shard count:
// a committed version whose other copies were lost) with an older one on
// all the others is still the one every read returns, whichever drives it
// asks first: those never agree enough to settle on the older one alone.
func TestMetadataReadFindsTheNewestOnHalfTheDrives(t *testing.T) {
	ts := newTestSet(t, 8, nil)
	ctx := context.Background()
	old := randomBytes(1, 700)
	ts.put(t, "k", old)
	olds := make([]storage.FileInfo, 8)
	for pos := range olds {
		fi, err := ts.local[pos].ReadVersion(ctx, testBucket, "k", "")
		if err != nil {
			t.Fatal(err)
		}
		olds[pos] = fi
	}
	newer := randomBytes(2, 900)
	info := ts.put(t, "k", newer)
	for pos := range 4 {
		if err := ts.local[pos].DeleteVersion(ctx, testBucket, "k", info.VersionID); err != nil {
			t.Fatal(err)
		}
		if _, err := ts.local[pos].RenameData(ctx, "", "", olds[pos], testBucket, "k"); err != nil {
			t.Fatal(err)
		}
	}
	for range 16 {
		got, gotInfo, err := ts.get("k", GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, newer) || gotInfo.VersionID != info.VersionID {
			t.Fatalf("read version %s (%d bytes), want the newer %s", gotInfo.VersionID, len(got), info.VersionID)
		}
	}
}

// defaultReadTimeouts gives a test set the default drive timeout (10 s) and
// StragglerWait, which the hung-drive tests below must not lean on.
func defaultReadTimeouts(c *Config) {
	c.DriveTimeout = DefaultDriveTimeout
	c.StragglerWait = DefaultStragglerWait
}

// A drive that hangs in a read's first round does not hold the read up
// for its drive timeout: the drives held back are asked after
// StragglerWait, and their answers settle it.
func TestMetadataReadAroundAHungDrive(t *testing.T) {
	ts := newTestSet(t, 8, defaultReadTimeouts)
	ctx := context.Background()
	data := randomBytes(1, 1000)
	ts.put(t, "k", data)
	ts.drives[0].set(faultStuck, "ReadVersion")
	t.Cleanup(ts.drives[0].unstick)
	for range 8 { // every rotation, with drive 0 first or held back
		start := time.Now()
		if _, err := ts.GetObjectInfo(ctx, testBucket, "k"); err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); took >= 2*time.Second {
			t.Fatalf("a read with one hung drive took %v (drive timeout %v)", took, DefaultDriveTimeout)
		}
	}
}

// When the inline shards of the drives a read asked fall short (two of
// them corrupt), the others' records are read, and one of those hanging
// does not hold the read up: it waits for as many shards as it lacks.
func TestInlineReadAroundAHungDriveOfTheRest(t *testing.T) {
	ts := newTestSet(t, 8, defaultReadTimeouts)
	data := randomBytes(1, 1000)
	ts.put(t, "k", data)
	ts.drives[0].set(faultCorrupt, "ReadVersion")
	ts.drives[1].set(faultCorrupt, "ReadVersion")
	ts.drives[2].set(faultStuck, "ReadVersion")
	t.Cleanup(ts.drives[2].unstick)
	for range 8 { // every rotation: the hung drive first, or among the rest
		start := time.Now()
		got, _, err := ts.get("k", GetOptions{})
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("get: %v, %d bytes", err, len(got))
		}
		if took := time.Since(start); took >= 2*time.Second {
			t.Fatalf("a read with two corrupt drives and a hung one took %v (drive timeout %v)", took, DefaultDriveTimeout)
		}
	}
}
