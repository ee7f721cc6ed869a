package object

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/gridstore/gridstore/node/object/listing"
	"github.com/gridstore/gridstore/storage"
)

// TestHealCreatesMissingBucket is the replaced-drive bug: a drive that
// lacks the bucket's volume (wiped, then formatted again) must get it from
// a heal, and then the object, rather than fail every heal onto it.
func TestHealCreatesMissingBucket(t *testing.T) {
	hs := newHealSet(t, 4, nil)
	keys := map[string][]byte{"small": randomBytes(1, 1000), "large": randomBytes(2, 3*testBlockSize+17)}
	for k, v := range keys {
		hs.put(t, k, v)
	}
	if err := os.RemoveAll(filepath.Join(hs.local[3].Endpoint(), testBucket)); err != nil {
		t.Fatal(err)
	}
	if _, err := hs.local[3].StatVol(context.Background(), testBucket); !errors.Is(err, storage.ErrVolumeNotFound) {
		t.Fatalf("drive 3 still has the bucket: %v", err)
	}
	for k := range keys {
		res, err := hs.HealObject(context.Background(), testBucket, k, HealOptions{})
		if err != nil {
			t.Fatalf("heal %s onto a drive without the bucket: %v", k, err)
		}
		if !slices.Contains(res.Healed, 3) {
			t.Fatalf("heal %s: drive 3 not healed: %+v", k, res)
		}
		hs.sameKey(t, k)
	}
	// Every drive holds each: reading with the others' copies gone works.
	for k, v := range keys {
		for _, pos := range []int{0, 1} {
			hs.wipe(t, pos, k)
		}
		hs.mustGet(t, k, v)
	}
}

// TestEnsureBuckets creates exactly the buckets a drive lacks.
func TestEnsureBuckets(t *testing.T) {
	ts := newTestSet(t, 4, nil)
	ctx := context.Background()
	if err := ts.MakeBucket(ctx, "other"); err != nil {
		t.Fatal(err)
	}
	if err := ts.local[2].DeleteVol(ctx, "other"); err != nil {
		t.Fatal(err)
	}
	n, err := ts.EnsureBuckets(ctx, 2, []string{testBucket, "other"})
	if err != nil || n != 1 {
		t.Fatalf("EnsureBuckets = %d, %v; want 1 created", n, err)
	}
	if _, err := ts.local[2].StatVol(ctx, "other"); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.EnsureBuckets(ctx, 9, []string{"other"}); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("position 9: %v", err)
	}
}

// TestScanObject: a healthy object is left alone (no write), a drive
// missing it is found stale and healed, and a rotten shard is found only by
// a deep scan, and rebuilt.
func TestScanObject(t *testing.T) {
	hs := newHealSet(t, 4, nil)
	ctx := context.Background()
	for _, key := range []string{"inline", "parts"} {
		t.Run(key, func(t *testing.T) {
			data := randomBytes(3, 500)
			if key == "parts" {
				data = randomBytes(4, 2*testBlockSize+5)
			}
			hs.put(t, key, data)
			hs.resetWrites()
			res, err := hs.ScanObject(ctx, testBucket, key, true)
			if err != nil || res.Heal != nil || !res.Verified || res.Size != int64(len(data)) {
				t.Fatalf("healthy object: %+v, %v", res, err)
			}
			if w := hs.writes(); w != 0 {
				t.Fatalf("a scan of a healthy object wrote %d times", w)
			}

			hs.wipe(t, 1, key)
			res, err = hs.ScanObject(ctx, testBucket, key, false)
			if err != nil || !slices.Equal(res.Stale, []int{1}) || res.Heal == nil || !slices.Equal(res.Heal.Healed, []int{1}) {
				t.Fatalf("drive 1 without the object: %+v, %v", res, err)
			}
			hs.sameKey(t, key)

			hs.corrupt(t, 2, key)
			res, err = hs.ScanObject(ctx, testBucket, key, false)
			if err != nil || res.Heal != nil {
				t.Fatalf("a metadata scan cannot see bitrot, yet: %+v, %v", res, err)
			}
			res, err = hs.ScanObject(ctx, testBucket, key, true)
			if err != nil || !slices.Equal(res.Corrupt, []int{2}) || res.Heal == nil || !slices.Equal(res.Heal.Healed, []int{2}) {
				t.Fatalf("rotten shard on drive 2: %+v, %v", res, err)
			}
			res, err = hs.ScanObject(ctx, testBucket, key, true)
			if err != nil || res.Heal != nil {
				t.Fatalf("after the heal: %+v, %v", res, err)
			}
		})
	}
	if res, err := hs.ScanObject(ctx, testBucket, "gone", true); err != nil || res.Heal != nil {
		t.Fatalf("an object deleted since it was listed: %+v, %v", res, err)
	}
}

// TestWalkSetResumes walks every bucket in order and resumes after a
// position.
func TestWalkSetResumes(t *testing.T) {
	l := newTestLayer(t, 1, 4, nil)
	ctx := context.Background()
	if err := l.MakeBucket(ctx, "alpha"); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"a", "b/c", "d"} {
		l.put(t, k, []byte(k))
		if _, err := l.PutObject(ctx, "alpha", k, bytesReader([]byte(k)), int64(len(k)), PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	walk := func(from WalkPosition) []string {
		var out []string
		if err := l.WalkSet(ctx, 0, from, func(b string, o listing.ObjectInfo) error {
			out = append(out, b+"/"+o.Name)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return out
	}
	all := []string{"alpha/a", "alpha/b/c", "alpha/d", "bucket/a", "bucket/b/c", "bucket/d"}
	if got := walk(WalkPosition{}); !slices.Equal(got, all) {
		t.Fatalf("walk = %v, want %v", got, all)
	}
	if got := walk(WalkPosition{Bucket: "alpha", Object: "b/c"}); !slices.Equal(got, all[2:]) {
		t.Fatalf("walk after alpha/b/c = %v", got)
	}
	if got := walk(WalkPosition{Bucket: "bucket", Object: "d"}); len(got) != 0 {
		t.Fatalf("walk after the end = %v", got)
	}
}
