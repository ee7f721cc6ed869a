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

// writeObjects makes inline objects of keys in a volume by copying one
// record, without the drive's fsyncs.
func writeObjects(t testing.TB, d *Drive, volume string, keys ...string) {
	t.Helper()
	if err := d.WriteMetadata(t.Context(), volume, "tmp-record", inlineVersion("", t0, "x")); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(RecordFile(d.root, volume, "tmp-record"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(ObjectDir(d.root, volume, "tmp-record")); err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if err := os.MkdirAll(ObjectDir(d.root, volume, k), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(RecordFile(d.root, volume, k), raw, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// expectWalk is WalkDir's contract computed from the keys alone.
func expectWalk(keys []string, opts storage.WalkDirOptions) []string {
	base := opts.Prefix[:strings.LastIndexByte(opts.Prefix, '/')+1]
	seen := map[string]bool{}
	var out []string
	for _, k := range keys {
		if !strings.HasPrefix(k, opts.Prefix) {
			continue
		}
		e := k
		if i := strings.IndexByte(k[len(base):], '/'); i >= 0 && !opts.Recursive {
			e = k[:len(base)+i+1] // a common prefix
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
// keys made of bytes either side of '/' ("-", ".", "0", "a") and of the
// escaped ones ("%", "\x01"), with empty segments, keys under keys, and
// segments long enough to be split into pieces that share their start,
// with every marker and prefix that matters.
func TestWalkDirOrderRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := "-.0a%\x01"
	long := strings.Repeat("L", 250)
	randSegment := func() string {
		var b strings.Builder
		if rng.IntN(6) == 0 {
			b.WriteString(long) // split after 253 bytes: the rest decides
		}
		for range rng.IntN(4) {
			b.WriteByte(alphabet[rng.IntN(len(alphabet))])
		}
		return b.String()
	}
	for round := range 8 {
		d := newDrive(t, t.TempDir())
		vol := fmt.Sprintf("bucket%d", round)
		if err := d.MakeVol(t.Context(), vol); err != nil {
			t.Fatal(err)
		}
		var keys []string
		taken := map[string]bool{}
		for len(keys) < 60 {
			var segs []string
			for range 1 + rng.IntN(3) {
				segs = append(segs, randSegment())
			}
			if k := strings.Join(segs, "/"); k != "" && !taken[k] {
				taken[k] = true
				keys = append(keys, k)
			}
		}
		writeObjects(t, d, vol, keys...)

		markers := []string{""}
		prefixes := []string{""}
		for _, k := range keys {
			markers = append(markers, k, k+"/", k+"-", k[:len(k)/2])
			if i := strings.LastIndexByte(k, '/'); i >= 0 {
				prefixes = append(prefixes, k[:i+1], k[:min(i+2, len(k))])
			}
			prefixes = append(prefixes, k[:1], k[:min(len(k), 255)])
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
					if want := expectWalk(keys, opts); !slices.Equal(got, want) {
						t.Fatalf("%+v over %q:\n got %q\nwant %q", opts, keys, got, want)
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
		// Objects up to the marker are known to be so by their names: not
		// one of them is looked at.
		{"dir/obj-0499", []string{"dir/obj-0500", "dir/obj-0501", "dir/obj-0502"}, 3},
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
		if !slices.Equal(got, c.want) || w.classified != c.wantClassified {
			t.Fatalf("walk after %q: %q after classifying %d entries, want %q after %d", c.marker, got, w.classified, c.want, c.wantClassified)
		}
	}
}

// TestWalkDirOddRecords checks object directories whose record is not a
// regular file: they hold no object, and a FIFO does not block the walk.
func TestWalkDirOddRecords(t *testing.T) {
	d := newDrive(t, t.TempDir())
	if err := d.MakeVol(t.Context(), "bucket"); err != nil {
		t.Fatal(err)
	}
	writeObjects(t, d, "bucket", "a", "z")
	for _, k := range []string{"dir-meta", "fifo", "link"} {
		if err := os.MkdirAll(ObjectDir(d.root, "bucket", k), 0o755); err != nil {
			t.Fatal(err)
		}
	}
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
	// An object directory without a regular record holds no object.
	if want := []string{"a", "z"}; err != nil || !slices.Equal(got, want) {
		t.Fatalf("walk = %q, %v; want %q", got, err, want)
	}
}
