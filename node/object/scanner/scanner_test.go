package scanner

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.uber.org/goleak"
	"go.uber.org/zap/zaptest"

	"github.com/gridstore/gridstore/node/object"
	"github.com/gridstore/gridstore/node/object/layout"
	"github.com/gridstore/gridstore/storage"
	"github.com/gridstore/gridstore/storage/local"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const testBucket = "bucket"

// testLayer is one set of four local drives in temporary folders.
type testLayer struct {
	*object.Layer
	local []*local.Drive
}

func newTestLayer(t testing.TB) *testLayer {
	t.Helper()
	return newLayerWith(t, 64<<10, local.Options{BufferedIO: true})
}

// newLayerWith is newTestLayer with another block size and drive options.
func newLayerWith(t testing.TB, blockSize int, opts local.Options) *testLayer {
	t.Helper()
	nodes := []string{"n", "n", "n", "n"}
	lo, err := layout.New(nodes, layout.Config{SetSize: 4})
	if err != nil {
		t.Fatal(err)
	}
	dep := uuid.NewString()
	id, err := layout.ParseDeploymentID(dep)
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, len(nodes))
	for i := range ids {
		ids[i] = uuid.NewString()
	}
	formatSets, err := lo.FormatSets(ids)
	if err != nil {
		t.Fatal(err)
	}
	key := []byte("gridstore scanner test bitrotkey")
	tl := &testLayer{}
	drives := make([]storage.Drive, 4)
	for pos, d := range lo.Sets[0].Drives {
		dir := t.TempDir()
		spec := local.FormatSpec{DeploymentID: dep, DriveID: ids[d], Sets: formatSets, BitrotKey: key}
		if err := local.Format(dir, spec); err != nil {
			t.Fatal(err)
		}
		ld, err := local.Open(dir, local.ExpectedFor(spec, 0, pos), opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ld.Close() })
		tl.local = append(tl.local, ld)
		drives[pos] = ld
	}
	l, err := object.NewLayer(object.LayerConfig{
		Layout: lo, DeploymentID: id, Sets: [][]storage.Drive{drives},
		Set: object.Config{BitrotKey: key, BlockSize: blockSize, DriveTimeout: 5 * time.Second, ShardTimeout: 5 * time.Second,
			ProbeTimeout: time.Second, LockTimeout: 10 * time.Second},
	})
	if err != nil {
		t.Fatal(err)
	}
	tl.Layer = l
	if err := l.MakeBucket(context.Background(), testBucket); err != nil {
		t.Fatal(err)
	}
	return tl
}

// fill puts n objects of sizes from inline to a few blocks and returns
// their names.
func (tl *testLayer) fill(t testing.TB, n int) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range n {
		size := []int{0, 100, 5000, 200 << 10}[i%4]
		data := make([]byte, size)
		for j := range data {
			data[j] = byte(rng.Uint32())
		}
		name := fmt.Sprintf("dir%d/obj%03d", i%3, i)
		if _, err := tl.PutObject(context.Background(), testBucket, name, bytes.NewReader(data), int64(size), object.PutOptions{}); err != nil {
			t.Fatal(err)
		}
		out[name] = data
	}
	return out
}

// holds reports whether drive pos holds the current version of key with
// every part file.
func (tl *testLayer) holds(pos int, key string) error {
	ctx := context.Background()
	want, err := tl.local[(pos+1)%4].ReadVersion(ctx, testBucket, key, "")
	if err != nil {
		return err
	}
	fi, err := tl.local[pos].ReadVersion(ctx, testBucket, key, "")
	if err != nil {
		return err
	}
	if fi.VersionID != want.VersionID || fi.DataDir != want.DataDir {
		return fmt.Errorf("drive %d holds version %s, not %s", pos, fi.VersionID, want.VersionID)
	}
	return tl.local[pos].VerifyFile(ctx, testBucket, key, fi)
}

func (tl *testLayer) wipeBucket(t testing.TB, pos int) {
	t.Helper()
	if err := os.RemoveAll(filepath.Join(tl.local[pos].Endpoint(), testBucket)); err != nil {
		t.Fatal(err)
	}
}

func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting: %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestRebuildWipedDrive: a drive that lost the bucket and everything in it
// gets every object back, by the rebuild alone (nothing reads them), with
// progress, and its mark is cleared once.
func TestRebuildWipedDrive(t *testing.T) {
	tl := newTestLayer(t)
	objs := tl.fill(t, 40)
	tl.wipeBucket(t, 3)
	var cleared atomic.Int32
	store := Store{Dirs: []string{DirOf(tl.local[3].Endpoint())}, Name: "rebuild.json"}
	r, err := StartRebuild(RebuildConfig{
		Layer: tl.Layer, Set: 0, Pos: 3, Drive: 3, Endpoint: tl.local[3].Endpoint(), Store: store,
		Done:   func() error { cleared.Add(1); return nil },
		Logger: zaptest.NewLogger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	select {
	case <-r.Done():
	case <-time.After(60 * time.Second):
		t.Fatalf("rebuild did not finish: %+v", r.Status())
	}
	for name := range objs {
		if err := tl.holds(3, name); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	st := r.Status()
	if st.State != RebuildDone || st.Progress != 1 || st.ObjectsHealed != uint64(len(objs)) || st.Failed != 0 ||
		st.TotalObjects != uint64(len(objs)) || st.ObjectsDone != st.TotalObjects || st.BytesHealed == 0 {
		t.Errorf("status after the rebuild: %+v", st)
	}
	if cleared.Load() != 1 {
		t.Errorf("mark cleared %d times", cleared.Load())
	}
	if err := store.Load(&rebuildState{}); err == nil {
		t.Error("the cursor outlived the rebuild")
	}
}

// TestRebuildDoneDespiteAnotherDrive: the rebuild of a drive that already
// holds every object ends, done, even when the heals it runs cannot heal
// another drive of the set (a file where its bucket was): that drive's failure is not
// the rebuilt drive's.
func TestRebuildDoneDespiteAnotherDrive(t *testing.T) {
	tl := newTestLayer(t)
	objs := tl.fill(t, 8)
	// Drive 2's bucket becomes a file: nothing can be written into it.
	tl.wipeBucket(t, 2)
	if err := os.WriteFile(filepath.Join(tl.local[2].Endpoint(), testBucket), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := StartRebuild(RebuildConfig{
		Layer: tl.Layer, Set: 0, Pos: 3, Drive: 3, Endpoint: tl.local[3].Endpoint(),
		Store:  Store{Dirs: []string{DirOf(tl.local[3].Endpoint())}, Name: "rebuild.json"},
		Logger: zaptest.NewLogger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	select {
	case <-r.Done():
	case <-time.After(30 * time.Second):
		t.Fatalf("rebuild did not finish: %+v", r.Status())
	}
	if st := r.Status(); st.State != RebuildDone || st.Failed != 0 || st.ObjectsDone != uint64(len(objs)) {
		t.Errorf("status after the rebuild: %+v, want done, %d objects, none failed", st, len(objs))
	}
}

// TestRebuildResumes: a rebuild stopped part way (its node paused it
// under load, then shut down) resumes after its cursor, and the objects
// before it are not healed again.
func TestRebuildResumes(t *testing.T) {
	tl := newTestLayer(t)
	objs := tl.fill(t, 24)
	tl.wipeBucket(t, 2)
	store := Store{Dirs: []string{DirOf(tl.local[2].Endpoint())}, Name: "rebuild.json"}
	var asked atomic.Int32
	cfg := RebuildConfig{
		Layer: tl.Layer, Set: 0, Pos: 2, Drive: 2, Store: store, Workers: 2,
		// Busy is asked before each object: busy for good after 8.
		Busy:   func() bool { return asked.Add(1) > 8 },
		Logger: zaptest.NewLogger(t),
	}
	r, err := StartRebuild(cfg)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "eight objects", func() bool { return r.Status().ObjectsDone == 8 })
	r.Close()
	first := r.Status()
	if first.State == RebuildDone || first.ObjectsHealed != 8 {
		t.Fatalf("first run: %+v", first)
	}

	cfg.Busy = nil
	r2, err := StartRebuild(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	select {
	case <-r2.Done():
	case <-time.After(60 * time.Second):
		t.Fatalf("resumed rebuild did not finish: %+v", r2.Status())
	}
	st := r2.Status()
	if st.ObjectsHealed != uint64(len(objs)) || st.ObjectsDone != uint64(len(objs)) || st.Pass != 1 {
		t.Errorf("after resuming: %+v (want %d healed in all, in one pass)", st, len(objs))
	}
	for name := range objs {
		if err := tl.holds(2, name); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// corrupt flips a byte of every part file of key on drive pos.
func (tl *testLayer) corrupt(t testing.TB, pos int, key string) {
	t.Helper()
	fi, err := tl.local[pos].ReadVersion(context.Background(), testBucket, key, "")
	if err != nil || fi.DataDir == "" {
		t.Fatalf("%s on drive %d: %v (data dir %q)", key, pos, err, fi.DataDir)
	}
	parts, _ := filepath.Glob(filepath.Join(local.DataDirFile(tl.local[pos].Endpoint(), testBucket, key, fi.DataDir), "part.*"))
	if len(parts) == 0 {
		t.Fatalf("no part files of %s on drive %d", key, pos)
	}
	for _, p := range parts {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		b[100] ^= 0xff
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestScannerHealsAndResumes: a bitrot pass finds a rotten shard and a
// drive missing an object, heals both, records the pass; a scan stopped
// part way resumes from its saved cursor.
func TestScannerHealsAndResumes(t *testing.T) {
	tl := newTestLayer(t)
	objs := tl.fill(t, 20)
	const rotten, missing = "dir2/obj011", "dir2/obj005" // 200 KiB (shard files), 100 B (inline)
	tl.corrupt(t, 1, rotten)
	if err := os.RemoveAll(local.ObjectDir(tl.local[0].Endpoint(), testBucket, missing)); err != nil {
		t.Fatal(err)
	}
	dirs := []string{DirOf(tl.local[0].Endpoint()), DirOf(tl.local[1].Endpoint())}
	cfg := Config{
		Layer: tl.Layer, Rate: 1000, BitrotRate: 1 << 30, BitrotEvery: 1, Interval: time.Hour,
		Store: Store{Dirs: dirs, Name: "scan.json"}, Logger: zaptest.NewLogger(t),
	}
	s, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 60*time.Second, "a full pass", func() bool { return !s.Status()[0].LastPassEnd.IsZero() })
	s.Close()
	st, stats := s.Status()[0], s.Stats()
	if st.Passes != 1 || st.LastPassObjects != uint64(len(objs)) || !st.LastPassDeep || st.Scanning || st.NextPass.IsZero() {
		t.Errorf("status: %+v", st)
	}
	if stats.Scanned != uint64(len(objs)) || stats.Healed != 2 || stats.Failed != 0 || stats.HealedBytes == 0 {
		t.Errorf("stats: %+v", stats)
	}
	for _, k := range []string{rotten, missing} {
		for pos := range 4 {
			if err := tl.holds(pos, k); err != nil {
				t.Errorf("%s on drive %d: %v", k, pos, err)
			}
		}
	}

	// A restart knows the pass is done: nothing is due for an hour.
	s2, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	s2.Close()
	if st2 := s2.Status()[0]; st2.Passes != 1 || st2.Scanning || s2.Stats().Scanned != 0 {
		t.Errorf("a restart within the interval scanned again: %+v %+v", st2, s2.Stats())
	}

	// A pass stopped part way resumes after its cursor.
	cfg.Interval = time.Nanosecond
	var asked atomic.Int32
	cfg.Busy = func() bool { return asked.Add(1) > 5 }
	s3, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "five objects of the second pass", func() bool { return s3.Stats().Scanned == 5 })
	s3.Close()
	if st3 := s3.Status()[0]; !st3.Scanning || st3.PassObjects != 5 || st3.Object == "" {
		t.Fatalf("stopped pass: %+v", st3)
	}
	cfg.Busy = nil
	s4, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 60*time.Second, "the second pass", func() bool { return s4.Status()[0].Passes >= 2 })
	s4.Close()
	if st4 := s4.Status()[0]; st4.LastPassObjects != uint64(len(objs)) {
		t.Errorf("resumed pass covered %d objects, want %d", st4.LastPassObjects, len(objs))
	}
	if got := s4.Stats().Scanned; got < uint64(len(objs)-5) || got > uint64(2*len(objs)-5) {
		t.Errorf("resumed pass scanned %d objects: not resumed", got)
	}
}

// TestScannerPassesFollowTheInterval: a pass is due Interval after the
// last one started, even when that is sooner than the minute after which a
// failed pass is retried (the next pass used to wait for that minute,
// whatever the interval, and a chaos run's scanner with a 5 s interval
// missed a rotten shard for it).
func TestScannerPassesFollowTheInterval(t *testing.T) {
	tl := newTestLayer(t)
	tl.fill(t, 3)
	s, err := Start(Config{Layer: tl.Layer, Rate: 1000, Interval: 100 * time.Millisecond,
		Store: Store{Dirs: []string{t.TempDir()}, Name: "scan.json"}, Logger: zaptest.NewLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	waitFor(t, 30*time.Second, "three passes", func() bool { return s.Status()[0].Passes >= 3 })
}

// TestScannerOnlyOwnedSets: a set another node owns is not scanned.
func TestScannerOnlyOwnedSets(t *testing.T) {
	tl := newTestLayer(t)
	tl.fill(t, 4)
	s, err := Start(Config{Layer: tl.Layer, Rate: 1000, Owns: func(int) bool { return false },
		Store: Store{Dirs: []string{t.TempDir()}, Name: "scan.json"}})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	s.Close()
	if got := s.Stats().Scanned; got != 0 {
		t.Fatalf("scanned %d objects of a set it does not own", got)
	}
	if st := s.Status()[0]; st.Owned {
		t.Fatalf("status: %+v", st)
	}
}

func TestStore(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	s := Store{Dirs: []string{a, b}, Name: "x.json"}
	var v struct{ N int }
	if err := s.Load(&v); err != ErrNoRecord {
		t.Fatalf("empty store: %v", err)
	}
	v.N = 1
	if err := s.Save(&v); err != nil {
		t.Fatal(err)
	}
	// b alone gets a newer record; a damaged copy in a is ignored.
	v.N = 2
	if err := (Store{Dirs: []string{b}, Name: "x.json"}).Save(&v); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(a, "x.json"), []byte("{garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	v.N = 0
	if err := s.Load(&v); err != nil || v.N != 2 {
		t.Fatalf("load = %d, %v; want the newest, 2", v.N, err)
	}
	if err := s.Remove(); err != nil {
		t.Fatal(err)
	}
	if err := s.Load(&v); err != ErrNoRecord {
		t.Fatalf("after Remove: %v", err)
	}
}
