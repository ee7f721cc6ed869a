package local

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gridstore/gridstore/storage"
)

func benchDrive(b *testing.B, opts Options) *Drive {
	b.Helper()
	dir := b.TempDir()
	spec := testSpec()
	if err := Format(dir, spec); err != nil {
		b.Fatal(err)
	}
	d, err := Open(dir, ExpectedFor(spec, 0, 0), opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { d.Close() })
	return d
}

// BenchmarkCreateFile compares a shard write through the drive (double
// buffer, O_DIRECT where possible, space reserved, fdatasync) with the
// plainest durable write of the same bytes: one os.File.Write of the whole
// buffer and a Sync. Both rewrite one file, so that neither pays for
// creating and removing directories (which costs ~0.5 ms per directory on
// the benchmark machine's ext4 and would swamp the 1 MiB case).
func BenchmarkCreateFile(b *testing.B) {
	for _, size := range []int{1 << 20, 16 << 20, 64 << 20} {
		data := bytes.Repeat([]byte("gridstore"), size/9+1)[:size]
		name := fmt.Sprintf("%dMiB", size>>20)

		b.Run(name+"/plain", func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "part.1")
			b.SetBytes(int64(size))
			for b.Loop() {
				f, err := os.Create(path)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := f.Write(data); err != nil {
					b.Fatal(err)
				}
				if err := f.Sync(); err != nil {
					b.Fatal(err)
				}
				f.Close()
			}
		})
		for _, mode := range []struct {
			name string
			opts Options
		}{{"drive", Options{}}, {"drive-buffered", Options{BufferedIO: true}}} {
			b.Run(name+"/"+mode.name, func(b *testing.B) {
				d := benchDrive(b, mode.opts)
				ctx := b.Context()
				b.SetBytes(int64(size))
				for b.Loop() {
					if err := d.CreateFile(ctx, storage.TmpVolume, "upload/part.1", int64(size), bytes.NewReader(data)); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkInlineObject measures the small-object path: publishing an
// inline version (a new object, or a new version of an existing one) and
// reading it back.
func BenchmarkInlineObject(b *testing.B) {
	data := bytes.Repeat([]byte{'x'}, 4<<10)
	b.Run("RenameData/new-object", func(b *testing.B) {
		d := benchDrive(b, Options{})
		ctx := b.Context()
		if err := d.MakeVol(ctx, "bucket"); err != nil {
			b.Fatal(err)
		}
		for i := 0; b.Loop(); i++ {
			if _, err := d.RenameData(ctx, "", "", inlineVersion("", t0, string(data)), "bucket", fmt.Sprintf("dir/obj-%d", i)); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
	})
	// Writers at once, as a node's drive sees them under the standard
	// suite's 32 clients of 4 KiB PUTs: they contend for the directories
	// their commits create files in and rename them across.
	b.Run("RenameData/new-objects-concurrent", func(b *testing.B) {
		d := benchDrive(b, Options{})
		ctx := b.Context()
		if err := d.MakeVol(ctx, "bucket"); err != nil {
			b.Fatal(err)
		}
		var next atomic.Int64
		b.SetParallelism(16)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				key := fmt.Sprintf("dir/obj-%d", next.Add(1))
				if _, err := d.RenameData(ctx, "", "", inlineVersion("", t0, string(data)), "bucket", key); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
	})
	b.Run("RenameData/overwrite", func(b *testing.B) {
		d := benchDrive(b, Options{})
		ctx := b.Context()
		if err := d.MakeVol(ctx, "bucket"); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if _, err := d.RenameData(ctx, "", "", inlineVersion("", t0, string(data)), "bucket", "dir/obj"); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
	})
	b.Run("ReadVersion", func(b *testing.B) {
		d := benchDrive(b, Options{})
		ctx := b.Context()
		if err := d.MakeVol(ctx, "bucket"); err != nil {
			b.Fatal(err)
		}
		// An object with a few versions, as a versioned bucket has.
		for i := range 4 {
			if err := d.WriteMetadata(ctx, "bucket", "dir/obj", inlineVersion(uuid.NewString(), t0.Add(time.Duration(i)*time.Second), string(data))); err != nil {
				b.Fatal(err)
			}
		}
		for b.Loop() {
			if _, err := d.ReadVersion(ctx, "bucket", "dir/obj", ""); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
	})
}

// BenchmarkOpenFile compares the package's openFile with os.OpenFile on
// what a shard or record write opens: an existing regular file, for
// writing, closed again at once. os.OpenFile also tries to register the
// file with the runtime's poller, which a regular file refuses.
func BenchmarkOpenFile(b *testing.B) {
	path := filepath.Join(b.TempDir(), "part.1")
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		open func(string, int, os.FileMode) (*os.File, error)
	}{{"os.OpenFile", os.OpenFile}, {"openFile", openFile}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				f, err := c.open(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
				if err != nil {
					b.Fatal(err)
				}
				if err := f.Close(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
