package erasure

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"
)

// Decode writes the bytes [offset, offset+length) of an object of size bytes
// to dst. readers[i] reads shard i's data from the start of ShardRange(offset,
// length, size) on, typically a *BitrotReader; nil means the shard is
// missing.
//
// Only the blocks covering the range are read, each from DataShards
// healthy shards. Data shards are preferred: while they are all healthy no
// parity reader is read at all and nothing is reconstructed. A reader that
// fails (an error, a short stream, a *BitrotError) is dropped for that block
// and every later one, and the next parity reader takes its place; a parity
// reader joining late first skips the blocks it missed: with Skip on a
// BitrotReader (free while a lazy one has not opened yet), Seek on an
// io.Seeker, else by reading.
//
// shardErrs[i] tells why shard i was not usable (nil if it was, or was never
// needed), for the heal queue. If fewer than DataShards shards of a block
// are healthy Decode fails with an error wrapping ErrReadQuorum and writes
// nothing of that block; n counts the bytes written to dst before.
//
// Readers are read in parallel, one goroutine per reader used, and the next
// block is read while the current one is written to dst. Decode returns only
// after every Read it started has returned (when it fails early, it first
// interrupts those of readers that are Interrupters); it does not close the
// readers.
func (c *Coder) Decode(ctx context.Context, dst io.Writer, readers []io.Reader, offset, length, size int64) (n int64, shardErrs []error, err error) {
	return c.DecodeWith(ctx, dst, readers, offset, length, size, DecodeOptions{})
}

// DecodeOptions tunes DecodeWith.
type DecodeOptions struct {
	// Late, if positive, is how long a block's reads may take before
	// Decode hedges: it asks as many more shards (parity) as reads are
	// still out, and decodes from whichever shards arrive first. The
	// reads that were outrun are interrupted, which needs readers that
	// implement Interrupter (others are waited for, as without Late);
	// a reader that was outrun is read after the others from then on.
	Late time.Duration
	// Observe, if set, is told how long each block took to have enough
	// shards, from when its reads were asked: what a caller learns Late
	// from.
	Observe func(time.Duration)
	// Outrun, if set, is told (on Decode's goroutine) each time a read of
	// shard was outrun: interrupted because other shards made its block
	// first. What a caller learns which drives are late from.
	Outrun func(shard int)
	// Avoid, if not nil, has one entry per shard: a shard marked is read
	// only as a last resort, when the others cannot make a block (they
	// failed, or are late under Late), as a reader once outrun is. A
	// caller marks the shards of drives it expects to be late, so that
	// parity stands in for them from the first block instead of after
	// Late. It never makes Decode ask fewer shards than a block needs.
	Avoid []bool
}

// Interrupter is a shard reader whose Read (or Skip) can be told to give
// up waiting: it then returns ErrShardLate at once and stays usable. The
// bytes it was waiting for go to its next Read; an interrupted Skip keeps
// what it had left to pass over and passes over it first on the next call.
// Interrupt may be called from any goroutine. If no Read or Skip is
// waiting, the next one returns ErrShardLate at once (Decode then merely
// asks one shard more than it needed).
type Interrupter interface {
	Interrupt()
}

// DecodeWith is Decode with options; see DecodeOptions.
func (c *Coder) DecodeWith(ctx context.Context, dst io.Writer, readers []io.Reader, offset, length, size int64, opts DecodeOptions) (n int64, shardErrs []error, err error) {
	if len(readers) != c.TotalShards() {
		return 0, nil, fmt.Errorf("%w: decode: %d readers for %d shards", ErrInvalidArgument, len(readers), c.TotalShards())
	}
	if dst == nil {
		return 0, nil, fmt.Errorf("%w: decode: nil destination", ErrInvalidArgument)
	}
	if err := checkRange(offset, length, size); err != nil {
		return 0, nil, fmt.Errorf("decode: %w", err)
	}
	in := newShardReaders(readers, c.data, !c.sequentialIO)
	in.late, in.observe, in.onOutrun = opts.Late, opts.Observe, opts.Outrun
	if opts.Avoid != nil {
		if len(opts.Avoid) != len(readers) {
			return 0, nil, fmt.Errorf("%w: decode: %d avoid marks for %d shards", ErrInvalidArgument, len(opts.Avoid), len(readers))
		}
		// Avoided shards start where outrun ones end up: asked last.
		copy(in.outrun, opts.Avoid)
	}
	defer in.close()
	if length == 0 {
		return 0, in.errs, nil
	}
	if h := in.healthy(); h < c.data {
		return 0, in.errs, fmt.Errorf("decode: %d of %d shard readers available, need %d: %w", h, len(readers), c.data, ErrReadQuorum)
	}

	first, last := c.blockSpan(offset, length)
	bufs := blockPair{c: c}
	defer bufs.release()
	// The readers must be done with bufs before they go back to the pool;
	// on an early return (a failed write, a cancelled request) the reads
	// still out are interrupted rather than waited for.
	defer in.stopReads()

	c.startBlockRead(in, bufs.get(0), first, first, size)
	for block, cur := first, 0; block <= last; block, cur = block+1, cur^1 {
		if err := ctx.Err(); err != nil {
			return n, in.errs, fmt.Errorf("decode block %d: %w", block, err)
		}
		b := bufs.get(cur)
		if err := in.finish(b, block); err != nil {
			return n, in.errs, fmt.Errorf("decode block %d: %w", block, err)
		}
		if block < last {
			// Prefetch: the next block's reads overlap writing this one.
			c.startBlockRead(in, bufs.get(cur^1), block+1, first, size)
		}
		if err := c.reconstruct(b, nil); err != nil {
			return n, in.errs, fmt.Errorf("decode block %d: reconstruct: %w", block, err)
		}
		blockStart := block * c.blockSize
		lo := max(offset, blockStart) - blockStart
		hi := min(offset+length, blockStart+c.blockLength(block, size)) - blockStart
		written, err := dst.Write(b.backing[lo:hi])
		n += int64(written)
		if err == nil && int64(written) < hi-lo {
			err = io.ErrShortWrite
		}
		if err != nil {
			return n, in.errs, fmt.Errorf("decode block %d: write: %w", block, err)
		}
	}
	return n, in.errs, nil
}

// startBlockRead asks the readers for block's shards, read into b. The
// readers start at the shard offset of block first.
func (c *Coder) startBlockRead(in *shardReaders, b *blockBuffer, block, first, size int64) {
	b.layout(int(c.blockShardSize(block, size)))
	b.rel = c.shardOffset(block) - c.shardOffset(first)
	in.asked = time.Now()
	in.ask(b, c.data, block)
}

// reconstruct rebuilds the shards of b that are not present: the data
// shards if required is nil, else the shards marked required.
func (c *Coder) reconstruct(b *blockBuffer, required []bool) error {
	missing := false
	for i, ok := range b.present {
		if ok {
			continue
		}
		// An empty shard with capacity is what reedsolomon rebuilds, in place.
		b.shards[i] = b.shards[i][:0]
		if (required == nil && i < c.data) || (required != nil && required[i]) {
			missing = true
		}
	}
	if !missing {
		return nil
	}
	if required == nil {
		return c.rs.ReconstructData(b.shards)
	}
	return c.rs.ReconstructSome(b.shards, required)
}

// shardReaders reads the shards of one block at a time from their readers,
// replacing a failed reader by the next healthy one.
type shardReaders struct {
	readers  []io.Reader
	errs     []error
	pos      []int64 // where each reader is, relative to the range start
	need     int
	parallel bool

	// One goroutine per reader, started on first use; each reads the
	// requested shard and reports on done. At most one block is in flight.
	reqs    []chan shardRequest
	done    chan shardResult
	pending int
	wg      sync.WaitGroup

	// Hedging (DecodeOptions): inFlight marks the readers with a read of
	// the current block out, outrun those once interrupted, which are
	// asked after the others; asked is when the block's reads started.
	late     time.Duration
	observe  func(time.Duration)
	onOutrun func(shard int)
	inFlight []bool
	outrun   []bool
	asked    time.Time
}

func newShardReaders(readers []io.Reader, need int, parallel bool) *shardReaders {
	s := &shardReaders{
		readers:  readers,
		errs:     make([]error, len(readers)),
		pos:      make([]int64, len(readers)),
		need:     need,
		parallel: parallel,
		reqs:     make([]chan shardRequest, len(readers)),
		done:     make(chan shardResult, len(readers)),
		inFlight: make([]bool, len(readers)),
		outrun:   make([]bool, len(readers)),
	}
	for i, r := range readers {
		if r == nil {
			s.errs[i] = fmt.Errorf("shard %d: %w", i, ErrShardMissing)
		}
	}
	return s
}

func (s *shardReaders) usable(i int) bool {
	return s.readers[i] != nil && s.errs[i] == nil
}

func (s *shardReaders) healthy() int {
	h := 0
	for i := range s.readers {
		if s.usable(i) {
			h++
		}
	}
	return h
}

// ask starts reading up to want more shards of b's block, lowest index
// first so that data shards are preferred, readers once outrun (or
// avoided) last, and
// returns how many it asked.
func (s *shardReaders) ask(b *blockBuffer, want int, block int64) int {
	asked := 0
	for pass := range 2 {
		for i := 0; i < len(s.readers) && asked < want; i++ {
			if !s.usable(i) || b.asked[i] || s.outrun[i] != (pass == 1) {
				continue
			}
			b.asked[i] = true
			asked++
			req := shardRequest{buf: b.shards[i], block: block, skip: b.rel - s.pos[i], from: s.pos[i]}
			if req.skip < 0 {
				// Asked again after an interrupt that came mid-block: its
				// first bytes are in the buffer already.
				req.buf, req.skip = req.buf[-req.skip:], 0
			}
			s.pos[i] = b.rel + int64(len(b.shards[i]))
			if !s.parallel {
				s.record(b, i, readShard(s.readers[i], req), block)
				continue
			}
			if s.reqs[i] == nil {
				s.reqs[i] = make(chan shardRequest, 1)
				s.wg.Add(1)
				go s.serve(i)
			}
			s.inFlight[i] = true
			s.reqs[i] <- req
			s.pending++
		}
	}
	return asked
}

func (s *shardReaders) serve(i int) {
	defer s.wg.Done()
	for req := range s.reqs[i] {
		consumed, err := readShardCounting(s.readers[i], req)
		if err != nil && !errors.Is(err, ErrShardLate) {
			err = fmt.Errorf("block %d: %w", req.block, err)
		}
		if errors.Is(err, ErrShardLate) {
			// Where the reader really is: the next request skips from there.
			consumed += req.from
		}
		s.done <- shardResult{shard: i, err: err, consumed: consumed}
	}
}

// collect waits for the reads in flight and records them in b (if not nil).
func (s *shardReaders) collect(b *blockBuffer) {
	for s.pending > 0 {
		s.take(b, <-s.done)
	}
}

// take records one finished read in b (if not nil).
func (s *shardReaders) take(b *blockBuffer, r shardResult) {
	s.pending--
	s.inFlight[r.shard] = false
	switch {
	case errors.Is(r.err, ErrShardLate):
		s.pos[r.shard] = r.consumed // not present, still usable
		if b != nil {
			// The reader may be asked for this block again. An interrupt
			// meant for the block before, which came when that read had
			// just returned, stops this one at once: without asking again
			// a healthy data shard would count as neither present nor
			// failed, and a block whose parity is bad would fail.
			b.asked[r.shard] = false
		}
	case r.err != nil:
		s.errs[r.shard] = fmt.Errorf("shard %d: %w", r.shard, r.err)
	case b != nil:
		b.present[r.shard] = true
	}
}

func (s *shardReaders) record(b *blockBuffer, i int, err error, block int64) {
	if err != nil {
		s.errs[i] = fmt.Errorf("shard %d: block %d: %w", i, block, err)
		return
	}
	b.present[i] = true
}

// finish waits until b holds `need` healthy shards of block, asking other
// readers as those in flight fail.
func (s *shardReaders) finish(b *blockBuffer, block int64) error {
	if s.parallel && s.late > 0 && s.interruptible() {
		return s.finishHedged(b, block)
	}
	for {
		s.collect(b)
		good := b.count()
		if good >= s.need {
			s.observed()
			return nil
		}
		if s.ask(b, s.need-good, block) == 0 {
			return s.quorumError(good)
		}
	}
}

// finishHedged is finish that, when the reads in flight take longer than
// late, asks as many more readers (parity) and keeps the first shards to
// arrive.
func (s *shardReaders) finishHedged(b *blockBuffer, block int64) error {
	late := time.NewTimer(max(0, s.late-time.Since(s.asked)))
	defer late.Stop()
	for {
		good := b.count()
		if good >= s.need {
			// Outrun: the reads still out give up at once, so that b is
			// free for reuse when this returns, and their readers go last.
			for i, f := range s.inFlight {
				if f {
					s.readers[i].(Interrupter).Interrupt()
					s.outrun[i] = true
					if s.onOutrun != nil {
						s.onOutrun(i)
					}
				}
			}
			s.collect(b)
			s.observed()
			return nil
		}
		if s.pending+good < s.need {
			if s.ask(b, s.need-good-s.pending, block) > 0 {
				continue
			}
			if s.pending == 0 {
				return s.quorumError(good)
			}
		}
		select {
		case r := <-s.done:
			s.take(b, r)
		case <-late.C:
			// As many more as are out: whichever need arrive first win.
			// The timer runs again: a shard asked now may be as late as
			// those it stands in for (both on one paused node), and the
			// reads out would otherwise hold the block until the readers
			// give up on their own (a shard timeout, 30 s by default)
			// while healthy shards are never asked.
			s.ask(b, s.pending, block)
			late.Reset(s.late)
		}
	}
}

// observed reports the block's time to Observe.
func (s *shardReaders) observed() {
	if s.observe != nil {
		s.observe(time.Since(s.asked))
	}
}

func (s *shardReaders) quorumError(good int) error {
	return fmt.Errorf("%d of %d shards healthy, need %d: %w", good, len(s.readers), s.need, ErrReadQuorum)
}

// interruptible reports whether every reader can be interrupted, which
// hedging needs: an outrun read must give b back before finish returns.
func (s *shardReaders) interruptible() bool {
	for _, r := range s.readers {
		if _, ok := r.(Interrupter); r != nil && !ok {
			return false
		}
	}
	return true
}

// stopReads interrupts the reads in flight that can be (Interrupter) and
// waits for them all to return.
func (s *shardReaders) stopReads() {
	for i, f := range s.inFlight {
		if !f {
			continue
		}
		if r, ok := s.readers[i].(Interrupter); ok {
			r.Interrupt()
		}
	}
	s.collect(nil)
}

// close stops the goroutines once their current read has returned.
func (s *shardReaders) close() {
	s.collect(nil)
	for _, ch := range s.reqs {
		if ch != nil {
			close(ch)
		}
	}
	s.wg.Wait()
}

// readShard reads one block's shard into req.buf, first passing over the
// req.skip bytes of blocks this reader was not asked for.
func readShard(r io.Reader, req shardRequest) error {
	_, err := readShardCounting(r, req)
	return err
}

// readShardCounting is readShard, also telling how many bytes it skipped
// and read: where an interrupted reader stopped.
func readShardCounting(r io.Reader, req shardRequest) (int64, error) {
	if req.skip > 0 {
		if err := skipShard(r, req.skip); err != nil {
			if errors.Is(err, ErrShardLate) {
				// An interrupted Skip keeps what it has left to pass over
				// for the next call (Interrupter's contract): as far as
				// positions go, it is done.
				return req.skip, ErrShardLate
			}
			return 0, err
		}
	}
	n, err := io.ReadFull(r, req.buf)
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return req.skip + int64(n), err
	}
	return req.skip + int64(n), nil
}

// shardSkipper is a shard reader that can pass over bytes more cheaply than
// by reading them, like BitrotReader.
type shardSkipper interface {
	Skip(n int64) error
}

func skipShard(r io.Reader, skip int64) error {
	if s, ok := r.(shardSkipper); ok {
		if err := s.Skip(skip); err != nil {
			return fmt.Errorf("skip %d bytes: %w", skip, err)
		}
		return nil
	}
	if s, ok := r.(io.Seeker); ok {
		if _, err := s.Seek(skip, io.SeekCurrent); err != nil {
			return fmt.Errorf("skip %d bytes: %w", skip, err)
		}
		return nil
	}
	if _, err := io.CopyN(io.Discard, r, skip); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return fmt.Errorf("skip %d bytes: %w", skip, err)
	}
	return nil
}
