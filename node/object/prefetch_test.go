package object

import (
	"context"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gridstore/gridstore/storage"
)

// countingDrive counts the chunk-sized reads of the streams it opens.
type countingDrive struct {
	storage.Drive
	chunkReads atomic.Int64
}

func (d *countingDrive) ReadFileStream(ctx context.Context, volume, path string, offset, length int64) (io.ReadCloser, error) {
	rc, err := d.Drive.ReadFileStream(ctx, volume, path, offset, length)
	if err != nil {
		return nil, err
	}
	return &countingStream{ReadCloser: rc, d: d}, nil
}

type countingStream struct {
	io.ReadCloser
	d *countingDrive
}

func (s *countingStream) Read(p []byte) (int, error) {
	if len(p) > 1024 {
		s.d.chunkReads.Add(1)
	}
	return s.ReadCloser.Read(p)
}

// TestPrefetchBounded: a shard reader fetches at most depth chunks beyond
// the one being consumed, however long the consumer dawdles, and a parity
// shard is not read at all while the data shards are healthy.
func TestPrefetchBounded(t *testing.T) {
	for _, depth := range []int{1, 2, 5} {
		ts := newTestSet(t, 4, func(c *Config) { c.PrefetchDepth = depth })
		ts.put(t, "k", randomBytes(1, 12*testBlockSize))
		counters := make([]*countingDrive, len(ts.drives))
		for i := range ts.drives {
			counters[i] = &countingDrive{Drive: ts.drives[i]}
			ts.Set.drives[i] = counters[i]
		}
		r, err := ts.GetObject(context.Background(), testBucket, "k", GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.Read(make([]byte, 1)); err != nil {
			t.Fatal(err)
		}
		dataHolders, parityHolders := ts.shardHolders(t, "k")
		// Decode has read block 0 and asked for block 1 (its own
		// lookahead), and is stuck writing block 0 into the pipe.
		want := int64(depth + 2)
		for _, pos := range dataHolders {
			eventually(t, "prefetch filled", func() bool { return counters[pos].chunkReads.Load() == want })
		}
		time.Sleep(50 * time.Millisecond) // would it go further? it must not
		for _, pos := range dataHolders {
			if got := counters[pos].chunkReads.Load(); got != want {
				t.Fatalf("depth %d: drive %d read %d chunks ahead, want %d", depth, pos, got, want)
			}
		}
		for _, pos := range parityHolders {
			if got := counters[pos].chunkReads.Load(); got != 0 {
				t.Fatalf("depth %d: parity drive %d read %d chunks", depth, pos, got)
			}
		}
		r.Close()
	}
}
