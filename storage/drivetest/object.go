package drivetest

import (
	"bytes"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gridstore/gridstore/storage"
)

func testRenameDataPublishes(t *testing.T, d storage.Drive) {
	ctx := t.Context()
	makeVol(t, d, "bucket")
	s := stage(t, d, 1, []int64{5000, 3000, 0}, nil)
	fi := s.version("v1", t0)
	res, err := d.RenameData(ctx, storage.TmpVolume, s.tmpPath, fi, "bucket", "dir/obj")
	noErr(t, "RenameData", err)
	if res.OldDataDir != "" {
		t.Fatalf("first version replaced data dir %q", res.OldDataDir)
	}

	got, err := d.ReadVersion(ctx, "bucket", "dir/obj", "")
	noErr(t, "ReadVersion latest", err)
	checkVersion(t, got, fi, "bucket", "dir/obj")
	if !got.IsLatest || got.NumVersions != 1 {
		t.Fatalf("IsLatest %v NumVersions %d", got.IsLatest, got.NumVersions)
	}
	if len(got.Parts) != 3 || got.Parts[1].Size != 3000 || got.Parts[1].ETag != fi.Parts[1].ETag || !got.Parts[1].ModTime.Equal(t0) {
		t.Fatalf("parts %+v", got.Parts)
	}
	got, err = d.ReadVersion(ctx, "bucket", "dir/obj", "v1")
	noErr(t, "ReadVersion v1", err)
	checkVersion(t, got, fi, "bucket", "dir/obj")

	// The data dir moved: the parts are in the object, the source is gone.
	for i, want := range s.files {
		name := "dir/obj/" + s.dataDir + "/part." + string(rune('1'+i))
		if b := readFile(t, d, "bucket", name); !bytes.Equal(b, want) {
			t.Fatalf("%s does not hold what was staged", name)
		}
	}
	_, err = d.ListDir(ctx, storage.TmpVolume, s.tmpPath, -1)
	wantErr(t, "ListDir of the published source", err, storage.ErrFileNotFound)

	_, err = d.ReadVersion(ctx, "bucket", "dir/obj", "v2")
	wantErr(t, "ReadVersion of a missing version", err, storage.ErrFileVersionNotFound)
	_, err = d.ReadVersion(ctx, "bucket", "dir/other", "")
	wantErr(t, "ReadVersion of a missing object", err, storage.ErrFileNotFound)
	_, err = d.ReadVersion(ctx, "bucket", "dir", "")
	wantErr(t, "ReadVersion of a prefix", err, storage.ErrFileNotFound)
	_, err = d.ReadVersion(ctx, "missing", "dir/obj", "")
	wantErr(t, "ReadVersion in a missing volume", err, storage.ErrVolumeNotFound)
}

func testVersionOrder(t *testing.T, d storage.Drive) {
	ctx := t.Context()
	makeVol(t, d, "bucket")
	// Published out of order; two share a mod time, so the version ID
	// decides: newest first by (ModTime, VersionID).
	publish(t, d, "bucket", "obj", "b", t0.Add(2*time.Second), 10)
	publish(t, d, "bucket", "obj", "a", t0, 10)
	publish(t, d, "bucket", "obj", "d", t0.Add(2*time.Second), 10)
	publish(t, d, "bucket", "obj", "c", t0.Add(time.Second), 10)
	publish(t, d, "bucket", "obj", "", t0.Add(-time.Second), 10) // the null version

	raw, err := d.ReadMetadata(ctx, "bucket", "obj")
	noErr(t, "ReadMetadata", err)
	meta, err := storage.DecodeObjectMeta(raw)
	noErr(t, "DecodeObjectMeta", err)
	var ids []string
	for _, v := range meta.Versions {
		ids = append(ids, v.VersionID)
	}
	if want := []string{"d", "b", "c", "a", storage.NullVersionID}; !slices.Equal(ids, want) {
		t.Fatalf("versions %v, want %v", ids, want)
	}
	latest, err := d.ReadVersion(ctx, "bucket", "obj", "")
	noErr(t, "ReadVersion", err)
	if latest.VersionID != "d" || !latest.IsLatest || latest.NumVersions != 5 {
		t.Fatalf("latest = %s latest=%v n=%d", latest.VersionID, latest.IsLatest, latest.NumVersions)
	}
	null, err := d.ReadVersion(ctx, "bucket", "obj", storage.NullVersionID)
	noErr(t, "ReadVersion null", err)
	if null.VersionID != storage.NullVersionID || null.IsLatest || null.NumVersions != 5 {
		t.Fatalf("null version = %s latest=%v n=%d", null.VersionID, null.IsLatest, null.NumVersions)
	}

	// RenameData reports the versions older than the one it publishes,
	// newest first: what a write with its quorum removes.
	s := stage(t, d, 7, []int64{10}, nil)
	res, err := d.RenameData(ctx, storage.TmpVolume, s.tmpPath, s.version("e", t0.Add(1500*time.Millisecond)), "bucket", "obj")
	noErr(t, "RenameData e", err)
	if want := []string{"c", "a", storage.NullVersionID}; !slices.Equal(res.Older, want) {
		t.Fatalf("RenameData of e reported older %v, want %v", res.Older, want)
	}
	s = stage(t, d, 8, []int64{10}, nil)
	res, err = d.RenameData(ctx, storage.TmpVolume, s.tmpPath, s.version("f", t0.Add(-2*time.Second)), "bucket", "obj")
	noErr(t, "RenameData f", err)
	if len(res.Older) != 0 {
		t.Fatalf("RenameData of the oldest version reported older %v", res.Older)
	}
}

func testRenameDataReplacesVersion(t *testing.T, d storage.Drive) {
	ctx := t.Context()
	makeVol(t, d, "bucket")
	first, s1 := publish(t, d, "bucket", "obj", "", t0, 3000)
	s2 := stage(t, d, 99, []int64{2000}, nil)
	second := s2.version("", t0.Add(time.Second))
	res, err := d.RenameData(ctx, storage.TmpVolume, s2.tmpPath, second, "bucket", "obj")
	noErr(t, "RenameData over the null version", err)
	if res.OldDataDir != first.DataDir {
		t.Fatalf("OldDataDir = %q, want the replaced %q", res.OldDataDir, first.DataDir)
	}
	got, err := d.ReadVersion(ctx, "bucket", "obj", "")
	noErr(t, "ReadVersion", err)
	checkVersion(t, got, second, "bucket", "obj")
	if got.NumVersions != 1 {
		t.Fatalf("%d versions after replacing the only one", got.NumVersions)
	}
	// The replaced data is kept for a rollback until the caller drops it.
	if b := readFile(t, d, "bucket", storage.PartPath("obj", s1.dataDir, 1)); !bytes.Equal(b, s1.files[0]) {
		t.Fatal("old data dir lost before the caller deleted it")
	}
	noErr(t, "Delete old data dir", d.Delete(ctx, "bucket", storage.DataDirPath("obj", res.OldDataDir), true))
	checkNothingAt(t, d, "bucket", storage.PartPath("obj", s1.dataDir, 1))
	names, err := d.ListDir(ctx, "bucket", storage.DataDirPath("obj", s2.dataDir), -1)
	noErr(t, "ListDir", err)
	if want := []string{"part.1"}; !slices.Equal(names, want) {
		t.Fatalf("the new data dir holds %v, want %v", names, want)
	}

	// Replacing with a version without data (here inline) also hands the
	// data dir back.
	res, err = d.RenameData(ctx, "", "", inline("", t0.Add(2*time.Second), []byte("small")), "bucket", "obj")
	noErr(t, "RenameData inline over data", err)
	if res.OldDataDir != s2.dataDir {
		t.Fatalf("OldDataDir = %q, want %q", res.OldDataDir, s2.dataDir)
	}
}

func testRenameDataErrors(t *testing.T, d storage.Drive) {
	ctx := t.Context()
	makeVol(t, d, "bucket")
	s := stage(t, d, 1, []int64{100}, nil)
	fi := s.version("v1", t0)

	_, err := d.RenameData(ctx, storage.TmpVolume, "missing/dir", fi, "bucket", "obj")
	wantErr(t, "missing source", err, storage.ErrFileNotFound)
	_, err = d.RenameData(ctx, storage.TmpVolume, s.tmpPath+"/part.1", fi, "bucket", "obj")
	wantErr(t, "source is a file", err, storage.ErrFileNotFound)
	_, err = d.RenameData(ctx, storage.TmpVolume, s.tmpPath, fi, "missing", "obj")
	wantErr(t, "missing volume", err, storage.ErrVolumeNotFound)
	// Data is published from the staging volumes, never moved out of a
	// bucket (where the "data dir" could be another object).
	publish(t, d, "bucket", "victim", "", t0, 10)
	_, err = d.RenameData(ctx, "bucket", "victim", fi, "bucket", "obj")
	wantErr(t, "source in a bucket", err, storage.ErrInvalidVolume)
	if _, err := d.ReadVersion(ctx, "bucket", "victim", ""); err != nil {
		t.Fatalf("the refused source was touched: %v", err)
	}

	noData := fi
	noData.DataDir = ""
	noData.Parts = nil
	_, err = d.RenameData(ctx, storage.TmpVolume, s.tmpPath, noData, "bucket", "obj")
	wantErr(t, "a source but no data dir", err, storage.ErrInvalidArgument)

	for _, bad := range []string{"../../etc", "x", uuid.NewString() + "/..", "ABCDEF01-0000-0000-0000-000000000000"} {
		b := fi
		b.DataDir = bad
		_, err = d.RenameData(ctx, storage.TmpVolume, s.tmpPath, b, "bucket", "obj")
		wantErr(t, "data dir "+bad, err, storage.ErrInvalidArgument)
	}
	for _, bad := range []storage.FileVersion{
		{VersionID: "a/b", DataDir: s.dataDir},
		{VersionID: "\x00", DataDir: s.dataDir},
		{VersionID: "x", DataDir: s.dataDir, Deleted: true},
		{VersionID: "x", DataDir: s.dataDir, Size: -1},
		{VersionID: "x", DataDir: s.dataDir, InlineData: []byte("both")},
		{VersionID: "x", DataDir: s.dataDir, Parts: []storage.PartInfo{{Number: 2}, {Number: 1}}},
		{VersionID: "x", DataDir: s.dataDir, Parts: []storage.PartInfo{{Number: 0}}},
	} {
		_, err = d.RenameData(ctx, storage.TmpVolume, s.tmpPath, storage.FileInfo{FileVersion: bad}, "bucket", "obj")
		wantErr(t, "bad version", err, storage.ErrInvalidArgument)
	}
	// None of that consumed the staged data.
	_, err = d.RenameData(ctx, storage.TmpVolume, s.tmpPath, fi, "bucket", "obj")
	noErr(t, "RenameData after the refusals", err)

	// Publishing the same data dir twice is refused.
	s2 := stage(t, d, 2, []int64{100}, nil)
	again := s2.version("v1", t0.Add(time.Second))
	again.DataDir = s.dataDir
	_, err = d.RenameData(ctx, storage.TmpVolume, s2.tmpPath, again, "bucket", "obj")
	wantErr(t, "same data dir again", err, storage.ErrInvalidArgument)
}

func testKeysBesideKeys(t *testing.T, d storage.Drive) {
	ctx := t.Context()
	makeVol(t, d, "bucket")
	// A key, the keys under it, and the keys that end in "/" are objects
	// of their own, however they are written.
	_, ab := publish(t, d, "bucket", "a/b", "", t0, 3000)
	_, abc := publish(t, d, "bucket", "a/b/c", "", t0, 2000)
	putObjects(t, d, "bucket", "a/b/c/d", "a", "a/", "a/b/", "a//", "a/b//c")
	want := []string{"a", "a/", "a//", "a/b", "a/b/", "a/b//c", "a/b/c", "a/b/c/d"}
	if got := walk(t, d, storage.WalkDirOptions{Volume: "bucket", Recursive: true}); !slices.Equal(got, want) {
		t.Fatalf("recursive walk:\n got %q\nwant %q", got, want)
	}
	// Removing one takes nothing of the others: not the keys under it, not
	// the one above it.
	noErr(t, "DeleteVersion a/b", d.DeleteVersion(ctx, "bucket", "a/b", storage.NullVersionID))
	checkNothingAt(t, d, "bucket", storage.PartPath("a/b", ab.dataDir, 1))
	noErr(t, "DeleteVersion a", d.DeleteVersion(ctx, "bucket", "a", storage.NullVersionID))
	want = []string{"a/", "a//", "a/b/", "a/b//c", "a/b/c", "a/b/c/d"}
	if got := walk(t, d, storage.WalkDirOptions{Volume: "bucket", Recursive: true}); !slices.Equal(got, want) {
		t.Fatalf("recursive walk after deleting a and a/b:\n got %q\nwant %q", got, want)
	}
	if b := readFile(t, d, "bucket", storage.PartPath("a/b/c", abc.dataDir, 1)); !bytes.Equal(b, abc.files[0]) {
		t.Fatal("a/b/c's data changed when a/b went")
	}
	// A key comes back where keys under it stayed.
	putObjects(t, d, "bucket", "a/b")
	fi, err := d.ReadVersion(ctx, "bucket", "a/b", "")
	noErr(t, "ReadVersion a/b", err)
	if string(fi.InlineData) != "a/b" {
		t.Fatalf("a/b reads %q", fi.InlineData)
	}
}

func testInlineAndDeleteMarkers(t *testing.T, d storage.Drive) {
	ctx := t.Context()
	makeVol(t, d, "bucket")
	small := inline("v1", t0, []byte("hello, inline world"))
	small.UserMetadata = map[string]string{"k": "v"}
	noErr(t, "WriteMetadata creates an inline object", d.WriteMetadata(ctx, "bucket", "docs/hello.txt", small))
	got, err := d.ReadVersion(ctx, "bucket", "docs/hello.txt", "")
	noErr(t, "ReadVersion", err)
	checkVersion(t, got, small, "bucket", "docs/hello.txt")

	marker := storage.FileInfo{FileVersion: storage.FileVersion{VersionID: "v2", Deleted: true, ModTime: t0.Add(time.Second)}}
	noErr(t, "WriteMetadata adds a delete marker", d.WriteMetadata(ctx, "bucket", "docs/hello.txt", marker))
	got, err = d.ReadVersion(ctx, "bucket", "docs/hello.txt", "")
	noErr(t, "ReadVersion latest", err)
	if !got.Deleted || got.VersionID != "v2" || got.NumVersions != 2 {
		t.Fatalf("latest = %+v, want the delete marker", got)
	}
	got, err = d.ReadVersion(ctx, "bucket", "docs/hello.txt", "v1")
	noErr(t, "ReadVersion v1", err)
	checkVersion(t, got, small, "bucket", "docs/hello.txt")

	// A version with data cannot appear through WriteMetadata.
	withData := inline("v3", t0, nil)
	withData.DataDir = uuid.NewString()
	err = d.WriteMetadata(ctx, "bucket", "docs/hello.txt", withData)
	wantErr(t, "WriteMetadata of a new version with a data dir", err, storage.ErrFileVersionNotFound)
	err = d.WriteMetadata(ctx, "bucket", "docs/new", withData)
	wantErr(t, "WriteMetadata of a new object with a data dir", err, storage.ErrFileVersionNotFound)
}

func testWriteMetadataInPlace(t *testing.T, d storage.Drive) {
	ctx := t.Context()
	makeVol(t, d, "bucket")
	fi, s := publish(t, d, "bucket", "obj", "v1", t0, 5000)
	publish(t, d, "bucket", "obj", "v2", t0.Add(time.Second), 10)

	updated := fi
	updated.SysMetadata = map[string]string{"heal": "done"}
	updated.UserMetadata = maps.Clone(fi.UserMetadata)
	updated.UserMetadata["new"] = "1"
	noErr(t, "WriteMetadata in place", d.WriteMetadata(ctx, "bucket", "obj", updated))
	got, err := d.ReadVersion(ctx, "bucket", "obj", "v1")
	noErr(t, "ReadVersion", err)
	checkVersion(t, got, updated, "bucket", "obj")
	if got.SysMetadata["heal"] != "done" || got.IsLatest || got.NumVersions != 2 {
		t.Fatalf("updated version %+v", got)
	}
	if b := readFile(t, d, "bucket", "obj/"+s.dataDir+"/part.1"); !bytes.Equal(b, s.files[0]) {
		t.Fatal("data changed by a metadata update")
	}

	moved := fi
	moved.DataDir = uuid.NewString()
	wantErr(t, "WriteMetadata changing the data dir", d.WriteMetadata(ctx, "bucket", "obj", moved), storage.ErrInvalidArgument)
	dropped := fi
	dropped.DataDir = ""
	dropped.Parts = nil
	wantErr(t, "WriteMetadata dropping the data dir", d.WriteMetadata(ctx, "bucket", "obj", dropped), storage.ErrInvalidArgument)
	wantErr(t, "WriteMetadata in a missing volume", d.WriteMetadata(ctx, "missing", "obj", inline("", t0, nil)), storage.ErrVolumeNotFound)
}

func testReadMetadata(t *testing.T, d storage.Drive) {
	ctx := t.Context()
	makeVol(t, d, "bucket")
	fi, _ := publish(t, d, "bucket", "obj", "v1", t0, 10)
	raw, err := d.ReadMetadata(ctx, "bucket", "obj")
	noErr(t, "ReadMetadata", err)
	meta, err := storage.DecodeObjectMeta(raw)
	noErr(t, "DecodeObjectMeta", err)
	if len(meta.Versions) != 1 {
		t.Fatalf("%d versions", len(meta.Versions))
	}
	checkVersion(t, meta.FileInfo("bucket", "obj", 0), fi, "bucket", "obj")
	again, err := d.ReadMetadata(ctx, "bucket", "obj")
	noErr(t, "ReadMetadata again", err)
	if !bytes.Equal(raw, again) {
		t.Fatal("the same record reads differently")
	}
	_, err = d.ReadMetadata(ctx, "bucket", "missing")
	wantErr(t, "ReadMetadata of a missing object", err, storage.ErrFileNotFound)
	_, err = d.ReadMetadata(ctx, "missing", "obj")
	wantErr(t, "ReadMetadata in a missing volume", err, storage.ErrVolumeNotFound)
}

func testDeleteVersion(t *testing.T, d storage.Drive) {
	ctx := t.Context()
	makeVol(t, d, "bucket")
	_, s1 := publish(t, d, "bucket", "a/b/obj", "v1", t0, 100)
	_, s2 := publish(t, d, "bucket", "a/b/obj", "v2", t0.Add(time.Second), 100)
	noErr(t, "WriteMetadata", d.WriteMetadata(ctx, "bucket", "a/b/obj", inline("v3", t0.Add(2*time.Second), []byte("x"))))

	wantErr(t, "DeleteVersion without an ID", d.DeleteVersion(ctx, "bucket", "a/b/obj", ""), storage.ErrInvalidArgument)
	wantErr(t, "DeleteVersion of a missing version", d.DeleteVersion(ctx, "bucket", "a/b/obj", "v9"), storage.ErrFileVersionNotFound)
	wantErr(t, "DeleteVersion of a missing object", d.DeleteVersion(ctx, "bucket", "a/b/nope", "v1"), storage.ErrFileNotFound)

	noErr(t, "DeleteVersion v2", d.DeleteVersion(ctx, "bucket", "a/b/obj", "v2"))
	_, err := d.ReadVersion(ctx, "bucket", "a/b/obj", "v2")
	wantErr(t, "ReadVersion of the deleted version", err, storage.ErrFileVersionNotFound)
	_, err = d.ReadFileStream(ctx, "bucket", "a/b/obj/"+s2.dataDir+"/part.1", 0, -1)
	wantErr(t, "data of the deleted version", err, storage.ErrFileNotFound)
	if b := readFile(t, d, "bucket", "a/b/obj/"+s1.dataDir+"/part.1"); !bytes.Equal(b, s1.files[0]) {
		t.Fatal("data of another version lost")
	}
	latest, err := d.ReadVersion(ctx, "bucket", "a/b/obj", "")
	noErr(t, "ReadVersion", err)
	if latest.VersionID != "v3" || latest.NumVersions != 2 {
		t.Fatalf("latest %s of %d", latest.VersionID, latest.NumVersions)
	}

	noErr(t, "DeleteVersion v3", d.DeleteVersion(ctx, "bucket", "a/b/obj", "v3"))
	noErr(t, "DeleteVersion v1", d.DeleteVersion(ctx, "bucket", "a/b/obj", "v1"))
	_, err = d.ReadVersion(ctx, "bucket", "a/b/obj", "")
	wantErr(t, "ReadVersion after the last version went", err, storage.ErrFileNotFound)
	// The object and the directories it alone needed are gone.
	if got := walk(t, d, storage.WalkDirOptions{Volume: "bucket"}); len(got) != 0 {
		t.Fatalf("volume still holds %q", got)
	}
	noErr(t, "DeleteVol", d.DeleteVol(ctx, "bucket"))
}

func testDelete(t *testing.T, d storage.Drive) {
	ctx := t.Context()
	const vol = storage.MultipartVolume
	put := func(path string) {
		t.Helper()
		noErr(t, "CreateFile "+path, d.CreateFile(ctx, vol, path, 1, bytes.NewReader([]byte("x"))))
	}
	put("up/1/part.1")
	put("up/1/part.2")
	put("up/2/part.1")

	noErr(t, "Delete a file", d.Delete(ctx, vol, "up/1/part.2", false))
	wantErr(t, "Delete it again", d.Delete(ctx, vol, "up/1/part.2", false), storage.ErrFileNotFound)
	wantErr(t, "Delete of a non-empty directory", d.Delete(ctx, vol, "up/1", false), storage.ErrDirectoryNotEmpty)
	noErr(t, "Delete recursive", d.Delete(ctx, vol, "up/1", true))
	names, err := d.ListDir(ctx, vol, "up", -1)
	noErr(t, "ListDir", err)
	if !slices.Equal(names, []string{"2/"}) {
		t.Fatalf("after deletes: %v", names)
	}
	noErr(t, "Delete the last file", d.Delete(ctx, vol, "up/2/part.1", false))
	names, err = d.ListDir(ctx, vol, "", -1)
	noErr(t, "ListDir", err)
	if len(names) != 0 {
		t.Fatalf("empty parents left: %v", names)
	}
	wantErr(t, "Delete in a missing volume", d.Delete(ctx, "missing", storage.DataDirPath("x", fileDataDir), true), storage.ErrVolumeNotFound)

	// Staging clean-up in TmpVolume.
	s := stage(t, d, 1, []int64{10, 10}, nil)
	noErr(t, "Delete staged upload", d.Delete(ctx, storage.TmpVolume, s.tmpPath, true))
	_, err = d.ListDir(ctx, storage.TmpVolume, s.tmpPath, -1)
	wantErr(t, "ListDir of the deleted upload", err, storage.ErrFileNotFound)

	// In a bucket, Delete takes a data dir of a key, and only that: never
	// the key's record, another key, or a part file alone.
	makeVol(t, d, "bucket")
	_, st := publish(t, d, "bucket", "obj", "", t0, 10)
	publish(t, d, "bucket", "obj/"+st.dataDir, "", t0, 10)
	for _, path := range []string{"obj", "obj/meta", "obj/.meta", storage.PartPath("obj", st.dataDir, 1)} {
		wantErr(t, "Delete "+path, d.Delete(ctx, "bucket", path, true), storage.ErrInvalidPath)
	}
	_, err = d.ReadFileStream(ctx, "bucket", "obj/.meta", 0, -1)
	wantErr(t, "ReadFileStream of a record", err, storage.ErrInvalidPath)
	// The data dir of obj, not the object obj/<that data dir>.
	noErr(t, "Delete a data dir", d.Delete(ctx, "bucket", storage.DataDirPath("obj", st.dataDir), true))
	checkNothingAt(t, d, "bucket", storage.PartPath("obj", st.dataDir, 1))
	if _, err := d.ReadVersion(ctx, "bucket", "obj/"+st.dataDir, ""); err != nil {
		t.Fatalf("the object named like the deleted data dir: %v", err)
	}
}

func testListDir(t *testing.T, d storage.Drive) {
	ctx := t.Context()
	const vol = storage.MultipartVolume
	for _, p := range []string{"d/a-b", "d/a/x", "d/a0", "d/b"} {
		noErr(t, "CreateFile", d.CreateFile(ctx, vol, p, 0, bytes.NewReader(nil)))
	}
	names, err := d.ListDir(ctx, vol, "d", -1)
	noErr(t, "ListDir", err)
	if want := []string{"a-b", "a/", "a0", "b"}; !slices.Equal(names, want) {
		t.Fatalf("ListDir = %v, want %v", names, want)
	}
	names, err = d.ListDir(ctx, vol, "d/", 2)
	noErr(t, "ListDir with count", err)
	if want := []string{"a-b", "a/"}; !slices.Equal(names, want) {
		t.Fatalf("ListDir count 2 = %v, want %v", names, want)
	}
	names, err = d.ListDir(ctx, vol, "", 0)
	noErr(t, "ListDir of the volume", err)
	if !slices.Equal(names, []string{"d/"}) {
		t.Fatalf("ListDir of the volume = %v", names)
	}
	_, err = d.ListDir(ctx, vol, "nope", -1)
	wantErr(t, "ListDir of a missing directory", err, storage.ErrFileNotFound)
	_, err = d.ListDir(ctx, vol, "d/b", -1)
	wantErr(t, "ListDir of a file", err, storage.ErrFileNotFound)
	_, err = d.ListDir(ctx, "missing", storage.DataDirPath("obj", fileDataDir), -1)
	wantErr(t, "ListDir of a missing volume", err, storage.ErrVolumeNotFound)
}
