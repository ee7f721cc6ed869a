package remote

import (
	"context"
	"errors"
	"io"

	"github.com/gridstore/gridstore/internal/iobuf"
	"github.com/gridstore/gridstore/storage"
	"github.com/gridstore/gridstore/storage/ringbuf"
)

// ShardBufferSize is the largest ring buffer of a ShardWriter, the one a
// shard file of unknown or large size gets: a 1 MiB shard chunk and its
// bitrot hash with room for the next, so the encoder can run a block ahead
// of a drive.
const ShardBufferSize = ringbuf.DefaultSize

// MinShardBufferSize is the smallest ring buffer a ShardWriter uses, for
// shard files that small or smaller.
const MinShardBufferSize = 64 << 10

// ShardBufferFor returns the size of the ring buffer a ShardWriter takes
// for a shard file of size bytes (-1: unknown), what a caller budgeting
// memory reserves per shard: the smallest power of two from
// MinShardBufferSize that holds the whole file, so that Write never waits
// on a small file, up to ShardBufferSize. A small PUT then takes a few KiB
// per shard rather than 2 MiB.
func ShardBufferFor(size int64) int64 {
	if size < 0 || size > ShardBufferSize {
		return ShardBufferSize
	}
	ring := int64(MinShardBufferSize)
	for ring < size {
		ring *= 2
	}
	return ring
}

// errWriterClosed is returned by Write after Close.
var errWriterClosed = errors.New("remote: write to a closed shard writer")

// ShardWriter writes one shard file to any storage.Drive through a ring
// buffer (2 MiB, less for a small file of known size): Write copies into the buffer and returns, and a goroutine drains it
// into d.CreateFile. So an erasure encoder writing one shard per drive blocks
// on a drive only when that drive (for a remote one: its node, or the network
// to it) is really congested and its buffer is full; a burst, or a moment's
// stall of one peer, costs the others nothing.
//
// Write and Close are for one goroutine; Abort may come from any. If
// CreateFile fails, the next Write (or Close) returns its error at once.
type ShardWriter struct {
	w      *ringbuf.Writer
	r      *ringbuf.Reader
	buf    []byte // from iobuf, returned once CreateFile is over
	cancel context.CancelFunc
	done   chan struct{}
	err    error // CreateFile's result, set before done is closed
	closed bool
}

// NewShardWriter starts d.CreateFile(ctx, volume, path, size, ...) fed by the
// returned writer. size is the exact file size, or -1 if unknown; it also
// sizes the ring buffer. The caller must Close it (or CloseWithError to
// abort).
func NewShardWriter(ctx context.Context, d storage.Drive, volume, path string, size int64) *ShardWriter {
	buf := iobuf.Get(int(ShardBufferFor(size)))
	r, w := ringbuf.NewBuffer(buf)
	ctx, cancel := context.WithCancel(ctx)
	sw := &ShardWriter{w: w, r: r, buf: buf, cancel: cancel, done: make(chan struct{})}
	go func() {
		err := d.CreateFile(ctx, volume, path, size, r)
		// Writes from now on fail with CreateFile's error (a success that
		// came before the end of the input is a drive bug; the writer
		// then sees a closed pipe).
		_ = r.CloseWithError(err)
		sw.err = err
		close(sw.done)
	}()
	return sw
}

// Write copies p into the ring buffer, blocking only while it is full.
func (sw *ShardWriter) Write(p []byte) (int, error) {
	if sw.closed {
		return 0, errWriterClosed
	}
	return sw.w.Write(p)
}

// ReadFrom fills the ring buffer straight from src until src ends.
func (sw *ShardWriter) ReadFrom(src io.Reader) (int64, error) {
	if sw.closed {
		return 0, errWriterClosed
	}
	return sw.w.ReadFrom(src)
}

// Abort fails the shard without waiting, from any goroutine: a Write
// blocked on the full buffer, and every later one, returns err at once,
// the bytes not yet taken by the drive are dropped, and CreateFile's input
// fails and its context is cancelled, so the drive discards what it wrote.
// The owner still calls Close or CloseWithError, which wait for CreateFile
// to be over and return its error.
func (sw *ShardWriter) Abort(err error) {
	if err == nil {
		err = context.Canceled
	}
	_ = sw.r.CloseWithError(err)
	sw.cancel()
}

// Close ends the input and waits for CreateFile: it returns nil only once the
// shard is complete and synced on the drive.
func (sw *ShardWriter) Close() error {
	return sw.finish(nil)
}

// CloseWithError aborts the shard: CreateFile's input fails with err and its
// context is cancelled, so the drive discards what it wrote. It waits until
// it has, and returns CreateFile's error (which normally wraps err), or nil
// if the shard had already been written completely.
func (sw *ShardWriter) CloseWithError(err error) error {
	if err == nil {
		err = context.Canceled
	}
	return sw.finish(err)
}

func (sw *ShardWriter) finish(abort error) error {
	if sw.closed {
		<-sw.done
		return sw.err
	}
	sw.closed = true
	if abort != nil {
		_ = sw.w.CloseWithError(abort)
		sw.cancel()
	} else {
		_ = sw.w.Close()
	}
	<-sw.done
	sw.cancel()
	// Both ends are closed and CreateFile has returned: nothing can touch
	// the buffer any more.
	iobuf.Put(sw.buf)
	sw.buf = nil
	return sw.err
}
