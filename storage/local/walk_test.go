package local

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/gridstore/gridstore/storage"
)

// writeObjects makes objects (and empty directories, names ending in "/")
// in a volume by copying one record, without the drive's fsyncs.
func writeObjects(t testing.TB, d *Drive, volume string, names ...string) {
	t.Helper()
	if err := d.WriteMetadata(t.Context(), volume, "tmp-record", inlineVersion("", t0, "x")); err != nil {
		t.Fatal(err)
	}
	vol := volumeDir(d.root, volume)
	raw, err := os.ReadFile(RecordFile(d.root, volume, "tmp-record"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(vol, "tmp-record")); err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if dir, ok := strings.CutSuffix(n, "/"); ok {
			if err := os.MkdirAll(ObjectDir(d.root, volume, dir), 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(ObjectDir(d.root, volume, n), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(RecordFile(d.root, volume, n), raw, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// expectWalk is WalkDir's contract computed from the names alone.
func expectWalk(names []string, opts storage.WalkDirOptions) []string {
	base := opts.Prefix[:strings.LastIndexByte(opts.Prefix, '/')+1]
	seen := map[string]bool{}
	var out []string
	for _, n := range names {
		if !strings.HasPrefix(n, opts.Prefix) {
			continue
		}
		e := n
		if i := strings.IndexByte(n[len(base):], '/'); i >= 0 && !opts.Recursive {
			e = n[:len(base)+i+1]
		} else if strings.HasSuffix(n, "/") {
			continue // an empty directory holds no object
		}
		if e > opts.StartAfter && !seen[e] {
			seen[e] = true
			out = append(out, e)
		}
	}
	slices.Sort(out)
	return out
}

// TestWalkDirOrderRandom checks the walk's order against the contract on
// names made of bytes either side of '/' ("-", ".", "0", "a"), where the
// order of an entry depends on whether it is an object or a prefix, with
// every marker and prefix that matters.
func TestWalkDirOrderRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := "-.0a"
	randName := func() string {
		var b strings.Builder
		for b.Len() == 0 || strings.Trim(b.String(), ".") == "" { // not "." or ".."
			b.Reset()
			for range 1 + rng.IntN(3) {
				b.WriteByte(alphabet[rng.IntN(len(alphabet))])
			}
		}
		return b.String()
	}
	for round := range 8 {
		d := newDrive(t, t.TempDir())
		vol := fmt.Sprintf("bucket%d", round)
		if err := d.MakeVol(t.Context(), vol); err != nil {
			t.Fatal(err)
		}
		// Paths of 1-3 components; none inside an object.
		var names []string
		taken := map[string]bool{} // objects and directories so far
		for len(names) < 60 {
			var parts []string
			for range 1 + rng.IntN(3) {
				parts = append(parts, randName())
			}
			n := strings.Join(parts, "/")
			empty := rng.IntN(10) == 0
			ok := !taken[n]
			for i := range parts[:len(parts)-1] {
				if dir := strings.Join(parts[:i+1], "/"); taken[dir] && !taken[dir+"/"] {
					ok = false // an object there
				}
			}
			if !ok {
				continue
			}
			for i := range parts[:len(parts)-1] {
				dir := strings.Join(parts[:i+1], "/")
				taken[dir], taken[dir+"/"] = true, true
			}
			taken[n] = true
			if empty {
				taken[n+"/"] = true
				n += "/"
			}
			names = append(names, n)
		}
		writeObjects(t, d, vol, names...)

		markers := []string{""}
		prefixes := []string{""}
		for _, n := range names {
			markers = append(markers, n, n+"/", strings.TrimSuffix(n, "/")+"-", n[:len(n)/2])
			if i := strings.LastIndexByte(strings.TrimSuffix(n, "/"), '/'); i >= 0 {
				prefixes = append(prefixes, n[:i+1], n[:i+2])
			}
			prefixes = append(prefixes, n[:1])
		}
		sample := func(s []string, n int) []string {
			s = slices.Compact(slices.Sorted(slices.Values(s)))
			rng.Shuffle(len(s), func(i, j int) { s[i], s[j] = s[j], s[i] })
			return append(s[:min(n, len(s))], "")
		}
		markers, prefixes = sample(markers, 40), sample(prefixes, 15)
		for _, recursive := range []bool{false, true} {
			for _, prefix := range prefixes {
				for _, marker := range markers {
					opts := storage.WalkDirOptions{Volume: vol, Prefix: prefix, StartAfter: marker, Recursive: recursive}
					var got []string
					err := d.WalkDir(t.Context(), opts, func(e storage.MetaEntry) error {
						if e.IsDir() != (e.Metadata == nil) {
							t.Errorf("%+v: entry %q with %d bytes of record", opts, e.Name, len(e.Metadata))
						}
						got = append(got, e.Name)
						return nil
					})
					if err != nil {
						t.Fatalf("%+v: %v", opts, err)
					}
					if want := expectWalk(names, opts); !slices.Equal(got, want) {
						t.Fatalf("%+v over %q:\n got %q\nwant %q", opts, names, got, want)
					}
				}
			}
		}
	}
}

// TestWalkDirIsLazy checks that a walk stopped after k entries of a large
// directory looked for the records of those k entries only.
func TestWalkDirIsLazy(t *testing.T) {
	d := newDrive(t, t.TempDir())
	if err := d.MakeVol(t.Context(), "bucket"); err != nil {
		t.Fatal(err)
	}
	var names []string
	for i := range 1000 {
		names = append(names, fmt.Sprintf("dir/obj-%04d", i))
	}
	writeObjects(t, d, "bucket", names...)
	stop := errors.New("stop")
	for _, c := range []struct {
		marker         string
		want           []string
		wantClassified int
	}{
		{"", []string{"dir/obj-0000", "dir/obj-0001", "dir/obj-0002"}, 3},
		// The marker's own entry is looked at (an object named like the
		// marker is skipped, a prefix would not be), nothing before it.
		{"dir/obj-0499", []string{"dir/obj-0500", "dir/obj-0501", "dir/obj-0502"}, 4},
	} {
		var got []string
		w := &walker{ctx: t.Context(), volDir: volumeDir(d.root, "bucket"),
			opts: storage.WalkDirOptions{Volume: "bucket", StartAfter: c.marker, Recursive: true},
			fn: func(e storage.MetaEntry) error {
				if got = append(got, e.Name); len(got) == 3 {
					return stop
				}
				return nil
			}}
		if err := w.dir("", "", ""); err != stop {
			t.Fatalf("walk after %q: %v", c.marker, err)
		}
		if !slices.Equal(got, c.want) || w.classified != c.wantClassified+1 { // +1: "dir"
			t.Fatalf("walk after %q: %q after classifying %d entries, want %q after %d", c.marker, got, w.classified, c.want, c.wantClassified+1)
		}
	}
}

// TestWalkDirOddRecords checks entries whose record is not a regular
// file: they are prefixes, as they were when the walk lstat'ed them, and a
// FIFO does not block the walk.
func TestWalkDirOddRecords(t *testing.T) {
	d := newDrive(t, t.TempDir())
	if err := d.MakeVol(t.Context(), "bucket"); err != nil {
		t.Fatal(err)
	}
	writeObjects(t, d, "bucket", "a", "dir-meta/", "fifo/", "link/", "z")
	vol := volumeDir(d.root, "bucket")
	if err := os.Mkdir(RecordFile(d.root, "bucket", "dir-meta"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(RecordFile(d.root, "bucket", "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(RecordFile(d.root, "bucket", "a"), RecordFile(d.root, "bucket", "link")); err != nil {
		t.Fatal(err)
	}
	// Files and symbolic links beside objects are not listed.
	if err := os.WriteFile(filepath.Join(vol, "file"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(vol, "a"), filepath.Join(vol, "symlinked")); err != nil {
		t.Fatal(err)
	}
	var got []string
	err := d.WalkDir(t.Context(), storage.WalkDirOptions{Volume: "bucket"}, func(e storage.MetaEntry) error {
		got = append(got, e.Name)
		return nil
	})
	if want := []string{"a", "dir-meta/", "fifo/", "link/", "z"}; err != nil || !slices.Equal(got, want) {
		t.Fatalf("walk = %q, %v; want %q", got, err, want)
	}
}
