package scanner

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gridstore/gridstore/erasure"
	"github.com/gridstore/gridstore/node/object"
	"github.com/gridstore/gridstore/storage/local"
)

// benchWorkers is the rebuild's concurrency in BenchmarkRebuildWipedDrive.
var benchWorkers = DefaultRebuildWorkers

// BenchmarkRebuildWipedDrive times the rebuild of one wiped drive of a
// 2+2 set of local drives (production block size and drive options: O_DIRECT
// where the file system allows it) holding objects of one size: MB/s is
// object data whose shards were rebuilt, shard-MB/s what the rebuilt drive
// was written (a quarter: one shard of four, half the object's data).
func BenchmarkRebuildWipedDrive(b *testing.B) {
	for _, tc := range []struct {
		name  string
		size  int
		count int
	}{
		{"64KiB", 64 << 10, 256},
		{"1MiB", 1 << 20, 64},
		{"16MiB", 16 << 20, 8},
		{"16MiBx32", 16 << 20, 32},
	} {
		b.Run(tc.name, func(b *testing.B) {
			tl := newLayerWith(b, erasure.DefaultBlockSize, local.Options{})
			data := bytes.Repeat([]byte("gridstore heal throughput "), tc.size/26+1)[:tc.size]
			for i := range tc.count {
				if _, err := tl.PutObject(context.Background(), testBucket, fmt.Sprintf("o%04d", i), bytes.NewReader(data), int64(tc.size), object.PutOptions{}); err != nil {
					b.Fatal(err)
				}
			}
			b.SetBytes(int64(tc.size * tc.count))
			var shard uint64
			var took time.Duration
			var calls local.SyscallCounts
			for b.Loop() {
				b.StopTimer()
				tl.wipeBucket(b, 3)
				dir := b.TempDir()
				b.StartTimer()
				start := time.Now()
				before := local.ReadSyscallCounts()
				r, err := StartRebuild(RebuildConfig{Layer: tl.Layer, Set: 0, Pos: 3, Workers: benchWorkers,
					Store: Store{Dirs: []string{dir}, Name: "rebuild.json"}})
				if err != nil {
					b.Fatal(err)
				}
				<-r.Done()
				took += time.Since(start)
				c := local.ReadSyscallCounts().Sub(before)
				calls.Flushes += c.Flushes
				calls.Opens += c.Opens
				calls.Renames += c.Renames
				calls.Mkdirs += c.Mkdirs
				st := r.Status()
				r.Close()
				if st.ObjectsHealed != uint64(tc.count) {
					b.Fatalf("rebuilt %d objects of %d", st.ObjectsHealed, tc.count)
				}
				shard += st.BytesHealed
			}
			b.ReportMetric(float64(shard)/took.Seconds()/1e6, "shard-MB/s")
			objects := float64(tc.count * b.N)
			b.ReportMetric(objects/took.Seconds(), "objects/s")
			// What each rebuilt object cost in the calls that bound a
			// heal of small objects (every drive counted, sources too).
			b.ReportMetric(float64(calls.Flushes)/objects, "flushes/object")
			b.ReportMetric(float64(calls.Opens)/objects, "opens/object")
			b.ReportMetric(float64(calls.Renames)/objects, "renames/object")
			b.ReportMetric(float64(calls.Mkdirs)/objects, "mkdirs/object")
		})
	}
}

// BenchmarkDiskWriteFsync measures the disk the rebuild writes to: 16 MiB
// files written sequentially in 1 MiB writes and fsynced, in the
// benchmark's temporary folder (the same file system as the drives above).
func BenchmarkDiskWriteFsync(b *testing.B) {
	dir := b.TempDir()
	buf := bytes.Repeat([]byte{0x5a}, 1<<20)
	const perFile = 16
	b.SetBytes(perFile << 20)
	i := 0
	for b.Loop() {
		name := filepath.Join(dir, fmt.Sprintf("f%d", i%8))
		i++
		f, err := os.Create(name)
		if err != nil {
			b.Fatal(err)
		}
		for range perFile {
			if _, err := f.Write(buf); err != nil {
				b.Fatal(err)
			}
		}
		if err := f.Sync(); err != nil {
			b.Fatal(err)
		}
		if err := f.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDiskSmallFilesFsync measures the disk's limit for what healing a
// small object writes on the rebuilt drive: a new directory holding one
// file of the object's shard (32 KiB: a 64 KiB object at 2+2), the file and
// the directory fsynced, 8 at a time (the rebuild's workers), in the
// benchmark's temporary folder. MB/s counts the files' bytes; files/s is
// comparable with the objects/s of BenchmarkRebuildWipedDrive/64KiB.
func BenchmarkDiskSmallFilesFsync(b *testing.B) {
	dir := b.TempDir()
	buf := bytes.Repeat([]byte{0x5a}, 32<<10)
	b.SetBytes(int64(len(buf)))
	var n atomic.Int64  // names the directories
	b.SetParallelism(4) // 8 goroutines on 2 CPUs
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			d := filepath.Join(dir, fmt.Sprintf("o%d", n.Add(1)))
			if err := os.Mkdir(d, 0o755); err != nil {
				b.Error(err)
				return
			}
			f, err := os.Create(filepath.Join(d, "rec"))
			if err == nil {
				_, err = f.Write(buf)
			}
			if err == nil {
				err = f.Sync()
			}
			if f != nil {
				if cerr := f.Close(); err == nil {
					err = cerr
				}
			}
			if err == nil {
				err = syncDirForBench(d)
			}
			if err == nil {
				err = syncDirForBench(dir)
			}
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "files/s")
}

func syncDirForBench(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
