package object

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gridstore/gridstore/node/object/objecttest/ondisk"
	"github.com/gridstore/gridstore/node/object/versions"
	"github.com/gridstore/gridstore/storage"
	"github.com/gridstore/gridstore/storage/local"
)

// writeCountingDrive counts the calls that change a drive, in front of the
// test set's faultyDrive.
type writeCountingDrive struct {
	storage.Drive
	writes   atomic.Int64
	onCreate atomic.Pointer[func()] // called on CreateFile, if set
}

func (c *writeCountingDrive) CreateFile(ctx context.Context, volume, path string, size int64, r io.Reader) error {
	c.writes.Add(1)
	if f := c.onCreate.Load(); f != nil {
		(*f)()
	}
	return c.Drive.CreateFile(ctx, volume, path, size, r)
}

func (c *writeCountingDrive) RenameData(ctx context.Context, srcVolume, srcPath string, fi storage.FileInfo, dstVolume, dstPath string) (storage.RenameDataResult, error) {
	c.writes.Add(1)
	return c.Drive.RenameData(ctx, srcVolume, srcPath, fi, dstVolume, dstPath)
}

func (c *writeCountingDrive) WriteMetadata(ctx context.Context, volume, path string, fi storage.FileInfo) error {
	c.writes.Add(1)
	return c.Drive.WriteMetadata(ctx, volume, path, fi)
}

func (c *writeCountingDrive) DeleteVersion(ctx context.Context, volume, path, versionID string) error {
	c.writes.Add(1)
	return c.Drive.DeleteVersion(ctx, volume, path, versionID)
}

func (c *writeCountingDrive) Delete(ctx context.Context, volume, path string, recursive bool) error {
	c.writes.Add(1)
	return c.Drive.Delete(ctx, volume, path, recursive)
}

// healSet is a test set whose drives count their writes.
type healSet struct {
	*testSet
	counters []*writeCountingDrive
}

func newHealSet(t testing.TB, n int, tweak func(*Config)) *healSet {
	t.Helper()
	hs := &healSet{}
	hs.testSet = newTestSet(t, n, func(c *Config) {
		for i, d := range c.Drives {
			cd := &writeCountingDrive{Drive: d}
			hs.counters = append(hs.counters, cd)
			c.Drives[i] = cd
		}
		if tweak != nil {
			tweak(c)
		}
	})
	return hs
}

func (hs *healSet) writes() int64 {
	var n int64
	for _, c := range hs.counters {
		n += c.writes.Load()
	}
	return n
}

func (hs *healSet) resetWrites() {
	for _, c := range hs.counters {
		c.writes.Store(0)
	}
}

// objectDir is where drive pos keeps key.
func (hs *healSet) objectDir(pos int, key string) string {
	return local.ObjectDir(hs.local[pos].Endpoint(), testBucket, key)
}

// wipe removes drive pos's record and shard files of key.
func (hs *healSet) wipe(t testing.TB, pos int, key string) {
	t.Helper()
	if err := os.RemoveAll(hs.objectDir(pos, key)); err != nil {
		t.Fatal(err)
	}
}

// corrupt damages drive pos's shard of key: a byte of every part file, or
// of its inline shard (rewritten in a valid record, so only the bitrot
// check can tell).
func (hs *healSet) corrupt(t testing.TB, pos int, key string) {
	t.Helper()
	ctx := context.Background()
	fi, err := hs.local[pos].ReadVersion(ctx, testBucket, key, "")
	if err != nil {
		t.Fatal(err)
	}
	if fi.DataDir == "" {
		fi.InlineData = slices.Clone(fi.InlineData)
		fi.InlineData[40] ^= 0xff
		if err := hs.local[pos].WriteMetadata(ctx, testBucket, key, fi); err != nil {
			t.Fatal(err)
		}
		return
	}
	parts, err := filepath.Glob(filepath.Join(local.DataDirFile(hs.local[pos].Endpoint(), testBucket, key, fi.DataDir), "part.*"))
	if err != nil || len(parts) == 0 {
		t.Fatalf("no part files on drive %d: %v", pos, err)
	}
	for _, p := range parts {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		b[40] ^= 0xff
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// sameKey checks that every drive's latest version of key is the same
// version, at its own shard index, and returns it.
func (hs *healSet) sameKey(t testing.TB, key string) versions.Key {
	t.Helper()
	var want versions.Key
	for pos, d := range hs.local {
		fi, err := d.ReadVersion(context.Background(), testBucket, key, "")
		if err != nil {
			t.Fatalf("drive %d: %v", pos, err)
		}
		k := versions.KeyOf(&fi.FileVersion)
		if pos == 0 {
			want = k
		} else if k != want {
			t.Fatalf("drive %d holds %s@%v, drive 0 %s@%v", pos, k.VersionID(), k.ModTime(), want.VersionID(), want.ModTime())
		}
		if fi.Erasure.Index != fi.Erasure.Distribution[pos] {
			t.Fatalf("drive %d holds shard %d, should hold %d", pos, fi.Erasure.Index, fi.Erasure.Distribution[pos])
		}
	}
	return want
}

// getOnly reads key with every drive but keep offline: the bytes come from
// those drives' shards alone.
func (hs *healSet) getOnly(t testing.TB, key string, want []byte, keep []int) {
	t.Helper()
	for pos, d := range hs.drives {
		if !slices.Contains(keep, pos) {
			d.set(faultOffline)
		}
	}
	defer func() {
		for _, d := range hs.drives {
			d.clear()
		}
	}()
	hs.mustGet(t, key, want)
}

// healKind is an object shape heal tests cover.
type healKind struct {
	name      string
	blockSize int
	parts     []int // sizes; one means a PUT, more a multipart upload
}

var healKinds = []healKind{
	{"inline", testBlockSize, []int{1 << 10}},
	{"single-block", 256 << 10, []int{200 << 10}},
	{"multi-block", testBlockSize, []int{300 << 10}},
	{"multipart", testBlockSize, []int{testMinPart, testMinPart + 7, 5000}},
}

var healSizes = []int{4, 8}

func newHealSetFor(t testing.TB, n int, k healKind) *healSet {
	return newHealSet(t, n, func(c *Config) {
		c.BlockSize = k.blockSize
		c.MinPartSize = testMinPart
	})
}

// putKind stores an object of kind k and returns its bytes.
func (hs *healSet) putKind(t testing.TB, key string, k healKind, seed uint64) []byte {
	t.Helper()
	if len(k.parts) == 1 {
		data := randomBytes(seed, k.parts[0])
		hs.put(t, key, data)
		return data
	}
	id := hs.newUpload(t, key, PutOptions{})
	var all []byte
	var infos []PartInfo
	for i, size := range k.parts {
		b := randomBytes(seed+uint64(i), size)
		all = append(all, b...)
		infos = append(infos, hs.putPart(t, key, id, i+1, b))
	}
	hs.complete(t, key, id, completeList(infos...))
	return all
}

func (hs *healSet) heal(t testing.TB, key string, opts HealOptions) HealResult {
	t.Helper()
	res, err := hs.HealObject(context.Background(), testBucket, key, opts)
	if err != nil || len(res.Failed) > 0 {
		t.Fatalf("heal %s: %v (failed %v)", key, err, res.Failed)
	}
	return res
}

func forEachHealCase(t *testing.T, fn func(t *testing.T, n int, k healKind)) {
	for _, n := range healSizes {
		for _, k := range healKinds {
			t.Run(fmt.Sprintf("%d/%s", n, k.name), func(t *testing.T) {
				t.Parallel()
				fn(t, n, k)
			})
		}
	}
}

// TestHealObjectWiped: parity drives lost the object (record and shards);
// healed, they alone serve it.
func TestHealObjectWiped(t *testing.T) {
	forEachHealCase(t, func(t *testing.T, n int, k healKind) {
		hs := newHealSetFor(t, n, k)
		data := hs.putKind(t, "k", k, 1)
		hs.settled(t, "k") // a drive's commit may straggle past the write's grace under load
		want := hs.sameKey(t, "k")
		dataHolders, parityHolders := hs.shardHolders(t, "k")
		// Data shards mostly, and a parity one: the rebuild of both kinds.
		wiped := append(slices.Clone(dataHolders[:hs.Parity()-1]), parityHolders[0])
		slices.Sort(wiped)
		for _, pos := range wiped {
			hs.wipe(t, pos, "k")
		}
		res := hs.heal(t, "k", HealOptions{})
		if !slices.Equal(res.Healed, wiped) || !slices.Equal(res.Targets, wiped) || res.Version != want.VersionID() {
			t.Fatalf("healed %v (targets %v, version %s), want %v (%s)", res.Healed, res.Targets, res.Version, wiped, want.VersionID())
		}
		if got := hs.sameKey(t, "k"); got != want {
			t.Fatalf("version changed: %s@%v, want %s@%v", got.VersionID(), got.ModTime(), want.VersionID(), want.ModTime())
		}
		hs.getOnly(t, "k", data, wiped)
		hs.noTmpLeftovers(t)
	})
}

// TestHealObjectCorruptShard: a shard the caller found rotten is rebuilt,
// though the drive's record is current.
func TestHealObjectCorruptShard(t *testing.T) {
	forEachHealCase(t, func(t *testing.T, n int, k healKind) {
		hs := newHealSetFor(t, n, k)
		data := hs.putKind(t, "k", k, 2)
		want := hs.sameKey(t, "k")
		dataHolders, _ := hs.shardHolders(t, "k")
		bad := dataHolders[0]
		hs.corrupt(t, bad, "k")
		res := hs.heal(t, "k", HealOptions{Corrupt: []int{bad}})
		if !slices.Equal(res.Healed, []int{bad}) {
			t.Fatalf("healed %v, want [%d]", res.Healed, bad)
		}
		if got := hs.sameKey(t, "k"); got != want {
			t.Fatal("version changed")
		}
		// The healed shard and just enough others to decode.
		keep := append([]int{bad}, dataHolders[1:]...)
		hs.getOnly(t, "k", data, keep)
		hs.noTmpLeftovers(t)
	})
}

// TestHealObjectCorruptSource: a source found rotten while rebuilding
// another drive is healed too, in a second pass.
func TestHealObjectCorruptSource(t *testing.T) {
	for _, k := range healKinds {
		t.Run(k.name, func(t *testing.T) {
			hs := newHealSetFor(t, 4, k)
			data := hs.putKind(t, "k", k, 3)
			dataHolders, parityHolders := hs.shardHolders(t, "k")
			hs.wipe(t, parityHolders[0], "k")
			hs.corrupt(t, dataHolders[0], "k")
			res := hs.heal(t, "k", HealOptions{})
			wantHealed := []int{parityHolders[0], dataHolders[0]}
			slices.Sort(wantHealed)
			if !slices.Equal(res.Healed, wantHealed) {
				t.Fatalf("healed %v, want %v", res.Healed, wantHealed)
			}
			hs.sameKey(t, "k")
			hs.getOnly(t, "k", data, []int{dataHolders[0], parityHolders[0]})
			hs.noTmpLeftovers(t)
		})
	}
}

// TestHealObjectOldVersion: a drive that missed an overwrite holds the old
// version; healed, it holds the new one only.
func TestHealObjectOldVersion(t *testing.T) {
	forEachHealCase(t, func(t *testing.T, n int, k healKind) {
		hs := newHealSetFor(t, n, k)
		hs.putKind(t, "k", k, 4)
		dataHolders, _ := hs.shardHolders(t, "k")
		stale := dataHolders[0]
		hs.drives[stale].set(faultOffline)
		data := hs.putKind(t, "k", k, 5)
		hs.drives[stale].clear()
		vs := hs.versions(t, "k")
		cur := vs[(stale+1)%n][0]
		if vs[stale][0] == cur {
			t.Fatal("the offline drive took the write")
		}
		res := hs.heal(t, "k", HealOptions{})
		if !slices.Equal(res.Healed, []int{stale}) || res.Version != cur {
			t.Fatalf("healed %v to %s, want [%d] to %s", res.Healed, res.Version, stale, cur)
		}
		hs.sameKey(t, "k")
		if got := hs.versions(t, "k")[stale]; !slices.Equal(got, []string{cur}) {
			t.Fatalf("drive %d holds %v, want only %s", stale, got, cur)
		}
		dh, _ := hs.shardHolders(t, "k")
		keep := append([]int{stale}, slices.DeleteFunc(slices.Clone(dh), func(p int) bool { return p == stale })...)
		hs.getOnly(t, "k", data, keep[:len(dh)])
		hs.noTmpLeftovers(t)
	})
}

// TestHealObjectNoQuorum: without a read quorum nothing is written.
func TestHealObjectNoQuorum(t *testing.T) {
	for _, n := range healSizes {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			hs := newHealSet(t, n, nil)
			hs.put(t, "k", randomBytes(6, 300<<10))
			hs.wipe(t, 0, "k")
			// Drive 0 says absent, parity more fail: neither the version
			// (n-parity-1 votes) nor "absent" has a read quorum.
			for pos := 1; pos <= hs.Parity(); pos++ {
				hs.drives[pos].set(faultError)
			}
			hs.resetWrites()
			_, err := hs.HealObject(context.Background(), testBucket, "k", HealOptions{})
			if !errors.Is(err, ErrReadQuorum) {
				t.Fatalf("heal: %v, want ErrReadQuorum", err)
			}
			if w := hs.writes(); w != 0 {
				t.Fatalf("%d writes", w)
			}
			if vs := hs.versions(t, "k"); vs[0] != nil {
				t.Fatalf("drive 0 holds %v", vs[0])
			}
		})
	}
}

// TestHealObjectOfflineTarget: an offline drive is reported, not healed,
// and does not fail the heal.
func TestHealObjectOfflineTarget(t *testing.T) {
	hs := newHealSet(t, 4, nil)
	data := randomBytes(7, 300<<10)
	hs.put(t, "k", data)
	hs.wipe(t, 0, "k")
	hs.wipe(t, 1, "k")
	hs.drives[1].set(faultOffline)
	res := hs.heal(t, "k", HealOptions{Corrupt: []int{1}})
	if !slices.Equal(res.Healed, []int{0}) || !slices.Equal(res.Skipped, []int{1}) {
		t.Fatalf("healed %v, skipped %v; want [0], [1]", res.Healed, res.Skipped)
	}
	hs.drives[1].clear()
	if vs := hs.versions(t, "k"); vs[1] != nil {
		t.Fatalf("offline drive 1 got %v", vs[1])
	}
	hs.heal(t, "k", HealOptions{})
	hs.sameKey(t, "k")
	hs.getOnly(t, "k", data, []int{0, 1})
}

// TestHealObjectTargetFails: a target that cannot take its shard or its
// commit is reported; the others are healed and nothing stays in tmp.
func TestHealObjectTargetFails(t *testing.T) {
	for _, k := range healKinds {
		t.Run(k.name, func(t *testing.T) {
			hs := newHealSetFor(t, 4, k)
			data := hs.putKind(t, "k", k, 14)
			hs.wipe(t, 0, "k")
			hs.wipe(t, 1, "k")
			hs.drives[1].set(faultError, "CreateFile", "RenameData")
			res, err := hs.HealObject(context.Background(), testBucket, "k", HealOptions{})
			if !errors.Is(err, ErrHealIncomplete) {
				t.Fatalf("heal: %v, want ErrHealIncomplete", err)
			}
			if !slices.Equal(res.Healed, []int{0}) || len(res.Failed) != 1 || !errors.Is(res.Failed[1], storage.ErrFaultyDisk) {
				t.Fatalf("healed %v failed %v, want [0] and drive 1 faulty", res.Healed, res.Failed)
			}
			hs.drives[1].clear()
			hs.noTmpLeftovers(t)
			if vs := hs.versions(t, "k"); vs[1] != nil {
				t.Fatalf("drive 1 holds %v", vs[1])
			}
			hs.heal(t, "k", HealOptions{})
			hs.getOnly(t, "k", data, []int{0, 1})
		})
	}
}

// TestHealObjectCancelled: a heal whose context ends while it writes
// shards commits nothing and leaves nothing in tmp.
func TestHealObjectCancelled(t *testing.T) {
	hs := newHealSet(t, 4, nil)
	hs.put(t, "k", randomBytes(15, 300<<10))
	hs.wipe(t, 2, "k")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f := func() { cancel() }
	hs.counters[2].onCreate.Store(&f)
	_, err := hs.HealObject(ctx, testBucket, "k", HealOptions{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("heal: %v, want context.Canceled", err)
	}
	hs.counters[2].onCreate.Store(nil)
	if vs := hs.versions(t, "k"); vs[2] != nil {
		t.Fatalf("drive 2 holds %v", vs[2])
	}
	hs.noTmpLeftovers(t)
}

// TestHealObjectDryRun reports the targets and writes nothing.
func TestHealObjectDryRun(t *testing.T) {
	for _, k := range healKinds {
		t.Run(k.name, func(t *testing.T) {
			hs := newHealSetFor(t, 4, k)
			hs.putKind(t, "k", k, 8)
			hs.wipe(t, 2, "k")
			hs.corrupt(t, 3, "k")
			hs.resetWrites()
			res := hs.heal(t, "k", HealOptions{Corrupt: []int{3}, DryRun: true})
			if !slices.Equal(res.Targets, []int{2, 3}) || len(res.Healed) != 0 {
				t.Fatalf("targets %v healed %v, want [2 3] []", res.Targets, res.Healed)
			}
			if w := hs.writes(); w != 0 {
				t.Fatalf("%d writes", w)
			}
			if vs := hs.versions(t, "k"); vs[2] != nil {
				t.Fatalf("drive 2 holds %v", vs[2])
			}
		})
	}
}

// TestHealObjectHealthy: nothing to heal, nothing written.
func TestHealObjectHealthy(t *testing.T) {
	forEachHealCase(t, func(t *testing.T, n int, k healKind) {
		hs := newHealSetFor(t, n, k)
		hs.putKind(t, "k", k, 9)
		hs.settled(t, "k")
		mtimes := make([]time.Time, n)
		for pos := range n {
			st, err := os.Stat(local.RecordFile(hs.local[pos].Endpoint(), testBucket, "k"))
			if err != nil {
				t.Fatal(err)
			}
			mtimes[pos] = st.ModTime()
		}
		hs.resetWrites()
		res := hs.heal(t, "k", HealOptions{})
		if len(res.Targets)+len(res.Healed)+len(res.Skipped) != 0 {
			t.Fatalf("healthy object: %+v", res)
		}
		if w := hs.writes(); w != 0 {
			t.Fatalf("%d writes", w)
		}
		for pos := range n {
			st, err := os.Stat(local.RecordFile(hs.local[pos].Endpoint(), testBucket, "k"))
			if err != nil {
				t.Fatal(err)
			}
			if !st.ModTime().Equal(mtimes[pos]) {
				t.Fatalf("drive %d: record rewritten", pos)
			}
		}
	})
}

// TestHealObjectConcurrentPut: a PUT racing a heal of the same object;
// both finish and the PUT's version is the object's.
func TestHealObjectConcurrentPut(t *testing.T) {
	for _, size := range []int{1 << 10, 300 << 10} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			hs := newHealSet(t, 4, nil)
			for i := range 5 {
				hs.put(t, "k", randomBytes(uint64(10+i), size))
				hs.wipe(t, i%4, "k")
				next := randomBytes(uint64(100+i), size)
				var wg sync.WaitGroup
				var putErr, healErr error
				wg.Add(2)
				go func() {
					defer wg.Done()
					_, putErr = hs.PutObject(context.Background(), testBucket, "k", bytes.NewReader(next), int64(size), PutOptions{})
				}()
				go func() {
					defer wg.Done()
					_, healErr = hs.HealObject(context.Background(), testBucket, "k", HealOptions{})
				}()
				wg.Wait()
				if putErr != nil || healErr != nil {
					t.Fatalf("put: %v, heal: %v", putErr, healErr)
				}
				hs.mustGet(t, "k", next)
				hs.heal(t, "k", HealOptions{})
				hs.sameKey(t, "k")
				hs.mustGet(t, "k", next)
			}
			hs.noTmpLeftovers(t)
		})
	}
}

// TestHealObjectAbsentLeftover: a drive that missed a delete keeps the
// object; heal removes it there.
func TestHealObjectAbsentLeftover(t *testing.T) {
	for _, k := range healKinds {
		t.Run(k.name, func(t *testing.T) {
			// The leftover is as young as a commit still landing would be.
			hs := newHealSet(t, 4, func(c *Config) {
				c.BlockSize, c.MinPartSize = k.blockSize, testMinPart
				judgeAtOnce(c)
			})
			hs.putKind(t, "k", k, 11)
			hs.drives[1].set(faultOffline)
			if err := hs.DeleteObject(context.Background(), testBucket, "k"); err != nil {
				t.Fatal(err)
			}
			hs.drives[1].clear()
			if vs := hs.versions(t, "k"); vs[1] == nil {
				t.Fatal("drive 1 took the delete")
			}
			dry := hs.heal(t, "k", HealOptions{DryRun: true})
			if !slices.Equal(dry.Targets, []int{1}) || len(dry.Removed) != 0 {
				t.Fatalf("dry run: %+v", dry)
			}
			res := hs.heal(t, "k", HealOptions{})
			if !slices.Equal(res.Removed, []int{1}) || res.Version != "" {
				t.Fatalf("removed %v (version %q), want [1]", res.Removed, res.Version)
			}
			if vs := hs.versions(t, "k"); vs[1] != nil {
				t.Fatalf("drive 1 still holds %v", vs[1])
			}
			if _, err := os.Stat(hs.objectDir(1, "k")); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("object dir left: %v", err)
			}
			if _, _, err := hs.get("k", GetOptions{}); !errors.Is(err, ErrObjectNotFound) {
				t.Fatalf("get: %v", err)
			}
		})
	}
}

// TestHealObjectBadArguments: names and positions are checked.
func TestHealObjectBadArguments(t *testing.T) {
	hs := newHealSet(t, 4, nil)
	ctx := context.Background()
	if _, err := hs.HealObject(ctx, testBucket, "k", HealOptions{Corrupt: []int{4}}); !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("corrupt 4 of 4: %v", err)
	}
	if _, err := hs.HealObject(ctx, "no-such-bucket", "k", HealOptions{}); !errors.Is(err, ErrBucketNotFound) {
		t.Fatalf("missing bucket: %v", err)
	}
	res, err := hs.HealObject(ctx, testBucket, "absent", HealOptions{})
	if err != nil || len(res.Targets)+len(res.Removed) != 0 {
		t.Fatalf("absent object: %+v, %v", res, err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := hs.HealObject(cctx, testBucket, "k", HealOptions{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
}

// TestLayerHealObject routes to the object's set.
func TestLayerHealObject(t *testing.T) {
	tl := newTestLayer(t, 2, 4, nil)
	data := randomBytes(12, 300<<10)
	tl.put(t, "k", data)
	si := tl.SetIndex(testBucket, "k")
	if err := os.RemoveAll(local.ObjectDir(tl.local[si][0].Endpoint(), testBucket, "k")); err != nil {
		t.Fatal(err)
	}
	res, err := tl.HealObject(context.Background(), testBucket, "k", HealOptions{})
	if err != nil || !slices.Equal(res.Healed, []int{0}) {
		t.Fatalf("heal: %+v, %v", res, err)
	}
	got, err := tl.get("k")
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("get: %v", err)
	}
}

// BenchmarkHealObject rebuilds one drive of a 4 MiB object on a 4+2 set.
func BenchmarkHealObject(b *testing.B) {
	const size = 4 << 20
	hs := newHealSet(b, 6, func(c *Config) {
		c.BlockSize = 0 // the default block size
		c.Parity = 2
	})
	hs.put(b, "k", randomBytes(13, size))
	dataHolders, _ := hs.shardHolders(b, "k")
	b.SetBytes(size)
	b.ReportAllocs()
	// Named corrupt, the drive is rebuilt whole every time.
	for b.Loop() {
		res, err := hs.HealObject(context.Background(), testBucket, "k", HealOptions{Corrupt: []int{dataHolders[0]}})
		if err != nil || len(res.Healed) != 1 {
			b.Fatalf("heal: %+v, %v", res, err)
		}
	}
}

// TestHealLeavesNothingBehind: an object healed on drives that lost it or
// hold a rotten shard, then overwritten by another kind and deleted,
// leaves nothing of itself on any drive.
func TestHealLeavesNothingBehind(t *testing.T) {
	forEachHealCase(t, func(t *testing.T, n int, k healKind) {
		hs := newHealSetFor(t, n, k)
		hs.putKind(t, "k", k, 11)
		dataHolders, parityHolders := hs.shardHolders(t, "k")
		hs.wipe(t, parityHolders[0], "k")
		hs.corrupt(t, dataHolders[0], "k")
		res := hs.heal(t, "k", HealOptions{Corrupt: []int{dataHolders[0]}})
		if len(res.Healed) != 2 {
			t.Fatalf("healed %v, want drives %d and %d", res.Healed, parityHolders[0], dataHolders[0])
		}
		roots := make([]string, len(hs.local))
		for i, d := range hs.local {
			roots[i] = d.Endpoint()
		}
		if len(ondisk.LeftoversUnder(t, roots, testBucket)) == 0 {
			t.Fatal("LeftoversUnder finds nothing of the healed object")
		}
		for _, other := range healKinds {
			hs.putKind(t, "k", other, 12)
		}
		if err := hs.DeleteObject(t.Context(), testBucket, "k"); err != nil {
			t.Fatal(err)
		}
		ondisk.RequireBucketEmpty(t, roots, testBucket)
		hs.noTmpLeftovers(t)
	})
}

// TestIsOfflineDriveHealth: a drive call abandoned at its deadline, or a
// drive taken out of service for hanging, is an offline drive (skipped by
// healing), not a failure of the drive's copy.
func TestIsOfflineDriveHealth(t *testing.T) {
	d := storage.Drive(&local.Drive{})
	for _, err := range []error{storage.ErrDriveOffline, storage.ErrDriveTimeout, storage.ErrDriveFaulty, errNotAsked} {
		if wrapped := fmt.Errorf("ReadVersion on /d: %w", err); !isOffline(d, wrapped) {
			t.Errorf("%v is not offline", wrapped)
		}
	}
	for _, err := range []error{nil, storage.ErrFileNotFound, storage.ErrFileCorrupt, storage.ErrFaultyDisk, errDriveTimeout} {
		if isOffline(d, err) {
			t.Errorf("%v is offline", err)
		}
	}
	if !isOffline(nil, nil) {
		t.Error("a missing drive is not offline")
	}
}

// TestHealVerifiesNamedDrives: a drive holds the record of a multipart
// version but not the shard file of one part (it missed that part's
// upload; the Complete committed the record on it). A plain heal trusts
// the record; one asked to verify the drive (HealOptions.Verify, as the
// missed-write log and the heal queue ask for the drives a write went on
// without) finds the part missing and rewrites the drive's shards.
func TestHealVerifiesNamedDrives(t *testing.T) {
	k := healKinds[3] // multipart
	hs := newHealSetFor(t, 4, k)
	data := hs.putKind(t, "k", k, 7)
	hs.settled(t, "k")
	const pos = 1
	hs.removePart(t, pos, "k", 2)
	if res := hs.heal(t, "k", HealOptions{}); len(res.Targets) != 0 {
		t.Fatalf("a heal without Verify: targets %v, want none (the record is current)", res.Targets)
	}
	res := hs.heal(t, "k", HealOptions{Verify: []int{pos}})
	if !slices.Equal(res.Targets, []int{pos}) || !slices.Equal(res.Healed, []int{pos}) {
		t.Fatalf("heal with Verify: %+v, want drive %d a target and healed", res, pos)
	}
	if res := hs.heal(t, "k", HealOptions{Verify: []int{0, 1, 2, 3}}); len(res.Targets) != 0 {
		t.Fatalf("every drive verified after the heal: targets %v, want none", res.Targets)
	}
	// With the part's shard back on drive 1, it alone among the data
	// shards' stand-ins serves: two other drives lose the object.
	hs.wipe(t, (pos+1)%4, "k")
	hs.wipe(t, (pos+2)%4, "k")
	hs.mustGet(t, "k", data)
}

// removePart removes the shard file of part n of key's current version
// from the drive at pos, leaving its record as it is.
func (hs *healSet) removePart(t *testing.T, pos int, key string, n int) {
	t.Helper()
	fi, err := hs.local[pos].ReadVersion(context.Background(), testBucket, key, "")
	if err != nil {
		t.Fatal(err)
	}
	part := filepath.Join(local.DataDirFile(hs.local[pos].Endpoint(), testBucket, key, fi.DataDir), fmt.Sprintf("part.%d", n))
	if err := os.Remove(part); err != nil {
		t.Fatal(err)
	}
}

// TestHealVerifyThatCannotSay: a named drive whose check fails for another
// reason than a missing or damaged shard (offline, a disk error, a timeout)
// is not taken as whole: it is reported Skipped or Failed, so that the
// missed-write entry that named it stays and is healed again. Seen in
// TestChaosRollingRestart: the check of a drive on a restarting node
// timed out, the entry was dropped, and the part its drive lacked stayed
// missing.
func TestHealVerifyThatCannotSay(t *testing.T) {
	k := healKinds[3] // multipart
	hs := newHealSetFor(t, 4, k)
	hs.putKind(t, "k", k, 7)
	hs.settled(t, "k")
	const pos = 2
	hs.removePart(t, pos, "k", 1)
	for _, tc := range []struct {
		f       fault
		skipped bool
	}{{faultOffline, true}, {faultError, false}} {
		hs.drives[pos].set(tc.f, "VerifyFile")
		res, err := hs.HealObject(context.Background(), testBucket, "k", HealOptions{Verify: []int{pos}})
		hs.drives[pos].clear()
		if err != nil && !errors.Is(err, ErrHealIncomplete) {
			t.Fatalf("fault %d: heal: %v", tc.f, err)
		}
		if got := slices.Contains(res.Skipped, pos); got != tc.skipped || (!tc.skipped && res.Failed[pos] == nil) {
			t.Fatalf("fault %d: the check of drive %d could not say: result %+v, want it skipped %t or failed", tc.f, pos, res, tc.skipped)
		}
	}
	res := hs.heal(t, "k", HealOptions{Verify: []int{pos}})
	if !slices.Equal(res.Healed, []int{pos}) {
		t.Fatalf("heal with the drive answering: %+v, want drive %d healed", res, pos)
	}
}
