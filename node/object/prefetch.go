package object

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/gridstore/gridstore/erasure"
	"github.com/gridstore/gridstore/internal/iobuf"
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
// to parity instead of waiting for a hung drive; so does one whose drive is
// declared down while it waits (errKnownOffline: its node paused, cut off
// or dead), looked at every shardLiveCheck. Close cancels the fetch and
// waits for the goroutine at most prefetchCloseWait: a fetch stuck in a call
// that ignores its cancellation (a hung system call, a read from a paused
// node) must not hold the GET. Such a goroutine is left to end on its own,
// and then returns its chunks (package iobuf) and closes the stream.
type prefetchReader struct {
	ctx    context.Context
	cancel context.CancelFunc
	drive  storage.Drive
	src    *erasure.BitrotReader
	chunk  int // bytes of a chunk buffer, from iobuf

	timeout time.Duration
	timer   *time.Timer

	started   bool
	results   chan fetched  // chunks in shard order, then one error (io.EOF at the end)
	credits   chan struct{} // fetches allowed before the consumer frees a chunk
	fetchDone chan struct{} // closed when the fetch goroutine has returned
	cur       fetched       // the chunk being consumed
	off       int           // consumed bytes of cur
	err       error         // sticky: a failed shard is not read again

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
	buf []byte // from iobuf, returned by whoever drops it
	n   int
	err error
}

// newPrefetchReader reads the shard data [offset, offset+length) of the
// shard file volume/path on d.
func (s *Set) newPrefetchReader(ctx context.Context, d storage.Drive, volume, path string, chunkSize, offset, length int64) (*prefetchReader, error) {
	return s.newPrefetchReaderFrom(ctx, d, volume, path, chunkSize, offset, length, nil)
}

// newPrefetchReaderFrom is newPrefetchReader that, if pre is not nil,
// reads the stream pre opened ahead (when it covers what the reader
// needs) rather than opening one.
func (s *Set) newPrefetchReaderFrom(ctx context.Context, d storage.Drive, volume, path string, chunkSize, offset, length int64, pre *preopen) (*prefetchReader, error) {
	rctx, cancel := context.WithCancel(ctx)
	open := func(diskOffset, diskLength int64) (io.ReadCloser, error) {
		if pre != nil {
			p := pre
			pre = nil
			if rc := p.take(rctx, diskOffset, diskOffset+diskLength); rc != nil {
				return rc, nil
			}
		}
		return d.ReadFileStream(rctx, volume, path, diskOffset, diskLength)
	}
	src, err := erasure.NewLazyBitrotReader(open, s.key, chunkSize, offset, length)
	if err != nil {
		cancel()
		if pre != nil {
			pre.abandon()
		}
		return nil, err
	}
	depth := s.prefetch
	r := &prefetchReader{
		ctx: rctx, cancel: cancel, drive: d, src: src,
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

// fetch runs in the goroutine: it reads one verified chunk per credit.
func (r *prefetchReader) fetch() {
	defer close(r.fetchDone)
	for {
		select {
		case <-r.credits:
		case <-r.ctx.Done():
			return
		}
		buf := iobuf.Get(r.chunk)
		// A buffer of a whole chunk makes the bitrot reader verify straight
		// into it and return exactly one chunk.
		n, err := r.src.Read(buf)
		if err != nil {
			iobuf.Put(buf)
			buf, n = nil, 0
		}
		select {
		case r.results <- fetched{buf: buf, n: n, err: err}:
		case <-r.ctx.Done():
			if buf != nil {
				iobuf.Put(buf)
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
		r.fetchDone = make(chan struct{})
		go r.fetch()
	}
	// A chunk that is there wins over an interrupt.
	select {
	case f := <-r.results:
		return r.took(f)
	default:
	}
	start := time.Now()
	wait := min(r.timeout, shardLiveCheck)
	if r.timer == nil {
		r.timer = time.NewTimer(wait)
	} else {
		r.timer.Reset(wait)
	}
	for r.err == nil {
		select {
		case <-r.interrupts:
			r.timer.Stop()
			return erasure.ErrShardLate
		case f := <-r.results:
			r.timer.Stop()
			return r.took(f)
		case <-r.timer.C:
			left := r.timeout - time.Since(start)
			switch {
			case storage.KnownDown(r.drive):
				r.err = fmt.Errorf("%w (%s)", errKnownOffline, r.drive)
			case left <= 0:
				r.err = fmt.Errorf("%w (%v)", errShardTimeout, r.timeout)
			default:
				r.timer.Reset(min(left, shardLiveCheck))
			}
		case <-r.ctx.Done():
			r.timer.Stop()
			r.err = r.ctx.Err()
		}
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
	iobuf.Put(r.cur.buf)
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
	n := copy(p, r.cur.buf[r.off:r.cur.n])
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

// prefetchCloseWait bounds Close's wait for a fetch goroutine that does
// not end when cancelled. A drive call that honours its context returns at
// once; one that does not (a hung disk, below storage/health's deadline) is
// not waited for.
const prefetchCloseWait = 250 * time.Millisecond

// Close stops the fetch, waits for its goroutine (at most
// prefetchCloseWait, see prefetchReader) and closes the stream.
func (r *prefetchReader) Close() error {
	r.cancel()
	if r.cur.buf != nil {
		iobuf.Put(r.cur.buf)
		r.cur = fetched{}
	}
	if r.timer != nil {
		r.timer.Stop()
	}
	if r.err == nil {
		r.err = fmt.Errorf("shard reader: %w", io.ErrClosedPipe)
	}
	if !r.started {
		return r.src.Close()
	}
	wait := time.NewTimer(prefetchCloseWait)
	defer wait.Stop()
	select {
	case <-r.fetchDone:
		return r.release()
	case <-wait.C:
	}
	// The stream belongs to the goroutine until it returns.
	go func() {
		<-r.fetchDone
		_ = r.release()
	}()
	return nil
}

// release returns the fetched chunks nobody took and closes
// the stream, once the fetch goroutine has returned.
func (r *prefetchReader) release() error {
	for {
		select {
		case f := <-r.results:
			if f.buf != nil {
				iobuf.Put(f.buf)
			}
			continue
		default:
		}
		break
	}
	return r.src.Close()
}

// preopen is a shard stream opened ahead of the part it belongs to, while
// the GET still holds the object's read lock: once open, the stream reads
// the version's bytes even if the version is removed before its part is
// reached (see GetObject). The open runs on a goroutine of its own; the
// part's prefetchReader takes the stream when it opens its own, or the GET
// abandons it.
type preopen struct {
	diskOffset, diskEnd int64
	cancel              context.CancelFunc // the stream's context
	done                chan struct{}      // closed once the open has returned

	mu        sync.Mutex
	rc        io.ReadCloser
	err       error
	returned  bool // the open has returned: rc and err are set
	claimed   bool // taken or abandoned: the stream is no longer the preopen's
	abandoned bool
}

// startPreopen opens diskLength bytes at diskOffset of volume/path on d in
// the background; wg counts the goroutine.
func startPreopen(ctx context.Context, wg *sync.WaitGroup, d storage.Drive, volume, path string, diskOffset, diskLength int64) *preopen {
	pctx, cancel := context.WithCancel(ctx)
	p := &preopen{diskOffset: diskOffset, diskEnd: diskOffset + diskLength, cancel: cancel, done: make(chan struct{})}
	wg.Add(1)
	go func() {
		defer wg.Done()
		rc, err := d.ReadFileStream(pctx, volume, path, diskOffset, diskLength)
		p.mu.Lock()
		p.rc, p.err, p.returned = rc, err, true
		abandoned := p.abandoned
		p.mu.Unlock()
		close(p.done)
		if abandoned {
			p.release(rc)
		}
	}()
	return p
}

// take returns the stream if it opened and covers [diskOffset, diskEnd)
// from where it starts (the bytes before diskOffset are read past: a reader
// that skipped blocks), else nil, and the caller opens a stream of its own.
// It waits for the open as long as ctx lets it; ending ctx afterwards
// also ends the stream, as for a stream opened with ctx.
func (p *preopen) take(ctx context.Context, diskOffset, diskEnd int64) io.ReadCloser {
	select {
	case <-p.done:
	case <-ctx.Done():
		p.abandon()
		return nil
	}
	p.mu.Lock()
	if p.claimed {
		p.mu.Unlock()
		return nil
	}
	rc, err := p.rc, p.err
	p.claimed = true
	p.mu.Unlock()
	if err != nil {
		p.cancel()
		return nil
	}
	if diskOffset < p.diskOffset || diskEnd != p.diskEnd {
		p.release(rc)
		return nil
	}
	if skip := diskOffset - p.diskOffset; skip > 0 {
		if _, err := io.CopyN(io.Discard, rc, skip); err != nil {
			p.release(rc)
			return nil
		}
	}
	stop := context.AfterFunc(ctx, p.cancel)
	return &preopenedStream{ReadCloser: rc, stop: stop, cancel: p.cancel}
}

// abandon gives the stream up: closed now if it is open, or by the opening
// goroutine when the open returns.
func (p *preopen) abandon() {
	p.mu.Lock()
	if p.claimed {
		p.mu.Unlock()
		return
	}
	p.claimed, p.abandoned = true, true
	rc, returned := p.rc, p.returned
	p.mu.Unlock()
	if returned {
		p.release(rc)
		return
	}
	p.cancel() // the goroutine releases what the open returns
}

func (p *preopen) release(rc io.ReadCloser) {
	if rc != nil {
		_ = rc.Close()
	}
	p.cancel()
}

// preopenedStream is a taken preopen's stream: closing it also ends its
// context.
type preopenedStream struct {
	io.ReadCloser
	stop   func() bool
	cancel context.CancelFunc
}

func (s *preopenedStream) Close() error {
	err := s.ReadCloser.Close()
	s.stop()
	s.cancel()
	return err
}
