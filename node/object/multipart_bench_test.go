package object

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sync"
	"testing"
)

// BenchmarkMultipart compares a 64 MiB object written as 4 parts of 16 MiB
// (sequentially, and all at once) with one PUT of it, and the GET of each.
// Figures: MULTIPART_BENCHMARKS.txt.
func BenchmarkMultipart(b *testing.B) {
	const size, partSize = 64 << 20, 16 << 20
	data := randomBytes(1, size)
	ctx := context.Background()
	for _, l := range benchLayouts {
		upload := func(b *testing.B, ts *testSet, parallel bool) {
			id, err := ts.NewMultipartUpload(ctx, testBucket, "obj", PutOptions{})
			if err != nil {
				b.Fatal(err)
			}
			parts := make([]CompletePart, size/partSize)
			errs := make([]error, len(parts))
			put := func(i int) {
				p, err := ts.PutObjectPart(ctx, testBucket, "obj", id, i+1, bytes.NewReader(data[i*partSize:(i+1)*partSize]), partSize, PartOptions{})
				parts[i], errs[i] = CompletePart{Number: p.Number, ETag: p.ETag}, err
			}
			if parallel {
				var wg sync.WaitGroup
				for i := range parts {
					wg.Go(func() { put(i) })
				}
				wg.Wait()
			} else {
				for i := range parts {
					put(i)
				}
			}
			for _, err := range errs {
				if err != nil {
					b.Fatal(err)
				}
			}
			if _, err := ts.CompleteMultipartUpload(ctx, testBucket, "obj", id, parts, CompleteOptions{}); err != nil {
				b.Fatal(err)
			}
		}
		for _, mode := range []string{"put", "multipart-sequential", "multipart-parallel"} {
			b.Run(fmt.Sprintf("%s/upload/%s", l.name, mode), func(b *testing.B) {
				ts := newBenchSet(b, l.drives, l.parity, nil)
				b.SetBytes(size)
				b.ReportAllocs()
				for b.Loop() {
					switch mode {
					case "put":
						if _, err := ts.PutObject(ctx, testBucket, "obj", bytes.NewReader(data), size, PutOptions{}); err != nil {
							b.Fatal(err)
						}
					default:
						upload(b, ts, mode == "multipart-parallel")
					}
				}
			})
		}
		for _, mode := range []string{"put", "multipart"} {
			b.Run(fmt.Sprintf("%s/get/%s", l.name, mode), func(b *testing.B) {
				ts := newBenchSet(b, l.drives, l.parity, nil)
				if mode == "put" {
					ts.put(b, "obj", data)
				} else {
					upload(b, ts, false)
				}
				b.SetBytes(size)
				b.ReportAllocs()
				for b.Loop() {
					r, err := ts.GetObject(ctx, testBucket, "obj", GetOptions{})
					if err != nil {
						b.Fatal(err)
					}
					n, err := r.WriteTo(io.Discard)
					r.Close()
					if err != nil || n != size {
						b.Fatal(n, err)
					}
				}
			})
		}
	}
}
