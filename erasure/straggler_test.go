package erasure

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// laggingWriter is a shard writer on a slow drive that Encode can abandon.
// Each Write waits delay (from its stallFrom-th Write on, counting from 0,
// with stall set: until abandoned) before it copies p, like a ring buffer
// full in front of a slow drive. Abandon ends the wait at once. With
// lingerAfterAbandon set, a Write that was abandoned still reads p for that
// long before it returns, as a copy already under way would, and checks
// that p did not change meanwhile.
type laggingWriter struct {
	buf                bytes.Buffer
	delay              time.Duration
	stall              bool
	stallFrom          int
	minLag             int  // writes shorter than this never wait (bitrot hashes)
	discard            bool // keep nothing (benchmarks)
	lingerAfterAbandon time.Duration

	writes       int
	abandoned    chan struct{}
	abandonOnce  sync.Once
	abandonCalls atomic.Int32
	changed      atomic.Bool // p changed while an abandoned Write still held it
	cause        error
}

func newLaggingWriter() *laggingWriter {
	return &laggingWriter{abandoned: make(chan struct{})}
}

func (l *laggingWriter) Abandon(cause error) {
	l.abandonCalls.Add(1)
	l.abandonOnce.Do(func() {
		l.cause = cause
		close(l.abandoned)
	})
}

func (l *laggingWriter) Write(p []byte) (int, error) {
	n := l.writes
	l.writes++
	var wait <-chan time.Time
	switch {
	case l.stall && n >= l.stallFrom:
		// until abandoned
	case l.delay > 0 && len(p) >= l.minLag:
		t := time.NewTimer(l.delay)
		defer t.Stop()
		wait = t.C
	}
	if wait != nil || (l.stall && n >= l.stallFrom) {
		select {
		case <-wait:
		case <-l.abandoned:
			if l.lingerAfterAbandon > 0 {
				before := bytes.Clone(p)
				time.Sleep(l.lingerAfterAbandon)
				if !bytes.Equal(before, p) {
					l.changed.Store(true)
				}
			}
			return 0, fmt.Errorf("lagging writer: %w", l.cause)
		}
	}
	select {
	case <-l.abandoned:
		return 0, fmt.Errorf("lagging writer: %w", l.cause)
	default:
	}
	if l.discard {
		return len(p), nil
	}
	return l.buf.Write(p)
}

// stragglerFixture is a 4+2 coder with an object of several blocks and one
// writer per shard: bytes.Buffers behind bitrot writers, except the shards
// given a laggingWriter.
type stragglerFixture struct {
	c       *Coder
	object  []byte
	bufs    []*bytes.Buffer
	writers []io.Writer
	lagging map[int]*laggingWriter
}

func newStragglerFixture(t *testing.T, blocks int, lagging map[int]*laggingWriter) *stragglerFixture {
	t.Helper()
	return newStragglerFixtureOn(t, mustCoder(t, 4, 2, 4096), 90, blocks, lagging)
}

// newStragglerFixtureOn is newStragglerFixture with a 4+2 coder of the
// caller's and an object of the given seed.
func newStragglerFixtureOn(t *testing.T, c *Coder, seed uint64, blocks int, lagging map[int]*laggingWriter) *stragglerFixture {
	t.Helper()
	f := &stragglerFixture{
		c:       c,
		object:  randomBytes(seed, blocks*int(c.BlockSize())-100),
		lagging: lagging,
	}
	f.bufs = make([]*bytes.Buffer, f.c.TotalShards())
	f.writers = make([]io.Writer, f.c.TotalShards())
	for i := range f.writers {
		var w io.Writer
		if l, ok := lagging[i]; ok {
			f.bufs[i], w = &l.buf, l
		} else {
			f.bufs[i] = new(bytes.Buffer)
			w = f.bufs[i]
		}
		bw, err := NewBitrotWriter(w, testKey, f.c.ShardSize())
		if err != nil {
			t.Fatal(err)
		}
		f.writers[i] = bw
	}
	return f
}

func (f *stragglerFixture) encode(t *testing.T, quorum int, grace time.Duration) (time.Duration, []error) {
	t.Helper()
	start := time.Now()
	n, errs, err := f.c.EncodeWith(context.Background(), f.writers, bytes.NewReader(f.object), int64(len(f.object)), quorum, EncodeOptions{Grace: grace})
	took := time.Since(start)
	if err != nil || n != int64(len(f.object)) {
		t.Fatalf("EncodeWith: n=%d err=%v, want %d bytes", n, err, len(f.object))
	}
	return took, errs
}

// decodes checks that the shards of the writers Encode reports healthy
// decode to the object.
func (f *stragglerFixture) decodes(t *testing.T, errs []error) {
	t.Helper()
	readers := make([]io.Reader, f.c.TotalShards())
	for i := range readers {
		if errs[i] == nil {
			r, err := NewBitrotReader(bytes.NewReader(f.bufs[i].Bytes()), testKey, f.c.ShardSize(), 0, f.c.ShardFileSize(int64(len(f.object))))
			if err != nil {
				t.Fatal(err)
			}
			readers[i] = r
		}
	}
	got, _, err := decodeRange(t, f.c, readers, 0, int64(len(f.object)), int64(len(f.object)))
	if err != nil || !bytes.Equal(got, f.object) {
		t.Fatalf("decode from the healthy shards: %v (%d of %d bytes)", err, len(got), len(f.object))
	}
}

// TestEncodeAbandonsStalledWriter: a writer that stops making progress at
// block 2 (and would never go on) is abandoned once the others have the
// block and the grace is over; Encode finishes without it, and says why.
func TestEncodeAbandonsStalledWriter(t *testing.T) {
	stalled := newLaggingWriter()
	stalled.stall, stalled.stallFrom = true, 4 // bitrot writes two per block: hash, chunk
	f := newStragglerFixture(t, 8, map[int]*laggingWriter{1: stalled})
	took, errs := f.encode(t, f.c.WriteQuorum(), 20*time.Millisecond)
	t.Logf("encode with a stalled writer took %v", took)
	if !errors.Is(errs[1], ErrShardStraggler) {
		t.Fatalf("stalled writer: err %v, want ErrShardStraggler", errs[1])
	}
	if !errors.Is(stalled.cause, ErrShardStraggler) {
		t.Errorf("Abandon cause %v, want ErrShardStraggler", stalled.cause)
	}
	if got := stalled.abandonCalls.Load(); got != 1 {
		t.Errorf("Abandon called %d times, want once", got)
	}
	if stalled.writes != 5 {
		t.Errorf("stalled writer got %d writes, want 5 (none after it was abandoned)", stalled.writes)
	}
	for i, err := range errs {
		if i != 1 && err != nil {
			t.Errorf("writer %d: %v", i, err)
		}
	}
	f.decodes(t, errs)
	if took > 10*time.Second {
		t.Fatalf("encode took %v: the stalled writer was waited for", took)
	}
}

// TestEncodeLeavesSlowWriterBehind: a writer that keeps going, but at a
// fraction of the others' speed, is dropped after about the grace instead
// of setting the pace for the whole object.
func TestEncodeLeavesSlowWriterBehind(t *testing.T) {
	const blocks, delay, grace = 24, 40 * time.Millisecond, 100 * time.Millisecond
	slow := newLaggingWriter()
	slow.delay = delay
	f := newStragglerFixture(t, blocks, map[int]*laggingWriter{4: slow})
	took, errs := f.encode(t, f.c.WriteQuorum(), grace)
	t.Logf("encode of %d blocks with a writer taking %v per write: %v, the slow writer got %d writes", blocks, delay, took, slow.writes)
	if !errors.Is(errs[4], ErrShardStraggler) {
		t.Fatalf("slow writer: err %v, want ErrShardStraggler", errs[4])
	}
	// At its pace the object would take 2*blocks writes; it was dropped
	// long before.
	if slow.writes >= 2*blocks {
		t.Errorf("slow writer got all %d writes", slow.writes)
	}
	healthy := 0
	for _, err := range errs {
		if err == nil {
			healthy++
		}
	}
	if healthy < f.c.WriteQuorum() {
		t.Fatalf("%d healthy writers, below the quorum %d", healthy, f.c.WriteQuorum())
	}
	f.decodes(t, errs)
}

// TestEncodeKeepsWriteQuorum: with only a write quorum of writers, a slow
// one is never abandoned, however long it takes: the object just waits.
func TestEncodeKeepsWriteQuorum(t *testing.T) {
	for _, tt := range []struct {
		name   string
		nils   []int
		quorum int
	}{
		{"two missing, quorum 4", []int{0, 5}, 4},
		{"one missing, quorum 5", []int{3}, 5},
	} {
		t.Run(tt.name, func(t *testing.T) {
			const blocks = 6
			slow := newLaggingWriter()
			slow.delay = 15 * time.Millisecond
			f := newStragglerFixture(t, blocks, map[int]*laggingWriter{2: slow})
			for _, i := range tt.nils {
				f.writers[i] = nil
			}
			took, errs := f.encode(t, tt.quorum, time.Millisecond)
			t.Logf("took %v", took)
			if errs[2] != nil || slow.abandonCalls.Load() != 0 {
				t.Fatalf("slow writer abandoned below the quorum: %v", errs[2])
			}
			if slow.writes != 2*blocks {
				t.Errorf("slow writer got %d writes, want %d", slow.writes, 2*blocks)
			}
			f.decodes(t, errs)
		})
	}
}

// TestEncodeAbandonedWriteKeepsItsBuffer: a Write that was abandoned but
// still reads its shard for a while must find it unchanged: the encoder
// goes on with a fresh buffer and returns the old one to the pool only
// once that Write is over. Under the race detector any reuse is a report.
func TestEncodeAbandonedWriteKeepsItsBuffer(t *testing.T) {
	stalled := newLaggingWriter()
	stalled.stall, stalled.stallFrom = true, 3
	stalled.lingerAfterAbandon = 50 * time.Millisecond
	f := newStragglerFixture(t, 12, map[int]*laggingWriter{0: stalled})
	_, errs := f.encode(t, f.c.WriteQuorum(), 5*time.Millisecond)
	if !errors.Is(errs[0], ErrShardStraggler) {
		t.Fatalf("stalled writer: err %v, want ErrShardStraggler", errs[0])
	}
	if stalled.changed.Load() {
		t.Fatal("the buffer of an abandoned Write was reused while it still read it")
	}
	f.decodes(t, errs)
	// The coder's pool is whole again: coding again works.
	again := newStragglerFixture(t, 12, nil)
	again.c = f.c
	_, errs = again.encode(t, f.c.WriteQuorum(), 5*time.Millisecond)
	again.decodes(t, errs)
}

// TestEncodeWaitsForWritersThatCannotBeAbandoned: a slow writer that is
// not an Abandoner is waited for, as without a grace.
func TestEncodeWaitsForWritersThatCannotBeAbandoned(t *testing.T) {
	f := newStragglerFixture(t, 4, nil)
	var buf bytes.Buffer
	bw, err := NewBitrotWriter(sleepyWriter{delay: 10 * time.Millisecond, w: &buf}, testKey, f.c.ShardSize())
	if err != nil {
		t.Fatal(err)
	}
	f.writers[3], f.bufs[3] = bw, &buf
	_, errs := f.encode(t, f.c.WriteQuorum(), time.Millisecond)
	for i, err := range errs {
		if err != nil {
			t.Errorf("writer %d: %v", i, err)
		}
	}
	if buf.Len() != int(f.c.ShardDiskSize(int64(len(f.object)))) {
		t.Errorf("slow writer got %d bytes, want its whole shard file", buf.Len())
	}
	f.decodes(t, errs)
}

// TestEncodeTwoStragglers: two stalled writers of a 4+2 set are both left
// behind (quorum 4), in different blocks.
func TestEncodeTwoStragglers(t *testing.T) {
	a, b := newLaggingWriter(), newLaggingWriter()
	a.stall, a.stallFrom = true, 2
	b.stall, b.stallFrom = true, 8
	f := newStragglerFixture(t, 10, map[int]*laggingWriter{1: a, 5: b})
	_, errs := f.encode(t, 4, 5*time.Millisecond)
	if !errors.Is(errs[1], ErrShardStraggler) || !errors.Is(errs[5], ErrShardStraggler) {
		t.Fatalf("errs %v, want both stalled writers left behind", errs)
	}
	f.decodes(t, errs)
}

// sleepyWriter takes delay for every Write and cannot be abandoned.
type sleepyWriter struct {
	delay time.Duration
	w     io.Writer
}

func (s sleepyWriter) Write(p []byte) (int, error) {
	time.Sleep(s.delay)
	return s.w.Write(p)
}

// heldWriter is a slow shard writer that cannot be abandoned and checks
// that the shard it was handed does not change while it holds it, as a
// copy into a ring buffer in front of a slow drive would see it.
type heldWriter struct {
	delay   time.Duration
	w       io.Writer
	changed *atomic.Bool
}

func (h heldWriter) Write(p []byte) (int, error) {
	before := bytes.Clone(p)
	time.Sleep(h.delay)
	if !bytes.Equal(before, p) {
		h.changed.Store(true)
	}
	return h.w.Write(before)
}

// TestEncodeKeepsABufferOthersStillRead: a straggler abandoned while
// another writer of the same block still reads it gives the block's
// buffer back only once that writer too is done. Encodes run at once on
// one coder, so that a buffer back in the pool too early is taken and
// overwritten while the slow writer still reads it.
func TestEncodeKeepsABufferOthersStillRead(t *testing.T) {
	// Blocks large enough for their buffers to come from the pool of
	// package iobuf, which gives a returned buffer to the next taker.
	const block = 64 << 10
	c := mustCoder(t, 4, 2, block)
	var changed atomic.Bool
	// Six encoders, four objects each; the fixtures are made and checked
	// on the test's goroutine.
	const encoders, rounds = 6, 4
	fixtures := make([][]*stragglerFixture, encoders)
	results := make([][][]error, encoders)
	for e := range encoders {
		results[e] = make([][]error, rounds)
		for round := range rounds {
			stalled := newLaggingWriter()
			stalled.stall, stalled.stallFrom = true, 2
			f := newStragglerFixtureOn(t, c, uint64(e*10+round), 8, map[int]*laggingWriter{0: stalled})
			var buf bytes.Buffer
			bw, err := NewBitrotWriter(heldWriter{delay: 3 * time.Millisecond, w: &buf, changed: &changed}, testKey, c.ShardSize())
			if err != nil {
				t.Fatal(err)
			}
			f.writers[5], f.bufs[5] = bw, &buf
			fixtures[e] = append(fixtures[e], f)
		}
	}
	var wg sync.WaitGroup
	for e := range encoders {
		wg.Go(func() {
			for round, f := range fixtures[e] {
				n, errs, err := c.EncodeWith(context.Background(), f.writers, bytes.NewReader(f.object), int64(len(f.object)), 4, EncodeOptions{Grace: time.Millisecond})
				if err != nil || n != int64(len(f.object)) {
					t.Errorf("encode %d.%d: n=%d err=%v", e, round, n, err)
					continue
				}
				results[e][round] = errs
			}
		})
	}
	wg.Wait()
	if changed.Load() {
		t.Fatal("a block's buffer was reused while a writer still read it")
	}
	for e := range encoders {
		for round, errs := range results[e] {
			if errs == nil {
				continue // reported above
			}
			if !errors.Is(errs[0], ErrShardStraggler) {
				t.Errorf("encode %d.%d: stalled writer: %v", e, round, errs[0])
			}
			fixtures[e][round].decodes(t, errs)
		}
	}
}
