package drivetest

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/gridstore/gridstore/storage"
)

// walk collects the names WalkDir reports, checking that every object
// entry carries its own decodable record.
func walk(t *testing.T, d storage.Drive, opts storage.WalkDirOptions) []string {
	t.Helper()
	var names []string
	err := d.WalkDir(t.Context(), opts, func(e storage.MetaEntry) error {
		names = append(names, e.Name)
		if e.IsDir() {
			if e.Metadata != nil {
				t.Errorf("directory %s with metadata", e.Name)
			}
			return nil
		}
		meta, err := storage.DecodeObjectMeta(e.Metadata)
		if err != nil {
			t.Errorf("entry %s: %v", e.Name, err)
			return nil
		}
		// The suite's inline objects hold their own name.
		if v := meta.Versions[0]; v.InlineData != nil && string(v.InlineData) != e.Name {
			t.Errorf("entry %s carries the record of %q", e.Name, v.InlineData)
		}
		return nil
	})
	noErr(t, "WalkDir", err)
	return names
}

// putObjects creates inline objects whose data is their name.
func putObjects(t *testing.T, d storage.Drive, volume string, names ...string) {
	t.Helper()
	for _, n := range names {
		noErr(t, "WriteMetadata "+n, d.WriteMetadata(t.Context(), volume, n, inline("", t0, []byte(n))))
	}
}

func testWalkDirOrder(t *testing.T, d storage.Drive) {
	makeVol(t, d, "bucket")
	// Names that only come out in order if a prefix sorts as its name plus
	// "/": '-' < '/' < '0'.
	objects := []string{"a-b", "a/x", "a/y/z", "a0", "b/c/d", "b/c-e", "b-", "c.txt"}
	putObjects(t, d, "bucket", objects...)
	// Staging and data dirs must not show: one object with a data dir.
	publish(t, d, "bucket", "b/c/data", "", t0, 100)
	want := slices.Sorted(slices.Values(append(objects, "b/c/data")))

	got := walk(t, d, storage.WalkDirOptions{Volume: "bucket", Recursive: true})
	if !slices.Equal(got, want) {
		t.Fatalf("recursive walk:\n got %q\nwant %q", got, want)
	}
	got = walk(t, d, storage.WalkDirOptions{Volume: "bucket"})
	if want := []string{"a-b", "a/", "a0", "b-", "b/", "c.txt"}; !slices.Equal(got, want) {
		t.Fatalf("walk of the top level:\n got %q\nwant %q", got, want)
	}
	got = walk(t, d, storage.WalkDirOptions{Volume: "bucket", Prefix: "b/c/"})
	if want := []string{"b/c/d", "b/c/data"}; !slices.Equal(got, want) {
		t.Fatalf("walk of b/c/: %q, want %q", got, want)
	}
	// The inside of an object is not a prefix.
	for _, recursive := range []bool{false, true} {
		if got := walk(t, d, storage.WalkDirOptions{Volume: "bucket", Prefix: "b/c/data/", Recursive: recursive}); len(got) != 0 {
			t.Fatalf("walk inside an object (recursive %v): %q", recursive, got)
		}
	}
	var empty []string
	if got := walk(t, d, storage.WalkDirOptions{Volume: "bucket", Prefix: "nothing/here/", Recursive: true}); !slices.Equal(got, empty) {
		t.Fatalf("walk of a missing prefix: %q", got)
	}
	// An empty volume, and the tmp volume with an object-less staging dir.
	makeVol(t, d, "empty")
	if got := walk(t, d, storage.WalkDirOptions{Volume: "empty", Recursive: true}); len(got) != 0 {
		t.Fatalf("walk of an empty volume: %q", got)
	}
	stage(t, d, 1, []int64{10}, nil)
	if got := walk(t, d, storage.WalkDirOptions{Volume: storage.TmpVolume, Recursive: true}); len(got) != 0 {
		t.Fatalf("walk of staged data reports objects: %q", got)
	}
}

func testWalkDirPrefixAndMarker(t *testing.T, d storage.Drive) {
	makeVol(t, d, "bucket")
	objects := []string{"photos/2023/a.jpg", "photos/2024-01/b.jpg", "photos/2024-02.jpg", "photos/2024/c.jpg", "photos/2024/d/e.jpg", "photos/2025.jpg", "video.mp4"}
	putObjects(t, d, "bucket", objects...)

	for _, c := range []struct {
		opts storage.WalkDirOptions
		want []string
	}{
		{storage.WalkDirOptions{Prefix: "photos/2024", Recursive: true},
			[]string{"photos/2024-01/b.jpg", "photos/2024-02.jpg", "photos/2024/c.jpg", "photos/2024/d/e.jpg"}},
		{storage.WalkDirOptions{Prefix: "photos/2024"},
			[]string{"photos/2024-01/", "photos/2024-02.jpg", "photos/2024/"}},
		{storage.WalkDirOptions{Prefix: "photos/", StartAfter: "photos/2024-02.jpg", Recursive: true},
			[]string{"photos/2024/c.jpg", "photos/2024/d/e.jpg", "photos/2025.jpg"}},
		{storage.WalkDirOptions{StartAfter: "photos/2024/c.jpg", Recursive: true},
			[]string{"photos/2024/d/e.jpg", "photos/2025.jpg", "video.mp4"}},
		{storage.WalkDirOptions{StartAfter: "photos/2024/d/e.jpg", Recursive: true},
			[]string{"photos/2025.jpg", "video.mp4"}},
		// Non-recursive: a prefix is reported if its own name is past the marker.
		{storage.WalkDirOptions{Prefix: "photos/", StartAfter: "photos/2024-01/"},
			[]string{"photos/2024-02.jpg", "photos/2024/", "photos/2025.jpg"}},
		{storage.WalkDirOptions{StartAfter: "video.mp4", Recursive: true}, nil},
		{storage.WalkDirOptions{StartAfter: "a", Recursive: true}, objects},
		{storage.WalkDirOptions{Prefix: "photos/2024/c.jpg", Recursive: true}, []string{"photos/2024/c.jpg"}},
		{storage.WalkDirOptions{Prefix: "x", Recursive: true}, nil},
	} {
		c.opts.Volume = "bucket"
		if got := walk(t, d, c.opts); !slices.Equal(got, c.want) {
			t.Errorf("walk %+v:\n got %q\nwant %q", c.opts, got, c.want)
		}
	}
}

func testWalkDirStops(t *testing.T, d storage.Drive) {
	makeVol(t, d, "bucket")
	putObjects(t, d, "bucket", "a", "b/c", "d")

	stop := errors.New("enough")
	var seen []string
	err := d.WalkDir(t.Context(), storage.WalkDirOptions{Volume: "bucket", Recursive: true}, func(e storage.MetaEntry) error {
		seen = append(seen, e.Name)
		if e.Name == "b/c" {
			return stop
		}
		return nil
	})
	if err != stop || !slices.Equal(seen, []string{"a", "b/c"}) {
		t.Fatalf("WalkDir stopped with %v after %q, want the callback's error after a, b/c", err, seen)
	}

	ctx, cancel := context.WithCancel(t.Context())
	seen = nil
	err = d.WalkDir(ctx, storage.WalkDirOptions{Volume: "bucket", Recursive: true}, func(e storage.MetaEntry) error {
		seen = append(seen, e.Name)
		cancel()
		return nil
	})
	wantErr(t, "WalkDir canceled in the callback", err, context.Canceled)
	if len(seen) != 1 {
		t.Fatalf("WalkDir went on for %q after its context was canceled", seen)
	}

	err = d.WalkDir(t.Context(), storage.WalkDirOptions{Volume: "missing"}, func(storage.MetaEntry) error { return nil })
	wantErr(t, "WalkDir of a missing volume", err, storage.ErrVolumeNotFound)
}
