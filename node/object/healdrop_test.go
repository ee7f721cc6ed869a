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
	ctx := context.Background()
	fi, err := hs.local[pos].ReadVersion(ctx, testBucket, key, "")
	if err != nil {
		t.Fatal(err)
	}
	fi.VersionID = uuid.NewString()
	fi.ModTime = fi.ModTime.Add(time.Second)
	if err := hs.local[pos].WriteMetadata(ctx, testBucket, key, fi); err != nil {
		t.Fatal(err)
	}
	return fi
}

// TestHealRemovesUnacknowledgedVersion: a newer version on one drive of
// four (write quorum 3) was never acknowledged: heal removes it instead of
// leaving it the drive's latest, the drive is healed to the current
// version, and reads stop queuing the object for healing.
func TestHealRemovesUnacknowledgedVersion(t *testing.T) {
	hs := newHealSet(t, 4, nil)
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
	hs := newHealSet(t, 4, nil)
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
	hs := newHealSet(t, 4, nil)
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
