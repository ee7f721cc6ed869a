package object

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
)

func newMPLayer(t testing.TB) *testLayer {
	t.Helper()
	return newTestLayer(t, 2, 4, func(c *LayerConfig) { c.Set.MinPartSize = testMinPart })
}

// TestLayerMultipartRoundTrip: uploads of objects in either set, through
// the Layer, complete into byte-exact objects held by their set only.
func TestLayerMultipartRoundTrip(t *testing.T) {
	t.Parallel()
	tl := newMPLayer(t)
	ctx := context.Background()
	for set := range 2 {
		key := tl.keyIn(fmt.Sprintf("mp/set%d-", set), set)
		id, err := tl.NewMultipartUpload(ctx, testBucket, key, PutOptions{Metadata: Metadata{ContentType: "text/x"}})
		if err != nil {
			t.Fatal(err)
		}
		bodies := [][]byte{
			randomBytes(uint64(10*set+1), testMinPart+123),
			randomBytes(uint64(10*set+2), 2*testBlockSize+7),
			randomBytes(uint64(10*set+3), 999),
		}
		var parts []PartInfo
		for i, b := range bodies {
			p, err := tl.PutObjectPart(ctx, testBucket, key, id, i+1, bytes.NewReader(b), int64(len(b)), PartOptions{})
			if err != nil {
				t.Fatalf("set %d: part %d: %v", set, i+1, err)
			}
			parts = append(parts, p)
		}
		lp, err := tl.ListParts(ctx, testBucket, key, id, 0, 0)
		if err != nil || len(lp.Parts) != 3 || lp.Parts[1].Size != int64(len(bodies[1])) {
			t.Fatalf("set %d: list parts %+v, %v", set, lp.Parts, err)
		}
		// Another set knows nothing of the upload.
		other := tl.sets[1-set]
		if _, err := other.ListParts(ctx, testBucket, key, id, 0, 0); err == nil {
			t.Fatalf("set %d: the other set lists the upload's parts", set)
		}
		info, err := tl.CompleteMultipartUpload(ctx, testBucket, key, id, completeList(parts...), CompleteOptions{})
		if err != nil {
			t.Fatalf("set %d: complete: %v", set, err)
		}
		if want := multipartETag(bodies...); info.ETag != want {
			t.Fatalf("set %d: etag %s, want %s", set, info.ETag, want)
		}
		tl.mustGet(t, key, slices.Concat(bodies...))
		if h := tl.holders(key); !slices.Equal(h, []int{set}) {
			t.Fatalf("set %d: object held by sets %v", set, h)
		}

		// Abort through the Layer.
		id2, err := tl.NewMultipartUpload(ctx, testBucket, key, PutOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tl.PutObjectPart(ctx, testBucket, key, id2, 1, bytes.NewReader(bodies[2]), int64(len(bodies[2])), PartOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := tl.AbortMultipartUpload(ctx, testBucket, key, id2); err != nil {
			t.Fatal(err)
		}
		if _, err := tl.ListParts(ctx, testBucket, key, id2, 0, 0); !errors.Is(err, ErrNoSuchUpload) {
			t.Fatalf("set %d: aborted upload: %v", set, err)
		}
		tl.mustGet(t, key, slices.Concat(bodies...))
	}
	res, err := tl.ListMultipartUploads(ctx, testBucket, "", "", "", "", 0)
	if err != nil || len(res.Uploads) != 0 || res.IsTruncated {
		t.Fatalf("uploads left: %+v, %v", res, err)
	}
}

// TestLayerListMultipartUploads: the uploads of both sets are listed in
// key order, whole or in pages of any size, with and without a delimiter;
// CleanupStaleUploads removes those of both sets.
func TestLayerListMultipartUploads(t *testing.T) {
	t.Parallel()
	tl := newMPLayer(t)
	ctx := context.Background()
	var keys []string
	for set := range 2 {
		for _, prefix := range []string{"k", "d/x", "d/y/", "z"} {
			for i := range 2 {
				keys = append(keys, tl.keyIn(fmt.Sprintf("%s%d-%d-", prefix, set, i), set))
			}
		}
	}
	keys = append(keys, keys[0]) // two uploads of one key
	perSet := [2]int{}
	for _, k := range keys {
		if _, err := tl.NewMultipartUpload(ctx, testBucket, k, PutOptions{}); err != nil {
			t.Fatal(err)
		}
		perSet[tl.SetIndex(testBucket, k)]++
	}
	if perSet[0] == 0 || perSet[1] == 0 {
		t.Fatalf("uploads per set %v", perSet)
	}
	wantKeys := slices.Sorted(slices.Values(keys))

	type entry struct{ key, id string }
	all, err := tl.ListMultipartUploads(ctx, testBucket, "", "", "", "", 0)
	if err != nil || all.IsTruncated || all.NextKeyMarker != "" {
		t.Fatalf("list: %+v, %v", all, err)
	}
	var full []entry
	var gotKeys []string
	for _, u := range all.Uploads {
		full = append(full, entry{u.Object, u.UploadID})
		gotKeys = append(gotKeys, u.Object)
	}
	if !slices.Equal(gotKeys, wantKeys) {
		t.Fatalf("listed %v, want %v", gotKeys, wantKeys)
	}

	for _, mx := range []int{1, 2, 3, 7, len(keys) - 1, len(keys), len(keys) + 1} {
		var got []entry
		km, im := "", ""
		for pages := 0; ; pages++ {
			if pages > len(keys)+1 {
				t.Fatalf("max %d: endless paging", mx)
			}
			res, err := tl.ListMultipartUploads(ctx, testBucket, "", km, im, "", mx)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Uploads) > mx || (res.IsTruncated && len(res.Uploads) != mx) {
				t.Fatalf("max %d: page of %d, truncated %v", mx, len(res.Uploads), res.IsTruncated)
			}
			for _, u := range res.Uploads {
				got = append(got, entry{u.Object, u.UploadID})
			}
			if !res.IsTruncated {
				break
			}
			km, im = res.NextKeyMarker, res.NextUploadIDMarker
		}
		if !slices.Equal(got, full) {
			t.Fatalf("max %d: paged %v, want %v", mx, got, full)
		}
	}

	// With a delimiter: "d/" is a common prefix of both sets, listed once.
	var wantDelim []string
	for _, k := range wantKeys {
		if k[:2] == "d/" {
			if !slices.Contains(wantDelim, "d/") {
				wantDelim = append(wantDelim, "d/")
			}
			continue
		}
		wantDelim = append(wantDelim, k)
	}
	for _, mx := range []int{1, 2, 5, 0} {
		var seen []string
		km, im := "", ""
		for {
			res, err := tl.ListMultipartUploads(ctx, testBucket, "", km, im, "/", mx)
			if err != nil {
				t.Fatal(err)
			}
			for _, u := range res.Uploads {
				seen = append(seen, u.Object)
			}
			seen = append(seen, res.CommonPrefixes...)
			if !res.IsTruncated {
				break
			}
			km, im = res.NextKeyMarker, res.NextUploadIDMarker
		}
		slices.Sort(seen)
		if !slices.Equal(seen, wantDelim) {
			t.Fatalf("max %d: delimited %v, want %v", mx, seen, wantDelim)
		}
	}
	res, err := tl.ListMultipartUploads(ctx, testBucket, "d/", "", "", "/", 0)
	if err != nil || len(res.Uploads) != 4 || !slices.Equal(res.CommonPrefixes, []string{"d/y/"}) {
		t.Fatalf("d/ delimited: %+v, %v", res, err)
	}
	if _, err := tl.ListMultipartUploads(ctx, "no-such-bucket", "", "", "", "", 0); !errors.Is(err, ErrBucketNotFound) {
		t.Fatalf("missing bucket: %v", err)
	}

	n, err := tl.CleanupStaleUploads(ctx, 0)
	if err != nil || n != len(keys) {
		t.Fatalf("cleanup: %d, %v; want %d", n, err, len(keys))
	}
	if res, err := tl.ListMultipartUploads(ctx, testBucket, "", "", "", "", 0); err != nil || len(res.Uploads) != 0 {
		t.Fatalf("after cleanup: %+v, %v", res, err)
	}
}
