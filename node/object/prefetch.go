package object

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/gridstore/gridstore/erasure"
	"github.com/gridstore/gridstore/storage"
)

// prefetchReader reads one shard of a GET ahead of the decoder: a goroutine
// fetches and verifies the shard's next chunks (one chunk per block) while
// the decoder works on the current one and the caller takes its bytes, so
// disk and network latency overlap with sending (DESIGN §5).
//
// Memory is bounded: at most depth+1 chunks are fetched and not yet
// consumed, counted by credits that the consumer hands back as it finishes
// a chunk. Nothing is fetched before the first Read, so a parity shard the
// decoder never needs is never opened (its lazy bitrot reader opens the
// stream on its first chunk), and one it needs from block k on is opened
// there (Skip before the first Read only moves the position).
//
// A Read that waits longer than the shard timeout for its chunk gives the
// shard up (errShardTimeout) and cancels the fetch, so the decoder switches
// to parity instead of waiting for a hung drive. Close cancels the fetch and
// waits for the goroutine, which never outlives the reader.
type prefetchReader struct {
	ctx    context.Context
	cancel context.CancelFunc
	src    *erasure.BitrotReader
	pool   *sync.Pool // chunk buffers of chunkSize bytes
	chunk  int

	timeout time.Duration
	timer   *time.Timer

	started bool
	results chan fetched   // chunks in shard order, then one error (io.EOF at the end)
	credits chan struct{}  // fetches allowed before the consumer frees a chunk
	wg      sync.WaitGroup // the fetch goroutine
	cur     fetched        // the chunk being consumed
	off     int            // consumed bytes of cur
	err     error          // sticky: a failed shard is not read again

	// interrupts carries Interrupt to a waiting Read or Skip (one pending
	// at most); skipLeft is what an interrupted Skip has still to pass over.
	interrupts chan struct{}
	skipLeft   int64
}

var _ erasure.Interrupter = (*prefetchReader)(nil)

// Interrupt makes a Read or Skip waiting for a chunk return
// erasure.ErrShardLate at once, without giving the shard up: the chunk
// goes to the next call. erasure.Decode calls it when other shards made
// the block first; it is safe from any goroutine.
func (r *prefetchReader) Interrupt() {
	select {
	case r.interrupts <- struct{}{}:
	default:
	}
}

type fetched struct {
	buf *[]byte
	n   int
	err error
}

// newPrefetchReader reads the shard data [offset, offset+length) of the
// shard file volume/path on d.
func (s *Set) newPrefetchReader(ctx context.Context, d storage.Drive, volume, path string, chunkSize, offset, length int64) (*prefetchReader, error) {
	rctx, cancel := context.WithCancel(ctx)
	open := func(diskOffset, diskLength int64) (io.ReadCloser, error) {
		return d.ReadFileStream(rctx, volume, path, diskOffset, diskLength)
	}
	src, err := erasure.NewLazyBitrotReader(open, s.key, chunkSize, offset, length)
	if err != nil {
		cancel()
		return nil, err
	}
	depth := s.prefetch
	r := &prefetchReader{
		ctx: rctx, cancel: cancel, src: src,
		pool:       s.chunkPool(int(chunkSize)),
		chunk:      int(chunkSize),
		timeout:    s.shardTimeout,
		results:    make(chan fetched, depth+1),
		credits:    make(chan struct{}, depth+1),
		interrupts: make(chan struct{}, 1),
	}
	for range depth + 1 {
		r.credits <- struct{}{}
	}
	return r, nil
}

// chunkPool returns the pool of chunk buffers of one size.
func (s *Set) chunkPool(size int) *sync.Pool {
	if p, ok := s.chunkPools.Load(size); ok {
		return p.(*sync.Pool)
	}
	p, _ := s.chunkPools.LoadOrStore(size, &sync.Pool{New: func() any {
		b := make([]byte, size)
		return &b
	}})
	return p.(*sync.Pool)
}

// fetch runs in the goroutine: it reads one verified chunk per credit.
func (r *prefetchReader) fetch() {
	defer r.wg.Done()
	for {
		select {
		case <-r.credits:
		case <-r.ctx.Done():
			return
		}
		buf := r.pool.Get().(*[]byte)
		// A buffer of a whole chunk makes the bitrot reader verify straight
		// into it and return exactly one chunk.
		n, err := r.src.Read((*buf)[:r.chunk])
		if err != nil {
			r.pool.Put(buf)
			buf, n = nil, 0
		}
		select {
		case r.results <- fetched{buf: buf, n: n, err: err}:
		case <-r.ctx.Done():
			if buf != nil {
				r.pool.Put(buf)
			}
			return
		}
		if err != nil {
			return
		}
	}
}

// next makes cur the next chunk, waiting at most the shard timeout.
func (r *prefetchReader) next() error {
	r.releaseCur()
	if !r.started {
		r.started = true
		if r.timer == nil {
			r.timer = time.NewTimer(r.timeout)
		}
		r.wg.Add(1)
		go r.fetch()
	} else {
		r.timer.Reset(r.timeout)
	}
	// A chunk that is there wins over an interrupt.
	select {
	case f := <-r.results:
		r.timer.Stop()
		return r.took(f)
	default:
	}
	select {
	case <-r.interrupts:
		r.timer.Stop()
		return erasure.ErrShardLate
	case f := <-r.results:
		r.timer.Stop()
		return r.took(f)
	case <-r.timer.C:
		r.err = fmt.Errorf("%w (%v)", errShardTimeout, r.timeout)
	case <-r.ctx.Done():
		r.err = r.ctx.Err()
	}
	r.cancel()
	return r.err
}

// took makes f the current chunk, or its error the reader's.
func (r *prefetchReader) took(f fetched) error {
	if f.err != nil {
		r.err = f.err
		return r.err
	}
	r.cur, r.off = f, 0
	return nil
}

// releaseCur returns the consumed chunk's buffer and credit.
func (r *prefetchReader) releaseCur() {
	if r.cur.buf == nil {
		return
	}
	r.pool.Put(r.cur.buf)
	r.cur = fetched{}
	r.credits <- struct{}{} // never blocks: credits + chunks held = depth+1
}

// Read implements io.Reader.
func (r *prefetchReader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	if r.skipLeft > 0 {
		if err := r.skip(); err != nil {
			return 0, err
		}
	}
	if r.cur.buf == nil || r.off == r.cur.n {
		if err := r.next(); err != nil {
			return 0, err
		}
	}
	n := copy(p, (*r.cur.buf)[r.off:r.cur.n])
	r.off += n
	return n, nil
}

// Skip passes over n bytes of shard data, as erasure.Decode asks of a
// parity shard that joins late. Before the first Read it is free.
// Interrupted, it keeps what it has left for the next Read or Skip.
func (r *prefetchReader) Skip(n int64) error {
	if r.err != nil {
		return r.err
	}
	r.skipLeft += n
	return r.skip()
}

// skip passes over skipLeft bytes.
func (r *prefetchReader) skip() error {
	if !r.started {
		n := r.skipLeft
		r.skipLeft = 0
		return r.src.Skip(n)
	}
	for r.skipLeft > 0 {
		if r.cur.buf == nil || r.off == r.cur.n {
			if err := r.next(); err != nil {
				return err
			}
		}
		k := min(r.skipLeft, int64(r.cur.n-r.off))
		r.off += int(k)
		r.skipLeft -= k
	}
	return nil
}

// Close stops the fetch, waits for its goroutine and closes the stream.
func (r *prefetchReader) Close() error {
	r.cancel()
	r.wg.Wait()
	for {
		select {
		case f := <-r.results:
			if f.buf != nil {
				r.pool.Put(f.buf)
			}
			continue
		default:
		}
		break
	}
	if r.cur.buf != nil {
		r.pool.Put(r.cur.buf)
		r.cur = fetched{}
	}
	if r.timer != nil {
		r.timer.Stop()
	}
	if r.err == nil {
		r.err = fmt.Errorf("shard reader: %w", io.ErrClosedPipe)
	}
	return r.src.Close()
}
