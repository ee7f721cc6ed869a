package erasure

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"
)

// Encode reads an object from src block by block and writes shard i of
// every block to writers[i]. size is the object size, or -1 if unknown (src
// is then read to EOF); a src that ends before size bytes is an error.
//
// A nil writer counts as failed from the start. A writer whose Write fails
// is dropped for the rest of the stream and its error is kept in
// writerErrs[i]; encoding goes on while at least writeQuorum writers are
// healthy and fails with an error wrapping ErrWriteQuorum below that. n is
// the number of object bytes written to at least writeQuorum writers.
//
// The writers of one block are called in parallel, one goroutine per
// writer, while the next block is read and encoded: writers are used from
// one goroutine at a time, but not the caller's. Encode returns only after
// every Write it started has returned. An empty object writes nothing.
//
// Encode waits for every healthy writer to finish each block, so one slow
// writer sets the pace; EncodeWith can leave it behind.
func (c *Coder) Encode(ctx context.Context, writers []io.Writer, src io.Reader, size int64, writeQuorum int) (n int64, writerErrs []error, err error) {
	return c.EncodeWith(ctx, writers, src, size, writeQuorum, EncodeOptions{})
}

// EncodeWith is Encode with options; see EncodeOptions.
func (c *Coder) EncodeWith(ctx context.Context, writers []io.Writer, src io.Reader, size int64, writeQuorum int, opts EncodeOptions) (n int64, writerErrs []error, err error) {
	if len(writers) != c.TotalShards() {
		return 0, nil, fmt.Errorf("%w: encode: %d writers for %d shards", ErrInvalidArgument, len(writers), c.TotalShards())
	}
	if writeQuorum < c.data || writeQuorum > c.TotalShards() {
		return 0, nil, fmt.Errorf("%w: encode: write quorum %d outside %d..%d", ErrInvalidArgument, writeQuorum, c.data, c.TotalShards())
	}
	if size < -1 {
		return 0, nil, fmt.Errorf("%w: encode: size %d", ErrInvalidArgument, size)
	}
	if src == nil {
		return 0, nil, fmt.Errorf("%w: encode: nil source", ErrInvalidArgument)
	}

	out := newShardWriters(writers, !c.sequentialIO)
	if out.healthy < writeQuorum {
		out.close()
		return 0, out.errs, fmt.Errorf("encode: %d of %d writers available, need %d: %w", out.healthy, len(writers), writeQuorum, ErrWriteQuorum)
	}
	out.leaveBehind(writeQuorum, opts.Grace, c.putBlock)

	// Two buffers: one being written by the shard writers while the next
	// block is read and encoded into the other. A buffer an abandoned
	// writer may still be reading from is replaced, and goes back to the
	// pool only once that Write has returned.
	bufs := blockPair{c: c}
	defer func() {
		out.close() // every Write has returned, abandoned ones too
		bufs.release()
	}()

	var inFlight int64 // object bytes of the block the writers are busy with
	flying := -1       // which of bufs the writers are busy with
	finishInFlight := func(block int64) error {
		if flying >= 0 && out.finish() {
			bufs.drop(flying) // lent to an abandoned write, which returns it
		}
		flying = -1
		if out.healthy < writeQuorum {
			return fmt.Errorf("encode block %d: %d of %d writers left, need %d: %w", block, out.healthy, len(writers), writeQuorum, ErrWriteQuorum)
		}
		n += inFlight
		inFlight = 0
		return nil
	}

	for block, cur := int64(0), 0; ; block, cur = block+1, cur^1 {
		if err := ctx.Err(); err != nil {
			_ = finishInFlight(block - 1) // only to count it in n: the caller gets the cause
			return n, out.errs, fmt.Errorf("encode block %d: %w", block, err)
		}
		b := bufs.get(cur)
		read, last, err := c.readBlock(src, b, block, size)
		if err != nil {
			_ = finishInFlight(block - 1)
			return n, out.errs, err
		}
		if read > 0 {
			if err := c.encodeBlock(b, read); err != nil {
				return n, out.errs, fmt.Errorf("encode block %d: %w", block, err)
			}
		}
		if err := finishInFlight(block - 1); err != nil {
			return n, out.errs, err
		}
		if read > 0 {
			out.writeBlock(b, block)
			flying, inFlight = cur, int64(read)
		}
		if last {
			if err := finishInFlight(block); err != nil {
				return n, out.errs, err
			}
			return n, out.errs, nil
		}
	}
}

// readBlock fills b with the next block of src. It returns how many bytes it
// read and whether the object ends with them.
func (c *Coder) readBlock(src io.Reader, b *blockBuffer, block, size int64) (read int, last bool, err error) {
	want := c.blockSize
	if size >= 0 {
		want = c.blockLength(block, size)
		if want <= 0 {
			return 0, true, nil
		}
	}
	read, err = fill(src, b.backing[:want])
	switch {
	case int64(read) == want:
		return read, size >= 0 && (block+1)*c.blockSize >= size, nil
	case err == io.EOF && size < 0:
		return read, true, nil
	case err == io.EOF:
		err = io.ErrUnexpectedEOF
	}
	return 0, false, fmt.Errorf("encode block %d: read source: %w", block, err)
}

// fill reads src into buf until buf is full or src fails. Unlike io.ReadFull
// it keeps io.EOF, the one clean end of a stream, apart from an
// io.ErrUnexpectedEOF of src's own, such as a truncated request body: with
// an unknown size the first ends the object, the second must fail it.
func fill(src io.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := src.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// encodeBlock computes the parity of the read bytes at the start of b.
func (c *Coder) encodeBlock(b *blockBuffer, read int) error {
	shardSize := int(ceilDiv(int64(read), int64(c.data)))
	b.layout(shardSize)
	clear(b.backing[read : c.data*shardSize]) // the last data shard's padding
	return c.rs.Encode(b.shards)
}

// shardWriters fans the shards of a block out to their writers and keeps
// track of which writers have failed.
type shardWriters struct {
	writers  []io.Writer
	errs     []error
	healthy  int
	parallel bool

	// One goroutine per writer, started on first use; each takes a shard
	// from its channel, writes it and reports on done. pending counts the
	// writes of the block in flight, inFlight marks their writers.
	reqs     []chan shardRequest
	done     chan shardResult
	pending  int
	inFlight []bool
	wg       sync.WaitGroup

	// Leaving stragglers behind (EncodeOptions.Grace); see straggler.go.
	stragglers
}

type shardRequest struct {
	buf   []byte
	block int64
	skip  int64 // for reads: shard bytes to pass over first
	from  int64 // for reads: where the reader was, relative to the range start
}

type shardResult struct {
	shard    int
	err      error
	consumed int64 // for reads: bytes skipped and read, if err is ErrShardLate
}

func newShardWriters(writers []io.Writer, parallel bool) *shardWriters {
	w := &shardWriters{
		writers:  writers,
		errs:     make([]error, len(writers)),
		parallel: parallel,
		reqs:     make([]chan shardRequest, len(writers)),
		done:     make(chan shardResult, len(writers)),
		inFlight: make([]bool, len(writers)),
	}
	for i, wr := range writers {
		if wr == nil {
			w.errs[i] = fmt.Errorf("shard %d: %w", i, ErrShardMissing)
		} else {
			w.healthy++
		}
	}
	return w
}

// write hands shards[i] to every healthy writer i. wait collects the results.
func (w *shardWriters) write(shards [][]byte, block int64) {
	for i, wr := range w.writers {
		if wr == nil || w.errs[i] != nil {
			continue
		}
		if !w.parallel {
			w.record(i, writeAll(wr, shards[i]), block)
			continue
		}
		if w.reqs[i] == nil {
			w.reqs[i] = make(chan shardRequest, 1)
			w.wg.Add(1)
			go w.serve(i)
		}
		w.reqs[i] <- shardRequest{buf: shards[i], block: block}
		w.pending++
		w.inFlight[i] = true
	}
}

func (w *shardWriters) serve(i int) {
	defer w.wg.Done()
	for req := range w.reqs[i] {
		err := writeAll(w.writers[i], req.buf)
		if err != nil {
			err = fmt.Errorf("block %d: %w", req.block, err)
		}
		w.done <- shardResult{shard: i, err: err}
	}
}

// wait waits for every write of the block in flight.
func (w *shardWriters) wait() {
	for w.pending > 0 {
		w.take(<-w.done, time.Time{})
	}
}

// take records a finished write and reports whether it succeeded. A write
// of a writer that was abandoned (straggler.go) only gives its buffer back.
// since, if set, is when the block's write quorum was seen: the time since
// is charged to the writer.
func (w *shardWriters) take(r shardResult, since time.Time) bool {
	if w.returned(r.shard) {
		return false
	}
	w.pending--
	w.inFlight[r.shard] = false
	if !since.IsZero() {
		w.charge[r.shard] += time.Since(since)
	}
	if r.err != nil {
		w.errs[r.shard] = fmt.Errorf("shard %d: %w", r.shard, r.err)
		w.healthy--
		return false
	}
	return true
}

func (w *shardWriters) record(i int, err error, block int64) {
	if err != nil {
		w.errs[i] = fmt.Errorf("shard %d: block %d: %w", i, block, err)
		w.healthy--
	}
}

// close stops the goroutines once their current write, and every abandoned
// one, has returned.
func (w *shardWriters) close() {
	w.wait()
	for w.abandoned > 0 {
		w.take(<-w.done, time.Time{})
	}
	for _, ch := range w.reqs {
		if ch != nil {
			close(ch)
		}
	}
	w.wg.Wait()
}
