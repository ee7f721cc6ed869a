package erasure

import (
	"bytes"
	"context"
	"errors"
	"io"
	"slices"
	"sync/atomic"
	"testing"
	"time"
)

// countingReaders returns readers of f's shards and how many Reads each
// was asked for.
func countingReaders(t *testing.T, f decodeFixture) ([]io.Reader, []*atomic.Int64) {
	plain := rangeReaders(t, f.c, f.files, 0, f.size, f.size)
	readers := make([]io.Reader, len(plain))
	counts := make([]*atomic.Int64, len(plain))
	for i, r := range plain {
		counts[i] = new(atomic.Int64)
		readers[i] = &countingReader{r: r, n: counts[i]}
	}
	return readers, counts
}

// An avoided data shard is not read at all while the other shards can
// make every block: parity stands in for it from the first block.
func TestDecodeAvoidedShardNotReadWhenOthersSuffice(t *testing.T) {
	f := newDecodeFixture(t)
	for _, parallel := range []bool{true, false} {
		f.c.sequentialIO = !parallel
		readers, counting := countingReaders(t, f)
		avoid := make([]bool, len(readers))
		avoid[1] = true
		var out bytes.Buffer
		_, errs, err := f.c.DecodeWith(context.Background(), &out, readers, 0, f.size, f.size, DecodeOptions{Avoid: avoid})
		if err != nil || !bytes.Equal(out.Bytes(), f.object) {
			t.Fatalf("parallel=%v: decode: %v", parallel, err)
		}
		if counting[1].Load() != 0 {
			t.Errorf("parallel=%v: avoided shard read %d times although the others sufficed", parallel, counting[1].Load())
		}
		if counting[4].Load() == 0 {
			t.Errorf("parallel=%v: first parity shard never read in the avoided shard's place", parallel)
		}
		for i, e := range errs {
			if e != nil {
				t.Errorf("parallel=%v: shard %d: %v", parallel, i, e)
			}
		}
	}
	f.c.sequentialIO = false
}

// An avoided shard is still read when the block cannot be made without
// it: from the start (too few others), and from the block where another
// shard fails.
func TestDecodeAvoidedShardReadWhenNeeded(t *testing.T) {
	f := newDecodeFixture(t)

	readers, counting := countingReaders(t, f)
	readers[4], readers[5] = nil, nil // no parity: every data shard is needed
	avoid := []bool{false, true, false, false, false, false}
	var out bytes.Buffer
	if _, _, err := f.c.DecodeWith(context.Background(), &out, readers, 0, f.size, f.size, DecodeOptions{Avoid: avoid}); err != nil || !bytes.Equal(out.Bytes(), f.object) {
		t.Fatalf("decode without parity: %v", err)
	}
	if counting[1].Load() == 0 {
		t.Error("avoided shard not read although the block needed it")
	}

	// Shard 0 fails on its third block: parity 4 replaced shard 1 from the
	// start, so shard 0's place takes parity 5 and then shard 1.
	readers, stall := hedgeReaders(t, f)
	stall[0].failFrom = 3
	stall[5].failFrom = 4
	out.Reset()
	_, errs, err := f.c.DecodeWith(context.Background(), &out, readers, 0, f.size, f.size, DecodeOptions{Avoid: avoid})
	if err != nil || !bytes.Equal(out.Bytes(), f.object) {
		t.Fatalf("decode with failing shards: %v", err)
	}
	if stall[1].reads == 0 {
		t.Error("avoided shard not read after two others failed")
	}
	if errs[0] == nil || errs[5] == nil || errs[1] != nil {
		t.Errorf("shard errors %v: want shards 0 and 5 failed, 1 healthy", errs)
	}
}

// Avoid with the wrong number of marks is a caller's error.
func TestDecodeAvoidLengthChecked(t *testing.T) {
	f := newDecodeFixture(t)
	readers, _ := countingReaders(t, f)
	_, _, err := f.c.DecodeWith(context.Background(), io.Discard, readers, 0, f.size, f.size, DecodeOptions{Avoid: []bool{true}})
	if !errors.Is(err, ErrInvalidArgument) {
		t.Fatalf("got %v, want ErrInvalidArgument", err)
	}
}

// Outrun names the shard whose read was outrun by parity.
func TestDecodeOutrunReported(t *testing.T) {
	f := newDecodeFixture(t)
	readers, stalling := hedgeReaders(t, f)
	stalling[2].stallBlocks = 1 << 30
	defer close(stalling[2].release)
	var outrun []int
	var out bytes.Buffer
	_, _, err := f.c.DecodeWith(context.Background(), &out, readers, 0, f.size, f.size,
		DecodeOptions{Late: 10 * time.Millisecond, Outrun: func(shard int) { outrun = append(outrun, shard) }})
	if err != nil || !bytes.Equal(out.Bytes(), f.object) {
		t.Fatalf("decode: %v", err)
	}
	// Shard 2 never answers, so it is outrun; another shard may be too
	// when a loaded machine makes its read take longer than Late (a CI
	// run saw shard 1 named), which is no error.
	if !slices.Contains(outrun, 2) {
		t.Fatalf("Outrun named shards %v, not the stalled shard 2", outrun)
	}
}
