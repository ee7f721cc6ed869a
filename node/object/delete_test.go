package object

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
)

func TestDelete(t *testing.T) {
	for _, n := range setSizes {
		t.Run(fmt.Sprintf("drives=%d", n), func(t *testing.T) {
			t.Parallel()
			ts := newTestSet(t, n, nil)
			ctx := context.Background()
			for _, size := range []int{0, 100, 3 * testBlockSize} {
				key := fmt.Sprintf("del-%d", size)
				ts.put(t, key, randomBytes(1, size))
				if err := ts.DeleteObject(ctx, testBucket, key); err != nil {
					t.Fatal(err)
				}
				if _, _, err := ts.get(key, GetOptions{}); !errors.Is(err, ErrObjectNotFound) {
					t.Fatalf("after delete: %v", err)
				}
				for i, v := range ts.versions(t, key) {
					if v != nil {
						t.Fatalf("drive %d still holds %v", i, v)
					}
				}
				// Idempotent.
				if err := ts.DeleteObject(ctx, testBucket, key); err != nil {
					t.Fatalf("second delete: %v", err)
				}
			}
			if err := ts.DeleteObject(ctx, "nobucket", "x"); !errors.Is(err, ErrBucketNotFound) {
				t.Fatalf("delete in a missing bucket: %v", err)
			}
			if err := ts.DeleteObject(ctx, testBucket, "\xff"); !errors.Is(err, ErrInvalidObjectName) {
				t.Fatalf("bad name: %v", err)
			}
		})
	}
}

// TestDeleteQuorum: a delete is acknowledged only with a write quorum, and
// an acknowledged delete is not undone by the drives that missed it.
func TestDeleteQuorum(t *testing.T) {
	for _, n := range setSizes {
		t.Run(fmt.Sprintf("drives=%d", n), func(t *testing.T) {
			t.Parallel()
			ts := newTestSet(t, n, nil)
			ctx := context.Background()
			data := randomBytes(1, 2*testBlockSize)
			ts.put(t, "k", data)
			missed := n - ts.writeQuorum

			// Below quorum: refused.
			for i := range missed + 1 {
				ts.drives[i].set(faultError, "DeleteVersion", "ReadMetadata")
			}
			if err := ts.DeleteObject(ctx, testBucket, "k"); !errors.Is(err, ErrWriteQuorum) {
				t.Fatalf("delete with %d failing drives: %v, want ErrWriteQuorum", missed+1, err)
			}
			for i := range missed + 1 {
				ts.drives[i].clear()
			}

			ts.put(t, "k", data)
			for i := range missed {
				ts.drives[i].set(faultOffline)
			}
			if err := ts.DeleteObject(ctx, testBucket, "k"); err != nil {
				t.Fatalf("delete with %d drives offline: %v", missed, err)
			}
			for i := range missed {
				ts.drives[i].clear()
			}
			// The drives that missed it still hold the object; reads say
			// it is gone, with every drive up and with the others down.
			if _, _, err := ts.get("k", GetOptions{}); !errors.Is(err, ErrObjectNotFound) {
				t.Fatalf("after an acknowledged delete: %v", err)
			}
			for i := missed; i < n && i < missed+ts.Parity(); i++ {
				ts.drives[i].set(faultOffline)
			}
			if _, _, err := ts.get("k", GetOptions{}); err == nil || !(errors.Is(err, ErrObjectNotFound) || errors.Is(err, ErrReadQuorum)) {
				t.Fatalf("after an acknowledged delete, deleting drives down: %v", err)
			}
			for _, d := range ts.drives {
				d.clear()
			}
		})
	}
}

func TestDeleteObjects(t *testing.T) {
	t.Parallel()
	ts := newTestSet(t, 4, nil)
	names := []string{"a", "b", "bad\xff", "c", "missing"}
	for _, k := range []string{"a", "b", "c"} {
		ts.put(t, k, []byte(k))
	}
	res := ts.DeleteObjects(context.Background(), testBucket, names)
	for i, r := range res {
		if r.Name != names[i] {
			t.Fatalf("result %d is for %q", i, r.Name)
		}
		if wantErr := names[i] == "bad\xff"; (r.Err != nil) != wantErr {
			t.Fatalf("%q: %v", r.Name, r.Err)
		}
	}
	for _, k := range []string{"a", "b", "c"} {
		if _, _, err := ts.get(k, GetOptions{}); !errors.Is(err, ErrObjectNotFound) {
			t.Fatalf("%s: %v", k, err)
		}
	}
}

func TestCopyObject(t *testing.T) {
	t.Parallel()
	ts := newTestSet(t, 6, nil)
	ctx := context.Background()
	meta := Metadata{ContentType: "image/png", User: map[string]string{"x-amz-meta-a": "1"}}
	for _, size := range []int{0, 100, 3*testBlockSize + 1} {
		data := randomBytes(uint64(size), size)
		src := fmt.Sprintf("src-%d", size)
		if _, err := ts.PutObject(ctx, testBucket, src, bytes.NewReader(data), int64(size), PutOptions{Metadata: meta}); err != nil {
			t.Fatal(err)
		}
		// COPY keeps the metadata.
		info, err := ts.CopyObject(ctx, testBucket, src, testBucket, src+"-copy", CopyOptions{})
		if err != nil {
			t.Fatal(err)
		}
		ts.mustGet(t, src+"-copy", data)
		if fmt.Sprint(info.Metadata) != fmt.Sprint(meta) {
			t.Fatalf("copied metadata %+v", info.Metadata)
		}
		// REPLACE onto itself changes the metadata, keeps the bytes.
		repl := Metadata{ContentType: "text/plain", CacheControl: "no-cache"}
		info, err = ts.CopyObject(ctx, testBucket, src, testBucket, src, CopyOptions{ReplaceMetadata: true, Metadata: repl})
		if err != nil {
			t.Fatal(err)
		}
		ts.mustGet(t, src, data)
		head, _ := ts.GetObjectInfo(ctx, testBucket, src)
		if fmt.Sprint(head.Metadata) != fmt.Sprint(repl) || head.VersionID != info.VersionID {
			t.Fatalf("metadata after replace %+v", head.Metadata)
		}
		for i, v := range ts.versions(t, src) {
			if len(v) != 1 {
				t.Fatalf("drive %d holds %v", i, v)
			}
		}
		// COPY onto itself is refused.
		if _, err := ts.CopyObject(ctx, testBucket, src, testBucket, src, CopyOptions{}); !errors.Is(err, ErrCopyToSelf) {
			t.Fatalf("copy to self: %v", err)
		}
	}
	if _, err := ts.CopyObject(ctx, testBucket, "nothing", testBucket, "x", CopyOptions{}); !errors.Is(err, ErrObjectNotFound) {
		t.Fatalf("copy of a missing object: %v", err)
	}
	// Crossed copies of two keys, many times over: no deadlock.
	big := fmt.Sprintf("src-%d", 3*testBlockSize+1)
	done := make(chan error, 4)
	for _, pair := range [][2]string{{"src-100", "src-0"}, {"src-0", "src-100"}, {big, big + "-copy"}, {big + "-copy", big}} {
		go func() {
			for range 10 {
				if _, err := ts.CopyObject(ctx, testBucket, pair[0], testBucket, pair[1], CopyOptions{}); err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
	}
	for range 4 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	ts.noTmpLeftovers(t)
}
