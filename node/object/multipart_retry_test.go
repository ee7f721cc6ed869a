package object

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/gridstore/gridstore/storage"
)

// completedUpload is an upload of key completed into a+b.
func (ts *testSet) completedUpload(t *testing.T, key string) (id string, parts []CompletePart, info ObjectInfo, data []byte) {
	t.Helper()
	a, b := randomBytes(1, testMinPart), randomBytes(2, 100)
	id = ts.newUpload(t, key, PutOptions{})
	parts = completeList(ts.putPart(t, key, id, 1, a), ts.putPart(t, key, id, 2, b))
	ts.putPart(t, key, id, 3, randomBytes(3, 10)) // left out
	info = ts.complete(t, key, id, parts)
	return id, parts, info, append(a, b...)
}

// TestCompleteRetried: a Complete sent again after it succeeded, with the
// same parts, answers as the first one did and changes nothing; so does
// every later one, until the object changes. The upload is otherwise over:
// not listed, no parts to list or upload, nothing to abort.
func TestCompleteRetried(t *testing.T) {
	t.Parallel()
	ts := newMPSet(t, 6, 2, nil)
	ctx := context.Background()
	id, parts, first, data := ts.completedUpload(t, "k")
	before := ts.versions(t, "k")
	for range 2 {
		again, err := ts.CompleteMultipartUpload(ctx, testBucket, "k", id, parts, CompleteOptions{})
		if err != nil {
			t.Fatalf("complete again: %v", err)
		}
		if again.ETag != first.ETag || again.VersionID != first.VersionID || !again.ModTime.Equal(first.ModTime) || again.Size != first.Size {
			t.Fatalf("complete again answered %+v, the first %+v", again, first)
		}
	}
	if got := ts.versions(t, "k"); !slices.EqualFunc(got, before, slices.Equal) {
		t.Fatalf("a repeated complete changed the versions: %v, was %v", got, before)
	}
	ts.mustGet(t, "k", data)

	// Quoted or not, in any case, the ETags name the same parts.
	unquoted := slices.Clone(parts)
	for i := range unquoted {
		unquoted[i].ETag = string(bytes.ToUpper([]byte(unquoted[i].ETag[1 : len(unquoted[i].ETag)-1])))
	}
	if again, err := ts.CompleteMultipartUpload(ctx, testBucket, "k", id, unquoted, CompleteOptions{}); err != nil || again.ETag != first.ETag {
		t.Fatalf("complete again with unquoted upper-case ETags: %+v, %v", again, err)
	}
	// The precondition held when the version was committed; the retry
	// answers for that commit.
	if _, err := ts.CompleteMultipartUpload(ctx, testBucket, "k", id, parts, CompleteOptions{Precondition{IfNoneMatch: true}}); err != nil {
		t.Fatalf("complete again with If-None-Match: %v", err)
	}

	for name, other := range map[string][]CompletePart{
		"fewer parts":   parts[:1],
		"another part":  append(slices.Clone(parts[:1]), CompletePart{Number: 3, ETag: parts[1].ETag}),
		"another ETag":  {parts[0], {Number: 2, ETag: parts[0].ETag}},
		"one part more": append(slices.Clone(parts), CompletePart{Number: 3, ETag: parts[1].ETag}),
	} {
		if _, err := ts.CompleteMultipartUpload(ctx, testBucket, "k", id, other, CompleteOptions{}); !errors.Is(err, ErrNoSuchUpload) {
			t.Fatalf("complete again with %s: %v, want ErrNoSuchUpload", name, err)
		}
	}
	if _, err := ts.ListParts(ctx, testBucket, "k", id, 0, 0); !errors.Is(err, ErrNoSuchUpload) {
		t.Fatalf("list parts of a completed upload: %v", err)
	}
	if _, err := ts.PutObjectPart(ctx, testBucket, "k", id, 4, bytes.NewReader([]byte("late")), 4, PartOptions{}); !errors.Is(err, ErrNoSuchUpload) {
		t.Fatalf("part of a completed upload: %v", err)
	}
	if list, err := ts.ListMultipartUploads(ctx, testBucket, "", "", "", "", 0); err != nil || len(list.Uploads) != 0 {
		t.Fatalf("uploads listed after completion: %+v, %v", list.Uploads, err)
	}
	// S3 answers NoSuchUpload to the abort of a completed upload; the
	// object stays, and so does the answer to a retried Complete.
	if err := ts.AbortMultipartUpload(ctx, testBucket, "k", id); !errors.Is(err, ErrNoSuchUpload) {
		t.Fatalf("abort after complete: %v, want ErrNoSuchUpload", err)
	}
	ts.mustGet(t, "k", data)
	if again, err := ts.CompleteMultipartUpload(ctx, testBucket, "k", id, parts, CompleteOptions{}); err != nil || again.ETag != first.ETag {
		t.Fatalf("complete again after the abort: %+v, %v", again, err)
	}
	ts.noUploadLeftovers(t)
}

// TestCompleteRetriedAfterChange: once the object is no longer the version
// the upload made (overwritten, deleted), the upload is gone for good.
func TestCompleteRetriedAfterChange(t *testing.T) {
	t.Parallel()
	ts := newMPSet(t, 6, 2, nil)
	ctx := context.Background()
	for name, change := range map[string]func(key string){
		"overwritten": func(key string) { ts.put(t, key, []byte("new")) },
		"deleted": func(key string) {
			if err := ts.DeleteObject(ctx, testBucket, key); err != nil {
				t.Fatal(err)
			}
		},
		"metadata replaced": func(key string) {
			if _, err := ts.CopyObject(ctx, testBucket, key, testBucket, key, CopyOptions{ReplaceMetadata: true}); err != nil {
				t.Fatal(err)
			}
		},
	} {
		id, parts, _, _ := ts.completedUpload(t, name)
		change(name)
		if _, err := ts.CompleteMultipartUpload(ctx, testBucket, name, id, parts, CompleteOptions{}); !errors.Is(err, ErrNoSuchUpload) {
			t.Fatalf("%s: complete again: %v, want ErrNoSuchUpload", name, err)
		}
	}
}

// TestCompleteRetriedAfterCrash: a node that stops between the commit and
// the tombstone leaves the upload's record as it was; a retried Complete
// finds the object made of the upload's data dir, answers 200 and ends the
// upload then.
func TestCompleteRetriedAfterCrash(t *testing.T) {
	t.Parallel()
	for _, partsKept := range []bool{false, true} {
		ts := newMPSet(t, 6, 2, nil)
		ctx := context.Background()
		a, b := randomBytes(1, testMinPart), randomBytes(2, 100)
		id := ts.newUpload(t, "k", PutOptions{})
		parts := completeList(ts.putPart(t, "k", id, 1, a), ts.putPart(t, "k", id, 2, b))
		// The commit is all a Complete writes with RenameData; its other
		// writes in MultipartVolume are the tombstone (WriteMetadata) and
		// the removal of the parts (Delete, also by prune, which has
		// nothing to remove here).
		for _, d := range ts.drives {
			d.set(faultError, "WriteMetadata")
			if partsKept {
				d.set(faultError, "WriteMetadata", "Delete")
			}
		}
		first := ts.complete(t, "k", id, parts)
		for _, d := range ts.drives {
			d.clear()
		}
		if list, err := ts.ListMultipartUploads(ctx, testBucket, "", "", "", "", 0); err != nil || len(list.Uploads) != 1 {
			t.Fatalf("parts kept %v: the upload without its tombstone: %+v, %v", partsKept, list.Uploads, err)
		}
		again, err := ts.CompleteMultipartUpload(ctx, testBucket, "k", id, parts, CompleteOptions{})
		if err != nil || again.VersionID != first.VersionID || again.ETag != first.ETag {
			t.Fatalf("parts kept %v: complete again: %+v, %v; first %+v", partsKept, again, err, first)
		}
		ts.mustGet(t, "k", append(a, b...))
		if list, err := ts.ListMultipartUploads(ctx, testBucket, "", "", "", "", 0); err != nil || len(list.Uploads) != 0 {
			t.Fatalf("parts kept %v: uploads after the retry: %+v, %v", partsKept, list.Uploads, err)
		}
		ts.noUploadLeftovers(t)
	}
}

// TestCompleteTombstoneSwept: the stale upload cleanup removes the
// tombstone of a completed upload like an upload of the same age; the
// upload is then unknown, the object untouched.
func TestCompleteTombstoneSwept(t *testing.T) {
	t.Parallel()
	ts := newMPSet(t, 6, 2, nil)
	ctx := context.Background()
	id, parts, _, data := ts.completedUpload(t, "k")
	if n, err := ts.CleanupStaleUploads(ctx, time.Hour); err != nil || n != 0 {
		t.Fatalf("cleanup of uploads older than an hour: %d, %v", n, err)
	}
	if _, err := ts.CompleteMultipartUpload(ctx, testBucket, "k", id, parts, CompleteOptions{}); err != nil {
		t.Fatalf("complete again before the tombstone expired: %v", err)
	}
	if n, err := ts.cleanupStaleUploads(ctx, time.Now().Add(time.Hour)); err != nil || n != 1 {
		t.Fatalf("cleanup: %d removed, %v; want the tombstone", n, err)
	}
	if _, err := ts.CompleteMultipartUpload(ctx, testBucket, "k", id, parts, CompleteOptions{}); !errors.Is(err, ErrNoSuchUpload) {
		t.Fatalf("complete again after the sweep: %v, want ErrNoSuchUpload", err)
	}
	ts.mustGet(t, "k", data)
	for i, d := range ts.local {
		if names, err := d.ListDir(ctx, storage.MultipartVolume, "", 0); err != nil || len(names) > 0 {
			t.Fatalf("drive %d: multipart volume holds %v after the sweep (%v)", i, names, err)
		}
	}
}
