package remote

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"testing"
	"time"

	"github.com/gridstore/gridstore/storage"
	"github.com/gridstore/gridstore/storage/local"
)

// BenchmarkCreateFile writes 16 MiB shard files: to a local drive directly
// (the baseline: the disk, synced), and to the same kind of drive on another
// node over loopback, through a ShardWriter (ring buffer, grid stream, remote
// CreateFile) as the erasure encoder does, and through Client.CreateFile
// from a reader.
func BenchmarkCreateFile(b *testing.B) {
	const size = 16 << 20
	data := testData(1, size)
	c := newTestCluster(b)
	ld := newLocalDrive(b)
	rd := c.serve(b, newLocalDrive(b))
	run := func(b *testing.B, write func() error) {
		b.SetBytes(size)
		b.ReportAllocs()
		for b.Loop() {
			if err := write(); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("local", func(b *testing.B) {
		run(b, func() error { return ld.CreateFile(b.Context(), storage.TmpVolume, "f", size, bytes.NewReader(data)) })
	})
	b.Run("local-shardwriter", func(b *testing.B) {
		run(b, func() error {
			sw := NewShardWriter(b.Context(), ld, storage.TmpVolume, "f", size)
			if err := writeChunks(sw, data); err != nil {
				return err
			}
			return sw.Close()
		})
	})
	b.Run("remote-shardwriter", func(b *testing.B) {
		run(b, func() error {
			sw := NewShardWriter(b.Context(), rd, storage.TmpVolume, "f", size)
			if err := writeChunks(sw, data); err != nil {
				return err
			}
			return sw.Close()
		})
	})
	b.Run("remote-reader", func(b *testing.B) {
		run(b, func() error { return rd.CreateFile(b.Context(), storage.TmpVolume, "f", size, bytes.NewReader(data)) })
	})
	// The transport alone: the serving drive discards the bytes.
	null := c.serve(b, &discardDrive{faultDrive{endpoint: "/bench/discard", err: errTest}})
	b.Run("remote-shardwriter-discard", func(b *testing.B) {
		run(b, func() error {
			sw := NewShardWriter(b.Context(), null, storage.TmpVolume, "f", size)
			if err := writeChunks(sw, data); err != nil {
				return err
			}
			return sw.Close()
		})
	})
}

// discardDrive's CreateFile reads its input to the end and keeps nothing.
type discardDrive struct{ faultDrive }

func (d *discardDrive) CreateFile(_ context.Context, _, _ string, size int64, r io.Reader) error {
	n, err := io.Copy(io.Discard, r)
	if err == nil && size >= 0 && n != size {
		err = fmt.Errorf("%w: %d bytes, want %d", storage.ErrSizeMismatch, n, size)
	}
	return err
}

// writeChunks writes data as the bitrot writer does: a 32-byte hash, then a
// chunk of up to 1 MiB.
func writeChunks(w io.Writer, data []byte) error {
	for len(data) > 0 {
		n := min(len(data), 1<<20-32)
		if _, err := w.Write(data[:32]); err != nil {
			return err
		}
		if _, err := w.Write(data[32:n]); err != nil {
			return err
		}
		data = data[n:]
	}
	return nil
}

// BenchmarkReadFileStream reads 1 MiB and 16 MiB ranges: from the local
// drive in-process (the baseline), and from another node over the read
// endpoint, out of the local drive, out of a drive whose streams implement
// FileRange (sendfile both) and out of one whose streams are plain readers
// (copied). Allocations count both nodes.
func BenchmarkReadFileStream(b *testing.B) {
	c := newTestCluster(b)
	ld := newLocalDrive(b)
	data := testData(2, 16<<20)
	if err := ld.CreateFile(b.Context(), storage.TmpVolume, "f", int64(len(data)), bytes.NewReader(data)); err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	writeTestFile(b, dir, "f", 16<<20)
	drives := []struct {
		name   string
		d      storage.Drive
		volume string
	}{
		{"local", ld, storage.TmpVolume},
		{"remote-local", c.serve(b, ld), storage.TmpVolume},
		{"remote-filerange", c.serve(b, &fileDrive{endpoint: "/bench/files", dir: dir}), rangeVolume},
		// The fallback for streams that are only readers: read+write.
		{"remote-plain", c.serve(b, &fileDrive{endpoint: "/bench/plain", dir: dir, plain: true}), rangeVolume},
	}
	for _, size := range []int64{1 << 20, 16 << 20} {
		for _, dv := range drives {
			b.Run(fmt.Sprintf("%s/%dMiB", dv.name, size>>20), func(b *testing.B) {
				b.SetBytes(size)
				b.ReportAllocs()
				for b.Loop() {
					rc, err := dv.d.ReadFileStream(b.Context(), dv.volume, "f", 0, size)
					if err != nil {
						b.Fatal(err)
					}
					n, err := io.Copy(io.Discard, rc)
					rc.Close()
					if err != nil || n != size {
						b.Fatalf("read %d bytes, %v", n, err)
					}
				}
			})
		}
	}
}

// BenchmarkWalkDir walks a flat directory of 5,000 objects: on the
// local drive in-process (the baseline) and on the same drive from another
// node over loopback. "full" visits every object; "first-100" stops after
// 100 entries (a listing page). Allocations count both nodes.
func BenchmarkWalkDir(b *testing.B) {
	const objects = 5000
	c := newTestCluster(b)
	ld := flatDrive(b, objects)
	drives := []struct {
		name string
		d    storage.Drive
	}{{"local", ld}, {"remote", c.serve(b, ld)}}
	stop := errors.New("page full")
	for _, dv := range drives {
		for _, limit := range []int{objects, 100} {
			name := dv.name + "/full"
			if limit < objects {
				name = fmt.Sprintf("%s/first-%d", dv.name, limit)
			}
			b.Run(name, func(b *testing.B) {
				b.ReportAllocs()
				opts := storage.WalkDirOptions{Volume: "bucket", Prefix: "dir/", Recursive: true}
				n := 0
				for b.Loop() {
					n = 0
					err := dv.d.WalkDir(b.Context(), opts, func(e storage.MetaEntry) error {
						if len(e.Metadata) == 0 {
							return fmt.Errorf("%s without a record", e.Name)
						}
						if n++; n == limit {
							return stop
						}
						return nil
					})
					if err != nil && err != stop {
						b.Fatal(err)
					}
				}
				if n != limit {
					b.Fatalf("walk saw %d entries, want %d", n, limit)
				}
			})
		}
	}
}

// flatDrive returns a local drive whose volume "bucket" holds n objects in
// one directory (dir/obj-00000 ...). One record is written through the
// drive and copied into the other objects' directories without fsync, so
// that the setup takes a second, not n durable writes.
func flatDrive(b *testing.B, n int) *local.Drive {
	b.Helper()
	d := newLocalDrive(b)
	ctx := b.Context()
	if err := d.MakeVol(ctx, "bucket"); err != nil {
		b.Fatal(err)
	}
	fi := storage.FileInfo{FileVersion: storage.FileVersion{VersionID: storage.NullVersionID, ModTime: time.Unix(1, 0).UTC(),
		Size: 10, InlineData: []byte("0123456789"), Erasure: storage.ErasureInfo{DataBlocks: 1, ParityBlocks: 1, BlockSize: 1024, Index: 1, Distribution: []int{1, 2}}}}
	if err := d.WriteMetadata(ctx, "bucket", "dir/obj-00000", fi); err != nil {
		b.Fatal(err)
	}
	root := d.Endpoint() // a local drive's default endpoint is its path
	raw, err := os.ReadFile(local.RecordFile(root, "bucket", "dir/obj-00000"))
	if err != nil {
		b.Fatal(err)
	}
	for i := 1; i < n; i++ {
		key := fmt.Sprintf("dir/obj-%05d", i)
		if err := os.MkdirAll(local.ObjectDir(root, "bucket", key), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(local.RecordFile(root, "bucket", key), raw, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	return d
}
