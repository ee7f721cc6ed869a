package object_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"testing"

	"github.com/gridstore/gridstore/erasure"
	"github.com/gridstore/gridstore/node/object"
	"github.com/gridstore/gridstore/node/object/objecttest"
)

// Benchmarks of the object layer on the in-process cluster of package
// objecttest: 4 nodes × 2 drives (one set of 8, parity 4) on local drives
// in temporary directories, with the default 1 MiB block, over loopback grid connections, remote drive
// clients and distributed locks. Every call goes through node 0, so 6 of
// the 8 shards travel over the grid. Figures: docs/bench/object.txt.

var clusterBenchSizes = []int{4 << 10, 1 << 20, 16 << 20}

func sizeName(n int) string {
	if n < 1<<20 {
		return fmt.Sprintf("%dKiB", n>>10)
	}
	return fmt.Sprintf("%dMiB", n>>20)
}

func newBenchCluster(b *testing.B) *objecttest.Cluster {
	b.Helper()
	c := objecttest.New(b, objecttest.Options{Set: object.Config{BlockSize: erasure.DefaultBlockSize}})
	if err := c.Nodes[0].Layer().MakeBucket(context.Background(), bucket); err != nil {
		b.Fatal(err)
	}
	return c
}

func BenchmarkClusterPut(b *testing.B) {
	c := newBenchCluster(b)
	l := c.Nodes[0].Layer()
	ctx := context.Background()
	for _, size := range clusterBenchSizes {
		b.Run(sizeName(size), func(b *testing.B) {
			data := body(1, size)
			key := "put-" + sizeName(size)
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := l.PutObject(ctx, bucket, key, bytes.NewReader(data), int64(size), object.PutOptions{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkClusterGet(b *testing.B) {
	c := newBenchCluster(b)
	l := c.Nodes[0].Layer()
	ctx := context.Background()
	for _, size := range clusterBenchSizes {
		b.Run(sizeName(size), func(b *testing.B) {
			data := body(2, size)
			key := "get-" + sizeName(size)
			if _, err := l.PutObject(ctx, bucket, key, bytes.NewReader(data), int64(size), object.PutOptions{}); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				r, err := l.GetObject(ctx, bucket, key, object.GetOptions{})
				if err != nil {
					b.Fatal(err)
				}
				n, err := r.WriteTo(io.Discard)
				r.Close()
				if err != nil || n != int64(size) {
					b.Fatalf("get: %d bytes, %v", n, err)
				}
			}
		})
	}
}
