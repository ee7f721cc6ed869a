package local

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gridstore/gridstore/storage"
)

// BenchmarkWriteCeiling is the write path of PUTs on one node's drives
// with nothing else: no HTTP, no hashing, no erasure coding, no network.
// An op is one shard: its CreateFile into TmpVolume, then the RenameData
// that publishes it as a new object, on drives that are folders of one
// file system sharing their flushes as a node's drives do. Writers run
// at once as shard writes of the standard suite do (8 clients, each PUT
// writing its set's shards in parallel).
//
// Its MiB/s of shards, times data/(data+parity), is the most a node can
// take on this disk, whatever the server does: a sub-benchmark is named
// for the PUT of the standard suite whose shards it writes
// (docs/benchmarks.md compares the two; scripts/bench-cluster.sh runs it
// before the suite). GRIDSTORE_BENCH_DIR puts the drives on another file
// system than the test's temporary directory; run it with -benchtime=10s
// or more, as a disk's flushes take a while to reach a steady rate.
func BenchmarkWriteCeiling(b *testing.B) {
	for _, c := range []struct {
		name          string
		drives, shard int
		writers       int
	}{
		{"1node-PUT-1MiB-EC2+2", 4, 512 << 10, 8 * 4},
		{"1node-PUT-16MiB-EC2+2", 4, 8 << 20, 8 * 4},
		// The suite's four nodes on one machine: eight drives on one
		// disk. In-process, they share one group commit where four
		// processes would flush on their own: an upper bound.
		{"4nodes-PUT-1MiB-EC4+4", 8, 256 << 10, 8 * 8},
		{"4nodes-PUT-16MiB-EC4+4", 8, 4 << 20, 8 * 8},
	} {
		b.Run(c.name, func(b *testing.B) {
			root := os.Getenv("GRIDSTORE_BENCH_DIR")
			if root == "" {
				root = b.TempDir()
			} else {
				var err error
				if root, err = os.MkdirTemp(root, "ceiling-"); err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { os.RemoveAll(root) })
			}
			drives := make([]*Drive, c.drives)
			for i := range drives {
				dir := filepath.Join(root, fmt.Sprintf("d%d", i+1))
				if err := os.Mkdir(dir, 0o755); err != nil {
					b.Fatal(err)
				}
				spec := testSpec()
				if err := Format(dir, spec); err != nil {
					b.Fatal(err)
				}
				d, err := Open(dir, ExpectedFor(spec, 0, 0), Options{})
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { d.Close() })
				if err := d.MakeVol(b.Context(), "bucket"); err != nil {
					b.Fatal(err)
				}
				drives[i] = d
			}
			data := bytes.Repeat([]byte("gridstore-ceiling"), c.shard/17+1)[:c.shard]
			ctx := b.Context()
			before := ReadSyscallCounts()
			b.ResetTimer()
			var next atomic.Int64
			var wg sync.WaitGroup
			var failed atomic.Pointer[error]
			start := time.Now()
			for w := range c.writers {
				d := drives[w%len(drives)]
				wg.Go(func() {
					for i := next.Add(1); i <= int64(b.N) && failed.Load() == nil; i = next.Add(1) {
						if err := publishShard(ctx, d, data, fmt.Sprintf("w%d/o%d", w, i)); err != nil {
							failed.Store(&err)
						}
					}
				})
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			if err := failed.Load(); err != nil {
				b.Fatal(*err)
			}
			calls := ReadSyscallCounts().Sub(before)
			b.ReportMetric(float64(b.N)*float64(c.shard)/(1<<20)/elapsed.Seconds(), "shard-MiB/s")
			b.ReportMetric(float64(calls.Flushes)/float64(b.N), "flushes/op")
		})
	}
}

// publishShard writes one shard file and publishes it as a new object's
// data, as a PUT does on each of its drives.
func publishShard(ctx context.Context, d *Drive, data []byte, key string) error {
	tmp, dataDir := uuid.NewString(), uuid.NewString()
	if err := d.CreateFile(ctx, storage.TmpVolume, tmp+"/"+dataDir+"/part.1", int64(len(data)), bytes.NewReader(data)); err != nil {
		return err
	}
	fi := storage.FileInfo{FileVersion: storage.FileVersion{
		VersionID: uuid.NewString(), DataDir: dataDir, ModTime: time.Now(), Size: int64(len(data)),
		Parts: []storage.PartInfo{{Number: 1, Size: int64(len(data))}},
	}}
	_, err := d.RenameData(ctx, storage.TmpVolume, tmp+"/"+dataDir, fi, "bucket", key)
	return err
}
