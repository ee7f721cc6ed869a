package object

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gridstore/gridstore/node/object/layout"
	"github.com/gridstore/gridstore/storage"
	"github.com/gridstore/gridstore/storage/local"
)

// testLayer is a Layer over local drives of one process, each behind a
// fault injecting wrapper: drives[set][pos].
type testLayer struct {
	*Layer
	drives [][]*faultyDrive
	local  [][]*local.Drive
}

// newTestLayer builds sets × size drives with a bucket; tweak adjusts the
// configuration.
func newTestLayer(t testing.TB, sets, size int, tweak func(*LayerConfig)) *testLayer {
	t.Helper()
	driveNodes := make([]string, sets*size)
	for i := range driveNodes {
		driveNodes[i] = "node1"
	}
	lo, err := layout.New(driveNodes, layout.Config{SetSize: size})
	if err != nil {
		t.Fatal(err)
	}
	dep := uuid.NewString()
	id, err := layout.ParseDeploymentID(dep)
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, len(driveNodes))
	for i := range ids {
		ids[i] = uuid.NewString()
	}
	formatSets, err := lo.FormatSets(ids)
	if err != nil {
		t.Fatal(err)
	}
	tl := &testLayer{drives: make([][]*faultyDrive, sets), local: make([][]*local.Drive, sets)}
	cfgSets := make([][]storage.Drive, sets)
	for si, s := range lo.Sets {
		for pos, d := range s.Drives {
			dir := t.TempDir()
			spec := local.FormatSpec{DeploymentID: dep, DriveID: ids[d], Sets: formatSets, BitrotKey: testKey}
			if err := local.Format(dir, spec); err != nil {
				t.Fatal(err)
			}
			ld, err := local.Open(dir, local.ExpectedFor(spec, si, pos), local.Options{BufferedIO: true})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { ld.Close() })
			fd := &faultyDrive{Drive: ld}
			tl.drives[si] = append(tl.drives[si], fd)
			tl.local[si] = append(tl.local[si], ld)
			cfgSets[si] = append(cfgSets[si], fd)
		}
	}
	cfg := LayerConfig{
		Layout: lo, DeploymentID: id, Sets: cfgSets,
		Set: Config{
			BitrotKey: testKey, BlockSize: testBlockSize,
			DriveTimeout: 3 * time.Second, ShardTimeout: 3 * time.Second, ProbeTimeout: time.Second,
			StragglerWait: 10 * time.Millisecond, LockTimeout: 10 * time.Second,
		},
		HealthMaxAge: time.Nanosecond,
	}
	if tweak != nil {
		tweak(&cfg)
	}
	l, err := NewLayer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tl.Layer = l
	if err := l.MakeBucket(context.Background(), testBucket); err != nil {
		t.Fatal(err)
	}
	return tl
}

func (tl *testLayer) put(t testing.TB, key string, data []byte) {
	t.Helper()
	if _, err := tl.PutObject(context.Background(), testBucket, key, bytes.NewReader(data), int64(len(data)), PutOptions{}); err != nil {
		t.Fatalf("put %s: %v", key, err)
	}
}

func (tl *testLayer) get(key string) ([]byte, error) {
	r, err := tl.GetObject(context.Background(), testBucket, key, GetOptions{})
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var buf bytes.Buffer
	_, err = r.WriteTo(&buf)
	return buf.Bytes(), err
}

func (tl *testLayer) mustGet(t testing.TB, key string, want []byte) {
	t.Helper()
	got, err := tl.get(key)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("get %s: %d bytes (want %d), %v", key, len(got), len(want), err)
	}
}

// holders returns the sets whose drives hold a record of the object.
func (tl *testLayer) holders(key string) []int {
	var out []int
	for si, drives := range tl.local {
		for _, d := range drives {
			if _, err := d.ReadMetadata(context.Background(), testBucket, key); err == nil {
				out = append(out, si)
				break
			}
		}
	}
	return out
}

// keyIn returns a key with prefix that lands in set want.
func (tl *testLayer) keyIn(prefix string, want int) string {
	for i := 0; ; i++ {
		k := fmt.Sprintf("%s%d", prefix, i)
		if tl.SetIndex(testBucket, k) == want {
			return k
		}
	}
}

func (tl *testLayer) setAll(si int, fl fault, ops ...string) {
	for _, d := range tl.drives[si] {
		d.set(fl, ops...)
	}
}

func (tl *testLayer) clearAll() {
	for _, drives := range tl.drives {
		for _, d := range drives {
			d.clear()
		}
	}
}

func TestNewLayerRejectsBadConfig(t *testing.T) {
	t.Parallel()
	lo, err := layout.New(make([]string, 8), layout.Config{SetSize: 4})
	if err != nil {
		t.Fatal(err)
	}
	four := make([]storage.Drive, 4)
	for _, cfg := range []LayerConfig{
		{},
		{Layout: lo, Sets: [][]storage.Drive{four}, Set: Config{BitrotKey: testKey}},
		{Layout: lo, Sets: [][]storage.Drive{four, make([]storage.Drive, 5)}, Set: Config{BitrotKey: testKey}},
		{Layout: lo, Sets: [][]storage.Drive{four, four}},
		{Layout: lo, Sets: [][]storage.Drive{four, four}, Set: Config{BitrotKey: testKey, Parity: 3}},
	} {
		if _, err := NewLayer(cfg); !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("NewLayer(%d sets): %v, want ErrInvalidArgument", len(cfg.Sets), err)
		}
	}
}

// TestLayerPlacement: every object goes to the set the layout's keyed hash
// names, and only there; objects of every set read, head and delete.
func TestLayerPlacement(t *testing.T) {
	t.Parallel()
	tl := newTestLayer(t, 3, 4, nil)
	used := map[int]int{}
	objs := map[string][]byte{}
	for i := range 30 {
		key := fmt.Sprintf("dir%d/key%d", i%2, i)
		objs[key] = randomBytes(uint64(i), 100+i*997)
		tl.put(t, key, objs[key])
		want, _ := layout.SetIndex(tl.id, testBucket, key, 3)
		if got := tl.SetIndex(testBucket, key); got != want {
			t.Fatalf("%s: SetIndex %d, layout %d", key, got, want)
		}
		if h := tl.holders(key); !slices.Equal(h, []int{want}) {
			t.Fatalf("%s is on sets %v, want only %d", key, h, want)
		}
		if tl.SetFor(testBucket, key) != tl.Sets()[want] {
			t.Fatalf("%s: SetFor is not set %d", key, want)
		}
		used[want]++
	}
	if len(used) != 3 {
		t.Fatalf("objects per set: %v", used)
	}
	for key, want := range objs {
		tl.mustGet(t, key, want)
		info, err := tl.GetObjectInfo(context.Background(), testBucket, key)
		if err != nil || info.Size != int64(len(want)) {
			t.Fatalf("head %s: %+v %v", key, info, err)
		}
	}
	for key := range objs {
		if err := tl.DeleteObject(context.Background(), testBucket, key); err != nil {
			t.Fatal(err)
		}
		if _, err := tl.get(key); !errors.Is(err, ErrObjectNotFound) {
			t.Fatalf("deleted %s: %v", key, err)
		}
	}
}

// TestLayerBuckets: bucket calls span every set; a failed make is undone on
// the sets that took it; a half-made bucket is neither found nor missing
// until a make completes it; a bucket with objects in any set stays.
func TestLayerBuckets(t *testing.T) {
	t.Parallel()
	tl := newTestLayer(t, 2, 4, nil)
	ctx := context.Background()
	if err := tl.MakeBucket(ctx, testBucket); !errors.Is(err, ErrBucketExists) {
		t.Fatalf("make again: %v", err)
	}
	if err := tl.MakeBucket(ctx, "Bad_Name"); !errors.Is(err, ErrInvalidBucketName) {
		t.Fatalf("make bad name: %v", err)
	}
	if _, err := tl.HeadBucket(ctx, "absent"); !errors.Is(err, ErrBucketNotFound) {
		t.Fatalf("head absent: %v", err)
	}

	// Set 1 cannot take a bucket: set 0 drops it again.
	tl.drives[1][0].set(faultError, "MakeVol")
	tl.drives[1][1].set(faultError, "MakeVol")
	if err := tl.MakeBucket(ctx, "failing"); !errors.Is(err, ErrWriteQuorum) {
		t.Fatalf("make with set 1 below quorum: %v", err)
	}
	tl.clearAll()
	for si, drives := range tl.local {
		for pos, d := range drives {
			if _, err := d.StatVol(ctx, "failing"); !errors.Is(err, storage.ErrVolumeNotFound) {
				t.Fatalf("set %d drive %d kept the bucket of a failed make: %v", si, pos, err)
			}
		}
	}

	// Half made (set 0 only): listed, not headed; a make completes it.
	if err := tl.Sets()[0].MakeBucket(ctx, "half"); err != nil {
		t.Fatal(err)
	}
	if _, err := tl.HeadBucket(ctx, "half"); !errors.Is(err, ErrReadQuorum) {
		t.Fatalf("head a half-made bucket: %v", err)
	}
	if _, err := tl.ListObjects(ctx, "half", ListOptions{}); !errors.Is(err, ErrReadQuorum) {
		t.Fatalf("list a half-made bucket: %v", err)
	}
	bs, err := tl.ListBuckets(ctx)
	if err != nil || len(bs) != 2 || bs[0].Name != testBucket || bs[1].Name != "half" || bs[1].Created.IsZero() {
		t.Fatalf("list: %+v %v", bs, err)
	}
	if err := tl.MakeBucket(ctx, "half"); !errors.Is(err, ErrBucketExists) {
		t.Fatalf("make a half-made bucket: %v", err)
	}
	if _, err := tl.HeadBucket(ctx, "half"); err != nil {
		t.Fatalf("head a completed bucket: %v", err)
	}

	// Not empty: an object in one set, or leftovers on one drive only.
	key := tl.keyIn("obj", 1)
	tl.put(t, key, []byte("data"))
	if err := tl.DeleteBucket(ctx, testBucket); !errors.Is(err, ErrBucketNotEmpty) {
		t.Fatalf("delete a bucket with an object: %v", err)
	}
	// A record on one drive is an object there (a write that failed, say,
	// for heal to remove): the bucket is not empty. A data dir that no
	// record names is not an object and is deleted with the bucket.
	if err := tl.local[0][2].CreateFile(ctx, "half", storage.PartPath("orphan", "11111111-1111-4111-8111-111111111111", 1), 3, bytes.NewReader([]byte("abc"))); err != nil {
		t.Fatal(err)
	}
	leftover := storage.FileInfo{FileVersion: storage.FileVersion{ModTime: time.Now(), Size: 3, InlineData: []byte("abc")}}
	if err := tl.local[0][2].WriteMetadata(ctx, "half", "leftover", leftover); err != nil {
		t.Fatal(err)
	}
	if err := tl.DeleteBucket(ctx, "half"); !errors.Is(err, ErrBucketNotEmpty) {
		t.Fatalf("delete a bucket with leftovers: %v", err)
	}
	for _, b := range []string{testBucket, "half"} {
		if _, err := tl.HeadBucket(ctx, b); err != nil {
			t.Fatalf("bucket %s after a refused delete: %v", b, err)
		}
	}
	tl.mustGet(t, key, []byte("data"))

	// A delete that set 1 cannot do is undone on set 0.
	if err := tl.MakeBucket(ctx, "empty"); err != nil {
		t.Fatal(err)
	}
	tl.setAll(1, faultError, "DeleteVol")
	if err := tl.DeleteBucket(ctx, "empty"); !errors.Is(err, ErrWriteQuorum) {
		t.Fatalf("delete with set 1 failing: %v", err)
	}
	tl.clearAll()
	if _, err := tl.HeadBucket(ctx, "empty"); err != nil {
		t.Fatalf("bucket after an undone delete: %v", err)
	}
	if err := tl.DeleteBucket(ctx, "empty"); err != nil {
		t.Fatal(err)
	}
	if _, err := tl.HeadBucket(ctx, "empty"); !errors.Is(err, ErrBucketNotFound) {
		t.Fatalf("deleted bucket: %v", err)
	}
	if err := tl.DeleteBucket(ctx, "empty"); !errors.Is(err, ErrBucketNotFound) {
		t.Fatalf("delete again: %v", err)
	}
	// A set below read quorum: no answer rather than a wrong one.
	tl.setAll(0, faultOffline)
	if _, err := tl.HeadBucket(ctx, testBucket); !errors.Is(err, ErrReadQuorum) {
		t.Fatalf("head with a set offline: %v", err)
	}
	if _, err := tl.ListBuckets(ctx); !errors.Is(err, ErrReadQuorum) {
		t.Fatalf("list with a set offline: %v", err)
	}
}

// TestLayerDeleteObjects: a batch over several sets answers every key in
// request order, each with its own result.
func TestLayerDeleteObjects(t *testing.T) {
	t.Parallel()
	tl := newTestLayer(t, 3, 4, nil)
	var names []string
	for i := range 20 {
		key := fmt.Sprintf("k%02d", i)
		if i%3 != 0 {
			tl.put(t, key, []byte(key))
		}
		names = append(names, key)
	}
	names = append(names, "bad\xffname", "k01")
	// Set 2 cannot delete: its keys fail, the others do not.
	tl.setAll(2, faultError, "ReadMetadata", "DeleteVersion")
	res := tl.DeleteObjects(context.Background(), testBucket, names)
	tl.clearAll()
	if len(res) != len(names) {
		t.Fatalf("%d results for %d names", len(res), len(names))
	}
	for i, r := range res {
		switch {
		case r.Name != names[i]:
			t.Fatalf("result %d is for %s, want %s", i, r.Name, names[i])
		case r.Name == "bad\xffname":
			if !errors.Is(r.Err, ErrInvalidObjectName) {
				t.Fatalf("bad name: %v", r.Err)
			}
		case tl.SetIndex(testBucket, r.Name) == 2:
			if !errors.Is(r.Err, ErrWriteQuorum) {
				t.Fatalf("%s in the failing set: %v", r.Name, r.Err)
			}
		case r.Err != nil:
			t.Fatalf("%s: %v", r.Name, r.Err)
		default:
			if _, err := tl.get(r.Name); !errors.Is(err, ErrObjectNotFound) {
				t.Fatalf("deleted %s: %v", r.Name, err)
			}
		}
	}
	if len(tl.DeleteObjects(context.Background(), testBucket, nil)) != 0 {
		t.Fatal("results for an empty batch")
	}
}

// TestLayerCopyAcrossSets: a copy between sets moves the bytes and the
// metadata as asked; crossed copies between two sets at once never
// deadlock; a copy within a set is the set's.
func TestLayerCopyAcrossSets(t *testing.T) {
	t.Parallel()
	tl := newTestLayer(t, 2, 4, nil)
	ctx := context.Background()
	a, b := tl.keyIn("a", 0), tl.keyIn("b", 1)
	for _, size := range []int{0, 1000, InlineLimit + 1, 5*testBlockSize + 17} {
		data := randomBytes(uint64(size), size)
		meta := Metadata{ContentType: "image/png", User: map[string]string{"x-amz-meta-a": "1"}}
		if _, err := tl.PutObject(ctx, testBucket, a, bytes.NewReader(data), int64(size), PutOptions{Metadata: meta}); err != nil {
			t.Fatal(err)
		}
		info, err := tl.CopyObject(ctx, testBucket, a, testBucket, b, CopyOptions{})
		if err != nil || info.Size != int64(size) || info.ContentType != "image/png" || info.User["x-amz-meta-a"] != "1" {
			t.Fatalf("copy of %d bytes: %+v, %v", size, info, err)
		}
		tl.mustGet(t, b, data)
		if h := tl.holders(b); !slices.Equal(h, []int{1}) {
			t.Fatalf("copy is on sets %v", h)
		}
		info, err = tl.CopyObject(ctx, testBucket, b, testBucket, a, CopyOptions{ReplaceMetadata: true, Metadata: Metadata{ContentType: "text/plain"}})
		if err != nil || info.ContentType != "text/plain" || len(info.User) != 0 {
			t.Fatalf("copy back with new metadata: %+v, %v", info, err)
		}
		tl.mustGet(t, a, data)
	}
	if _, err := tl.CopyObject(ctx, testBucket, "absent", testBucket, b, CopyOptions{}); !errors.Is(err, ErrObjectNotFound) {
		t.Fatalf("copy of an absent object: %v", err)
	}
	if _, err := tl.CopyObject(ctx, testBucket, a, testBucket, "bad\xffname", CopyOptions{}); !errors.Is(err, ErrInvalidObjectName) {
		t.Fatalf("copy to a bad name: %v", err)
	}
	if _, err := tl.CopyObject(ctx, testBucket, a, testBucket, a, CopyOptions{}); !errors.Is(err, ErrCopyToSelf) {
		t.Fatalf("copy onto itself: %v", err)
	}
	same := tl.keyIn("c", 0)
	if _, err := tl.CopyObject(ctx, testBucket, a, testBucket, same, CopyOptions{}); err != nil {
		t.Fatal(err)
	}

	// Crossed copies, large objects: a to b and b to a at once, many times.
	bodyA, bodyB := randomBytes(1, 4*testBlockSize), randomBytes(2, 3*testBlockSize+5)
	tl.put(t, a, bodyA)
	tl.put(t, b, bodyB)
	done := make(chan struct{})
	go func() {
		defer close(done)
		var wg sync.WaitGroup
		for range 5 {
			wg.Add(2)
			go func() {
				defer wg.Done()
				if _, err := tl.CopyObject(ctx, testBucket, a, testBucket, b, CopyOptions{}); err != nil {
					t.Error(err)
				}
			}()
			go func() {
				defer wg.Done()
				if _, err := tl.CopyObject(ctx, testBucket, b, testBucket, a, CopyOptions{}); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
	}()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("crossed copies did not finish: deadlock")
	}
	for _, key := range []string{a, b} {
		got, err := tl.get(key)
		if err != nil || !bytes.Equal(got, bodyA) && !bytes.Equal(got, bodyB) {
			t.Fatalf("%s after crossed copies: %d bytes, %v", key, len(got), err)
		}
	}
}

// TestLayerListObjects: listings merge the sets, page with markers and
// continuation tokens, roll up common prefixes, keep content headers, and
// fail rather than list short.
func TestLayerListObjects(t *testing.T) {
	t.Parallel()
	tl := newTestLayer(t, 2, 4, nil)
	ctx := context.Background()
	var want []string
	for i := range 25 {
		key := fmt.Sprintf("p%d/k%02d", i%3, i)
		if i%5 == 0 {
			key = fmt.Sprintf("top%02d", i)
		}
		meta := Metadata{ContentType: "text/plain", CacheControl: "no-cache", User: map[string]string{"x-amz-meta-i": fmt.Sprint(i)}}
		if _, err := tl.PutObject(ctx, testBucket, key, bytes.NewReader([]byte(key)), int64(len(key)), PutOptions{Metadata: meta}); err != nil {
			t.Fatal(err)
		}
		want = append(want, key)
	}
	slices.Sort(want)
	sets := map[int]bool{}
	for _, k := range want {
		sets[tl.SetIndex(testBucket, k)] = true
	}
	if len(sets) != 2 {
		t.Fatal("every key in one set")
	}
	// v2, recursive, small pages.
	var got []string
	opts := ListOptions{MaxKeys: 4}
	for {
		page, err := tl.ListObjects(ctx, testBucket, opts)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range page.Objects {
			got = append(got, o.Name)
			if o.ContentType != "text/plain" || o.CacheControl != "no-cache" || len(o.User) != 1 || o.Size != int64(len(o.Name)) || o.ETag == "" {
				t.Fatalf("listed %+v", o)
			}
		}
		if !page.IsTruncated {
			break
		}
		opts.ContinuationToken = page.NextContinuationToken
	}
	if !slices.Equal(got, want) {
		t.Fatalf("v2 listing %v, want %v", got, want)
	}
	// v1 with a delimiter.
	got = nil
	opts = ListOptions{Delimiter: "/", MaxKeys: 2}
	for {
		page, err := tl.ListObjects(ctx, testBucket, opts)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range page.Objects {
			got = append(got, o.Name)
		}
		got = append(got, page.CommonPrefixes...)
		if !page.IsTruncated {
			break
		}
		opts.Marker = page.NextMarker
	}
	slices.Sort(got)
	if !slices.Equal(got, []string{"p0/", "p1/", "p2/", "top00", "top05", "top10", "top15", "top20"}) {
		t.Fatalf("v1 delimited listing %v", got)
	}
	page, err := tl.ListObjects(ctx, testBucket, ListOptions{Prefix: "p1/", Marker: "p1/k04"})
	if err != nil || len(page.Objects) != 5 || page.Objects[0].Name != "p1/k07" || page.IsTruncated {
		t.Fatalf("prefix and marker: %+v, %v", page, err)
	}
	for _, c := range []struct {
		bucket string
		opts   ListOptions
		want   error
	}{
		{"absent", ListOptions{}, ErrBucketNotFound},
		{"absent", ListOptions{Prefix: "x//"}, ErrBucketNotFound}, // a prefix nothing can match
		{"Bad_Name", ListOptions{}, ErrInvalidBucketName},
		{testBucket, ListOptions{ContinuationToken: "garbage"}, ErrInvalidArgument},
		{testBucket, ListOptions{MaxKeys: -1}, ErrInvalidArgument},
	} {
		if _, err := tl.ListObjects(ctx, c.bucket, c.opts); !errors.Is(err, c.want) {
			t.Errorf("list %s %+v: %v, want %v", c.bucket, c.opts, err, c.want)
		}
	}
	if page, err := tl.ListObjects(ctx, testBucket, ListOptions{Prefix: "nothing"}); err != nil || len(page.Objects) != 0 {
		t.Fatalf("empty listing: %+v, %v", page, err)
	}
	// Set 1 below its read quorum: an error, never the other set alone.
	tl.drives[1][0].set(faultOffline)
	tl.drives[1][1].set(faultOffline)
	tl.drives[1][2].set(faultOffline)
	if page, err := tl.ListObjects(ctx, testBucket, ListOptions{}); !errors.Is(err, ErrReadQuorum) {
		t.Fatalf("list with a set below quorum: %d objects, %v", len(page.Objects), err)
	}
}

// TestLayerHealth: per set, online drives and whether a read and a write
// would be taken; probes are shared for HealthMaxAge.
func TestLayerHealth(t *testing.T) {
	t.Parallel()
	quick := func(c *LayerConfig) { c.Set.ProbeTimeout = 200 * time.Millisecond }
	tl := newTestLayer(t, 2, 4, quick) // 2+2: write quorum 3, read quorum 2
	ctx := context.Background()
	h := tl.Health(ctx)
	if len(h) != 2 || h[0].Online != 4 || h[1].Online != 4 || h[1].WriteQuorum != 3 || h[1].ReadQuorum != 2 || !tl.WriteQuorumAvailable(ctx) {
		t.Fatalf("all online: %+v", h)
	}
	tl.drives[1][3].set(faultOffline)
	h = tl.Health(ctx)
	if h[1].Online != 3 || !slices.Equal(h[1].Offline, []int{3}) || !h[1].WriteQuorumAvailable || !h[1].ReadQuorumAvailable {
		t.Fatalf("one offline: %+v", h[1])
	}
	tl.drives[1][0].set(faultHang, "DiskInfo") // slow: offline after ProbeTimeout
	h = tl.Health(ctx)
	if h[1].Online != 2 || !slices.Equal(h[1].Offline, []int{0, 3}) || h[1].WriteQuorumAvailable || !h[1].ReadQuorumAvailable || tl.WriteQuorumAvailable(ctx) {
		t.Fatalf("two offline: %+v", h[1])
	}
	if h[0].Online != 4 || !h[0].WriteQuorumAvailable {
		t.Fatalf("the other set: %+v", h[0])
	}
	// The answer agrees with what a PUT to that set does.
	key := tl.keyIn("w", 1)
	if _, err := tl.PutObject(ctx, testBucket, key, bytes.NewReader(nil), 0, PutOptions{}); !errors.Is(err, ErrWriteQuorum) {
		t.Fatalf("put with 2 of 4 down: %v", err)
	}
	tl.clearAll()

	// With a long HealthMaxAge, concurrent callers share one probe and
	// later ones reuse it.
	slow := newTestLayer(t, 1, 4, func(c *LayerConfig) { quick(c); c.HealthMaxAge = time.Hour })
	slow.drives[0][0].set(faultHang, "DiskInfo")
	var wg sync.WaitGroup
	start := time.Now()
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if h := slow.Health(ctx); h[0].Online != 3 {
				t.Errorf("shared probe: %+v", h)
			}
		}()
	}
	wg.Wait()
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("8 health checks took %v: the probes were not shared", d)
	}
	slow.drives[0][0].clear()
	if h := slow.Health(ctx); h[0].Online != 3 {
		t.Fatalf("cached health: %+v", h)
	}
	// A caller that gives up while a probe runs gets the last answer.
	fresh := newTestLayer(t, 1, 4, func(c *LayerConfig) { quick(c); c.HealthMaxAge = time.Hour })
	fresh.drives[0][1].set(faultHang, "DiskInfo")
	probing := make(chan struct{})
	go func() {
		defer close(probing)
		fresh.Health(context.Background())
	}()
	defer func() { <-probing }()
	cctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	time.Sleep(10 * time.Millisecond)
	if h := fresh.Health(cctx); len(h) != 1 || h[0].Drives != 4 {
		t.Fatalf("health of a caller that gave up: %+v", h)
	}
}
