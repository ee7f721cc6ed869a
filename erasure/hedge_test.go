package erasure

import (
	"bytes"
	"context"
	"errors"
	"io"
	"sync/atomic"
	"testing"
	"time"
)

// stallingReader is a shard reader that an Interrupter can outrun. Its
// reads stall, ignoring everything but Interrupt, the way a read from a
// paused drive does: while stalled is set (until released), or for delay
// before each read.
type stallingReader struct {
	r           io.Reader
	delay       time.Duration
	stallBlocks int // the first stallBlocks reads stall until released
	stallFrom   int // reads from the stallFrom-th on (counting from 1) stall until released (0: none)
	failFrom    int // reads from the failFrom-th on fail (0: never)
	reads       int
	release     chan struct{}
	interrupts  chan struct{} // sticky: one pending interrupt at most
	skipLeft    int64         // left over from an interrupted Skip
	interrupted atomic.Int32
}

func newStallingReader(r io.Reader) *stallingReader {
	return &stallingReader{r: r, release: make(chan struct{}), interrupts: make(chan struct{}, 1)}
}

func (s *stallingReader) Interrupt() {
	select {
	case s.interrupts <- struct{}{}:
	default:
	}
}

// wait stalls as configured; it reports ErrShardLate when interrupted.
func (s *stallingReader) wait() error {
	var stall <-chan struct{}
	if s.reads < s.stallBlocks || (s.stallFrom > 0 && s.reads+1 >= s.stallFrom) {
		stall = s.release
	}
	var delay <-chan time.Time
	if s.delay > 0 {
		t := time.NewTimer(s.delay)
		defer t.Stop()
		delay = t.C
	}
	if stall == nil && delay == nil {
		select {
		case <-s.interrupts:
			s.interrupted.Add(1)
			return ErrShardLate
		default:
			return nil
		}
	}
	for stall != nil || delay != nil {
		select {
		case <-stall:
			stall = nil
		case <-delay:
			delay = nil
		case <-s.interrupts:
			s.interrupted.Add(1)
			return ErrShardLate
		}
	}
	return nil
}

func (s *stallingReader) Read(p []byte) (int, error) {
	if err := s.wait(); err != nil {
		return 0, err
	}
	if s.skipLeft > 0 {
		if _, err := io.CopyN(io.Discard, s.r, s.skipLeft); err != nil {
			return 0, err
		}
		s.skipLeft = 0
	}
	s.reads++
	if s.failFrom > 0 && s.reads >= s.failFrom {
		return 0, errors.New("drive gone")
	}
	return s.r.Read(p)
}

// Skip passes over n bytes, or, interrupted, keeps them for the next call.
func (s *stallingReader) Skip(n int64) error {
	s.skipLeft += n
	if err := s.wait(); err != nil {
		return err
	}
	_, err := io.CopyN(io.Discard, s.r, s.skipLeft)
	s.skipLeft = 0
	return err
}

func hedgeReaders(t *testing.T, f decodeFixture) ([]io.Reader, []*stallingReader) {
	plain := rangeReaders(t, f.c, f.files, 0, f.size, f.size)
	readers := make([]io.Reader, len(plain))
	stalling := make([]*stallingReader, len(plain))
	for i, r := range plain {
		stalling[i] = newStallingReader(r)
		readers[i] = stalling[i]
	}
	return readers, stalling
}

func decodeHedged(t *testing.T, f decodeFixture, readers []io.Reader, late time.Duration) ([]byte, []error, error) {
	t.Helper()
	var out bytes.Buffer
	var observed atomic.Int32
	n, errs, err := f.c.DecodeWith(context.Background(), &out, readers, 0, f.size, f.size,
		DecodeOptions{Late: late, Observe: func(time.Duration) { observed.Add(1) }})
	if n != int64(out.Len()) {
		t.Fatalf("Decode returned n=%d but wrote %d bytes", n, out.Len())
	}
	if err == nil && observed.Load() == 0 {
		t.Error("Observe was never called")
	}
	return out.Bytes(), errs, err
}

// A data shard that stalls (a paused drive) is outrun by parity once it is
// late: the object comes back whole, the stalled shard is not reported
// failed, and Decode does not wait for it.
func TestDecodeOutrunsAStalledShard(t *testing.T) {
	f := newDecodeFixture(t)
	readers, stalling := hedgeReaders(t, f)
	stalling[1].stallBlocks = 1 << 30 // for good
	defer close(stalling[1].release)
	done := make(chan struct{})
	var got []byte
	var errs []error
	var err error
	go func() {
		defer close(done)
		got, errs, err = decodeHedged(t, f, readers, 10*time.Millisecond)
	}()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("Decode waited for a stalled shard although parity was there")
	}
	if err != nil || !bytes.Equal(got, f.object) {
		t.Fatalf("decode: %v", err)
	}
	for i, e := range errs {
		if e != nil {
			t.Errorf("shard %d reported %v; an outrun shard is not a failed one", i, e)
		}
	}
	if stalling[1].interrupted.Load() == 0 {
		t.Error("the stalled shard's read was never interrupted")
	}
}

// A data shard and the parity shard the hedge asks in its place stall
// alike (two drives of one paused node): the hedge goes on asking, one late
// period after the other, until the block has its shards, rather than wait
// for the stalled reads (issue 12: a GET hung 20 s with healthy parity
// never asked).
func TestDecodeHedgeAsksAgainWhenTheStandInStalls(t *testing.T) {
	f := newDecodeFixture(t)
	readers, stalling := hedgeReaders(t, f)
	for _, i := range []int{1, 4} { // 4: the first parity shard, asked first
		stalling[i].stallBlocks = 1 << 30
		defer close(stalling[i].release)
	}
	done := make(chan struct{})
	var got []byte
	var err error
	go func() {
		defer close(done)
		got, _, err = decodeHedged(t, f, readers, 10*time.Millisecond)
	}()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("Decode waited for two stalled shards although parity was there")
	}
	if err != nil || !bytes.Equal(got, f.object) {
		t.Fatalf("decode: %v", err)
	}
	if stalling[1].interrupted.Load() == 0 || stalling[4].interrupted.Load() == 0 {
		t.Errorf("interrupts: shard 1 %d, shard 4 %d; both stalled reads should have been outrun",
			stalling[1].interrupted.Load(), stalling[4].interrupted.Load())
	}
}

// A failed write returns at once even while a read of the next block
// (started ahead) is stalled: the read is interrupted, not waited for.
func TestDecodeFailedWriteDoesNotWaitForAStalledRead(t *testing.T) {
	f := newDecodeFixture(t)
	readers, stalling := hedgeReaders(t, f)
	stalling[1].stallFrom = 2 // block 0 arrives, block 1 never does
	defer close(stalling[1].release)
	done := make(chan error, 1)
	go func() {
		_, _, err := f.c.DecodeWith(context.Background(), &failingWriter{w: io.Discard}, readers, 0, f.size, f.size,
			DecodeOptions{Late: time.Hour})
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("decode into a failing writer succeeded")
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Decode waited for a stalled read after its write had failed")
	}
}

// A shard late for its first block only, then quick, is outrun once and
// then read in its turn (last, behind the others): its position stays right,
// which the bitrot readers below it would catch if it did not.
func TestDecodeOutrunShardKeepsItsPlace(t *testing.T) {
	f := newDecodeFixture(t)
	readers, stalling := hedgeReaders(t, f)
	stalling[0].stallBlocks = 1
	// Both parity shards fail from their third read (block 2) on, so that
	// from there the outrun shard must be read again, two blocks further.
	stalling[4].failFrom, stalling[5].failFrom = 3, 3
	go func() {
		for stalling[0].interrupted.Load() == 0 {
			time.Sleep(time.Millisecond)
		}
		close(stalling[0].release)
	}()
	got, errs, err := decodeHedged(t, f, readers, 10*time.Millisecond)
	if err != nil || !bytes.Equal(got, f.object) {
		t.Fatalf("decode: %v", err)
	}
	if stalling[0].interrupted.Load() == 0 || stalling[0].reads == 0 {
		t.Fatalf("shard 0: %d interrupts, %d reads; the test wants it outrun, then read", stalling[0].interrupted.Load(), stalling[0].reads)
	}
	if errs[0] != nil {
		t.Fatalf("shard 0 reported %v", errs[0])
	}
}

// When every shard is slow alike (an overloaded node), hedging asks more
// but never turns slowness into a failure.
func TestDecodeAllSlowStillDecodes(t *testing.T) {
	f := newDecodeFixture(t)
	readers, stalling := hedgeReaders(t, f)
	for _, s := range stalling {
		s.delay = 15 * time.Millisecond
	}
	got, errs, err := decodeHedged(t, f, readers, time.Millisecond)
	if err != nil || !bytes.Equal(got, f.object) {
		t.Fatalf("decode with every shard slow: %v", err)
	}
	for i, e := range errs {
		if e != nil {
			t.Errorf("shard %d reported %v", i, e)
		}
	}
}

// Readers that cannot be interrupted are waited for, as without Late.
func TestDecodeLateNeedsInterrupters(t *testing.T) {
	f := newDecodeFixture(t)
	readers := rangeReaders(t, f.c, f.files, 0, f.size, f.size)
	got, _, err := decodeHedged(t, f, readers, time.Nanosecond)
	if err != nil || !bytes.Equal(got, f.object) {
		t.Fatalf("decode: %v", err)
	}
}

// An interrupt meant for the block before (it came just as that read
// returned) stops the next block's read of a healthy data shard at once.
// The shard is asked again: with the parity bad, the block needs it
// (CI: "3 of 8 shards healthy, need 4" with only parity failing).
func TestDecodeAsksAgainAfterAStaleInterrupt(t *testing.T) {
	f := newDecodeFixture(t)
	readers, stalling := hedgeReaders(t, f)
	stalling[0].Interrupt()
	stalling[4].failFrom, stalling[5].failFrom = 1, 1
	got, errs, err := decodeHedged(t, f, readers, time.Hour)
	if err != nil || !bytes.Equal(got, f.object) {
		t.Fatalf("decode: %v", err)
	}
	if stalling[0].interrupted.Load() != 1 {
		t.Fatalf("shard 0 interrupted %d times; the test wants its first read stopped", stalling[0].interrupted.Load())
	}
	if errs[0] != nil {
		t.Fatalf("shard 0 reported %v", errs[0])
	}
}

// lateMidBlock is a shard reader that hands out at most 100 bytes a Read
// and whose Read number lateAt returns ErrShardLate: an interrupt that
// lands between two reads of one block.
type lateMidBlock struct {
	r      io.Reader
	reads  int
	lateAt int
}

func (l *lateMidBlock) Interrupt() {}

func (l *lateMidBlock) Read(p []byte) (int, error) {
	l.reads++
	if l.reads == l.lateAt {
		return 0, ErrShardLate
	}
	return l.r.Read(p[:min(len(p), 100)])
}

// A read stopped in the middle of a block and asked again goes on where it
// stopped: the bytes it had read stay, and none are read twice.
func TestDecodeAsksAgainMidBlock(t *testing.T) {
	f := newDecodeFixture(t)
	if f.c.ShardSize() <= 100 {
		t.Fatalf("shard size %d: the test needs several reads a block", f.c.ShardSize())
	}
	readers, stalling := hedgeReaders(t, f)
	readers[0] = &lateMidBlock{r: readers[0], lateAt: 2}
	stalling[4].failFrom, stalling[5].failFrom = 1, 1
	got, errs, err := decodeHedged(t, f, readers, time.Hour)
	if err != nil || !bytes.Equal(got, f.object) {
		t.Fatalf("decode: %v (%d of %d bytes)", err, len(got), len(f.object))
	}
	if errs[0] != nil {
		t.Fatalf("shard 0 reported %v", errs[0])
	}
}
