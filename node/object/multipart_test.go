package object

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gridstore/gridstore/storage"
)

// testMinPart is the lowered minimum part size of most tests: just over a
// block, so that parts end mid-block.
const testMinPart = testBlockSize + 1000

var mpLayouts = []struct {
	name           string
	drives, parity int
}{{"4+2", 6, 2}, {"8+4", 12, 4}}

func newMPSet(t testing.TB, drives, parity int, tweak func(*Config)) *testSet {
	t.Helper()
	return newTestSet(t, drives, func(c *Config) {
		c.Parity = parity
		c.MinPartSize = testMinPart
		if tweak != nil {
			tweak(c)
		}
	})
}

func (ts *testSet) newUpload(t testing.TB, key string, opts PutOptions) string {
	t.Helper()
	id, err := ts.NewMultipartUpload(context.Background(), testBucket, key, opts)
	if err != nil {
		t.Fatalf("new upload %s: %v", key, err)
	}
	return id
}

func (ts *testSet) putPart(t testing.TB, key, id string, num int, data []byte) PartInfo {
	t.Helper()
	p, err := ts.PutObjectPart(context.Background(), testBucket, key, id, num, bytes.NewReader(data), int64(len(data)), PartOptions{})
	if err != nil {
		t.Fatalf("part %d of %s: %v", num, key, err)
	}
	sum := md5.Sum(data)
	if p.Number != num || p.Size != int64(len(data)) || p.ETag != hex.EncodeToString(sum[:]) {
		t.Fatalf("part %d: got %+v", num, p)
	}
	return p
}

func (ts *testSet) complete(t testing.TB, key, id string, parts []CompletePart) ObjectInfo {
	t.Helper()
	info, err := ts.CompleteMultipartUpload(context.Background(), testBucket, key, id, parts, CompleteOptions{})
	if err != nil {
		t.Fatalf("complete %s: %v", key, err)
	}
	return info
}

// multipartETag is S3's ETag of an object made of these parts.
func multipartETag(parts ...[]byte) string {
	var sums []byte
	for _, p := range parts {
		s := md5.Sum(p)
		sums = append(sums, s[:]...)
	}
	total := md5.Sum(sums)
	return hex.EncodeToString(total[:]) + "-" + strconv.Itoa(len(parts))
}

func completeList(parts ...PartInfo) []CompletePart {
	out := make([]CompletePart, len(parts))
	for i, p := range parts {
		out[i] = CompletePart{Number: p.Number, ETag: `"` + p.ETag + `"`}
	}
	return out
}

// noUploadLeftovers fails if any drive keeps anything of an upload but the
// tombstones of completed ones: no part, no record of an upload in
// progress.
func (ts *testSet) noUploadLeftovers(t testing.TB) {
	t.Helper()
	ctx := context.Background()
	for i, d := range ts.local {
		names, err := d.ListDir(ctx, storage.MultipartVolume, "", 0)
		if err != nil && !errors.Is(err, storage.ErrFileNotFound) {
			t.Fatal(err)
		}
		if slices.ContainsFunc(names, func(n string) bool { return n != uploadsDir+"/" }) {
			t.Errorf("drive %d: multipart volume holds %v", i, names)
		}
		err = d.WalkDir(ctx, storage.WalkDirOptions{Volume: storage.MultipartVolume, Prefix: uploadsDir + "/", Recursive: true},
			func(e storage.MetaEntry) error {
				meta, err := storage.DecodeObjectMeta(e.Metadata)
				if err != nil || meta.Versions[0].SysMetadata[sysUploadCompleted] == "" {
					t.Errorf("drive %d: %s is no tombstone of a completed upload (%v)", i, e.Name, err)
				}
				return nil
			})
		if err != nil {
			t.Fatal(err)
		}
	}
}

func (ts *testSet) mustGetRange(t testing.TB, key string, want []byte, first, last int64) {
	t.Helper()
	got, _, err := ts.get(key, GetOptions{Range: &Range{First: first, Last: last}})
	if err != nil {
		t.Fatalf("get %s bytes %d-%d: %v", key, first, last, err)
	}
	exp := want[first : min(last, int64(len(want))-1)+1]
	if !bytes.Equal(got, exp) {
		t.Fatalf("get %s bytes %d-%d: %d bytes differ from the %d expected (at %d)", key, first, last, len(got), len(exp), firstDiff(got, exp))
	}
}

// TestMultipartRoundTrip: parts ending mid-block, the last one short, read
// back whole, by ranges across every part boundary and by part number.
func TestMultipartRoundTrip(t *testing.T) {
	for _, l := range mpLayouts {
		t.Run(l.name, func(t *testing.T) {
			t.Parallel()
			ts := newMPSet(t, l.drives, l.parity, nil)
			sizes := []int{testMinPart, 3*testBlockSize + 17, 2 * testBlockSize, testMinPart + 5, 77}
			var parts [][]byte
			meta := Metadata{ContentType: "video/mp4", CacheControl: "no-cache", User: map[string]string{"x-amz-meta-k": "v"}}
			id := ts.newUpload(t, "dir/big", PutOptions{Metadata: meta})
			var infos []PartInfo
			for i, size := range sizes {
				data := randomBytes(uint64(i+1), size)
				parts = append(parts, data)
				infos = append(infos, ts.putPart(t, "dir/big", id, i+1, data))
			}
			info := ts.complete(t, "dir/big", id, completeList(infos...))
			whole := bytes.Join(parts, nil)
			wantETag := multipartETag(parts...)
			if info.Size != int64(len(whole)) || info.ETag != wantETag || info.PartsCount != len(parts) {
				t.Fatalf("complete: size %d etag %s parts %d, want %d %s %d", info.Size, info.ETag, info.PartsCount, len(whole), wantETag, len(parts))
			}
			if !strings.HasSuffix(info.ETag, "-5") || len(info.ETag) != 32+2 {
				t.Fatalf("ETag %q not of the form md5-N", info.ETag)
			}
			if info.DataShards != l.drives-l.parity {
				t.Fatalf("layout %d+%d", info.DataShards, info.ParityShards)
			}
			head, err := ts.GetObjectInfo(context.Background(), testBucket, "dir/big")
			if err != nil {
				t.Fatal(err)
			}
			if head.Size != info.Size || head.ETag != wantETag || head.VersionID != info.VersionID || head.PartsCount != 5 ||
				head.ContentType != meta.ContentType || head.CacheControl != meta.CacheControl || head.User["x-amz-meta-k"] != "v" {
				t.Fatalf("head %+v", head)
			}
			ts.mustGet(t, "dir/big", whole)

			// Ranges around every boundary, and random ones.
			var bounds []int64
			var off int64
			for _, p := range parts {
				off += int64(len(p))
				bounds = append(bounds, off)
			}
			n := int64(len(whole))
			for _, b := range bounds[:len(bounds)-1] {
				for _, r := range [][2]int64{{b - 1, b}, {b, b}, {b - 1, b - 1}, {b - 100, b + 100}, {b - testBlockSize - 3, b + 2*testBlockSize}, {0, b}, {b, n - 1}} {
					ts.mustGetRange(t, "dir/big", whole, max(r[0], 0), min(r[1], n-1))
				}
			}
			rng := rand.New(rand.NewPCG(1, 2))
			for range 20 {
				first := rng.Int64N(n)
				ts.mustGetRange(t, "dir/big", whole, first, first+rng.Int64N(n-first))
			}
			got, _, err := ts.get("dir/big", GetOptions{Range: &Range{SuffixLength: 1000}})
			if err != nil || !bytes.Equal(got, whole[n-1000:]) {
				t.Fatalf("suffix range: %v", err)
			}
			for i, p := range parts {
				got, _, err := ts.get("dir/big", GetOptions{PartNumber: i + 1})
				if err != nil || !bytes.Equal(got, p) {
					t.Fatalf("part number %d: %v (%d bytes, want %d)", i+1, err, len(got), len(p))
				}
			}
			if _, _, err := ts.get("dir/big", GetOptions{PartNumber: 6}); !errors.Is(err, ErrInvalidPartNumber) {
				t.Fatalf("part 6 of 5: %v, want ErrInvalidPartNumber", err)
			}
			if _, _, err := ts.get("dir/big", GetOptions{PartNumber: 1, Range: &Range{First: 0, Last: 1}}); !errors.Is(err, ErrInvalidArgument) {
				t.Fatalf("part number and range: %v, want ErrInvalidArgument", err)
			}
			// A plain object has one part, and no parts count.
			plain := randomBytes(9, 3*testBlockSize)
			ts.put(t, "plain", plain)
			if got, info, err := ts.get("plain", GetOptions{PartNumber: 1}); err != nil || !bytes.Equal(got, plain) || info.PartsCount != 0 {
				t.Fatalf("part 1 of a plain object: %v, parts count %d", err, info.PartsCount)
			}
			if _, _, err := ts.get("plain", GetOptions{PartNumber: 2}); !errors.Is(err, ErrInvalidPartNumber) {
				t.Fatalf("part 2 of a plain object: %v", err)
			}
			// Every drive holds the version, with its shards and nothing else.
			for i, d := range ts.local {
				fi, err := d.ReadVersion(context.Background(), testBucket, "dir/big", "")
				if err != nil {
					t.Fatalf("drive %d: %v", i, err)
				}
				if err := d.VerifyFile(context.Background(), testBucket, "dir/big", fi); err != nil {
					t.Fatalf("drive %d: %v", i, err)
				}
				names, err := d.ListDir(context.Background(), testBucket, "dir/big/"+fi.DataDir, 0)
				if err != nil || !slices.Equal(names, []string{"part.1", "part.2", "part.3", "part.4", "part.5"}) {
					t.Fatalf("drive %d: data dir holds %v (%v)", i, names, err)
				}
			}
			ts.noUploadLeftovers(t)
			if _, err := ts.ListParts(context.Background(), testBucket, "dir/big", id, 0, 0); !errors.Is(err, ErrNoSuchUpload) {
				t.Fatalf("list parts after complete: %v, want ErrNoSuchUpload", err)
			}
		})
	}
}

// TestMultipartRealMinimum: S3's 5 MiB minimum, with a part of 5 MiB + 1.
func TestMultipartRealMinimum(t *testing.T) {
	t.Parallel()
	ts := newTestSet(t, 6, nil) // Config.MinPartSize 0: MinPartSize
	ctx := context.Background()
	big := randomBytes(1, MinPartSize+1)
	small := randomBytes(2, 1000)
	id := ts.newUpload(t, "k", PutOptions{})
	p1 := ts.putPart(t, "k", id, 1, small)
	p2 := ts.putPart(t, "k", id, 2, big)
	p3 := ts.putPart(t, "k", id, 3, small)
	if _, err := ts.CompleteMultipartUpload(ctx, testBucket, "k", id, completeList(p1, p2, p3), CompleteOptions{}); !errors.Is(err, ErrEntityTooSmall) {
		t.Fatalf("small first part: %v, want ErrEntityTooSmall", err)
	}
	info := ts.complete(t, "k", id, completeList(p2, p3))
	if info.ETag != multipartETag(big, small) || info.Size != int64(len(big)+len(small)) {
		t.Fatalf("got %+v", info)
	}
	ts.mustGet(t, "k", append(slices.Clone(big), small...))
	ts.noUploadLeftovers(t)
}

// TestMultipartConcurrentParts: parts uploaded in parallel, out of order,
// none lost.
func TestMultipartConcurrentParts(t *testing.T) {
	for _, l := range mpLayouts {
		t.Run(l.name, func(t *testing.T) {
			t.Parallel()
			ts := newMPSet(t, l.drives, l.parity, nil)
			const count = 12
			id := ts.newUpload(t, "k", PutOptions{})
			parts := make([][]byte, count)
			for i := range parts {
				parts[i] = randomBytes(uint64(100+i), testMinPart+i*1111)
			}
			order := rand.New(rand.NewPCG(3, 4)).Perm(count)
			infos := make([]PartInfo, count)
			var wg sync.WaitGroup
			errs := make(chan error, count)
			for _, i := range order {
				wg.Go(func() {
					p, err := ts.PutObjectPart(context.Background(), testBucket, "k", id, i+1, bytes.NewReader(parts[i]), int64(len(parts[i])), PartOptions{})
					infos[i] = p
					errs <- err
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
			list, err := ts.ListParts(context.Background(), testBucket, "k", id, 0, 0)
			if err != nil {
				t.Fatal(err)
			}
			if len(list.Parts) != count || list.IsTruncated {
				t.Fatalf("listed %d parts, truncated %v", len(list.Parts), list.IsTruncated)
			}
			for i, p := range list.Parts {
				if p.Number != i+1 || p.ETag != infos[i].ETag || p.Size != int64(len(parts[i])) {
					t.Fatalf("part %d listed as %+v, uploaded as %+v", i+1, p, infos[i])
				}
			}
			ts.complete(t, "k", id, completeList(infos...))
			ts.mustGet(t, "k", bytes.Join(parts, nil))
			ts.noUploadLeftovers(t)
		})
	}
}

// TestMultipartReuploadPart: the last upload of a part number is the part;
// concurrent uploads of one number leave one of them, whole.
func TestMultipartReuploadPart(t *testing.T) {
	t.Parallel()
	ts := newMPSet(t, 6, 2, nil)
	ctx := context.Background()
	id := ts.newUpload(t, "k", PutOptions{})
	p1 := ts.putPart(t, "k", id, 1, randomBytes(1, testMinPart))
	first := randomBytes(2, 3*testBlockSize)
	old := ts.putPart(t, "k", id, 2, first)
	second := randomBytes(3, 2*testBlockSize+5) // another size, another ETag
	p2 := ts.putPart(t, "k", id, 2, second)
	list, err := ts.ListParts(ctx, testBucket, "k", id, 0, 0)
	if err != nil || len(list.Parts) != 2 || list.Parts[1].ETag != p2.ETag || list.Parts[1].Size != int64(len(second)) {
		t.Fatalf("list after re-upload: %+v %v", list.Parts, err)
	}
	if _, err := ts.CompleteMultipartUpload(ctx, testBucket, "k", id, completeList(p1, old), CompleteOptions{}); !errors.Is(err, ErrInvalidPart) {
		t.Fatalf("complete with the replaced ETag: %v, want ErrInvalidPart", err)
	}

	// Racing uploads of part 3.
	candidates := [][]byte{randomBytes(10, testMinPart), randomBytes(11, testMinPart+3), randomBytes(12, 2*testMinPart)}
	var wg sync.WaitGroup
	for _, c := range candidates {
		wg.Go(func() {
			if _, err := ts.PutObjectPart(ctx, testBucket, "k", id, 3, bytes.NewReader(c), int64(len(c)), PartOptions{}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	list, err = ts.ListParts(ctx, testBucket, "k", id, 2, 0)
	if err != nil || len(list.Parts) != 1 {
		t.Fatalf("list: %+v %v", list.Parts, err)
	}
	p3 := list.Parts[0]
	winner := slices.IndexFunc(candidates, func(c []byte) bool { s := md5.Sum(c); return hex.EncodeToString(s[:]) == p3.ETag })
	if winner < 0 {
		t.Fatalf("part 3 has ETag %s, of none of the uploads", p3.ETag)
	}
	ts.complete(t, "k", id, completeList(p1, p2, p3))
	ts.mustGet(t, "k", bytes.Join([][]byte{randomBytes(1, testMinPart), second, candidates[winner]}, nil))
	ts.noUploadLeftovers(t)
}

// TestMultipartCompleteSubset: unlisted parts are discarded, listed ones
// keep their numbers.
func TestMultipartCompleteSubset(t *testing.T) {
	t.Parallel()
	ts := newMPSet(t, 6, 2, nil)
	id := ts.newUpload(t, "k", PutOptions{})
	var parts [][]byte
	var infos []PartInfo
	for i := range 5 {
		parts = append(parts, randomBytes(uint64(i+20), testMinPart+i))
		infos = append(infos, ts.putPart(t, "k", id, i+1, parts[i]))
	}
	info := ts.complete(t, "k", id, completeList(infos[0], infos[2], infos[4]))
	if info.ETag != multipartETag(parts[0], parts[2], parts[4]) || info.PartsCount != 3 {
		t.Fatalf("got %+v", info)
	}
	ts.mustGet(t, "k", bytes.Join([][]byte{parts[0], parts[2], parts[4]}, nil))
	if got, _, err := ts.get("k", GetOptions{PartNumber: 2}); err != nil || !bytes.Equal(got, parts[2]) {
		t.Fatalf("second part: %v", err)
	}
	for i, d := range ts.local {
		fi, err := d.ReadVersion(context.Background(), testBucket, "k", "")
		if err != nil {
			t.Fatal(err)
		}
		var nums []int
		for _, p := range fi.Parts {
			nums = append(nums, p.Number)
		}
		names, _ := d.ListDir(context.Background(), testBucket, "k/"+fi.DataDir, 0)
		if !slices.Equal(nums, []int{1, 3, 5}) || !slices.Equal(names, []string{"part.1", "part.3", "part.5"}) {
			t.Fatalf("drive %d: parts %v, files %v", i, nums, names)
		}
	}
	ts.noUploadLeftovers(t)
}

// TestMultipartValidation: every malformed request fails with its error
// and leaves the upload usable.
func TestMultipartValidation(t *testing.T) {
	t.Parallel()
	ts := newMPSet(t, 6, 2, nil)
	ctx := context.Background()
	id := ts.newUpload(t, "k", PutOptions{})
	a, b, c := randomBytes(1, testMinPart), randomBytes(2, testMinPart-1), randomBytes(3, 10)
	p1 := ts.putPart(t, "k", id, 1, a)
	p2 := ts.putPart(t, "k", id, 2, b)
	p3 := ts.putPart(t, "k", id, 3, c)

	completeCases := []struct {
		name  string
		parts []CompletePart
		want  error
	}{
		{"none", nil, ErrInvalidArgument},
		{"descending", completeList(p2, p1), ErrInvalidPartOrder},
		{"duplicate", completeList(p1, p1), ErrInvalidPartOrder},
		{"missing", []CompletePart{{1, p1.ETag}, {4, p3.ETag}}, ErrInvalidPart},
		{"wrong etag", []CompletePart{{1, p2.ETag}}, ErrInvalidPart},
		{"number 0", []CompletePart{{0, p1.ETag}}, ErrInvalidPart},
		{"number 10001", []CompletePart{{1, p1.ETag}, {10001, p1.ETag}}, ErrInvalidPart},
		{"too small", completeList(p1, p2, p3), ErrEntityTooSmall},
		{"too many", make([]CompletePart, MaxPartNumber+1), ErrTooManyParts},
	}
	for _, tc := range completeCases {
		if _, err := ts.CompleteMultipartUpload(ctx, testBucket, "k", id, tc.parts, CompleteOptions{}); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	other := "00000000-0000-4000-8000-000000000000"
	partCases := []struct {
		name   string
		key    string
		upload string
		num    int
		md5    []byte
		want   error
	}{
		{"number 0", "k", id, 0, nil, ErrInvalidArgument},
		{"number 10001", "k", id, MaxPartNumber + 1, nil, ErrInvalidArgument},
		{"malformed upload ID", "k", "../../x", 1, nil, ErrNoSuchUpload},
		{"unknown upload ID", "k", other, 1, nil, ErrNoSuchUpload},
		{"other object", "k2", id, 1, nil, ErrNoSuchUpload},
		{"bad digest", "k", id, 4, make([]byte, md5.Size), ErrBadDigest},
		{"bad digest length", "k", id, 4, []byte{1}, ErrInvalidArgument},
	}
	for _, tc := range partCases {
		_, err := ts.PutObjectPart(ctx, testBucket, tc.key, tc.upload, tc.num, bytes.NewReader(c), int64(len(c)), PartOptions{ContentMD5: tc.md5})
		if !errors.Is(err, tc.want) {
			t.Errorf("part %s: %v, want %v", tc.name, err, tc.want)
		}
	}
	if _, err := ts.PutObjectPart(ctx, testBucket, "k", id, 4, bytes.NewReader(c), 11, PartOptions{}); !errors.Is(err, ErrIncompleteBody) {
		t.Errorf("short body: %v, want ErrIncompleteBody", err)
	}
	if _, err := ts.PutObjectPart(ctx, testBucket, "k", id, 4, bytes.NewReader(c), MaxPartSize+1, PartOptions{}); !errors.Is(err, ErrEntityTooLarge) {
		t.Errorf("huge part: %v, want ErrEntityTooLarge", err)
	}
	if _, err := ts.NewMultipartUpload(ctx, "no-such-bucket", "k", PutOptions{}); !errors.Is(err, ErrBucketNotFound) {
		t.Errorf("missing bucket: %v, want ErrBucketNotFound", err)
	}
	if _, err := ts.NewMultipartUpload(ctx, testBucket, "k", PutOptions{Metadata: Metadata{User: map[string]string{"bad": "x"}}}); !errors.Is(err, ErrInvalidArgument) {
		t.Errorf("bad metadata: %v, want ErrInvalidArgument", err)
	}
	for _, op := range []func() error{
		func() error { _, err := ts.ListParts(ctx, testBucket, "k", other, 0, 0); return err },
		func() error { return ts.AbortMultipartUpload(ctx, testBucket, "k", other) },
		func() error {
			_, err := ts.CompleteMultipartUpload(ctx, testBucket, "k", other, completeList(p1), CompleteOptions{})
			return err
		},
	} {
		if err := op(); !errors.Is(err, ErrNoSuchUpload) {
			t.Errorf("unknown upload: %v, want ErrNoSuchUpload", err)
		}
	}
	// Nothing of the failures is visible: parts 1..3, as uploaded.
	list, err := ts.ListParts(ctx, testBucket, "k", id, 0, 0)
	if err != nil || len(list.Parts) != 3 {
		t.Fatalf("list: %+v %v", list.Parts, err)
	}
	// A part of unknown size, with the right digest, and the last part
	// may be small.
	sum := md5.Sum(c)
	p4, err := ts.PutObjectPart(ctx, testBucket, "k", id, 4, io.LimitReader(bytes.NewReader(c), int64(len(c))), -1, PartOptions{ContentMD5: sum[:]})
	if err != nil || p4.Size != int64(len(c)) {
		t.Fatalf("unknown size part: %+v %v", p4, err)
	}
	ts.complete(t, "k", id, []CompletePart{{1, strings.ToUpper(p1.ETag)}, {4, p4.ETag}})
	ts.mustGet(t, "k", append(slices.Clone(a), c...))
	ts.noUploadLeftovers(t)
}

// TestMultipartEmpty: a single empty part makes an empty object.
func TestMultipartEmpty(t *testing.T) {
	t.Parallel()
	ts := newMPSet(t, 6, 2, nil)
	id := ts.newUpload(t, "empty", PutOptions{})
	p := ts.putPart(t, "empty", id, 1, nil)
	info := ts.complete(t, "empty", id, completeList(p))
	if info.Size != 0 || info.ETag != multipartETag(nil) {
		t.Fatalf("got %+v", info)
	}
	ts.mustGet(t, "empty", nil)
	if _, _, err := ts.get("empty", GetOptions{Range: &Range{First: 0, Last: 0}}); !errors.Is(err, ErrInvalidRange) {
		t.Fatalf("range of an empty object: %v", err)
	}
}

// TestMultipartAbort: an aborted upload is gone, and its parts with it.
func TestMultipartAbort(t *testing.T) {
	t.Parallel()
	ts := newMPSet(t, 6, 2, nil)
	ctx := context.Background()
	id := ts.newUpload(t, "k", PutOptions{})
	p := ts.putPart(t, "k", id, 1, randomBytes(1, testMinPart))
	keep := ts.newUpload(t, "k", PutOptions{}) // another upload of the same key
	if err := ts.AbortMultipartUpload(ctx, testBucket, "k", id); err != nil {
		t.Fatal(err)
	}
	if err := ts.AbortMultipartUpload(ctx, testBucket, "k", id); !errors.Is(err, ErrNoSuchUpload) {
		t.Fatalf("second abort: %v, want ErrNoSuchUpload", err)
	}
	if _, err := ts.PutObjectPart(ctx, testBucket, "k", id, 2, bytes.NewReader(nil), 0, PartOptions{}); !errors.Is(err, ErrNoSuchUpload) {
		t.Fatalf("part after abort: %v", err)
	}
	if _, err := ts.CompleteMultipartUpload(ctx, testBucket, "k", id, completeList(p), CompleteOptions{}); !errors.Is(err, ErrNoSuchUpload) {
		t.Fatalf("complete after abort: %v", err)
	}
	if _, err := ts.GetObjectInfo(ctx, testBucket, "k"); !errors.Is(err, ErrObjectNotFound) {
		t.Fatalf("head: %v", err)
	}
	list, err := ts.ListMultipartUploads(ctx, testBucket, "", "", "", "", 0)
	if err != nil || len(list.Uploads) != 1 || list.Uploads[0].UploadID != keep {
		t.Fatalf("uploads: %+v %v", list.Uploads, err)
	}
	if err := ts.AbortMultipartUpload(ctx, testBucket, "k", keep); err != nil {
		t.Fatal(err)
	}
	ts.noUploadLeftovers(t)
}

// TestListPartsPages: pages of parts by marker.
func TestListPartsPages(t *testing.T) {
	t.Parallel()
	ts := newMPSet(t, 6, 2, nil)
	ctx := context.Background()
	meta := Metadata{ContentType: "text/plain"}
	id := ts.newUpload(t, "k", PutOptions{Metadata: meta})
	for _, num := range []int{7, 1, 3, 10, 2, 9, 100} {
		ts.putPart(t, "k", id, num, randomBytes(uint64(num), 10+num))
	}
	var got []int
	marker, pages := 0, 0
	for {
		res, err := ts.ListParts(ctx, testBucket, "k", id, marker, 3)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if res.UploadID != id || res.Object != "k" || res.ContentType != "text/plain" || res.MaxParts != 3 || res.PartNumberMarker != marker || res.Initiated.IsZero() {
			t.Fatalf("page %d: %+v", pages, res)
		}
		for _, p := range res.Parts {
			got = append(got, p.Number)
		}
		if !res.IsTruncated {
			break
		}
		marker = res.NextPartNumberMarker
	}
	if want := []int{1, 2, 3, 7, 9, 10, 100}; !slices.Equal(got, want) || pages != 3 {
		t.Fatalf("listed %v in %d pages, want %v in 3", got, pages, want)
	}
	if _, err := ts.ListParts(ctx, testBucket, "k", id, -1, 0); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("negative marker: %v", err)
	}
}

// TestListMultipartUploads: prefix, delimiter and markers.
func TestListMultipartUploads(t *testing.T) {
	t.Parallel()
	ts := newMPSet(t, 4, 2, nil)
	ctx := context.Background()
	if err := ts.MakeBucket(ctx, "other"); err != nil {
		t.Fatal(err)
	}
	if _, err := ts.NewMultipartUpload(ctx, "other", "a", PutOptions{}); err != nil {
		t.Fatal(err)
	}
	keys := []string{"a", "a", "b/1", "b/2", "b/c/3", "c", "a"}
	ids := map[string][]string{}
	for _, k := range keys {
		ids[k] = append(ids[k], ts.newUpload(t, k, PutOptions{}))
	}
	type entry struct{ key, id string }
	var want []entry // by key, then initiation
	for _, k := range []string{"a", "b/1", "b/2", "b/c/3", "c"} {
		for _, id := range ids[k] {
			want = append(want, entry{k, id})
		}
	}

	all, err := ts.ListMultipartUploads(ctx, testBucket, "", "", "", "", 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []entry
	for _, u := range all.Uploads {
		got = append(got, entry{u.Object, u.UploadID})
		if u.Bucket != testBucket || u.Initiated.IsZero() || u.DataShards != 2 {
			t.Fatalf("upload %+v", u)
		}
	}
	if !slices.Equal(got, want) || all.IsTruncated {
		t.Fatalf("listed %v, want %v", got, want)
	}

	// Pages of 2, resumed by the markers, list the same.
	got = nil
	keyMarker, idMarker := "", ""
	for {
		res, err := ts.ListMultipartUploads(ctx, testBucket, "", keyMarker, idMarker, "", 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Uploads) > 2 {
			t.Fatalf("page of %d", len(res.Uploads))
		}
		for _, u := range res.Uploads {
			got = append(got, entry{u.Object, u.UploadID})
		}
		if !res.IsTruncated {
			break
		}
		keyMarker, idMarker = res.NextKeyMarker, res.NextUploadIDMarker
	}
	if !slices.Equal(got, want) {
		t.Fatalf("paged %v, want %v", got, want)
	}

	// A key marker alone skips all of that key's uploads.
	res, err := ts.ListMultipartUploads(ctx, testBucket, "", "a", "", "", 0)
	if err != nil || len(res.Uploads) != len(want)-3 || res.Uploads[0].Object != "b/1" {
		t.Fatalf("after a: %+v %v", res.Uploads, err)
	}

	// Prefix and delimiter.
	res, err = ts.ListMultipartUploads(ctx, testBucket, "", "", "", "/", 0)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.CommonPrefixes, []string{"b/"}) || len(res.Uploads) != 4 {
		t.Fatalf("delimited: uploads %+v prefixes %v", res.Uploads, res.CommonPrefixes)
	}
	res, err = ts.ListMultipartUploads(ctx, testBucket, "b/", "", "", "/", 0)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.CommonPrefixes, []string{"b/c/"}) || len(res.Uploads) != 2 || res.Uploads[0].Object != "b/1" {
		t.Fatalf("b/ delimited: uploads %+v prefixes %v", res.Uploads, res.CommonPrefixes)
	}
	// Pages of 1 with a delimiter: a common prefix counts as one entry.
	var seen []string
	keyMarker, idMarker = "", ""
	for {
		res, err := ts.ListMultipartUploads(ctx, testBucket, "", keyMarker, idMarker, "/", 1)
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
		keyMarker, idMarker = res.NextKeyMarker, res.NextUploadIDMarker
	}
	if want := []string{"a", "a", "a", "b/", "c"}; !slices.Equal(seen, want) {
		t.Fatalf("paged delimited listing %v, want %v", seen, want)
	}
	if _, err := ts.ListMultipartUploads(ctx, "no-such-bucket", "", "", "", "", 0); !errors.Is(err, ErrBucketNotFound) {
		t.Fatalf("missing bucket: %v", err)
	}
}

// TestMultipartDriveFaults: drives failing in every way while parts are
// uploaded (parity of them for one part), and at completion.
func TestMultipartDriveFaults(t *testing.T) {
	for _, l := range mpLayouts {
		t.Run(l.name, func(t *testing.T) {
			t.Parallel()
			ts := newMPSet(t, l.drives, l.parity, shortTimeouts)
			n, p := l.drives, l.parity
			id := ts.newUpload(t, "k", PutOptions{})
			var parts [][]byte
			var infos []PartInfo
			upload := func() {
				i := len(parts)
				parts = append(parts, randomBytes(uint64(i+50), testMinPart+i*7))
				infos = append(infos, ts.putPart(t, "k", id, i+1, parts[i]))
				for _, d := range ts.drives {
					d.clear()
				}
			}
			for pos := range p { // parity drives failing their shard writes
				ts.drives[pos].set(faultError, "CreateFile")
			}
			upload()
			ts.drives[p].set(faultOffline) // offline
			upload()
			ts.drives[n-1].set(faultError, "WriteMetadata") // shard written, record not
			upload()
			ts.drives[n-2].set(faultHang, "CreateFile") // hung: dropped at the shard timeout
			upload()

			// A drive refusing the commit that is not needed by part 1.
			ts.heals.take()
			ts.drives[0].set(faultError, "RenameData")
			info := ts.complete(t, "k", id, completeList(infos...))
			ts.drives[0].clear()
			whole := bytes.Join(parts, nil)
			if info.Size != int64(len(whole)) || info.ETag != multipartETag(parts...) {
				t.Fatalf("got %+v", info)
			}
			ts.mustGet(t, "k", whole)
			ts.mustGetRange(t, "k", whole, testMinPart-10, int64(len(whole))-10)
			reqs := ts.heals.take()
			if len(reqs) == 0 {
				t.Fatal("no heal request for drives missing shards")
			}
			if !slices.Contains(reqs[0].Missing, 0) || !slices.Contains(reqs[0].Missing, n-1) {
				t.Fatalf("heal request %+v does not name drives 0 and %d", reqs[0], n-1)
			}
			// The drive that wrote a shard without its record did not move
			// it into the object.
			fi, err := ts.local[n-1].ReadVersion(context.Background(), testBucket, "k", "")
			if err != nil {
				t.Fatal(err)
			}
			names, _ := ts.local[n-1].ListDir(context.Background(), testBucket, "k/"+fi.DataDir, 0)
			if slices.Contains(names, "part.3") {
				t.Fatalf("drive %d moved a shard without a record: %v", n-1, names)
			}
			ts.noUploadLeftovers(t)
		})
	}
}

// TestMultipartGetFaults: reads of a multipart object survive parity
// drives failing, whole and by ranges across parts.
func TestMultipartGetFaults(t *testing.T) {
	for _, l := range mpLayouts {
		t.Run(l.name, func(t *testing.T) {
			t.Parallel()
			ts := newMPSet(t, l.drives, l.parity, shortTimeouts)
			id := ts.newUpload(t, "k", PutOptions{})
			var parts [][]byte
			var infos []PartInfo
			for i := range 3 {
				parts = append(parts, randomBytes(uint64(i), testMinPart+i*4099))
				infos = append(infos, ts.putPart(t, "k", id, i+1, parts[i]))
			}
			ts.complete(t, "k", id, completeList(infos...))
			whole := bytes.Join(parts, nil)
			size := int64(len(whole))
			data, _ := ts.shardHolders(t, "k")
			for _, fl := range []fault{faultOffline, faultCorrupt, faultError} {
				for _, pos := range data[:l.parity] {
					ts.drives[pos].set(fl)
				}
				ts.mustGet(t, "k", whole)
				ts.mustGetRange(t, "k", whole, testMinPart-10, size-10)
				ts.mustGetRange(t, "k", whole, testMinPart, 2*testMinPart+4099)
				for _, d := range ts.drives {
					d.clear()
				}
			}
			// One more failure is below the read quorum.
			for _, pos := range data[:l.parity+1] {
				ts.drives[pos].set(faultError, "ReadFileStream")
			}
			if _, _, err := ts.get("k", GetOptions{}); !errors.Is(err, ErrReadQuorum) {
				t.Fatalf("%d failed: %v, want ErrReadQuorum", l.parity+1, err)
			}
		})
	}
}

// TestMultipartOfflineAtStart: drives offline when the upload starts raise
// its parity, as for a PUT, for every part.
func TestMultipartOfflineAtStart(t *testing.T) {
	t.Parallel()
	ts := newMPSet(t, 6, 2, nil)
	ts.drives[0].set(faultOffline)
	id := ts.newUpload(t, "k", PutOptions{})
	p1 := ts.putPart(t, "k", id, 1, randomBytes(1, testMinPart))
	ts.drives[0].clear()
	p2 := ts.putPart(t, "k", id, 2, randomBytes(2, 100))
	info := ts.complete(t, "k", id, completeList(p1, p2))
	if info.DataShards != 3 || info.ParityShards != 3 {
		t.Fatalf("layout %d+%d, want 3+3", info.DataShards, info.ParityShards)
	}
	ts.mustGet(t, "k", append(randomBytes(1, testMinPart), randomBytes(2, 100)...))
}

// TestMultipartBelowQuorum: a part or a completion that misses its write
// quorum fails, and leaves nothing visible.
func TestMultipartBelowQuorum(t *testing.T) {
	t.Parallel()
	ts := newMPSet(t, 6, 2, nil) // 4+2, write quorum 4
	ctx := context.Background()
	for i := range 3 {
		ts.drives[i].set(faultOffline)
	}
	if _, err := ts.NewMultipartUpload(ctx, testBucket, "k", PutOptions{}); !errors.Is(err, ErrWriteQuorum) {
		t.Fatalf("start with 3 of 6 offline: %v, want ErrWriteQuorum", err)
	}
	for i := range 3 {
		ts.drives[i].clear()
	}
	ts.noUploadLeftovers(t)

	id := ts.newUpload(t, "k", PutOptions{})
	p1 := ts.putPart(t, "k", id, 1, randomBytes(1, testMinPart))
	for i := range 3 {
		ts.drives[i].set(faultError, "CreateFile")
	}
	if _, err := ts.PutObjectPart(ctx, testBucket, "k", id, 2, bytes.NewReader(randomBytes(2, 1000)), 1000, PartOptions{}); !errors.Is(err, ErrWriteQuorum) {
		t.Fatalf("part with 3 of 6 failing: %v, want ErrWriteQuorum", err)
	}
	for i := range 3 {
		ts.drives[i].set(faultError, "WriteMetadata")
	}
	if _, err := ts.PutObjectPart(ctx, testBucket, "k", id, 3, bytes.NewReader(randomBytes(3, 1000)), 1000, PartOptions{}); !errors.Is(err, ErrWriteQuorum) {
		t.Fatalf("part records on 3 of 6: %v, want ErrWriteQuorum", err)
	}
	for i := range 3 {
		ts.drives[i].clear()
	}
	list, err := ts.ListParts(ctx, testBucket, "k", id, 0, 0)
	if err != nil || len(list.Parts) != 1 || list.Parts[0].Number != 1 {
		t.Fatalf("parts after failures: %+v %v", list.Parts, err)
	}
	p2 := ts.putPart(t, "k", id, 2, randomBytes(4, 500))

	// The commit below quorum: the old object stays, the new one is
	// nowhere.
	old := randomBytes(5, 1000)
	oldInfo := ts.put(t, "k", old)
	for i := range 3 {
		ts.drives[i].set(faultError, "RenameData")
	}
	if _, err := ts.CompleteMultipartUpload(ctx, testBucket, "k", id, completeList(p1, p2), CompleteOptions{}); !errors.Is(err, ErrWriteQuorum) {
		t.Fatalf("commit on 3 of 6: %v, want ErrWriteQuorum", err)
	}
	for i := range 3 {
		ts.drives[i].clear()
	}
	ts.mustGet(t, "k", old)
	for i, v := range ts.versions(t, "k") {
		if len(v) != 1 || v[0] != oldInfo.VersionID {
			t.Fatalf("drive %d holds %v, want only %s", i, v, oldInfo.VersionID)
		}
	}
	// What is left of the upload tells the truth: its parts lost their
	// shards on the drives that committed, so they no longer have a
	// write quorum... and the upload can be aborted.
	if _, err := ts.CompleteMultipartUpload(ctx, testBucket, "k", id, completeList(p1, p2), CompleteOptions{}); err == nil {
		t.Fatal("retry completed with shards gone from 3 drives")
	}
	ts.mustGet(t, "k", old)
	if err := ts.AbortMultipartUpload(ctx, testBucket, "k", id); err != nil {
		t.Fatal(err)
	}
	ts.noUploadLeftovers(t)
	ts.noTmpLeftovers(t)
}

// TestMultipartCompleteRetry: a completion that failed for a transient
// fault before the commit can be retried.
func TestMultipartCompleteRetry(t *testing.T) {
	t.Parallel()
	ts := newMPSet(t, 6, 2, nil)
	ctx := context.Background()
	id := ts.newUpload(t, "k", PutOptions{})
	a, b := randomBytes(1, testMinPart), randomBytes(2, 10)
	p1 := ts.putPart(t, "k", id, 1, a)
	p2 := ts.putPart(t, "k", id, 2, b)
	ts.drives[0].set(faultError, "RenameData")
	ts.drives[1].set(faultError, "RenameData")
	ts.drives[2].set(faultError, "ListDir") // cannot prune: does not commit
	if _, err := ts.CompleteMultipartUpload(ctx, testBucket, "k", id, completeList(p1, p2), CompleteOptions{}); !errors.Is(err, ErrWriteQuorum) {
		t.Fatalf("%v, want ErrWriteQuorum", err)
	}
	for _, d := range ts.drives {
		d.clear()
	}
	// Drives 3..5 committed and were rolled back: 3 drives keep the parts,
	// one short of the write quorum; the retry must say so, not commit.
	_, err := ts.CompleteMultipartUpload(ctx, testBucket, "k", id, completeList(p1, p2), CompleteOptions{})
	if err == nil {
		t.Fatal("retry committed parts held by 3 of 6 drives")
	}
	if _, err := ts.GetObjectInfo(ctx, testBucket, "k"); !errors.Is(err, ErrObjectNotFound) {
		t.Fatalf("head: %v", err)
	}

	// A fault before the commit (the object lock unavailable) leaves the
	// upload as it was.
	id = ts.newUpload(t, "k2", PutOptions{})
	p1 = ts.putPart(t, "k2", id, 1, a)
	p2 = ts.putPart(t, "k2", id, 2, b)
	lk, err := ts.Set.locker.Lock(ctx, lockKey(testBucket, "k2"))
	if err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	_, err = ts.CompleteMultipartUpload(short, testBucket, "k2", id, completeList(p1, p2), CompleteOptions{})
	cancel()
	lk.Unlock()
	if err == nil {
		t.Fatal("completed without the object lock")
	}
	ts.complete(t, "k2", id, completeList(p1, p2))
	ts.mustGet(t, "k2", append(slices.Clone(a), b...))
}

// TestMultipartCompleteRacesPut: completion and PUT of one key are ordered
// by the object lock: the result is one of them, whole, alone.
func TestMultipartCompleteRacesPut(t *testing.T) {
	t.Parallel()
	ts := newMPSet(t, 6, 2, nil)
	ctx := context.Background()
	for round := range 4 {
		key := fmt.Sprintf("race-%d", round)
		a, b := randomBytes(uint64(round), testMinPart), randomBytes(uint64(round+10), 3*testBlockSize)
		id := ts.newUpload(t, key, PutOptions{})
		p1 := ts.putPart(t, key, id, 1, a)
		p2 := ts.putPart(t, key, id, 2, b)
		plain := randomBytes(uint64(round+20), 2*testBlockSize+1)
		var wg sync.WaitGroup
		var mpInfo, putInfo ObjectInfo
		var mpErr, putErr error
		wg.Go(func() {
			mpInfo, mpErr = ts.CompleteMultipartUpload(ctx, testBucket, key, id, completeList(p1, p2), CompleteOptions{})
		})
		wg.Go(func() {
			putInfo, putErr = ts.PutObject(ctx, testBucket, key, bytes.NewReader(plain), int64(len(plain)), PutOptions{})
		})
		wg.Wait()
		if mpErr != nil || putErr != nil {
			t.Fatal(mpErr, putErr)
		}
		got, info, err := ts.get(key, GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		switch info.VersionID {
		case mpInfo.VersionID:
			if !bytes.Equal(got, append(slices.Clone(a), b...)) || !putInfo.ModTime.Before(mpInfo.ModTime) {
				t.Fatal("multipart version differs, or is not the later one")
			}
		case putInfo.VersionID:
			if !bytes.Equal(got, plain) || !mpInfo.ModTime.Before(putInfo.ModTime) {
				t.Fatal("put version differs, or is not the later one")
			}
		default:
			t.Fatalf("version %s is neither", info.VersionID)
		}
		ts.onlyVersion(t, key, info.VersionID)
	}
	ts.noUploadLeftovers(t)
}

// TestMultipartStaleCleanup: uploads older than the age go, younger ones
// stay, and part trees without a record go.
func TestMultipartStaleCleanup(t *testing.T) {
	t.Parallel()
	ts := newMPSet(t, 6, 2, nil)
	ctx := context.Background()
	oldID := ts.newUpload(t, "old", PutOptions{})
	ts.putPart(t, "old", oldID, 1, randomBytes(1, 1000))
	list, err := ts.ListMultipartUploads(ctx, testBucket, "", "", "", "", 0)
	if err != nil || len(list.Uploads) != 1 {
		t.Fatal(list, err)
	}
	oldStart := list.Uploads[0].Initiated
	for !time.Now().After(oldStart) {
		time.Sleep(time.Millisecond)
	}
	newID := ts.newUpload(t, "new", PutOptions{})
	p := ts.putPart(t, "new", newID, 1, randomBytes(2, 1000))
	list, _ = ts.ListMultipartUploads(ctx, testBucket, "new", "", "", "", 0)
	cutoff := list.Uploads[0].Initiated // "new" is not older than that, "old" is

	if n, err := ts.CleanupStaleUploads(ctx, time.Hour); err != nil || n != 0 {
		t.Fatalf("cleanup of uploads older than an hour: %d, %v", n, err)
	}
	// An orphan: a part tree whose record went missing on every drive.
	orphan := ts.newUpload(t, "orphan", PutOptions{})
	ts.putPart(t, "orphan", orphan, 1, randomBytes(3, 1000))
	for _, d := range ts.local {
		if err := d.Delete(ctx, storage.MultipartVolume, uploadsDir+"/"+uploadBase(testBucket, "orphan", orphan), true); err != nil {
			t.Fatal(err)
		}
	}
	n, err := ts.cleanupStaleUploads(ctx, cutoff)
	if err != nil || n != 1 {
		t.Fatalf("cleanup: %d removed, %v; want 1", n, err)
	}
	if _, err := ts.ListParts(ctx, testBucket, "old", oldID, 0, 0); !errors.Is(err, ErrNoSuchUpload) {
		t.Fatalf("old upload: %v, want ErrNoSuchUpload", err)
	}
	for i, d := range ts.local {
		if _, err := d.ListDir(ctx, storage.MultipartVolume, partsDir+"/"+uploadBase(testBucket, "orphan", orphan), 0); !errors.Is(err, storage.ErrFileNotFound) {
			t.Fatalf("drive %d: orphan part tree: %v", i, err)
		}
	}
	ts.complete(t, "new", newID, completeList(p))
	ts.mustGet(t, "new", randomBytes(2, 1000))
	ts.noUploadLeftovers(t)
}

// TestMultipartGetHungDrive: a drive hanging during a GET of a many-part
// object costs one shard timeout, not one per part.
func TestMultipartGetHungDrive(t *testing.T) {
	t.Parallel()
	ts := newMPSet(t, 6, 2, func(c *Config) {
		shortTimeouts(c)
		c.ShardTimeout = 200 * time.Millisecond
		c.MinPartSize = 1
	})
	id := ts.newUpload(t, "k", PutOptions{})
	const count = 12
	var parts [][]byte
	var infos []PartInfo
	for i := range count {
		parts = append(parts, randomBytes(uint64(i), 1000+i))
		infos = append(infos, ts.putPart(t, "k", id, i+1, parts[i]))
	}
	ts.complete(t, "k", id, completeList(infos...))
	data, _ := ts.shardHolders(t, "k")
	ts.drives[data[0]].set(faultHang, opStream)
	start := time.Now()
	ts.mustGet(t, "k", bytes.Join(parts, nil))
	if elapsed := time.Since(start); elapsed > 5*200*time.Millisecond {
		t.Fatalf("GET of %d parts with a hung drive took %v", count, elapsed)
	}
	ts.drives[data[0]].clear()
}

// TestCompleteWithPartHoldersOffline: a part acknowledged on a write
// quorum, some of whose holders are offline at the Complete, is not known
// to be absent: the Complete fails with ErrReadQuorum (a 503 to retry),
// not ErrInvalidPart (a 400 telling the client it never uploaded it), and
// succeeds once the drives are back. Seen in TestChaosRollingRestart.
func TestCompleteWithPartHoldersOffline(t *testing.T) {
	ts := newMPSet(t, 4, 2, nil) // write quorum 3, read quorum 2
	id := ts.newUpload(t, "k", PutOptions{})
	ts.drives[0].set(faultError, "CreateFile") // part 1 lands on drives 1..3
	data := randomBytes(3, 1000)
	p := ts.putPart(t, "k", id, 1, data)
	ts.drives[0].clear()
	ts.drives[1].set(faultOffline)
	ts.drives[2].set(faultOffline)
	_, err := ts.CompleteMultipartUpload(context.Background(), testBucket, "k", id, completeList(p), CompleteOptions{})
	if !errors.Is(err, ErrReadQuorum) || errors.Is(err, ErrInvalidPart) {
		t.Fatalf("complete with two of the part's three holders offline: %v, want ErrReadQuorum", err)
	}
	ts.drives[1].clear()
	ts.drives[2].clear()
	ts.complete(t, "k", id, completeList(p))
	ts.mustGet(t, "k", data)
}

// TestFailedCompleteFencesALateCommit: a Complete fails below its quorum
// while one drive's commit, which the writer gave up on, is still running
// there (a slow node); that drive also lacks a part's shard. The heals the
// failure queues run at once, as a node runs them, and find the drive as
// it was. When the late commit then runs, it must not publish the failed
// version: left there, newest on that drive and naming a shard it lacks,
// nothing would ever look at it again (CI: TestChaosKilledDuringMultipart,
// part.2 missing on a live drive 90 s after, twice).
func TestFailedCompleteFencesALateCommit(t *testing.T) {
	t.Parallel()
	rec := &missedRecorder{}
	ts := newMPSet(t, 8, 4, func(c *Config) { c.Missed = rec; c.DriveTimeout = time.Second })
	ctx := context.Background()
	old := randomBytes(9, 1000)
	oldInfo := ts.put(t, "mp", old)
	ts.heals.take()
	id := ts.newUpload(t, "mp", PutOptions{})
	p1 := ts.putPart(t, "mp", id, 1, randomBytes(1, testMinPart))
	// Drives 0 and 1 (a node that was slow) miss part 2.
	ts.drives[0].set(faultError, "CreateFile")
	ts.drives[1].set(faultError, "CreateFile")
	p2 := ts.putPart(t, "mp", id, 2, randomBytes(2, 1000))
	ts.drives[0].clear()
	ts.drives[1].clear()
	ts.drives[0].set(faultLater, "RenameData")
	ts.drives[6].set(faultError, "RenameData") // a node killed
	ts.drives[7].set(faultError, "RenameData")
	_, err := ts.CompleteMultipartUpload(ctx, testBucket, "mp", id, completeList(p1, p2), CompleteOptions{})
	if !errors.Is(err, ErrWriteQuorum) {
		t.Fatalf("complete: %v, want ErrWriteQuorum", err)
	}
	healAll := func() {
		for _, r := range ts.heals.take() {
			_, _ = ts.HealObject(ctx, testBucket, r.Object, HealOptions{Corrupt: r.Corrupt, Verify: r.Missing})
		}
		for _, w := range rec.take() {
			_, _ = ts.HealObject(ctx, testBucket, w.Object, HealOptions{Verify: w.Drives})
		}
	}
	healAll()
	ts.drives[0].unstick()
	deadline := time.Now().Add(10 * time.Second)
	for ts.drives[0].landed.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("drive 0's late commit did not run within 10 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if ts.drives[0].landedOK.Load() != 0 {
		t.Errorf("drive 0's late commit published the failed version: %v", ts.versions(t, "mp")[0])
	}
	for _, d := range ts.drives {
		d.clear()
	}
	healAll()
	ts.onlyVersion(t, "mp", oldInfo.VersionID)
	for i, d := range ts.local {
		fi, err := d.ReadVersion(ctx, testBucket, "mp", "")
		if err == nil {
			err = d.VerifyFile(ctx, testBucket, "mp", fi)
		}
		if err != nil {
			t.Errorf("drive %d: %v", i, err)
		}
	}
	ts.mustGet(t, "mp", old)
}
