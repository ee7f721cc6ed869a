package erasure

import (
	"bytes"
	"context"
	"io"
	"testing"
)

// TestNoPerBlockAllocations checks that Encode and Decode allocate per call,
// not per block: coding 12 more blocks may cost no more allocations than
// reedsolomon itself makes for those blocks.
func TestNoPerBlockAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under the race detector")
	}
	const block = 4096
	c := mustCoder(t, 4, 2, block)
	small, large := randomBytes(70, 4*block), randomBytes(71, 16*block)
	smallFiles, largeFiles := encodeFiles(t, c, small), encodeFiles(t, c, large)

	writers := make([]io.Writer, c.TotalShards())
	for i := range writers {
		writers[i], _ = NewBitrotWriter(io.Discard, testKey, c.ShardSize())
	}
	src := bytes.NewReader(nil)
	encode := func(object []byte) func() {
		return func() {
			src.Reset(object)
			if _, _, err := c.Encode(context.Background(), writers, src, int64(len(object)), c.WriteQuorum()); err != nil {
				t.Fatal(err)
			}
		}
	}
	srcs := make([]*bytes.Reader, c.TotalShards())
	bitrot := make([]*BitrotReader, c.TotalShards())
	readers := make([]io.Reader, c.TotalShards())
	decode := func(files [][]byte, size int64, missing int) func() {
		return func() {
			for i := range readers {
				readers[i] = nil
				if i >= missing {
					srcs[i] = bytes.NewReader(files[i])
					bitrot[i], _ = NewBitrotReader(srcs[i], testKey, c.ShardSize(), 0, c.ShardFileSize(size))
					readers[i] = bitrot[i]
				}
			}
			if _, _, err := c.Decode(context.Background(), io.Discard, readers, 0, size, size); err != nil {
				t.Fatal(err)
			}
		}
	}
	// What reedsolomon allocates for 12 blocks, encoding and rebuilding.
	shards := rawBlocks(c, randomBytes(72, block))[0]
	rsEncode := testing.AllocsPerRun(20, func() {
		for range 12 {
			_ = c.rs.Encode(shards)
		}
	})
	rsRebuild := testing.AllocsPerRun(20, func() {
		for range 12 {
			shards[0], shards[1] = shards[0][:0], shards[1][:0]
			_ = c.rs.ReconstructData(shards)
		}
	})

	for _, sequential := range []bool{false, true} {
		c.sequentialIO = sequential
		tests := []struct {
			name         string
			small, large func()
			library      float64
		}{
			{"encode", encode(small), encode(large), rsEncode},
			{"decode", decode(smallFiles, int64(len(small)), 0), decode(largeFiles, int64(len(large)), 0), 0},
			{"decode rebuilding", decode(smallFiles, int64(len(small)), 2), decode(largeFiles, int64(len(large)), 2), rsRebuild},
		}
		for _, tt := range tests {
			extra := testing.AllocsPerRun(20, tt.large) - testing.AllocsPerRun(20, tt.small)
			t.Logf("%s (sequential=%v): %.1f extra allocations for 12 blocks, reedsolomon %.1f", tt.name, sequential, extra, tt.library)
			if extra > tt.library {
				t.Errorf("%s (sequential=%v): 12 more blocks cost %.1f more allocations, reedsolomon accounts for %.1f", tt.name, sequential, extra, tt.library)
			}
		}
	}
	c.sequentialIO = false
}
