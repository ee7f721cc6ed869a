package object

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gridstore/gridstore/storage"
	"github.com/gridstore/gridstore/storage/local"
)

// Benchmarks run on local drives in b.TempDir() opened as in production
// (O_DIRECT where the file system allows it) with the default 1 MiB block.
// Figures: BENCHMARKS.txt.

var benchLayouts = []struct {
	name           string
	drives, parity int
}{{"4+2", 6, 2}, {"8+4", 12, 4}}

func newBenchSet(b *testing.B, drives, parity int, tweak func(*Config)) *testSet {
	return newSetWith(b, drives, local.Options{}, func(c *Config) {
		c.Parity = parity
		c.BlockSize = 0
		c.Heal = nil
		if tweak != nil {
			tweak(c)
		}
	})
}

var benchSizes = []int{1 << 20, 16 << 20, 64 << 20}

func BenchmarkPut(b *testing.B) {
	for _, l := range benchLayouts {
		for _, size := range benchSizes {
			b.Run(fmt.Sprintf("%s/%dMiB", l.name, size>>20), func(b *testing.B) {
				ts := newBenchSet(b, l.drives, l.parity, nil)
				data := randomBytes(1, size)
				ctx := context.Background()
				b.SetBytes(int64(size))
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; b.Loop(); i++ {
					if _, err := ts.PutObject(ctx, testBucket, "obj", bytes.NewReader(data), int64(size), PutOptions{}); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkPutSmallStreamed: PUTs just over the inline limit, coded into
// shard files through ring buffers, where the ring's size (sized to the
// shard file, or a fixed 2 MiB per shard) shows in B/op.
func BenchmarkPutSmallStreamed(b *testing.B) {
	for _, size := range []int{256 << 10, 1 << 20} {
		b.Run(fmt.Sprintf("4+2/%dKiB", size>>10), func(b *testing.B) {
			ts := newBenchSet(b, 6, 2, nil)
			data := randomBytes(1, size)
			ctx := context.Background()
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ts.PutObject(ctx, testBucket, "obj", bytes.NewReader(data), int64(size), PutOptions{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkGet(b *testing.B) {
	for _, l := range benchLayouts {
		for _, size := range benchSizes {
			b.Run(fmt.Sprintf("%s/%dMiB", l.name, size>>20), func(b *testing.B) {
				ts := newBenchSet(b, l.drives, l.parity, nil)
				benchGet(b, ts, size)
			})
		}
	}
}

func benchGet(b *testing.B, ts *testSet, size int) {
	ctx := context.Background()
	ts.put(b, "obj", randomBytes(1, size))
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		r, err := ts.GetObject(ctx, testBucket, "obj", GetOptions{})
		if err != nil {
			b.Fatal(err)
		}
		n, err := r.WriteTo(io.Discard)
		r.Close()
		if err != nil || n != int64(size) {
			b.Fatal(n, err)
		}
	}
}

// BenchmarkSmall: 4 KiB objects, stored inline. "new" writes a fresh key
// each time, "overwrite" one key over and over (its old version is deleted
// after each commit).
func BenchmarkSmall(b *testing.B) {
	const size = 4 << 10
	for _, l := range benchLayouts {
		data := randomBytes(2, size)
		ctx := context.Background()
		b.Run(l.name+"/put-new", func(b *testing.B) {
			ts := newBenchSet(b, l.drives, l.parity, nil)
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if _, err := ts.PutObject(ctx, testBucket, fmt.Sprintf("small/%d", i), bytes.NewReader(data), size, PutOptions{}); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(l.name+"/put-overwrite", func(b *testing.B) {
			ts := newBenchSet(b, l.drives, l.parity, nil)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ts.PutObject(ctx, testBucket, "small", bytes.NewReader(data), size, PutOptions{}); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(l.name+"/get", func(b *testing.B) {
			ts := newBenchSet(b, l.drives, l.parity, nil)
			benchGet(b, ts, size)
		})
		b.Run(l.name+"/head", func(b *testing.B) {
			ts := newBenchSet(b, l.drives, l.parity, nil)
			ts.put(b, "small", data)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ts.GetObjectInfo(ctx, testBucket, "small"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkGetPrefetch measures what prefetching buys when shard reads have
// uneven latency, as over a network: every read of a chunk waits a random
// 0-4 ms (2 ms on average; the 32-byte hash reads before them do not), so a
// block, which needs all its data shards, waits for the slowest of them
// unless each shard runs ahead on its own. 16 MiB on 4+2, by prefetch
// depth; depth 0 is erasure.Decode's own one-block lookahead alone.
func BenchmarkGetPrefetch(b *testing.B) {
	const size = 16 << 20
	for _, depth := range []int{-1, 1, 2, 4} {
		b.Run(fmt.Sprintf("depth=%d", max(depth, 0)), func(b *testing.B) {
			ts := newBenchSet(b, 6, 2, func(c *Config) { c.PrefetchDepth = depth })
			ts.put(b, "obj", randomBytes(1, size))
			for i := range ts.drives {
				ts.Set.drives[i] = &latencyDrive{Drive: ts.drives[i], maxDelay: 4 * time.Millisecond}
			}
			benchGetExisting(b, ts, size)
		})
	}
}

func benchGetExisting(b *testing.B, ts *testSet, size int) {
	ctx := context.Background()
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		r, err := ts.GetObject(ctx, testBucket, "obj", GetOptions{})
		if err != nil {
			b.Fatal(err)
		}
		n, err := r.WriteTo(io.Discard)
		r.Close()
		if err != nil || n != int64(size) {
			b.Fatal(n, err)
		}
	}
}

// latencyDrive delays the reads of the streams it opens by a random time up
// to maxDelay, except small ones.
type latencyDrive struct {
	storage.Drive
	maxDelay time.Duration
}

// streamSeed gives every stream its own delays.
var streamSeed atomic.Uint64

func (d *latencyDrive) ReadFileStream(ctx context.Context, volume, path string, offset, length int64) (io.ReadCloser, error) {
	rc, err := d.Drive.ReadFileStream(ctx, volume, path, offset, length)
	if err != nil {
		return nil, err
	}
	return &slowStream{ReadCloser: rc, max: d.maxDelay, rng: rand.New(rand.NewPCG(streamSeed.Add(1), 7))}, nil
}

type slowStream struct {
	io.ReadCloser
	max time.Duration
	rng *rand.Rand
}

func (s *slowStream) Read(p []byte) (int, error) {
	if len(p) > 4<<10 {
		time.Sleep(time.Duration(s.rng.Int64N(int64(s.max))))
	}
	return s.ReadCloser.Read(p)
}

// BenchmarkPutFlushes: PUTs on one set of 4 local drives (EC 2+2), as one
// node of the issue-14 measurements, reporting the file system calls the
// drives make per PUT (summed over the drives; local.SyscallCounts) and
// the PUT rate with clients PUTs at a time. "new" writes a fresh key each
// time, "overwrite" one key per client over and over (the old version is
// deleted after each commit). 4 KiB is stored inline, 1 MiB in shard
// files.
//
// sync=group is the drives' default (group commit, a syncfs of a drive's
// file system shared by the writes in flight), sync=each their
// SyncEachFile option (each file and directory synced on its own).
func BenchmarkPutFlushes(b *testing.B) {
	for _, size := range []int{4 << 10, 1 << 20} {
		for _, mode := range []string{"new", "overwrite"} {
			for _, clients := range []int{1, 8, 32} {
				for _, each := range []bool{false, true} {
					name := fmt.Sprintf("%dKiB/%s/clients=%d/sync=%s", size>>10, mode, clients, map[bool]string{false: "group", true: "each"}[each])
					b.Run(name, func(b *testing.B) {
						ts := newSetWith(b, 4, local.Options{SyncEachFile: each}, func(c *Config) {
							c.Parity = 2
							c.BlockSize = 0
							c.Heal = nil
						})
						benchPutFlushes(b, ts, size, mode == "overwrite", clients)
					})
				}
			}
		}
	}
}

func benchPutFlushes(b *testing.B, ts *testSet, size int, overwrite bool, clients int) {
	data := randomBytes(3, size)
	ctx := context.Background()
	b.SetBytes(int64(size))
	b.ReportAllocs()
	var next atomic.Int64
	var failed atomic.Pointer[error]
	before := local.ReadSyscallCounts()
	start := time.Now()
	b.ResetTimer()
	done := make(chan struct{})
	for c := range clients {
		go func() {
			defer func() { done <- struct{}{} }()
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) || failed.Load() != nil {
					return
				}
				key := fmt.Sprintf("c%d-%d", c, i)
				if overwrite {
					key = fmt.Sprintf("c%d", c)
				}
				if _, err := ts.PutObject(ctx, testBucket, key, bytes.NewReader(data), int64(size), PutOptions{}); err != nil {
					failed.Store(&err)
					return
				}
			}
		}()
	}
	for range clients {
		<-done
	}
	b.StopTimer()
	elapsed := time.Since(start)
	if err := failed.Load(); err != nil {
		b.Fatal(*err)
	}
	calls := local.ReadSyscallCounts().Sub(before)
	n := float64(b.N)
	b.ReportMetric(float64(calls.Flushes)/n, "flushes/op")
	b.ReportMetric(float64(calls.Opens)/n, "opens/op")
	b.ReportMetric(float64(calls.Renames)/n, "renames/op")
	b.ReportMetric(float64(calls.Mkdirs)/n, "mkdirs/op")
	b.ReportMetric(float64(calls.Unlinks)/n, "unlinks/op")
	b.ReportMetric(n/elapsed.Seconds(), "puts/s")
}
