package object_test

import (
	"bytes"
	"fmt"
	"slices"
	"testing"

	"github.com/gridstore/gridstore/node/object"
	"github.com/gridstore/gridstore/node/object/layout"
	"github.com/gridstore/gridstore/node/object/objecttest"
	"github.com/gridstore/gridstore/node/object/objecttest/ondisk"
)

// writeKind is one way of writing an object: it writes key from node l and
// returns the bytes the object must hold.
type writeKind struct {
	name  string
	write func(t *testing.T, l *object.Layer, key string, seed uint64) []byte
}

// multipart uploads parts of the given sizes (a part number listed twice
// is uploaded twice, the second upload being the part), and completes
// with the parts numbered in use (all, if nil).
func multipart(t *testing.T, l *object.Layer, key string, seed uint64, sizes []int, numbers []int, use []int) []byte {
	t.Helper()
	ctx := testCtx(t)
	id, err := l.NewMultipartUpload(ctx, bucket, key, object.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	byNumber := map[int]object.PartInfo{}
	data := map[int][]byte{}
	for i, n := range numbers {
		b := body(seed+uint64(i), sizes[i])
		p, err := l.PutObjectPart(ctx, bucket, key, id, n, bytes.NewReader(b), int64(len(b)), object.PartOptions{})
		if err != nil {
			t.Fatalf("part %d of %s: %v", n, key, err)
		}
		byNumber[n], data[n] = p, b
	}
	if use == nil {
		for n := range byNumber {
			use = append(use, n)
		}
		slices.Sort(use)
	}
	var list []object.CompletePart
	var all []byte
	for _, n := range use {
		list = append(list, object.CompletePart{Number: n, ETag: byNumber[n].ETag})
		all = append(all, data[n]...)
	}
	if _, err := l.CompleteMultipartUpload(ctx, bucket, key, id, list, object.CompleteOptions{}); err != nil {
		t.Fatalf("complete %s: %v", key, err)
	}
	return all
}

// leftoverMinPart is the minimum part size of TestClusterNothingLeftBehind:
// over one block of the harness, so parts end mid-block.
const leftoverMinPart = 300 << 10

var writeKinds = []writeKind{
	{"inline", func(t *testing.T, l *object.Layer, key string, seed uint64) []byte {
		b := body(seed, 1000)
		mustPut(t, l, key, b)
		return b
	}},
	{"single-part", func(t *testing.T, l *object.Layer, key string, seed uint64) []byte {
		b := body(seed, object.InlineLimit+300<<10)
		mustPut(t, l, key, b)
		return b
	}},
	{"multipart-part-resent", func(t *testing.T, l *object.Layer, key string, seed uint64) []byte {
		return multipart(t, l, key, seed, []int{leftoverMinPart, 700 << 10, 350 << 10, 10}, []int{1, 2, 2, 3}, nil)
	}},
	{"multipart-part-unused", func(t *testing.T, l *object.Layer, key string, seed uint64) []byte {
		return multipart(t, l, key, seed, []int{leftoverMinPart, 400 << 10, 20}, []int{1, 2, 3}, []int{1, 3})
	}},
	{"copy-of-multipart", func(t *testing.T, l *object.Layer, key string, seed uint64) []byte {
		src := key + ".src"
		b := multipart(t, l, src, seed, []int{leftoverMinPart, 100}, []int{1, 2}, nil)
		if _, err := l.CopyObject(testCtx(t), bucket, src, bucket, key, object.CopyOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := l.DeleteObject(testCtx(t), bucket, src); err != nil {
			t.Fatal(err)
		}
		return b
	}},
	{"copy-of-inline", func(t *testing.T, l *object.Layer, key string, seed uint64) []byte {
		src := key + ".src"
		b := body(seed, 500)
		mustPut(t, l, src, b)
		if _, err := l.CopyObject(testCtx(t), bucket, src, bucket, key, object.CopyOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := l.DeleteObject(testCtx(t), bucket, src); err != nil {
			t.Fatal(err)
		}
		return b
	}},
}

// TestClusterNothingLeftBehind (issue 10, 3): objects written every way
// (inline, in shard files, multipart with a part uploaded twice or left
// out of the Complete, copies), overwritten every way, then deleted leave
// nothing on any drive: the bucket's folder is empty everywhere and the
// bucket can be deleted.
func TestClusterNothingLeftBehind(t *testing.T) {
	c := newCluster(t, objecttest.Options{
		DrivesPerNode: 4, Layout: layout.Config{Parity: 2}, // two sets: copies across them too
		Set: object.Config{MinPartSize: leftoverMinPart},
	})
	ctx := testCtx(t)
	roots := c.DriveDirs()
	var keys []string
	for i, first := range writeKinds {
		key := fmt.Sprintf("dir/%s", first.name)
		l := c.Nodes[i%len(c.Nodes)].Layer()
		want := first.write(t, l, key, uint64(100*i))
		mustGet(t, 0, c.Nodes[0].Layer(), key, want)
		for j, next := range writeKinds {
			want = next.write(t, c.Nodes[j%len(c.Nodes)].Layer(), key, uint64(100*i+j+1))
			mustGet(t, 1, c.Nodes[1].Layer(), key, want)
		}
		keys = append(keys, key)
	}
	if left := ondisk.LeftoversUnder(t, roots, bucket); len(left) == 0 {
		t.Fatal("LeftoversUnder finds nothing of the objects written")
	}
	for i, key := range keys {
		if err := c.Nodes[i%len(c.Nodes)].Layer().DeleteObject(ctx, bucket, key); err != nil {
			t.Fatal(err)
		}
	}
	ondisk.RequireBucketEmpty(t, roots, bucket)
	if err := c.Nodes[2].Layer().DeleteBucket(ctx, bucket); err != nil {
		t.Fatalf("delete bucket: %v", err)
	}
}
