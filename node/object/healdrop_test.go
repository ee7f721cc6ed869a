package object

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gridstore/gridstore/storage"
	"github.com/gridstore/gridstore/storage/local"
)

// unackedVersion commits on drive pos a version of key newer than the one
// it holds, as a commit that completed on that drive alone does (the writer
// gave up on it, or crashed, and its rollback missed the drive). It returns
// the version.
func unackedVersion(t *testing.T, hs *healSet, pos int, key string) storage.FileInfo {
	t.Helper()
	return unackedVersionAt(t, hs, pos, key, time.Time{})
}

// unackedVersionAt is unackedVersion with the version's ModTime, or a
// second after the drive's latest if modTime is zero.
func unackedVersionAt(t *testing.T, hs *healSet, pos int, key string, modTime time.Time) storage.FileInfo {
	t.Helper()
	ctx := context.Background()
	fi, err := hs.local[pos].ReadVersion(ctx, testBucket, key, "")
	if err != nil {
		t.Fatal(err)
	}
	fi.VersionID = uuid.NewString()
	fi.ModTime = fi.ModTime.Add(time.Second)
	if !modTime.IsZero() {
		fi.ModTime = modTime.UTC()
	}
	if err := hs.local[pos].WriteMetadata(ctx, testBucket, key, fi); err != nil {
		t.Fatal(err)
	}
	return fi
}

// judgeAtOnce makes a set's heals judge versions however young: for tests
// of what a heal does with a failed write's leftovers, made just before.
// (TestHealLeavesAYoungVersion and the tests after it run on the default.)
func judgeAtOnce(c *Config) { c.CommitSettle = -1 }

// TestHealRemovesUnacknowledgedVersion: a newer version on one drive of
// four (write quorum 3) was never acknowledged: heal removes it instead of
// leaving it the drive's latest, the drive is healed to the current
// version, and reads stop queuing the object for healing.
func TestHealRemovesUnacknowledgedVersion(t *testing.T) {
	hs := newHealSet(t, 4, judgeAtOnce)
	data := randomBytes(3, 1000) // inline
	hs.put(t, "k", data)
	bad := unackedVersion(t, hs, 2, "k")
	hs.heals.take()

	hs.mustGet(t, "k", data) // the current version, read from the others
	if reqs := hs.heals.take(); len(reqs) == 0 {
		t.Fatal("the read did not notice the drive holding another version")
	}
	dry := hs.heal(t, "k", HealOptions{DryRun: true})
	if !slices.Equal(dry.Unacknowledged, []string{bad.VersionID}) || len(dry.Dropped) != 0 {
		t.Fatalf("dry run: %+v", dry)
	}
	if vs := hs.versions(t, "k"); vs[2][0] != bad.VersionID {
		t.Fatalf("the dry run changed drive 2: %v", vs[2])
	}
	res := hs.heal(t, "k", HealOptions{})
	if !slices.Equal(res.Unacknowledged, []string{bad.VersionID}) || !slices.Equal(res.Dropped, []int{2}) {
		t.Fatalf("heal: %+v", res)
	}
	for pos, vs := range hs.versions(t, "k") {
		if slices.Contains(vs, bad.VersionID) {
			t.Fatalf("drive %d still holds the unacknowledged version: %v", pos, vs)
		}
	}
	hs.sameKey(t, "k")
	hs.mustGet(t, "k", data)
	if reqs := hs.heals.take(); len(reqs) != 0 {
		t.Fatalf("the object is still queued for healing after the heal: %+v", reqs)
	}
	// A second heal finds nothing to do.
	if again := hs.heal(t, "k", HealOptions{}); len(again.Targets)+len(again.Unacknowledged) != 0 {
		t.Fatalf("second heal: %+v", again)
	}
}

// TestHealKeepsVersionThatMayBeAcknowledged: a newer version on two of
// four drives with a third offline may have been acknowledged (the write
// quorum of 3 could include the offline drive): it is left alone.
func TestHealKeepsVersionThatMayBeAcknowledged(t *testing.T) {
	hs := newHealSet(t, 4, nil)
	data := randomBytes(4, 1000)
	hs.put(t, "k", data)
	v := unackedVersion(t, hs, 0, "k")
	if err := hs.local[1].WriteMetadata(context.Background(), testBucket, "k", v); err != nil {
		t.Fatal(err)
	}
	hs.drives[3].set(faultOffline)
	res, err := hs.HealObject(context.Background(), testBucket, "k", HealOptions{})
	if len(res.Unacknowledged) != 0 || len(res.Dropped) != 0 {
		t.Fatalf("heal dropped a version that may be acknowledged: %+v, %v", res, err)
	}
	if vs := hs.versions(t, "k"); vs[0][0] != v.VersionID || vs[1][0] != v.VersionID {
		t.Fatalf("versions: %v", vs)
	}
}

// TestHealSweepsOrphanDataDir: a crash between moving a version's data dir
// into an object and committing the record that names it leaves a data dir
// nothing refers to on that drive, while another drive committed the
// version (never acknowledged: too few did). Heal removes the version and
// the orphan data dir.
func TestHealSweepsOrphanDataDir(t *testing.T) {
	hs := newHealSet(t, 4, judgeAtOnce)
	data := randomBytes(5, 300<<10) // shard files: a data dir per version
	hs.put(t, "k", data)
	ctx := context.Background()
	fi, err := hs.local[0].ReadVersion(ctx, testBucket, "k", "")
	if err != nil {
		t.Fatal(err)
	}
	// Drive 0 committed a new version (its shard a copy of the current
	// one's: what matters here is the data dir its record names).
	nv := fi
	nv.InlineData = nil
	nv.VersionID, nv.DataDir, nv.ModTime = uuid.NewString(), uuid.NewString(), fi.ModTime.Add(time.Second)
	rc, err := hs.local[0].ReadFileStream(ctx, testBucket, storage.PartPath("k", fi.DataDir, 1), 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	shard, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		t.Fatal(err)
	}
	tmp := uuid.NewString()
	if err := hs.local[0].CreateFile(ctx, storage.TmpVolume, tmp+"/"+nv.DataDir+"/part.1", int64(len(shard)), bytes.NewReader(shard)); err != nil {
		t.Fatal(err)
	}
	if _, err := hs.local[0].RenameData(ctx, storage.TmpVolume, tmp+"/"+nv.DataDir, nv, testBucket, "k"); err != nil {
		t.Fatal(err)
	}
	committedOn0 := local.DataDirFile(hs.local[0].Endpoint(), testBucket, "k", nv.DataDir)
	// Drive 1 crashed mid-commit: the data dir moved in, no record names it.
	orphanOn1 := local.DataDirFile(hs.local[1].Endpoint(), testBucket, "k", nv.DataDir)
	if err := os.CopyFS(orphanOn1, os.DirFS(local.DataDirFile(hs.local[1].Endpoint(), testBucket, "k", fi.DataDir))); err != nil {
		t.Fatal(err)
	}

	res := hs.heal(t, "k", HealOptions{})
	if !slices.Equal(res.Unacknowledged, []string{nv.VersionID}) || !slices.Equal(res.Dropped, []int{0}) {
		t.Fatalf("heal: %+v", res)
	}
	for _, dir := range []string{committedOn0, orphanOn1} {
		if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("data dir %s left: %v", dir, err)
		}
	}
	hs.sameKey(t, "k")
	hs.mustGet(t, "k", data)
}

// TestReadOfAbsentObjectHealsLeftovers: a write whose coordinator died
// after committing on one drive of four leaves that drive holding a
// version of an object the others say is absent. A GET or HEAD says the
// object is not there and queues the drive for healing, and the heal
// removes the version, which was never acknowledged: without the read's
// note only the scanner's next pass would find it.
func TestReadOfAbsentObjectHealsLeftovers(t *testing.T) {
	hs := newHealSet(t, 4, judgeAtOnce)
	data := randomBytes(6, 1000) // inline
	hs.put(t, "k", data)
	for _, pos := range []int{0, 1, 3} {
		hs.wipe(t, pos, "k")
	}
	hs.heals.take()

	for _, read := range []struct {
		name string
		do   func() error
	}{
		{"GET", func() error { _, _, err := hs.get("k", GetOptions{}); return err }},
		{"HEAD", func() error { _, err := hs.GetObjectInfo(context.Background(), testBucket, "k"); return err }},
	} {
		if err := read.do(); !errors.Is(err, ErrObjectNotFound) {
			t.Fatalf("%s of an object one drive of four holds: %v, want ErrObjectNotFound", read.name, err)
		}
		reqs := hs.heals.take()
		if len(reqs) != 1 || reqs[0].VersionID != "" || !slices.Equal(reqs[0].Missing, []int{2}) {
			t.Fatalf("%s queued %+v, want one heal of drive 2 towards absence", read.name, reqs)
		}
	}
	res := hs.heal(t, "k", HealOptions{})
	if !slices.Equal(res.Removed, []int{2}) {
		t.Fatalf("heal: %+v, want drive 2's leftover removed", res)
	}
	for pos, vs := range hs.versions(t, "k") {
		if len(vs) != 0 {
			t.Fatalf("drive %d still holds %v", pos, vs)
		}
	}
	if _, _, err := hs.get("k", GetOptions{}); !errors.Is(err, ErrObjectNotFound) {
		t.Fatalf("get after the heal: %v", err)
	}
	if reqs := hs.heals.take(); len(reqs) != 0 {
		t.Fatalf("a read still queues heals once the leftover is gone: %+v", reqs)
	}
}

// TestHealLeavesAYoungVersion: on the default configuration, a version on
// one drive of four, newer than the current one and just written, is left
// alone: a commit of it may still be landing on the others. The drive is
// reported failed with ErrUnsettled (so whoever asked heals again), not
// healed to the older version.
func TestHealLeavesAYoungVersion(t *testing.T) {
	hs := newHealSet(t, 4, nil)
	data := randomBytes(3, 1000)
	hs.put(t, "k", data)
	young := unackedVersionAt(t, hs, 2, "k", time.Now())
	before := hs.versions(t, "k")
	res, err := hs.HealObject(context.Background(), testBucket, "k", HealOptions{})
	if !errors.Is(err, ErrHealIncomplete) || !errors.Is(res.Failed[2], ErrUnsettled) || len(res.Failed) != 1 {
		t.Fatalf("heal: %v, failed %v; want drive 2 left as unsettled", err, res.Failed)
	}
	if !slices.Equal(res.Unsettled, []string{young.VersionID}) || len(res.Unacknowledged)+len(res.Dropped)+len(res.Healed) != 0 ||
		!slices.Equal(res.Targets, []int{2}) {
		t.Fatalf("heal: %+v", res)
	}
	if want := young.ModTime.Add(2 * 3 * time.Second); !res.SettledAt.Equal(want) {
		t.Fatalf("SettledAt %v, want the version's ModTime and twice the drive timeout, %v", res.SettledAt, want)
	}
	if after := hs.versions(t, "k"); !slices.EqualFunc(before, after, slices.Equal) {
		t.Fatalf("the heal changed the drives: %v, then %v", before, after)
	}
	hs.mustGet(t, "k", data)
}

// TestHealLeavesAYoungNewKey: a new key's version on one drive of four,
// just written, while the others say the object is absent: a commit of a
// new key may be one drive in. The heal removes nothing.
func TestHealLeavesAYoungNewKey(t *testing.T) {
	hs := newHealSet(t, 4, nil)
	hs.put(t, "k", randomBytes(6, 1000))
	for _, pos := range []int{0, 1, 3} {
		hs.wipe(t, pos, "k")
	}
	res, err := hs.HealObject(context.Background(), testBucket, "k", HealOptions{})
	if !errors.Is(err, ErrHealIncomplete) || !errors.Is(res.Failed[2], ErrUnsettled) || len(res.Removed) != 0 {
		t.Fatalf("heal: %+v, %v; want drive 2 left as unsettled", res, err)
	}
	if vs := hs.versions(t, "k"); len(vs[2]) != 1 {
		t.Fatalf("drive 2 holds %v, want its version kept", vs[2])
	}
}

// TestDeleteSettledKeepsYoungVersions: the removal of an absent object's
// leftovers reads the drive's versions when it runs, and keeps the young
// ones: a version committed since the heal's read is not removed with the
// leftover the read found.
func TestDeleteSettledKeepsYoungVersions(t *testing.T) {
	hs := newHealSet(t, 4, nil)
	hs.put(t, "k", randomBytes(7, 1000))
	ctx := context.Background()
	d := hs.local[0]
	old, err := d.ReadVersion(ctx, testBucket, "k", "")
	if err != nil {
		t.Fatal(err)
	}
	// The drive's version, made old; a young one above it.
	old.ModTime = time.Now().Add(-time.Hour)
	if err := d.DeleteVersion(ctx, testBucket, "k", old.VersionID); err != nil {
		t.Fatal(err)
	}
	if err := d.WriteMetadata(ctx, testBucket, "k", old); err != nil {
		t.Fatal(err)
	}
	young := unackedVersionAt(t, hs, 0, "k", time.Now())
	err = deleteSettled(ctx, d, testBucket, "k", time.Now().Add(-time.Minute))
	if !errors.Is(err, ErrUnsettled) {
		t.Fatalf("deleteSettled: %v, want ErrUnsettled", err)
	}
	if vs := hs.versions(t, "k")[0]; !slices.Equal(vs, []string{young.VersionID}) {
		t.Fatalf("drive 0 holds %v, want only the young version %s", vs, young.VersionID)
	}
	if err := deleteSettled(ctx, d, testBucket, "k", time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if vs := hs.versions(t, "k")[0]; len(vs) != 0 {
		t.Fatalf("drive 0 holds %v once every version is settled", vs)
	}
}

// grantAll returns a Locker that grants every lock at once: the lock of a
// writer its lock servers wrongly declared dead, which the next holder
// overlaps (nslock's documented failure, seen when memberlist flaps).
func grantAll() Locker {
	held := func(context.Context, ...string) (lostLock, error) {
		return lostLock{}, nil // no channel: never lost
	}
	return AdaptLocker(held, held)
}

// TestHealDuringACommitLeavesIt: a heal that runs while a PUT commits, its
// lock overlapping the writer's, finds the new version on one drive of
// four, fewer than its write quorum. It must not take it for a failed
// write's leftover: the PUT is acknowledged once the other drives' commits
// land, and every drive then holds it. (CI lost an acknowledged PUT so:
// the heal removed it from the drives it had reached.)
func TestHealDuringACommitLeavesIt(t *testing.T) {
	hs := newHealSet(t, 4, func(c *Config) {
		c.Locker = grantAll()
		c.DriveTimeout = 30 * time.Second // the held commits must not time out
	})
	hs.put(t, "k", randomBytes(8, 300<<10))
	for _, pos := range []int{1, 2, 3} {
		hs.drives[pos].set(faultHeld, "RenameData")
	}
	next := randomBytes(9, 300<<10)
	type result struct {
		info ObjectInfo
		err  error
	}
	done := make(chan result, 1)
	go func() {
		info, err := hs.PutObject(context.Background(), testBucket, "k", bytes.NewReader(next), int64(len(next)), PutOptions{})
		done <- result{info, err}
	}()
	// Drive 0 has committed, the others are in their RenameData.
	deadline := time.Now().Add(20 * time.Second)
	for hs.drives[1].blocked.Load()+hs.drives[2].blocked.Load()+hs.drives[3].blocked.Load() < 3 ||
		len(hs.versions(t, "k")[0]) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("the commit did not reach drive 0 and stall on the others: %v", hs.versions(t, "k"))
		}
		time.Sleep(5 * time.Millisecond)
	}
	newID := hs.versions(t, "k")[0][0]
	res, healErr := hs.HealObject(context.Background(), testBucket, "k", HealOptions{})
	for _, pos := range []int{1, 2, 3} {
		hs.drives[pos].unstick()
	}
	r := <-done
	if r.err != nil {
		t.Fatalf("put: %v", r.err)
	}
	for _, d := range hs.drives {
		d.clear()
	}
	if r.info.VersionID != newID {
		t.Fatalf("put acknowledged version %s, drive 0 held %s", r.info.VersionID, newID)
	}
	for pos, vs := range hs.versions(t, "k") {
		if len(vs) == 0 || vs[0] != newID {
			t.Fatalf("drive %d holds %v, want the acknowledged version %s first (the heal during the commit: %+v)", pos, vs, newID, res)
		}
	}
	hs.mustGet(t, "k", next)
	if !errors.Is(healErr, ErrHealIncomplete) || !errors.Is(res.Failed[0], ErrUnsettled) ||
		!slices.Equal(res.Unsettled, []string{newID}) || len(res.Dropped) != 0 || res.SettledAt.IsZero() {
		t.Fatalf("heal during the commit: %+v, %v; want drive 0 left as unsettled", res, healErr)
	}
}
