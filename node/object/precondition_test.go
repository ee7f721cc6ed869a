package object

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
)

// hookLocker, once armed, runs before the next time a write lock of
// resource is asked for, before asking for it: a test's way to slip a
// write in between a write's early look at the object and its commit.
type hookLocker struct {
	Locker
	resource string
	before   func()
	armed    atomic.Bool
}

func (h *hookLocker) arm(before func()) {
	h.before = before
	h.armed.Store(true)
}

func (h *hookLocker) Lock(ctx context.Context, resources ...string) (Lock, error) {
	if slices.Contains(resources, h.resource) && h.armed.CompareAndSwap(true, false) {
		h.before()
	}
	return h.Locker.Lock(ctx, resources...)
}

// preconditionSizes are an inline object and one of several blocks.
var preconditionSizes = []int{1000, 3*testBlockSize + 7}

// TestPutPrecondition: If-None-Match and If-Match against an absent and an
// existing object: the PUT happens exactly when they hold, and one that
// fails leaves the object and the drives as they were.
func TestPutPrecondition(t *testing.T) {
	t.Parallel()
	ts := newTestSet(t, 6, nil)
	ctx := context.Background()
	for _, size := range preconditionSizes {
		old := randomBytes(1, size)
		oldInfo := ts.put(t, fmt.Sprintf("existing-%d", size), old)
		for _, tc := range []struct {
			name     string
			existing bool
			pre      Precondition
			want     error // nil: the PUT happens
		}{
			{"if-none-match, absent", false, Precondition{IfNoneMatch: true}, nil},
			{"if-none-match, exists", true, Precondition{IfNoneMatch: true}, ErrPreconditionFailed},
			{"if-match, absent", false, Precondition{IfMatch: []string{oldInfo.ETag}}, ErrObjectNotFound},
			{"if-match star, absent", false, Precondition{IfMatch: []string{"*"}}, ErrObjectNotFound},
			{"if-match, same", true, Precondition{IfMatch: []string{`"` + oldInfo.ETag + `"`}}, nil},
			{"if-match, one of", true, Precondition{IfMatch: []string{"0123", oldInfo.ETag}}, nil},
			{"if-match star, exists", true, Precondition{IfMatch: []string{"*"}}, nil},
			{"if-match, other", true, Precondition{IfMatch: []string{"0123456789abcdef0123456789abcdef"}}, ErrPreconditionFailed},
			{"if-match empty list, exists", true, Precondition{IfMatch: []string{}}, ErrPreconditionFailed},
			{"both, exists", true, Precondition{IfNoneMatch: true, IfMatch: []string{oldInfo.ETag}}, ErrPreconditionFailed},
		} {
			t.Run(fmt.Sprintf("%d/%s", size, tc.name), func(t *testing.T) {
				key := fmt.Sprintf("absent-%d-%s", size, tc.name)
				if tc.existing {
					key = fmt.Sprintf("existing-%d", size)
				}
				before := ts.versions(t, key)
				data := randomBytes(2, size+len(tc.name))
				info, err := ts.PutObject(ctx, testBucket, key, bytes.NewReader(data), int64(len(data)), PutOptions{Precondition: tc.pre})
				switch {
				case tc.want == nil && err != nil:
					t.Fatalf("put: %v", err)
				case tc.want == nil:
					ts.mustGet(t, key, data)
					if info.ETag == oldInfo.ETag {
						t.Fatal("the PUT answered the old ETag")
					}
					// The old content back, for the next case.
					if tc.existing {
						oldInfo = ts.put(t, key, old)
					}
				case !errors.Is(err, tc.want) || !errors.Is(err, ErrPreconditionFailed):
					t.Fatalf("put: %v, want %v (and ErrPreconditionFailed)", err, tc.want)
				default:
					if got := ts.versions(t, key); !slices.EqualFunc(got, before, slices.Equal) {
						t.Fatalf("a failed conditional PUT changed the versions: %v, was %v", got, before)
					}
				}
				ts.noTmpLeftovers(t)
			})
		}
	}
}

// TestPutPreconditionDecidedAtCommit: the condition that counts is the one
// taken under the object's lock, just before the commit: an object created
// (or changed) after the PUT's early look, while its body was being
// stored, fails it, and the body it stored goes.
func TestPutPreconditionDecidedAtCommit(t *testing.T) {
	t.Parallel()
	for _, size := range preconditionSizes {
		for _, tc := range []struct {
			name string
			pre  func(first ObjectInfo) Precondition
		}{
			{"if-none-match", func(ObjectInfo) Precondition { return Precondition{IfNoneMatch: true} }},
			{"if-match", func(first ObjectInfo) Precondition { return Precondition{IfMatch: []string{first.ETag}} }},
		} {
			t.Run(fmt.Sprintf("%d/%s", size, tc.name), func(t *testing.T) {
				t.Parallel()
				hook := &hookLocker{Locker: NewLocalLocker(), resource: lockKey(testBucket, "k")}
				ts := newTestSet(t, 6, func(c *Config) { c.Locker = hook })
				var first ObjectInfo
				if tc.name == "if-match" {
					first = ts.put(t, "k", randomBytes(1, size))
				}
				// Once the PUT below has passed its early look, before its
				// commit: another writer gets there first.
				interloper := randomBytes(3, size)
				hook.arm(func() {
					if _, err := ts.PutObject(context.Background(), testBucket, "k", bytes.NewReader(interloper), int64(size), PutOptions{}); err != nil {
						t.Error(err)
					}
				})
				data := randomBytes(2, size)
				_, err := ts.PutObject(context.Background(), testBucket, "k", bytes.NewReader(data), int64(size), PutOptions{Precondition: tc.pre(first)})
				if !errors.Is(err, ErrPreconditionFailed) {
					t.Fatalf("put: %v, want ErrPreconditionFailed", err)
				}
				ts.mustGet(t, "k", interloper)
				for i, v := range ts.versions(t, "k") {
					if len(v) != 1 {
						t.Fatalf("drive %d holds versions %v", i, v)
					}
				}
				ts.noTmpLeftovers(t)
			})
		}
	}
}

// TestPutIfNoneMatchRace: of writers racing to create one key with
// If-None-Match, exactly one succeeds, every other fails with
// ErrPreconditionFailed, and the object is the winner's bytes.
func TestPutIfNoneMatchRace(t *testing.T) {
	// Not parallel: the racing writers are load enough for a small machine.
	ts := newTestSet(t, 6, nil)
	const writers, rounds = 16, 12
	for round := range rounds {
		key := fmt.Sprintf("race-%d", round)
		size := preconditionSizes[round%len(preconditionSizes)]
		datas := make([][]byte, writers)
		infos := make([]ObjectInfo, writers)
		errs := make([]error, writers)
		var wg sync.WaitGroup
		for w := range writers {
			datas[w] = randomBytes(uint64(round*writers+w), size)
			wg.Go(func() {
				infos[w], errs[w] = ts.PutObject(context.Background(), testBucket, key, bytes.NewReader(datas[w]), int64(size),
					PutOptions{Precondition: Precondition{IfNoneMatch: true}})
			})
		}
		wg.Wait()
		winner := -1
		for w, err := range errs {
			switch {
			case err == nil && winner >= 0:
				t.Fatalf("round %d: writers %d and %d both created the object", round, winner, w)
			case err == nil:
				winner = w
			case !errors.Is(err, ErrPreconditionFailed):
				t.Fatalf("round %d: writer %d: %v, want ErrPreconditionFailed", round, w, err)
			}
		}
		if winner < 0 {
			t.Fatalf("round %d: no writer created the object", round)
		}
		got, info, err := ts.get(key, GetOptions{})
		if err != nil || !bytes.Equal(got, datas[winner]) || info.VersionID != infos[winner].VersionID {
			t.Fatalf("round %d: the object is not the winner's (%v)", round, err)
		}
	}
	ts.noTmpLeftovers(t)
}

// TestCopyPrecondition: a copy's precondition is on its destination.
func TestCopyPrecondition(t *testing.T) {
	t.Parallel()
	ts := newTestSet(t, 6, nil)
	ctx := context.Background()
	for _, size := range preconditionSizes {
		src := randomBytes(1, size)
		srcInfo := ts.put(t, "src", src)
		dstInfo := ts.put(t, "dst", randomBytes(2, size))
		copyTo := func(dst string, pre Precondition) error {
			_, err := ts.CopyObject(ctx, testBucket, "src", testBucket, dst, CopyOptions{Precondition: pre})
			return err
		}
		if err := copyTo("dst", Precondition{IfNoneMatch: true}); !errors.Is(err, ErrPreconditionFailed) {
			t.Fatalf("copy onto an existing object with If-None-Match: %v", err)
		}
		if err := copyTo("dst", Precondition{IfMatch: []string{srcInfo.ETag}}); !errors.Is(err, ErrPreconditionFailed) || errors.Is(err, ErrObjectNotFound) {
			t.Fatalf("copy with If-Match the source's ETag: %v", err)
		}
		if err := copyTo("absent", Precondition{IfMatch: []string{dstInfo.ETag}}); !errors.Is(err, ErrObjectNotFound) || !errors.Is(err, ErrPreconditionFailed) {
			t.Fatalf("copy onto an absent object with If-Match: %v", err)
		}
		if _, _, err := ts.get("absent", GetOptions{}); !errors.Is(err, ErrObjectNotFound) {
			t.Fatalf("a failed copy created the object: %v", err)
		}
		if err := copyTo("dst", Precondition{IfMatch: []string{dstInfo.ETag}}); err != nil {
			t.Fatal(err)
		}
		ts.mustGet(t, "dst", src)
		if err := copyTo(fmt.Sprintf("new-%d", size), Precondition{IfNoneMatch: true}); err != nil {
			t.Fatal(err)
		}
		ts.mustGet(t, fmt.Sprintf("new-%d", size), src)
	}
	ts.noTmpLeftovers(t)
}

// TestCompletePrecondition: a Complete's precondition; one that fails
// leaves the upload to be completed (or aborted) later.
func TestCompletePrecondition(t *testing.T) {
	t.Parallel()
	ts := newMPSet(t, 6, 2, nil)
	ctx := context.Background()
	a, b := randomBytes(1, testMinPart), randomBytes(2, 100)
	upload := func(key string) (string, []CompletePart) {
		id := ts.newUpload(t, key, PutOptions{})
		return id, completeList(ts.putPart(t, key, id, 1, a), ts.putPart(t, key, id, 2, b))
	}
	old := ts.put(t, "k", randomBytes(3, 10))
	id, parts := upload("k")
	if _, err := ts.CompleteMultipartUpload(ctx, testBucket, "k", id, parts, CompleteOptions{Precondition{IfNoneMatch: true}}); !errors.Is(err, ErrPreconditionFailed) {
		t.Fatalf("complete with If-None-Match over an object: %v", err)
	}
	if _, err := ts.CompleteMultipartUpload(ctx, testBucket, "k", id, parts, CompleteOptions{Precondition{IfMatch: []string{"0123"}}}); !errors.Is(err, ErrPreconditionFailed) {
		t.Fatalf("complete with If-Match another ETag: %v", err)
	}
	ts.mustGet(t, "k", randomBytes(3, 10))
	if list, err := ts.ListParts(ctx, testBucket, "k", id, 0, 0); err != nil || len(list.Parts) != 2 {
		t.Fatalf("the upload after failed conditional completes: %+v, %v", list.Parts, err)
	}
	info, err := ts.CompleteMultipartUpload(ctx, testBucket, "k", id, parts, CompleteOptions{Precondition{IfMatch: []string{old.ETag}}})
	if err != nil || info.ETag != multipartETag(a, b) {
		t.Fatalf("complete with If-Match the object's ETag: %+v, %v", info, err)
	}
	ts.mustGet(t, "k", append(bytes.Clone(a), b...))

	id, parts = upload("new")
	if _, err := ts.CompleteMultipartUpload(ctx, testBucket, "new", id, parts, CompleteOptions{Precondition{IfMatch: []string{"*"}}}); !errors.Is(err, ErrObjectNotFound) {
		t.Fatalf("complete with If-Match of an absent object: %v", err)
	}
	if _, err := ts.CompleteMultipartUpload(ctx, testBucket, "new", id, parts, CompleteOptions{Precondition{IfNoneMatch: true}}); err != nil {
		t.Fatal(err)
	}
	ts.mustGet(t, "new", append(bytes.Clone(a), b...))
	ts.noUploadLeftovers(t)
}

// TestCompletePreconditionDecidedAtCommit: an object created between a
// Complete's early look and its commit fails it, and the upload survives.
func TestCompletePreconditionDecidedAtCommit(t *testing.T) {
	t.Parallel()
	hook := &hookLocker{Locker: NewLocalLocker(), resource: lockKey(testBucket, "k")}
	ts := newMPSet(t, 6, 2, func(c *Config) { c.Locker = hook })
	ctx := context.Background()
	a, b := randomBytes(1, testMinPart), randomBytes(2, 100)
	id := ts.newUpload(t, "k", PutOptions{})
	parts := completeList(ts.putPart(t, "k", id, 1, a), ts.putPart(t, "k", id, 2, b))
	interloper := randomBytes(3, 10)
	hook.arm(func() {
		if _, err := ts.PutObject(context.Background(), testBucket, "k", bytes.NewReader(interloper), int64(len(interloper)), PutOptions{}); err != nil {
			t.Error(err)
		}
	})
	if _, err := ts.CompleteMultipartUpload(ctx, testBucket, "k", id, parts, CompleteOptions{Precondition{IfNoneMatch: true}}); !errors.Is(err, ErrPreconditionFailed) {
		t.Fatalf("complete: %v, want ErrPreconditionFailed", err)
	}
	ts.mustGet(t, "k", interloper)
	if _, err := ts.CompleteMultipartUpload(ctx, testBucket, "k", id, parts, CompleteOptions{}); err != nil {
		t.Fatalf("complete after the failed one: %v", err)
	}
	ts.mustGet(t, "k", append(bytes.Clone(a), b...))
	ts.noUploadLeftovers(t)
}

// TestCompleteIfNoneMatchRace: uploads of one key completed at once with
// If-None-Match: exactly one of them becomes the object.
func TestCompleteIfNoneMatchRace(t *testing.T) {
	// Not parallel: the racing writers are load enough for a small machine.
	ts := newMPSet(t, 6, 2, nil)
	const uploads = 6
	ids := make([]string, uploads)
	lists := make([][]CompletePart, uploads)
	datas := make([][]byte, uploads)
	for i := range uploads {
		ids[i] = ts.newUpload(t, "k", PutOptions{})
		a, b := randomBytes(uint64(2*i), testMinPart), randomBytes(uint64(2*i+1), 100+i)
		lists[i] = completeList(ts.putPart(t, "k", ids[i], 1, a), ts.putPart(t, "k", ids[i], 2, b))
		datas[i] = append(a, b...)
	}
	errs := make([]error, uploads)
	var wg sync.WaitGroup
	for i := range uploads {
		wg.Go(func() {
			_, errs[i] = ts.CompleteMultipartUpload(context.Background(), testBucket, "k", ids[i], lists[i], CompleteOptions{Precondition{IfNoneMatch: true}})
		})
	}
	wg.Wait()
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Fatalf("uploads %d and %d both completed", winner, i)
		case err == nil:
			winner = i
		case !errors.Is(err, ErrPreconditionFailed):
			t.Fatalf("upload %d: %v, want ErrPreconditionFailed", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("no upload completed")
	}
	ts.mustGet(t, "k", datas[winner])
}
