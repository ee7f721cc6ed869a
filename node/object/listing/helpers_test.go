package listing

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.uber.org/goleak"

	"github.com/gridstore/gridstore/node/object/layout"
	"github.com/gridstore/gridstore/storage"
	"github.com/gridstore/gridstore/storage/local"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const (
	testBucket = "bucket"
	testParity = 2 // of the tests' 4-drive sets: read quorum 2, write quorum 3
)

// t0 is the modification time of the tests' first versions.
var t0 = time.Date(2025, 3, 14, 15, 9, 26, 0, time.UTC)

// cluster is a deployment of local drives for tests: sets of setSize drives,
// each in its own temporary directory, with the bucket made on all.
type cluster struct {
	id     layout.DeploymentID
	drives [][]storage.Drive // [set][pos], as opened
	dirs   [][]string        // [set][pos], the drives' directories
	quorum int
}

func newCluster(t testing.TB, sets, setSize int) *cluster {
	t.Helper()
	spec := local.FormatSpec{DeploymentID: uuid.NewString(), BitrotKey: make([]byte, 32)}
	for range sets {
		ids := make([]string, setSize)
		for i := range ids {
			ids[i] = uuid.NewString()
		}
		spec.Sets = append(spec.Sets, ids)
	}
	id, err := layout.ParseDeploymentID(spec.DeploymentID)
	if err != nil {
		t.Fatal(err)
	}
	c := &cluster{id: id, quorum: setSize - testParity}
	for s := range sets {
		var drives []storage.Drive
		var dirs []string
		for p := range setSize {
			dir := tempDir(t)
			dirs = append(dirs, dir)
			ds := spec
			ds.DriveID = spec.Sets[s][p]
			if err := local.Format(dir, ds); err != nil {
				t.Fatal(err)
			}
			d, err := local.Open(dir, local.ExpectedFor(spec, s, p), local.Options{BufferedIO: true})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { d.Close() })
			if err := d.MakeVol(context.Background(), testBucket); err != nil {
				t.Fatal(err)
			}
			drives = append(drives, d)
		}
		c.drives = append(c.drives, drives)
		c.dirs = append(c.dirs, dirs)
	}
	return c
}

// tempDir returns a directory removed when t ends: on /dev/shm where there
// is one, since the drives fsync every commit and a tmpfs makes that free
// (the tests are about listing, not durability); else t.TempDir.
func tempDir(t testing.TB) string {
	t.Helper()
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		if dir, err := os.MkdirTemp("/dev/shm", "gridstore-listing-"); err == nil {
			t.Cleanup(func() { os.RemoveAll(dir) })
			return dir
		}
	}
	return t.TempDir()
}

// config returns the Config of the cluster's sets; wrap, if not nil, may
// replace drives (fault injection; nil for offline).
func (c *cluster) config(wrap func(set, pos int, d storage.Drive) storage.Drive) Config {
	var cfg Config
	for s, drives := range c.drives {
		set := Set{ReadQuorum: c.quorum}
		for p, d := range drives {
			if wrap != nil {
				d = wrap(s, p, d)
			}
			set.Drives = append(set.Drives, d)
		}
		cfg.Sets = append(cfg.Sets, set)
	}
	return cfg
}

func (c *cluster) lister(t testing.TB, wrap func(set, pos int, d storage.Drive) storage.Drive) *Lister {
	t.Helper()
	l, err := New(c.config(wrap))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// setOf is the object's set by the deployment's placement.
func (c *cluster) setOf(name string) int {
	s, err := layout.SetIndex(c.id, testBucket, name, len(c.drives))
	if err != nil {
		panic(err) // only with no sets, which newCluster does not make
	}
	return s
}

// ver describes a version to write.
type ver struct {
	id      string // "" for the null version
	mod     time.Time
	size    int64
	deleted bool
	parity  int // 0: testParity
}

func (v ver) fileInfo(name string, n, pos int) storage.FileInfo {
	fi := storage.FileInfo{FileVersion: storage.FileVersion{
		VersionID: v.id,
		ModTime:   v.mod,
		Deleted:   v.deleted,
	}}
	if v.deleted {
		return fi
	}
	parity := v.parity
	if parity == 0 {
		parity = testParity
	}
	dist, _ := layout.Distribution(testBucket, name, n)
	fi.Size = v.size
	fi.ETag = fmt.Sprintf("etag-%d", v.size)
	fi.ContentType = "application/octet-stream"
	fi.Erasure = storage.ErasureInfo{
		DataBlocks: n - parity, ParityBlocks: parity, BlockSize: 1 << 20,
		Index: dist[pos], Distribution: dist,
	}
	return fi
}

// put writes v of name on the given positions of its set (all if none).
func (c *cluster) put(t testing.TB, name string, v ver, positions ...int) {
	t.Helper()
	set := c.drives[c.setOf(name)]
	if len(positions) == 0 {
		for p := range set {
			positions = append(positions, p)
		}
	}
	for _, p := range positions {
		if err := set[p].WriteMetadata(context.Background(), testBucket, name, v.fileInfo(name, len(set), p)); err != nil {
			t.Fatalf("put %s on drive %d: %v", name, p, err)
		}
	}
}

// seed writes one version of every name on every drive of its set straight
// into the drives' directories (<drive>/<bucket>/<name>/meta, the layout
// storage/local documents), without the fsyncs of WriteMetadata: a hundred
// thousand durable commits take minutes, these take seconds. The records are
// the ones WriteMetadata would write; only durability is skipped, which a
// listing test does not need.
func (c *cluster) seed(t testing.TB, names []string) time.Duration {
	t.Helper()
	start := time.Now()
	type job struct {
		dir, name string
		pos, n    int
	}
	jobs := make(chan job, 256)
	var wg sync.WaitGroup
	var failed atomic.Pointer[error]
	for range 4 {
		wg.Go(func() {
			for j := range jobs {
				v := ver{mod: t0, size: int64(len(j.name))}
				m := storage.ObjectMeta{Versions: []storage.FileVersion{v.fileInfo(j.name, j.n, j.pos).FileVersion}}
				m.Versions[0].VersionID = storage.NullVersionID
				rec, err := m.Encode()
				if err == nil {
					if err = os.MkdirAll(local.ObjectDir(j.dir, testBucket, j.name), 0o755); err == nil {
						err = os.WriteFile(local.RecordFile(j.dir, testBucket, j.name), rec, 0o644)
					}
				}
				if err != nil {
					failed.CompareAndSwap(nil, &err)
				}
			}
		})
	}
	for _, name := range names {
		s := c.setOf(name)
		for p, dir := range c.dirs[s] {
			jobs <- job{dir, name, p, len(c.dirs[s])}
		}
	}
	close(jobs)
	wg.Wait()
	if err := failed.Load(); err != nil {
		t.Fatal(*err)
	}
	return time.Since(start)
}

// faultDrive wraps a drive to fail or stall its walks.
type faultDrive struct {
	storage.Drive
	failAfter int   // WalkDir fails with err after this many entries (-1: never)
	err       error // the failure; default storage.ErrFaultyDisk
	stall     bool  // WalkDir blocks until its context is done, after failAfter entries
	walks     atomic.Int32
}

func (f *faultDrive) WalkDir(ctx context.Context, opts storage.WalkDirOptions, fn func(storage.MetaEntry) error) error {
	f.walks.Add(1)
	n := 0
	trip := func() error {
		if f.stall {
			<-ctx.Done()
			return ctx.Err()
		}
		if f.err != nil {
			return f.err
		}
		return fmt.Errorf("walk %s: %w", opts.Volume, storage.ErrFaultyDisk)
	}
	if f.failAfter == 0 {
		return trip()
	}
	err := f.Drive.WalkDir(ctx, opts, func(e storage.MetaEntry) error {
		if err := fn(e); err != nil {
			return err
		}
		if n++; f.failAfter > 0 && n >= f.failAfter {
			return errTrip
		}
		return nil
	})
	if errors.Is(err, errTrip) {
		return trip()
	}
	return err
}

var errTrip = errors.New("trip")
