package local

import (
	"bytes"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/gridstore/gridstore/storage"
)

// publishData stages a one-part data dir of data and publishes it as a
// version of key.
func publishData(t *testing.T, d *Drive, volume, key, versionID string, data []byte) string {
	t.Helper()
	ctx := t.Context()
	dataDir := uuid.NewString()
	tmp := uuid.NewString() + "/" + dataDir
	if err := d.CreateFile(ctx, storage.TmpVolume, tmp+"/part.1", int64(len(data)), bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	fi := storage.FileInfo{FileVersion: storage.FileVersion{
		VersionID: versionID, DataDir: dataDir, ModTime: t0, Size: int64(len(data)),
		Parts: []storage.PartInfo{{Number: 1, Size: int64(len(data))}},
	}}
	if _, err := d.RenameData(ctx, storage.TmpVolume, tmp, fi, volume, key); err != nil {
		t.Fatal(err)
	}
	return dataDir
}

// driveEntries lists every file and directory under the volume's
// directory, relative to it, directories with a trailing "/".
func driveEntries(t *testing.T, d *Drive, volume string) []string {
	t.Helper()
	root := volumeDir(d.root, volume)
	var out []string
	err := filepath.WalkDir(root, func(path string, e fs.DirEntry, err error) error {
		if err != nil || path == root {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if e.IsDir() {
			rel += "/"
		}
		out = append(out, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestSweep(t *testing.T) {
	d := newDrive(t, t.TempDir())
	ctx := t.Context()
	if err := d.MakeVol(ctx, "bucket"); err != nil {
		t.Fatal(err)
	}
	// What must stay: an object with data, one inline with a key below
	// it, a long key, and a data dir that a second version still names.
	keep := publishData(t, d, "bucket", "a/obj", "", []byte("kept data"))
	if err := d.WriteMetadata(ctx, "bucket", "p", inlineVersion("", t0, "p")); err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("é", 300) + "/x"
	longData := publishData(t, d, "bucket", long, "v1", []byte("long"))
	want := driveEntries(t, d, "bucket")

	// What must go: data dirs no record names (beside a record, and where
	// the record is gone), an entry of the drive's own that is neither,
	// and empty directories, some of them deep.
	orphan := DataDirFile(d.root, "bucket", "a/obj", uuid.NewString())
	lone := DataDirFile(d.root, "bucket", "p/gone", uuid.NewString())
	longOrphan := DataDirFile(d.root, "bucket", long, uuid.NewString())
	for _, dir := range []string{orphan, lone, longOrphan, ObjectDir(d.root, "bucket", "empty/a/b/c"), ObjectDir(d.root, "bucket", "p//")} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{filepath.Join(orphan, "part.1"), filepath.Join(ObjectDir(d.root, "bucket", "a/obj"), ".leftover")} {
		if err := os.WriteFile(f, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Not the drive's: left alone, as a walk leaves it.
	foreign := filepath.Join(volumeDir(d.root, "bucket"), "a", "foreign-file")
	if err := os.WriteFile(foreign, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	want = append(want, "a/foreign-file")
	slices.Sort(want)

	stats, err := d.Sweep(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := driveEntries(t, d, "bucket"); !slices.Equal(got, want) {
		t.Fatalf("after Sweep the bucket holds\n%q\nwant\n%q", got, want)
	}
	if stats.DataDirs != 3 || stats.Other != 1 || stats.Dirs == 0 {
		t.Fatalf("stats %+v: want 3 data dirs, 1 other, some directories", stats)
	}
	for key, dataDir := range map[string]string{"a/obj": keep, long: longData} {
		rc, err := d.ReadFileStream(ctx, "bucket", storage.PartPath(key, dataDir, 1), 0, -1)
		if err != nil {
			t.Fatalf("%s after Sweep: %v", storage.ClipName(key), err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		if len(b) == 0 {
			t.Fatalf("%s after Sweep: no data", storage.ClipName(key))
		}
	}
	// A second sweep finds nothing.
	if stats, err := d.Sweep(ctx); err != nil || stats.DataDirs+stats.Other+stats.Dirs != 0 {
		t.Fatalf("second Sweep: %+v, %v", stats, err)
	}
}
