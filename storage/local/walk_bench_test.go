package local

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/gridstore/gridstore/storage"
)

// flatVolume makes a drive whose volume "bucket" holds n objects in one
// directory (dir/obj-00000 ...). One record is written through the drive and
// copied into the other objects' directories without fsync, so that setting
// up 10,000 objects takes a second, not the ~10 s of as many durable writes.
func flatVolume(b *testing.B, n int) *Drive {
	b.Helper()
	d := benchDrive(b, Options{})
	ctx := b.Context()
	if err := d.MakeVol(ctx, "bucket"); err != nil {
		b.Fatal(err)
	}
	if err := d.WriteMetadata(ctx, "bucket", "dir/obj-00000", inlineVersion("", t0, "0123456789")); err != nil {
		b.Fatal(err)
	}
	dir := filepath.Join(volumeDir(d.root, "bucket"), "dir")
	raw, err := os.ReadFile(RecordFile(d.root, "bucket", "dir/obj-00000"))
	if err != nil {
		b.Fatal(err)
	}
	for i := 1; i < n; i++ {
		obj := filepath.Join(dir, fmt.Sprintf("obj-%05d", i)+objectSuffix)
		if err := os.Mkdir(obj, 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(obj, recordName), raw, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	return d
}

// BenchmarkWalkDir walks a flat directory of 10,000 objects: "first-100"
// stops after 100 entries (a listing page, or a probe for the first object
// under a prefix); "full" visits every object. entries/op is what fn saw.
func BenchmarkWalkDir(b *testing.B) {
	const objects = 10_000
	d := flatVolume(b, objects)
	stop := errors.New("page full")
	for _, c := range []struct {
		name  string
		limit int
	}{{"first-100", 100}, {"full", objects}} {
		b.Run(c.name, func(b *testing.B) {
			ctx := b.Context()
			opts := storage.WalkDirOptions{Volume: "bucket", Prefix: "dir/", Recursive: true}
			n := 0
			for b.Loop() {
				n = 0
				err := d.WalkDir(ctx, opts, func(storage.MetaEntry) error {
					if n++; n == c.limit {
						return stop
					}
					return nil
				})
				if err != nil && err != stop {
					b.Fatal(err)
				}
			}
			if n != c.limit {
				b.Fatalf("walk saw %d entries, want %d", n, c.limit)
			}
			b.ReportMetric(float64(n), "entries/op")
		})
	}
}
