package drivetest

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/gridstore/gridstore/storage"
)

// hostilePaths are refused as paths of files in a system volume, where
// paths are the callers' own names, never keys.
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
	"hidden":             "a/.meta",
}

// hostileKeys are refused as object keys: everything else is a key.
var hostileKeys = map[string]string{
	"empty":         "",
	"too long":      strings.Repeat("k", storage.MaxKeyLength+1),
	"invalid UTF-8": "a/\xff\xfe",
}

// hostileFilePaths are refused as paths of files in a bucket, which must
// name a file of a data dir of a key (storage.PartPath).
var hostileFilePaths = map[string]string{
	"a key":                "obj",
	"no data dir":          "obj/part.1",
	"not a UUID":           "obj/u1/part.1",
	"upper-case UUID":      "obj/" + strings.ToUpper(uuid.NewString()) + "/part.1",
	"a record":             "obj/" + uuid.NewString() + "/.meta",
	"dot-dot file":         "obj/" + uuid.NewString() + "/..",
	"empty file name":      "obj/" + uuid.NewString() + "/",
	"data dir only":        uuid.NewString(),
	"no key":               "/" + uuid.NewString() + "/part.1",
	"key too long":         strings.Repeat("k", storage.MaxKeyLength+1) + "/" + uuid.NewString() + "/part.1",
	"record of a data dir": ".meta",
}

// keysThatLookHostile are ordinary keys: each is stored in its bucket,
// beside the others, and reaches nothing else.
var keysThatLookHostile = []string{
	"..", ".", "a/../../b", "a/..", "a/./b", "a//b", "a/", "/", "//", "/etc/passwd",
	"../.gridstore.sys/format.json", "../.gridstore.sys/tmp/x", "../other/obj",
	`a\..\b`, `C:\x`, "a\x00b", "\x01\x1f\x7f", "line\nbreak", "%", "%2F", "%+", "a%+/b",
	".meta", "a/.meta", "meta", "obj/" + uuid.NewString() + "/part.1", "." + uuid.NewString(),
	"lost+found", strings.Repeat("x", storage.MaxComponentLength+1),
	strings.Repeat("\x01", 400) + "/" + strings.Repeat(".", 300),
	strings.Repeat("é", storage.MaxKeyLength/2),
	strings.Repeat("/", storage.MaxKeyLength),
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

// pathCalls calls every method that takes a path of a file or directory
// of a system volume with the given one, and returns what each returned.
func pathCalls(t *testing.T, d storage.Drive, volume, path string) map[string]error {
	ctx := t.Context()
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
	_, errs["RenameData(src)"] = d.RenameData(ctx, volume, path, staged, "bucket", "obj")
	return errs
}

// keyCalls calls every method that takes an object key with the given
// one, and returns what each returned.
func keyCalls(t *testing.T, d storage.Drive, volume, key string) map[string]error {
	ctx := t.Context()
	fi := inline("v1", t0, []byte("x"))
	staged := storage.FileInfo{FileVersion: storage.FileVersion{VersionID: "v1", DataDir: uuid.NewString(), ModTime: t0}}
	errs := map[string]error{}
	_, errs["RenameData(dst)"] = d.RenameData(ctx, storage.TmpVolume, "src", staged, volume, key)
	_, errs["ReadVersion"] = d.ReadVersion(ctx, volume, key, "")
	_, errs["ReadMetadata"] = d.ReadMetadata(ctx, volume, key)
	errs["WriteMetadata"] = d.WriteMetadata(ctx, volume, key, fi)
	errs["DeleteVersion"] = d.DeleteVersion(ctx, volume, key, "v1")
	errs["VerifyFile"] = d.VerifyFile(ctx, volume, key, fi)
	return errs
}

func testHostileNames(t *testing.T, d storage.Drive) {
	ctx := t.Context()
	makeVol(t, d, "bucket")
	makeVol(t, d, "other")
	noErr(t, "CreateFile", d.CreateFile(ctx, storage.TmpVolume, "src/part.1", 1, bytes.NewReader([]byte("x"))))

	for what, path := range hostilePaths {
		for method, err := range pathCalls(t, d, storage.TmpVolume, path) {
			wantErr(t, method+" with path "+what, err, storage.ErrInvalidPath)
		}
	}
	for what, key := range hostileKeys {
		for method, err := range keyCalls(t, d, "bucket", key) {
			wantErr(t, method+" with key "+what, err, storage.ErrInvalidPath)
		}
		if key != "" {
			err := d.WalkDir(ctx, storage.WalkDirOptions{Volume: "bucket", Prefix: key}, func(storage.MetaEntry) error { return nil })
			wantErr(t, "WalkDir with prefix "+what, err, storage.ErrInvalidPath)
		}
	}
	for what, path := range hostileFilePaths {
		wantErr(t, "CreateFile in a bucket, "+what, d.CreateFile(ctx, "bucket", path, 1, bytes.NewReader([]byte("x"))), storage.ErrInvalidPath)
		_, err := d.ReadFileStream(ctx, "bucket", path, 0, -1)
		wantErr(t, "ReadFileStream in a bucket, "+what, err, storage.ErrInvalidPath)
	}
	for what, path := range map[string]string{"a key": "obj", "a part file": storage.PartPath("obj", uuid.NewString(), 1), "record": "obj/.meta"} {
		wantErr(t, "Delete in a bucket, "+what, d.Delete(ctx, "bucket", path, true), storage.ErrInvalidPath)
		_, err := d.ListDir(ctx, "bucket", path, -1)
		wantErr(t, "ListDir in a bucket, "+what, err, storage.ErrInvalidPath)
	}
	for what, volume := range hostileVolumes {
		for method, err := range pathCalls(t, d, volume, "obj") {
			wantErr(t, method+" with volume "+what, err, storage.ErrInvalidVolume)
		}
		for method, err := range keyCalls(t, d, volume, "obj") {
			wantErr(t, method+" with volume "+what, err, storage.ErrInvalidVolume)
		}
		_, err := d.ListDir(ctx, volume, "", -1)
		wantErr(t, "ListDir of volume "+what, err, storage.ErrInvalidVolume)
		err = d.WalkDir(ctx, storage.WalkDirOptions{Volume: volume}, func(storage.MetaEntry) error { return nil })
		wantErr(t, "WalkDir of volume "+what, err, storage.ErrInvalidVolume)
	}

	// Nothing was created anywhere by all that.
	names, err := d.ListDir(ctx, storage.TmpVolume, "", -1)
	noErr(t, "ListDir", err)
	if !slices.Equal(names, []string{"src/"}) {
		t.Fatalf("hostile calls left %v in %s", names, storage.TmpVolume)
	}
	for _, volume := range []string{"bucket", "other"} {
		if got := walk(t, d, storage.WalkDirOptions{Volume: volume, Recursive: true}); len(got) != 0 {
			t.Fatalf("hostile calls left %q in %s", got, volume)
		}
	}
	vols, err := d.ListVols(ctx)
	noErr(t, "ListVols", err)
	if len(vols) != 2 {
		t.Fatalf("hostile calls left volumes %v", vols)
	}
}

// testKeysThatLookHostile stores keys that would be paths outside the
// bucket, or the drive's own names, if a key were a path: each is an
// object of its own, and deleting them all leaves an empty bucket and
// nothing anywhere else.
func testKeysThatLookHostile(t *testing.T, d storage.Drive) {
	ctx := t.Context()
	makeVol(t, d, "bucket")
	makeVol(t, d, "other")
	putObjects(t, d, "other", "obj")
	keys := slices.Clone(keysThatLookHostile)
	putObjects(t, d, "bucket", keys...)
	// One with a data dir too, and a data dir's files read by their path.
	_, s := publish(t, d, "bucket", "../other/data", "", t0, 3000)
	keys = append(keys, "../other/data")
	if b := readFile(t, d, "bucket", storage.PartPath("../other/data", s.dataDir, 1)); !bytes.Equal(b, s.files[0]) {
		t.Fatal("part file of ../other/data does not read back")
	}
	for _, key := range keys[:len(keys)-1] {
		fi, err := d.ReadVersion(ctx, "bucket", key, "")
		noErr(t, "ReadVersion "+key, err)
		if string(fi.InlineData) != key {
			t.Fatalf("ReadVersion %q reads the object of %q", key, fi.InlineData)
		}
	}
	slices.Sort(keys)
	if got := walk(t, d, storage.WalkDirOptions{Volume: "bucket", Recursive: true}); !slices.Equal(got, keys) {
		t.Fatalf("recursive walk:\n got %q\nwant %q", got, keys)
	}
	if got := walk(t, d, storage.WalkDirOptions{Volume: "other", Recursive: true}); !slices.Equal(got, []string{"obj"}) {
		t.Fatalf("the other volume holds %q", got)
	}
	for _, key := range keys {
		noErr(t, "DeleteVersion "+key, d.DeleteVersion(ctx, "bucket", key, storage.NullVersionID))
	}
	if got := walk(t, d, storage.WalkDirOptions{Volume: "bucket", Recursive: true}); len(got) != 0 {
		t.Fatalf("after deleting every key the bucket lists %q", got)
	}
	noErr(t, "DeleteVol of the emptied bucket", d.DeleteVol(ctx, "bucket"))
	if got := walk(t, d, storage.WalkDirOptions{Volume: "other", Recursive: true}); !slices.Equal(got, []string{"obj"}) {
		t.Fatalf("the other volume holds %q", got)
	}
}
