package health

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gridstore/gridstore/storage"
)

// benchDrives returns a fresh local drive with a bucket, bare and wrapped.
func benchDrives(b *testing.B) map[string]storage.Drive {
	b.Helper()
	l := newLocal(b)
	h := Wrap(l, Config{}, nil)
	b.Cleanup(func() { h.Close() })
	if err := l.MakeVol(b.Context(), "bucket"); err != nil {
		b.Fatal(err)
	}
	return map[string]storage.Drive{"local": l, "health": h}
}

// BenchmarkReadVersion: the wrapper's cost on a fast metadata call (an
// inline object of 4 versions, its record in the page cache): one
// goroutine, channel, timer and context per call.
func BenchmarkReadVersion(b *testing.B) {
	for _, name := range []string{"local", "health"} {
		b.Run(name, func(b *testing.B) {
			d := benchDrives(b)[name]
			ctx := b.Context()
			data := bytes.Repeat([]byte{'x'}, 4<<10)
			for i := range 4 {
				fi := storage.FileInfo{FileVersion: storage.FileVersion{VersionID: uuid.NewString(), ModTime: t0.Add(time.Duration(i)), InlineData: data,
					Erasure: storage.ErasureInfo{DataBlocks: 1, ParityBlocks: 1, BlockSize: 1024, Index: 1, Distribution: []int{1, 2}}}}
				if err := d.WriteMetadata(ctx, "bucket", "dir/obj", fi); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := d.ReadVersion(ctx, "bucket", "dir/obj", ""); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCreateFile: a 1 MiB shard written through the wrapper, whose
// drive reads the caller's reader through the gate (one round trip to the
// caller's goroutine per 256 KiB).
func BenchmarkCreateFile(b *testing.B) {
	const size = 1 << 20
	data := bytes.Repeat([]byte("gridstore"), size/9+1)[:size]
	for _, name := range []string{"local", "health"} {
		b.Run(fmt.Sprintf("1MiB/%s", name), func(b *testing.B) {
			d := benchDrives(b)[name]
			ctx := b.Context()
			b.SetBytes(size)
			b.ReportAllocs()
			for b.Loop() {
				if err := d.CreateFile(ctx, storage.TmpVolume, "upload/part.1", size, bytes.NewReader(data)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkReadFileStream: a 1 MiB shard read through the wrapper, which
// reads into its own buffer and copies (a page-cache read: the copy's
// worst case).
func BenchmarkReadFileStream(b *testing.B) {
	const size = 1 << 20
	data := bytes.Repeat([]byte("gridstore"), size/9+1)[:size]
	for _, name := range []string{"local", "health"} {
		b.Run(fmt.Sprintf("1MiB/%s", name), func(b *testing.B) {
			d := benchDrives(b)[name]
			ctx := b.Context()
			if err := d.CreateFile(ctx, storage.TmpVolume, "part.1", size, bytes.NewReader(data)); err != nil {
				b.Fatal(err)
			}
			buf := make([]byte, 512<<10) // a bitrot chunk of a 1 MiB block over 2 data shards
			b.SetBytes(size)
			b.ReportAllocs()
			for b.Loop() {
				rc, err := d.ReadFileStream(ctx, storage.TmpVolume, "part.1", 0, -1)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := io.CopyBuffer(struct{ io.Writer }{io.Discard}, struct{ io.Reader }{rc}, buf); err != nil {
					b.Fatal(err)
				}
				rc.Close()
			}
		})
	}
}

// BenchmarkCallOverhead: the wrapper's machinery alone, around a call that
// returns at once.
func BenchmarkCallOverhead(b *testing.B) {
	d := Wrap(newLocal(b), Config{}, nil)
	b.Cleanup(func() { d.Close() })
	ctx := b.Context()
	ep := d.epoch.Load()
	b.ReportAllocs()
	for b.Loop() {
		_, _ = run(d, ctx, ep, "nothing", DefaultCallTimeout, nil, func(context.Context) (int, error) { return 1, nil })
	}
}
