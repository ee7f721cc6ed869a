//go:build linux

package local

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/google/uuid"

	"github.com/gridstore/gridstore/storage"
)

// smallFileSystem mounts a tmpfs of size bytes for the test, or skips it
// where mounting is not allowed (not root, no CAP_SYS_ADMIN, a sandbox).
// A real file system that runs out of space is what proves the mapping of
// ENOSPC, not a stand-in that returns it.
func smallFileSystem(t *testing.T, size string) string {
	t.Helper()
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+size+",mode=0755"); err != nil {
		t.Skipf("cannot mount a small tmpfs to fill up: %v", err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir
}

// fillUp takes all the free space of the file system at dir.
func fillUp(t *testing.T, dir string) {
	t.Helper()
	f, err := os.Create(filepath.Join(dir, "filler"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 64<<10)
	for len(chunk) > 0 {
		if _, err := f.Write(chunk); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			chunk = chunk[:len(chunk)/2]
		}
	}
}

func TestDiskFull(t *testing.T) {
	dir := smallFileSystem(t, "4m")
	d := newDrive(t, dir)
	ctx := t.Context()
	if err := d.MakeVol(ctx, "bucket"); err != nil {
		t.Fatal(err)
	}
	if err := d.WriteMetadata(ctx, "bucket", "obj", inlineVersion("v1", t0, "the old version")); err != nil {
		t.Fatal(err)
	}

	// A shard that does not fit: known size (space reserved up front) and
	// unknown size (found out while writing), in the tmp area and
	// elsewhere. Nothing is left of it.
	big := make([]byte, 8<<20)
	bucketPath := storage.PartPath("upload", "11111111-1111-4111-8111-111111111111", 1)
	for _, c := range []struct {
		volume, path string
		size         int64
	}{
		{storage.TmpVolume, "upload/part.1", int64(len(big))},
		{storage.TmpVolume, "upload/part.1", -1},
		{"bucket", bucketPath, int64(len(big))},
		{"bucket", bucketPath, -1},
	} {
		err := d.CreateFile(ctx, c.volume, c.path, c.size, bytes.NewReader(big))
		if !errors.Is(err, storage.ErrDiskFull) || !errors.Is(err, syscall.ENOSPC) {
			t.Fatalf("CreateFile of %d bytes (size %d) into %s: %v, want ErrDiskFull", len(big), c.size, c.volume, err)
		}
		if _, err := d.ReadFileStream(ctx, c.volume, c.path, 0, -1); !errors.Is(err, storage.ErrFileNotFound) {
			t.Fatalf("after a failed CreateFile into %s: %v", c.volume, err)
		}
	}
	for _, area := range []string{d.stagingDir, d.pathIn(storage.TmpVolume, "upload")} {
		if entries, _ := os.ReadDir(area); len(entries) != 0 {
			t.Errorf("failed writes left %d entries in %s", len(entries), area)
		}
	}

	// Stage a data dir while there is room, then fill the disk: no commit
	// can go through, and each failure leaves the old version intact.
	dataDir := uuid.NewString()
	if err := d.CreateFile(ctx, storage.TmpVolume, "up2/"+dataDir+"/part.1", 5, bytes.NewReader([]byte("12345"))); err != nil {
		t.Fatal(err)
	}
	fillUp(t, dir)
	withData := inlineVersion("v2", t0.Add(1), "")
	withData.InlineData, withData.DataDir, withData.Parts = nil, dataDir, []storage.PartInfo{{Number: 1, Size: 5}}
	_, err := d.RenameData(ctx, storage.TmpVolume, "up2/"+dataDir, withData, "bucket", "obj")
	if !errors.Is(err, storage.ErrDiskFull) {
		t.Errorf("RenameData on a full disk: %v", err)
	}
	if names, _ := d.ListDir(ctx, storage.TmpVolume, "up2", -1); len(names) != 1 {
		t.Errorf("the staged data dir was not handed back after the failed commit: %v", names)
	}
	if err := d.WriteMetadata(ctx, "bucket", "obj", inlineVersion("v3", t0.Add(2), "a new version")); !errors.Is(err, storage.ErrDiskFull) {
		t.Errorf("WriteMetadata on a full disk: %v", err)
	}
	if err := d.WriteMetadata(ctx, "bucket", "new", inlineVersion("v1", t0, "a new object")); !errors.Is(err, storage.ErrDiskFull) {
		t.Errorf("WriteMetadata of a new object on a full disk: %v", err)
	}
	fi, err := d.ReadVersion(ctx, "bucket", "obj", "")
	if err != nil || fi.VersionID != "v1" || string(fi.InlineData) != "the old version" || fi.NumVersions != 1 {
		t.Fatalf("old version after failed writes: %+v, %v", fi, err)
	}
	if _, err := d.ReadVersion(ctx, "bucket", "new", ""); !errors.Is(err, storage.ErrFileNotFound) {
		t.Errorf("a failed new object is visible: %v", err)
	}
	info, err := d.DiskInfo(ctx)
	if err != nil || info.Latency["WriteMetadata"].Errors == 0 {
		t.Errorf("full-disk failures not counted as drive faults: %+v, %v", info.Latency["WriteMetadata"], err)
	}

	// Space comes back, and so does the drive.
	if err := os.Remove(filepath.Join(dir, "filler")); err != nil {
		t.Fatal(err)
	}
	if err := d.WriteMetadata(ctx, "bucket", "obj", inlineVersion("v3", t0.Add(2), "a new version")); err != nil {
		t.Fatalf("WriteMetadata once there is room: %v", err)
	}
}
