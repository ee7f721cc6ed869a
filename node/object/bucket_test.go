package object

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
)

func TestBuckets(t *testing.T) {
	for _, n := range setSizes {
		t.Run(fmt.Sprintf("drives=%d", n), func(t *testing.T) {
			t.Parallel()
			ts := newTestSet(t, n, nil)
			ctx := context.Background()
			if err := ts.MakeBucket(ctx, testBucket); !errors.Is(err, ErrBucketExists) {
				t.Fatalf("make existing: %v", err)
			}
			for _, b := range []string{"zeta", "alpha", "mid.dle"} {
				if err := ts.MakeBucket(ctx, b); err != nil {
					t.Fatal(err)
				}
			}
			list, err := ts.ListBuckets(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, b := range list {
				names = append(names, b.Name)
				if b.Created.IsZero() {
					t.Errorf("%s: no creation time", b.Name)
				}
			}
			if want := []string{"alpha", testBucket, "mid.dle", "zeta"}; !slices.Equal(names, want) {
				t.Fatalf("list %v, want %v", names, want)
			}
			if _, err := ts.HeadBucket(ctx, "alpha"); err != nil {
				t.Fatal(err)
			}
			if _, err := ts.HeadBucket(ctx, "nope"); !errors.Is(err, ErrBucketNotFound) {
				t.Fatalf("head missing: %v", err)
			}
			for _, bad := range []string{"A", "ab", "a_b", ".gridstore.sys", "-ab"} {
				if err := ts.MakeBucket(ctx, bad); !errors.Is(err, ErrInvalidBucketName) {
					t.Errorf("make %q: %v", bad, err)
				}
			}

			// Not empty: refused, and still there on every drive.
			ts.put(t, "x", []byte("x"))
			if err := ts.DeleteBucket(ctx, testBucket); !errors.Is(err, ErrBucketNotEmpty) {
				t.Fatalf("delete non-empty: %v", err)
			}
			for i, d := range ts.local {
				if _, err := d.StatVol(ctx, testBucket); err != nil {
					t.Fatalf("drive %d lost the bucket: %v", i, err)
				}
			}
			ts.mustGet(t, "x", []byte("x"))
			if err := ts.DeleteObject(ctx, testBucket, "x"); err != nil {
				t.Fatal(err)
			}
			if err := ts.DeleteBucket(ctx, testBucket); err != nil {
				t.Fatalf("delete emptied bucket: %v", err)
			}
			if _, err := ts.HeadBucket(ctx, testBucket); !errors.Is(err, ErrBucketNotFound) {
				t.Fatalf("head deleted: %v", err)
			}
			if err := ts.DeleteBucket(ctx, testBucket); !errors.Is(err, ErrBucketNotFound) {
				t.Fatalf("delete deleted: %v", err)
			}
		})
	}
}

// TestBucketsWithFailedDrives: bucket operations need their quorums and
// are undone below them.
func TestBucketsWithFailedDrives(t *testing.T) {
	t.Parallel()
	ts := newTestSet(t, 6, nil) // 3+3: read quorum 3, write quorum 4
	ctx := context.Background()
	ts.drives[0].set(faultOffline)
	ts.drives[1].set(faultOffline)
	if err := ts.MakeBucket(ctx, "two-down"); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.HeadBucket(ctx, "two-down"); err != nil {
		t.Fatal(err)
	}
	ts.drives[2].set(faultOffline)
	if err := ts.MakeBucket(ctx, "three-down"); !errors.Is(err, ErrWriteQuorum) {
		t.Fatalf("make with 3 of 6 down: %v", err)
	}
	for _, d := range ts.drives {
		d.clear()
	}
	for i, d := range ts.local {
		if _, err := d.StatVol(ctx, "three-down"); err == nil {
			t.Fatalf("drive %d kept the bucket of a failed make", i)
		}
	}
	// The bucket that two drives missed: listed, and heads fine.
	list, err := ts.ListBuckets(ctx)
	if err != nil || len(list) != 2 {
		t.Fatalf("list %v %v", list, err)
	}
	// Four drives down: not enough to say anything.
	for i := range 4 {
		ts.drives[i].set(faultOffline)
	}
	if _, err := ts.HeadBucket(ctx, testBucket); !errors.Is(err, ErrReadQuorum) {
		t.Fatalf("head with 4 of 6 down: %v", err)
	}
	if _, err := ts.ListBuckets(ctx); !errors.Is(err, ErrReadQuorum) {
		t.Fatalf("list with 4 of 6 down: %v", err)
	}
	for _, d := range ts.drives {
		d.clear()
	}
	// A delete that fails on too many drives is undone.
	for i := range 3 {
		ts.drives[i].set(faultError, "DeleteVol")
	}
	if err := ts.DeleteBucket(ctx, "two-down"); !errors.Is(err, ErrWriteQuorum) {
		t.Fatalf("delete with 3 failing: %v", err)
	}
	for _, d := range ts.drives {
		d.clear()
	}
	if _, err := ts.HeadBucket(ctx, "two-down"); err != nil {
		t.Fatalf("bucket after an undone delete: %v", err)
	}
}
