package drivetest

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/gridstore/gridstore/storage"
)

// hostilePaths are refused by every method that takes a path.
var hostilePaths = map[string]string{
	"empty":              "",
	"absolute":           "/etc/passwd",
	"dot-dot":            "..",
	"dot-dot inside":     "a/../../b",
	"dot-dot at end":     "a/..",
	"dot":                ".",
	"dot component":      "a/./b",
	"double slash":       "a//b",
	"trailing slash":     "a/",
	"NUL":                "a\x00b",
	"backslash":          `a\..\b`,
	"invalid UTF-8":      "a/\xff\xfe",
	"long component":     strings.Repeat("x", storage.MaxComponentLength+1),
	"long path":          strings.Repeat("abcd/", storage.MaxPathLength/5+1) + "x",
	"system dir":         "../.gridstore.sys/format.json",
	"tmp by dot-dot":     "../.gridstore.sys/tmp/x",
	"another volume":     "../other/obj",
	"windows drive":      `C:\x`,
	"leading slash deep": "/a/b",
}

// hostileVolumes are refused by every method that takes a volume.
var hostileVolumes = map[string]string{
	"empty":       "",
	"dot-dot":     "..",
	"slash":       "a/b",
	"system dir":  ".gridstore.sys",
	"upper case":  "Bucket",
	"traversal":   "../bucket",
	"NUL":         "buck\x00et",
	"too long":    strings.Repeat("b", 64),
	"too short":   "ab",
	"lost+found":  "lost+found",
	"backslash":   `bu\cket`,
	"tmp variant": ".gridstore.sys/tmp/..",
}

// pathCalls calls every method that takes a path with the given one, in a
// valid volume, and returns what each returned.
func pathCalls(t *testing.T, d storage.Drive, volume, path string) map[string]error {
	ctx := t.Context()
	fi := inline("v1", t0, []byte("x"))
	staged := storage.FileInfo{FileVersion: storage.FileVersion{VersionID: "v1", DataDir: uuid.NewString(), ModTime: t0}}
	errs := map[string]error{
		"CreateFile": d.CreateFile(ctx, volume, path, 1, bytes.NewReader([]byte("x"))),
		"Delete":     d.Delete(ctx, volume, path, true),
	}
	_, errs["ReadFileStream"] = d.ReadFileStream(ctx, volume, path, 0, -1)
	// For ListDir, "" is the volume itself and a trailing slash is allowed.
	if path != "" && !strings.HasSuffix(path, "/") {
		_, errs["ListDir"] = d.ListDir(ctx, volume, path, -1)
	}
	_, errs["RenameData(dst)"] = d.RenameData(ctx, storage.TmpVolume, "src", staged, volume, path)
	_, errs["RenameData(src)"] = d.RenameData(ctx, volume, path, staged, "bucket", "obj")
	_, errs["ReadVersion"] = d.ReadVersion(ctx, volume, path, "")
	_, errs["ReadMetadata"] = d.ReadMetadata(ctx, volume, path)
	errs["WriteMetadata"] = d.WriteMetadata(ctx, volume, path, fi)
	errs["DeleteVersion"] = d.DeleteVersion(ctx, volume, path, "v1")
	errs["VerifyFile"] = d.VerifyFile(ctx, volume, path, fi)
	errs["WalkDir"] = d.WalkDir(ctx, storage.WalkDirOptions{Volume: volume, Prefix: path + "/x"}, func(storage.MetaEntry) error { return nil })
	return errs
}

func testHostileNames(t *testing.T, d storage.Drive) {
	ctx := t.Context()
	makeVol(t, d, "bucket")
	makeVol(t, d, "other")
	noErr(t, "CreateFile", d.CreateFile(ctx, storage.TmpVolume, "src/part.1", 1, bytes.NewReader([]byte("x"))))

	for what, path := range hostilePaths {
		for method, err := range pathCalls(t, d, "bucket", path) {
			wantErr(t, method+" with path "+what, err, storage.ErrInvalidPath)
		}
	}
	for what, volume := range hostileVolumes {
		for method, err := range pathCalls(t, d, volume, "obj") {
			wantErr(t, method+" with volume "+what, err, storage.ErrInvalidVolume)
		}
		_, err := d.ListDir(ctx, volume, "", -1)
		wantErr(t, "ListDir of volume "+what, err, storage.ErrInvalidVolume)
		err = d.WalkDir(ctx, storage.WalkDirOptions{Volume: volume}, func(storage.MetaEntry) error { return nil })
		wantErr(t, "WalkDir of volume "+what, err, storage.ErrInvalidVolume)
	}

	// Nothing was created anywhere by all that.
	for _, volume := range []string{"other", storage.TmpVolume} {
		names, err := d.ListDir(ctx, volume, "", -1)
		noErr(t, "ListDir", err)
		if volume == storage.TmpVolume && len(names) == 1 && names[0] == "src/" {
			continue
		}
		if len(names) != 0 {
			t.Fatalf("hostile calls left %v in %s", names, volume)
		}
	}
	vols, err := d.ListVols(ctx)
	noErr(t, "ListVols", err)
	if len(vols) != 2 {
		t.Fatalf("hostile calls left volumes %v", vols)
	}

	// The record of an object is not a file to read or write by path.
	publish(t, d, "bucket", "obj", "", t0, 10)
	for _, path := range []string{"obj/meta", "meta"} {
		wantErr(t, "CreateFile "+path, d.CreateFile(ctx, "bucket", path, 1, bytes.NewReader([]byte("x"))), storage.ErrInvalidPath)
		wantErr(t, "Delete "+path, d.Delete(ctx, "bucket", path, false), storage.ErrInvalidPath)
		_, err := d.ReadFileStream(ctx, "bucket", path, 0, -1)
		wantErr(t, "ReadFileStream "+path, err, storage.ErrInvalidPath)
	}
}
