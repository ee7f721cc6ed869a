package doublebuf

import (
	"errors"
	"fmt"
	"io"
	"os"
	"unsafe"

	"github.com/gridstore/gridstore/internal/iobuf"
)

const (
	// Alignment is the address and length granularity of the buffers handed
	// to a Destination: what O_DIRECT demands on every common Linux file
	// system and block device (4 KiB covers 512-byte sector devices too).
	Alignment = 4096

	// DefaultBufferSize is the size of each of the two buffers: large enough
	// that per-syscall cost vanishes and a disk write is worth overlapping,
	// small enough that a node writing many shards at once stays within a
	// known memory budget (2 MiB per open shard file).
	DefaultBufferSize = 1 << 20

	// MaxBufferSize bounds Options.BufferSize so a bad setting cannot ask for
	// unbounded memory.
	MaxBufferSize = 64 << 20
)

// ErrClosed is returned by calls on a Writer after Close or Abort.
var ErrClosed = errors.New("doublebuf: writer closed")

// errInvalidCount reports a source or destination that claimed more bytes
// than it was given, which would otherwise corrupt the buffer bookkeeping.
var errInvalidCount = errors.New("doublebuf: reader or writer returned an impossible count")

// Destination is where a Writer sends its buffers; *os.File satisfies it.
//
// Every Write but the last receives a whole buffer: a slice whose address is
// Alignment-aligned and whose length is the buffer size, a multiple of
// Alignment. Only the final Write, from Close, may be shorter and of any
// length. That is the contract an O_DIRECT file needs; a destination that has
// to treat the unaligned tail differently can tell it by its length. Writes
// are issued one at a time, in order, never concurrently, but not always from
// the same goroutine. Sync must make everything written durable.
type Destination interface {
	Write(p []byte) (int, error)
	Sync() error
}

// Options tune a Writer. The zero value is a 1 MiB double buffer without
// direct I/O.
type Options struct {
	// BufferSize is the size of each of the two buffers, rounded up to a
	// multiple of Alignment; <= 0 means DefaultBufferSize and larger than
	// MaxBufferSize means MaxBufferSize.
	BufferSize int

	// DirectIO asks OpenFile and Create to write full buffers with O_DIRECT,
	// bypassing the page cache. Where the file system refuses it the writer
	// uses ordinary writes; Writer.DirectIO tells which. New ignores it.
	DirectIO bool

	// NoSync leaves the file unsynced at Close, for a caller that makes it
	// durable later, together with other writes (a file system flush
	// before the rename that publishes it).
	NoSync bool
}

func (o Options) bufferSize() int {
	size := o.BufferSize
	switch {
	case size <= 0:
		return DefaultBufferSize
	case size > MaxBufferSize:
		return MaxBufferSize
	}
	return (size + Alignment - 1) &^ (Alignment - 1)
}

// Writer is a double-buffered io.Writer in front of a Destination. It is not
// safe for concurrent use: one goroutine writes and closes it, as with
// bufio.Writer; the background flush is internal.
type Writer struct {
	dst    Destination
	file   *fileDest // set when the Writer opened the file and so must close it
	size   int
	noSync bool

	bufs  [2][]byte // backing memory from iobuf, kept to return it
	cur   []byte    // the buffer being filled; len is the filled part
	spare []byte    // the idle buffer; nil while it is being flushed or not yet allocated

	started  bool
	inFlight bool
	submit   chan flushJob
	done     chan flushResult
	exited   chan struct{}

	submitted int64 // bytes handed to the destination so far, for error context
	err       error // first write or flush failure; sticky
	closed    bool
	closeErr  error
}

type flushJob struct {
	buf []byte
	off int64
}

type flushResult struct {
	buf []byte
	err error
}

// New returns a Writer that flushes to dst in the background. opts.DirectIO is
// ignored: direct I/O is a property of how a file was opened, see OpenFile.
// The Writer does not close dst.
func New(dst Destination, opts Options) *Writer {
	size := opts.bufferSize()
	w := &Writer{dst: dst, size: size, noSync: opts.NoSync}
	w.bufs[0] = getBuffer(size)
	w.cur = w.bufs[0][:0]
	return w
}

// Write copies p into the current buffer, handing each full buffer to the
// background flush; it waits only when both buffers are full. An earlier
// flush failure is returned instead, at the latest by the Write that needs
// the failed buffer back.
func (w *Writer) Write(p []byte) (int, error) {
	if err := w.check(); err != nil {
		return 0, err
	}
	written := 0
	for len(p) > 0 {
		if len(w.cur) == w.size {
			if err := w.rotate(); err != nil {
				return written, err
			}
		}
		k := copy(w.cur[len(w.cur):w.size], p)
		w.cur = w.cur[:len(w.cur)+k]
		written += k
		p = p[k:]
	}
	w.startFlushIfFull()
	return written, nil
}

// ReadFrom reads from src straight into the aligned buffers until io.EOF,
// sparing the copy io.Copy would make through a buffer of its own. A source
// error is returned as is and does not poison the Writer; a flush failure
// does.
func (w *Writer) ReadFrom(src io.Reader) (int64, error) {
	var total int64
	for {
		if err := w.check(); err != nil {
			return total, err
		}
		if len(w.cur) == w.size {
			if err := w.rotate(); err != nil {
				return total, err
			}
		}
		free := w.cur[len(w.cur):w.size]
		m, err := src.Read(free)
		if m < 0 || m > len(free) {
			return total, errInvalidCount
		}
		w.cur = w.cur[:len(w.cur)+m]
		total += int64(m)
		w.startFlushIfFull()
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}

// Close waits for the background flush, writes the remaining bytes, syncs the
// destination (fdatasync for files; not with Options.NoSync) and closes the file if the Writer opened
// it. It returns the first error of the Writer's life, if any; the goroutine
// is stopped and the buffers released whatever happens. Closing again returns
// the same result. Close waits for a destination Write in progress, so a
// destination that can hang must be unblocked by its owner.
func (w *Writer) Close() error {
	if w.closed {
		return w.closeErr
	}
	w.closed = true
	if w.inFlight {
		w.awaitFlush()
	}
	if w.err == nil && len(w.cur) > 0 {
		// The flusher is idle now, so writing the tail from here keeps
		// destination calls strictly one at a time and in order.
		w.err = w.flush(w.cur, w.submitted)
		w.submitted += int64(len(w.cur))
	}
	w.stopFlusher()
	if w.err == nil && !w.noSync {
		if err := w.dst.Sync(); err != nil {
			w.err = fmt.Errorf("doublebuf: sync: %w", err)
		}
	}
	if err := w.closeFile(); err != nil && w.err == nil {
		w.err = err
	}
	w.release()
	w.closeErr = w.err
	return w.closeErr
}

// Abort stops the Writer without writing buffered bytes or syncing, for a
// shard that will be removed anyway, and closes the file if the Writer
// opened it. It waits for a destination Write in progress. Later calls,
// Close included, return ErrClosed.
func (w *Writer) Abort() error {
	if w.closed {
		return nil
	}
	w.closed = true
	if w.inFlight {
		w.awaitFlush()
	}
	w.stopFlusher()
	err := w.closeFile()
	w.release()
	w.closeErr = ErrClosed
	return err
}

// NoSync reports whether Close leaves the file unsynced (Options.NoSync).
func (w *Writer) NoSync() bool { return w.noSync }

// DirectIO reports whether full buffers are being written with O_DIRECT:
// false when it was not asked for, the file system refused it, or a direct
// write failed and the writer fell back to buffered writes.
func (w *Writer) DirectIO() bool {
	return w.file != nil && w.file.direct.Load()
}

// check returns the error a new write must fail with, and collects a flush
// that finished meanwhile so its failure shows up as early as possible.
func (w *Writer) check() error {
	if w.closed {
		return ErrClosed
	}
	if w.inFlight {
		select {
		case res := <-w.done:
			w.collect(res)
		default:
		}
	}
	return w.err
}

// rotate hands the full current buffer to the flusher and continues in the
// other one, waiting for it if it is still being flushed.
func (w *Writer) rotate() error {
	if w.inFlight {
		w.awaitFlush()
	}
	if w.err != nil {
		return w.err
	}
	w.submitCurrent()
	return nil
}

// startFlushIfFull starts flushing a just-filled buffer right away when the
// flusher is idle, so the disk works while the caller is off producing the
// next bytes instead of waiting for the next Write. If the flusher is busy,
// the next Write rotates (and waits) instead.
func (w *Writer) startFlushIfFull() {
	if len(w.cur) == w.size && !w.inFlight && w.err == nil {
		w.submitCurrent()
	}
}

func (w *Writer) submitCurrent() {
	if !w.started {
		// Started lazily: a shard smaller than one buffer never needs it.
		w.started = true
		w.submit = make(chan flushJob, 1)
		w.done = make(chan flushResult, 1)
		w.exited = make(chan struct{})
		go w.flushLoop(w.submit, w.done, w.exited)
	}
	if w.spare == nil {
		w.bufs[1] = getBuffer(w.size)
		w.spare = w.bufs[1][:0]
	}
	w.submit <- flushJob{buf: w.cur, off: w.submitted}
	w.submitted += int64(len(w.cur))
	w.inFlight = true
	w.cur, w.spare = w.spare[:0], nil
}

func (w *Writer) awaitFlush() {
	w.collect(<-w.done)
}

func (w *Writer) collect(res flushResult) {
	w.inFlight = false
	w.spare = res.buf[:0]
	if res.err != nil && w.err == nil {
		w.err = res.err
	}
}

// flushLoop writes one buffer at a time. The writer never submits a second
// buffer before collecting the first, so done never blocks.
func (w *Writer) flushLoop(submit <-chan flushJob, done chan<- flushResult, exited chan<- struct{}) {
	defer close(exited)
	for job := range submit {
		done <- flushResult{buf: job.buf, err: w.flush(job.buf, job.off)}
	}
}

func (w *Writer) flush(p []byte, off int64) error {
	n, err := w.dst.Write(p)
	if err == nil && n != len(p) {
		err = io.ErrShortWrite
		if n > len(p) {
			err = errInvalidCount
		}
	}
	if err != nil {
		return fmt.Errorf("doublebuf: write of %d bytes at offset %d: %w", len(p), off, err)
	}
	return nil
}

func (w *Writer) stopFlusher() {
	if w.started {
		close(w.submit)
		<-w.exited
		w.started = false
	}
}

func (w *Writer) closeFile() error {
	if w.file == nil {
		return nil
	}
	if err := w.file.f.Close(); err != nil {
		return fmt.Errorf("doublebuf: %w", err)
	}
	return nil
}

// release returns the buffers once nothing can touch them any more.
func (w *Writer) release() {
	for i, b := range w.bufs {
		if b != nil {
			putBuffer(b)
			w.bufs[i] = nil
		}
	}
	w.cur, w.spare = nil, nil
}

// getBuffer takes a buffer of size bytes, aligned for O_DIRECT, from
// outside the Go heap: a node opens a shard file per drive per PUT, and
// 2 MiB of heap each time would set the collector's goal (package iobuf).
func getBuffer(size int) []byte { return iobuf.Get(size) }

func putBuffer(b []byte) { iobuf.Put(b) }

// iobuf's buffers must be aligned at least as O_DIRECT needs: this fails to
// compile otherwise.
var _ [iobuf.Alignment - Alignment]struct{}

// isAligned reports whether p may be written with O_DIRECT as it is.
func isAligned(p []byte) bool {
	return len(p)%Alignment == 0 &&
		uintptr(unsafe.Pointer(unsafe.SliceData(p)))&(Alignment-1) == 0
}

// isAlignedStart reports whether p starts where O_DIRECT may read it.
func isAlignedStart(p []byte) bool {
	return uintptr(unsafe.Pointer(unsafe.SliceData(p)))&(Alignment-1) == 0
}

var _ io.ReaderFrom = (*Writer)(nil)

// ensure *os.File stays a valid destination for callers that wrap one.
var _ Destination = (*os.File)(nil)
