package local

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gridstore/gridstore/storage"
)

var t0 = time.Date(2025, 3, 14, 15, 9, 26, 0, time.UTC)

func inlineVersion(id string, mod time.Time, data string) storage.FileInfo {
	return storage.FileInfo{FileVersion: storage.FileVersion{
		VersionID: id, ModTime: mod, Size: int64(len(data)), InlineData: []byte(data),
		Erasure: storage.ErasureInfo{DataBlocks: 1, ParityBlocks: 1, BlockSize: 1 << 20, Index: 1, Distribution: []int{1, 2}},
	}}
}

func TestOpenCleansStaging(t *testing.T) {
	dir := t.TempDir()
	spec := testSpec()
	if err := Format(dir, spec); err != nil {
		t.Fatal(err)
	}
	d := openDrive(t, dir, spec)
	ctx := t.Context()
	if err := d.MakeVol(ctx, "bucket"); err != nil {
		t.Fatal(err)
	}
	if err := d.CreateFile(ctx, storage.TmpVolume, "upload/dd/part.1", 3, bytes.NewReader([]byte("abc"))); err != nil {
		t.Fatal(err)
	}
	if err := d.CreateFile(ctx, storage.MultipartVolume, "up1/part.1", 3, bytes.NewReader([]byte("abc"))); err != nil {
		t.Fatal(err)
	}
	// What a writer killed mid-commit leaves in the staging area.
	if err := os.WriteFile(d.stagingPath(), []byte("half a record"), 0o644); err != nil {
		t.Fatal(err)
	}
	d.Close()

	d = openDrive(t, dir, spec)
	for _, area := range []string{filepath.Join(dir, filepath.FromSlash(storage.TmpVolume)), d.stagingDir} {
		entries, err := os.ReadDir(area)
		if err != nil || len(entries) != 0 {
			t.Errorf("%s after Open: %d entries, %v", area, len(entries), err)
		}
	}
	if names, err := d.ListDir(ctx, storage.MultipartVolume, "up1", -1); err != nil || !slices.Equal(names, []string{"part.1"}) {
		t.Errorf("multipart uploads lost at Open: %v, %v", names, err)
	}
	if _, err := d.StatVol(ctx, "bucket"); err != nil {
		t.Errorf("volume lost at Open: %v", err)
	}
}

func TestHealingMark(t *testing.T) {
	dir := t.TempDir()
	spec := testSpec()
	if err := Format(dir, spec); err != nil {
		t.Fatal(err)
	}
	d := openDrive(t, dir, spec)
	if err := d.SetHealing(true); err != nil {
		t.Fatal(err)
	}
	if info, _ := d.DiskInfo(t.Context()); !info.Healing {
		t.Fatal("DiskInfo does not show the healing mark")
	}
	d.Close()
	d = openDrive(t, dir, spec)
	if info, _ := d.DiskInfo(t.Context()); !info.Healing {
		t.Fatal("healing mark lost across a restart")
	}
	if err := d.SetHealing(false); err != nil {
		t.Fatal(err)
	}
	if info, _ := d.DiskInfo(t.Context()); info.Healing {
		t.Fatal("healing mark not cleared")
	}
	d.Close()
	if err := d.SetHealing(true); !errors.Is(err, storage.ErrDriveOffline) {
		t.Fatalf("SetHealing on a closed drive: %v", err)
	}
}

func TestVolumesIgnoreForeignEntries(t *testing.T) {
	dir := t.TempDir()
	d := newDrive(t, dir)
	ctx := t.Context()
	for _, name := range []string{"lost+found", "Foreign", ".snapshot"} {
		if err := os.Mkdir(filepath.Join(dir, name), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "stray-file"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := d.MakeVol(ctx, "bucket"); err != nil {
		t.Fatal(err)
	}
	vols, err := d.ListVols(ctx)
	if err != nil || len(vols) != 1 || vols[0].Name != "bucket" {
		t.Fatalf("ListVols = %v, %v", vols, err)
	}
	// A volume whose last object went while a crash kept its empty parent
	// directories is still empty.
	if err := os.MkdirAll(filepath.Join(dir, "bucket", "a", "b", "c"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := d.DeleteVol(ctx, "bucket"); err != nil {
		t.Fatalf("DeleteVol with empty leftover directories: %v", err)
	}
}

func TestCorruptRecordOnDisk(t *testing.T) {
	dir := t.TempDir()
	d := newDrive(t, dir)
	ctx := t.Context()
	if err := d.MakeVol(ctx, "bucket"); err != nil {
		t.Fatal(err)
	}
	record := RecordFile(dir, "bucket", "obj")
	valid := func() []byte {
		t.Helper()
		if err := d.WriteMetadata(ctx, "bucket", "obj", inlineVersion("v1", t0, "hello")); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(record)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	good := valid()

	for name, damage := range map[string][]byte{
		"truncated":   good[:len(good)/2],
		"empty":       {},
		"flipped bit": func() []byte { b := slices.Clone(good); b[len(b)-3] ^= 4; return b }(),
		"zeroed":      make([]byte, len(good)),
	} {
		if err := os.WriteFile(record, damage, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := d.ReadVersion(ctx, "bucket", "obj", "")
		if !errors.Is(err, storage.ErrFileCorrupt) {
			t.Errorf("%s: ReadVersion = %v", name, err)
		}
		if _, err := d.ReadMetadata(ctx, "bucket", "obj"); !errors.Is(err, storage.ErrFileCorrupt) {
			t.Errorf("%s: ReadMetadata = %v", name, err)
		}
		// A walk still reports the object, with the record as it is, so
		// that the object layer sees this drive's copy is broken.
		var entries []storage.MetaEntry
		if err := d.WalkDir(ctx, storage.WalkDirOptions{Volume: "bucket", Recursive: true}, func(e storage.MetaEntry) error {
			entries = append(entries, e)
			return nil
		}); err != nil {
			t.Fatalf("%s: WalkDir: %v", name, err)
		}
		if len(entries) != 1 || entries[0].Name != "obj" {
			t.Fatalf("%s: WalkDir = %v", name, entries)
		}
		if _, err := storage.DecodeObjectMeta(entries[0].Metadata); !errors.Is(err, storage.ErrFileCorrupt) {
			t.Errorf("%s: walked record decodes: %v", name, err)
		}
		// A new write replaces the broken record (healing restores what
		// it held).
		if err := d.WriteMetadata(ctx, "bucket", "obj", inlineVersion("v2", t0, "new")); err != nil {
			t.Fatalf("%s: WriteMetadata over a corrupt record: %v", name, err)
		}
		fi, err := d.ReadVersion(ctx, "bucket", "obj", "")
		if err != nil || fi.VersionID != "v2" || fi.NumVersions != 1 {
			t.Fatalf("%s: after rewrite: %+v, %v", name, fi, err)
		}
		// Deleting a version of a corrupt record removes what the drive
		// holds of the object: nothing of it can be read anyway.
		if err := os.WriteFile(record, damage, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := d.DeleteVersion(ctx, "bucket", "obj", "v9"); err != nil {
			t.Errorf("%s: DeleteVersion of a corrupt record = %v", name, err)
		}
		if _, err := d.ReadVersion(ctx, "bucket", "obj", ""); !errors.Is(err, storage.ErrFileNotFound) {
			t.Errorf("%s: ReadVersion after the corrupt record was deleted = %v", name, err)
		}
		good = valid()
	}

	// A record too large to be one is not read into memory.
	if err := os.Truncate(record, storage.MaxMetaSize+1); err != nil {
		t.Fatal(err)
	}
	if _, err := d.ReadVersion(ctx, "bucket", "obj", ""); !errors.Is(err, storage.ErrFileCorrupt) {
		t.Errorf("oversized record: %v", err)
	}

	// A record of a newer format is neither read nor overwritten.
	newer := slices.Clone(good)
	newer[5]++
	if err := os.WriteFile(record, newer, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := d.ReadVersion(ctx, "bucket", "obj", ""); !errors.Is(err, storage.ErrUnknownFormat) {
		t.Errorf("newer record: ReadVersion = %v", err)
	}
	if err := d.WriteMetadata(ctx, "bucket", "obj", inlineVersion("v3", t0, "x")); !errors.Is(err, storage.ErrUnknownFormat) {
		t.Errorf("newer record: WriteMetadata = %v", err)
	}
	if b, _ := os.ReadFile(record); !bytes.Equal(b, newer) {
		t.Error("a record of a newer format was overwritten")
	}

	// A symbolic link is never taken for a record.
	if err := os.Remove(record); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc/hostname", record); err != nil {
		t.Fatal(err)
	}
	if _, err := d.ReadVersion(ctx, "bucket", "obj", ""); !errors.Is(err, storage.ErrFileNotFound) {
		t.Errorf("record that is a symbolic link: %v", err)
	}
}

func TestClassify(t *testing.T) {
	for errno, want := range map[syscall.Errno]error{
		syscall.ENOSPC:       storage.ErrDiskFull,
		syscall.EDQUOT:       storage.ErrDiskFull,
		syscall.EIO:          storage.ErrFaultyDisk,
		syscall.EROFS:        storage.ErrDiskAccessDenied,
		syscall.EACCES:       storage.ErrDiskAccessDenied,
		syscall.EPERM:        storage.ErrDiskAccessDenied,
		syscall.ENAMETOOLONG: storage.ErrInvalidPath,
		syscall.EINTR:        nil,
	} {
		// As the os package returns them, wrapped in a *PathError.
		err := osError("write", "vol/obj", &fs.PathError{Op: "write", Path: "/x", Err: errno}, nil)
		if want != nil && !errors.Is(err, want) {
			t.Errorf("%v: %v is not %v", errno, err, want)
		}
		if !errors.Is(err, errno) {
			t.Errorf("%v: the errno itself is lost in %v", errno, err)
		}
	}
	for _, errno := range []syscall.Errno{syscall.ENOENT, syscall.ENOTDIR} {
		err := osError("read", "vol/obj", fmt.Errorf("doublebuf: %w", &fs.PathError{Err: errno}), storage.ErrFileNotFound)
		if !errors.Is(err, storage.ErrFileNotFound) {
			t.Errorf("%v: %v", errno, err)
		}
	}
	if err := osError("read", "x", syscall.ENOENT, nil); errors.Is(err, storage.ErrFileNotFound) {
		t.Error("ENOENT classified without a sentinel for it")
	}
}

func TestDataDirRemovalKeepsSharedData(t *testing.T) {
	d := newDrive(t, t.TempDir())
	ctx := t.Context()
	if err := d.MakeVol(ctx, "bucket"); err != nil {
		t.Fatal(err)
	}
	// Two versions that share a data dir (as a copy of a version may):
	// deleting one keeps the data the other still needs.
	dataDir := uuid.NewString()
	if err := d.CreateFile(ctx, storage.TmpVolume, "u/"+dataDir+"/part.1", 2, bytes.NewReader([]byte("ab"))); err != nil {
		t.Fatal(err)
	}
	v1 := inlineVersion("v1", t0, "")
	v1.InlineData, v1.DataDir, v1.Parts = nil, dataDir, []storage.PartInfo{{Number: 1, Size: 2}}
	if _, err := d.RenameData(ctx, storage.TmpVolume, "u/"+dataDir, v1, "bucket", "obj"); err != nil {
		t.Fatal(err)
	}
	v2 := v1
	v2.VersionID, v2.ModTime = "v2", t0.Add(time.Second)
	if err := d.WriteMetadata(ctx, "bucket", "obj", v2); !errors.Is(err, storage.ErrFileVersionNotFound) {
		t.Fatalf("WriteMetadata of a new version with a data dir: %v", err)
	}
	// Only the record can say so; write it as a copy would.
	meta := &storage.ObjectMeta{}
	meta.Put(v1.FileVersion)
	meta.Put(v2.FileVersion)
	record, err := meta.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if err := d.commit("bucket", "obj", "", "", record); err != nil {
		t.Fatal(err)
	}
	if err := d.DeleteVersion(ctx, "bucket", "obj", "v1"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(DataDirFile(d.root, "bucket", "obj", dataDir), "part.1")); err != nil {
		t.Fatalf("shared data dir removed with one of its versions: %v", err)
	}
}

func TestTooManyVersions(t *testing.T) {
	d := newDrive(t, t.TempDir())
	ctx := t.Context()
	if err := d.MakeVol(ctx, "bucket"); err != nil {
		t.Fatal(err)
	}
	// One write makes the object; the record is then filled up directly,
	// which takes one commit instead of ten thousand.
	if err := d.WriteMetadata(ctx, "bucket", "obj", inlineVersion("v0", t0, "x")); err != nil {
		t.Fatal(err)
	}
	meta := &storage.ObjectMeta{}
	for i := storage.MaxVersions; i > 0; i-- { // newest first
		meta.Versions = append(meta.Versions, storage.FileVersion{VersionID: fmt.Sprintf("v%05d", i), ModTime: t0.Add(time.Duration(i))})
	}
	record, err := meta.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if err := d.commit("bucket", "obj", "", "", record); err != nil {
		t.Fatal(err)
	}
	err = d.WriteMetadata(ctx, "bucket", "obj", inlineVersion("one-more", t0, "x"))
	if !errors.Is(err, storage.ErrTooManyVersions) {
		t.Fatalf("version %d: %v", storage.MaxVersions+1, err)
	}
	// Replacing one of them is fine.
	if err := d.WriteMetadata(ctx, "bucket", "obj", inlineVersion("v00007", t0, "y")); err != nil {
		t.Fatal(err)
	}
}
