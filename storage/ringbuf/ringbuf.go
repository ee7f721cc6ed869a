package ringbuf

import (
	"errors"
	"io"
	"sync"
)

// DefaultSize is the capacity New uses when asked for none. It holds a 1 MiB
// shard chunk plus its bitrot hash with room for the next one, which is what
// lets the encoder run a block ahead of the network.
const DefaultSize = 2 << 20

// maxDrainChunk bounds one dst.Write in Reader.WriteTo. Space is handed back to
// the writer only after dst.Write returns, so draining the whole ring in one
// call to a slow sink would keep the producer blocked until the last byte left;
// smaller pieces free room progressively. 256 KiB is large enough that the
// per-call overhead of a socket or grid stream write does not matter.
const maxDrainChunk = 256 << 10

// smallCopy is the size under which a Write copies while holding the lock:
// for a 32-byte bitrot hash a second lock round trip costs more than the copy.
const smallCopy = 4 << 10

// errInvalidWrite reports a destination that claimed to write more than asked.
var errInvalidWrite = errors.New("ringbuf: destination returned an impossible count")

// errInvalidRead reports a source that claimed to read more than asked.
var errInvalidRead = errors.New("ringbuf: source returned an impossible count")

// ring is the state shared by a Reader and a Writer.
//
// The lock guards indices and close state only. Byte copies into and out of
// buf run without it: the writer only ever fills the free region and the
// reader only ever consumes the filled region, and each side re-takes the
// lock to publish what it did, so the two regions never overlap. That holds
// only for one writer and one reader at a time, which wmu and rmu enforce.
type ring struct {
	mu       sync.Mutex
	readable sync.Cond // bytes arrived or either side closed
	writable sync.Cond // space freed or either side closed
	buf      []byte
	r        int   // index of the oldest unread byte
	n        int   // number of unread bytes
	wErr     error // non-nil once the write side closed: what the reader sees after draining
	rErr     error // non-nil once the read side closed: what the writer sees

	// writerCopying is set while the writer fills the free region without
	// the lock; the reader must then not move r, which that region hangs off.
	writerCopying bool

	// Set while a side is parked; lets commits skip a useless Signal and
	// lets tests order events without sleeping.
	readerWaiting bool
	writerWaiting bool

	wmu sync.Mutex // serializes Write/ReadFrom so parallel writers cannot interleave inside the buffer
	rmu sync.Mutex // serializes Read/WriteTo for the same reason
}

// Reader is the consuming end of a ring buffer.
type Reader struct{ r *ring }

// Writer is the producing end of a ring buffer.
type Writer struct{ r *ring }

// New returns the two ends of a ring buffer of size bytes; size <= 0 means
// DefaultSize.
func New(size int) (*Reader, *Writer) {
	if size <= 0 {
		size = DefaultSize
	}
	return NewBuffer(make([]byte, size))
}

// NewBuffer returns the two ends of a ring buffer that uses buf as its
// storage, so callers can pool the memory; an empty buf means a fresh
// DefaultSize buffer. buf may be reused once both ends are closed and every
// call on them has returned.
func NewBuffer(buf []byte) (*Reader, *Writer) {
	if len(buf) == 0 {
		buf = make([]byte, DefaultSize)
	}
	rb := &ring{buf: buf}
	rb.readable.L = &rb.mu
	rb.writable.L = &rb.mu
	return &Reader{rb}, &Writer{rb}
}

// Write copies p into the buffer, blocking only while the buffer is full; a p
// larger than the buffer goes in as room frees up. It returns
// io.ErrClosedPipe after the Writer was closed, and the Reader's close error
// once the Reader is closed, with n counting the bytes buffered before that.
func (w *Writer) Write(p []byte) (int, error) { return w.r.write(p) }

// ReadFrom reads from src straight into the buffer's free space until src
// returns io.EOF (reported as a nil error) or another error, or the Reader
// closes. It does not close the Writer.
func (w *Writer) ReadFrom(src io.Reader) (int64, error) { return w.r.readFrom(src) }

// Close closes the write side: the Reader drains what is buffered and then
// gets io.EOF.
func (w *Writer) Close() error { return w.CloseWithError(nil) }

// CloseWithError closes the write side: the Reader drains what is buffered and
// then gets err, or io.EOF when err is nil. Only the first close of the write
// side sets the error; it always returns nil.
func (w *Writer) CloseWithError(err error) error {
	if err == nil {
		err = io.EOF
	}
	rb := w.r
	rb.mu.Lock()
	if rb.wErr == nil {
		rb.wErr = err
	}
	rb.mu.Unlock()
	// Both sides may be parked: the reader waiting for data, or a concurrent
	// Write from another goroutine waiting for room that must now fail.
	rb.readable.Broadcast()
	rb.writable.Broadcast()
	return nil
}

// Buffered reports how many written bytes the Reader has not consumed yet.
func (w *Writer) Buffered() int { return w.r.buffered() }

// Read copies up to len(p) buffered bytes into p, blocking only while the
// buffer is empty. After the Writer closed and the buffer drained it returns
// io.EOF or the Writer's close error; after the Reader closed, io.ErrClosedPipe.
func (r *Reader) Read(p []byte) (int, error) { return r.r.read(p) }

// WriteTo writes buffered bytes to dst directly from the ring's storage, with
// no intermediate copy, until the Writer closes (io.EOF is reported as a nil
// error), dst fails, or the Reader closes.
func (r *Reader) WriteTo(dst io.Writer) (int64, error) { return r.r.writeTo(dst) }

// Close closes the read side: buffered bytes are dropped and writes fail with
// io.ErrClosedPipe.
func (r *Reader) Close() error { return r.CloseWithError(nil) }

// CloseWithError closes the read side: buffered bytes are dropped and writes,
// including one blocked on a full buffer, fail with err, or io.ErrClosedPipe
// when err is nil. Only the first close of the read side sets the error; it
// always returns nil.
func (r *Reader) CloseWithError(err error) error {
	if err == nil {
		err = io.ErrClosedPipe
	}
	rb := r.r
	rb.mu.Lock()
	if rb.rErr == nil {
		rb.rErr = err
	}
	rb.mu.Unlock()
	rb.readable.Broadcast()
	rb.writable.Broadcast()
	return nil
}

// Buffered reports how many bytes are ready to be read.
func (r *Reader) Buffered() int { return r.r.buffered() }

// Size reports the capacity of the buffer.
func (r *Reader) Size() int { return len(r.r.buf) }

func (rb *ring) buffered() int {
	rb.mu.Lock()
	defer rb.mu.Unlock()
	return rb.n
}

// writeErrLocked is the error a write must fail with, or nil. A writer that
// closed its own end gets io.ErrClosedPipe as io.Pipe does; otherwise the
// reader's close error.
func (rb *ring) writeErrLocked() error {
	if rb.wErr != nil {
		return io.ErrClosedPipe
	}
	return rb.rErr
}

// waitWritableLocked parks until there is free space or a close, and returns
// the start and length of the contiguous free region (or the error to fail
// with).
func (rb *ring) waitWritableLocked() (start, free int, err error) {
	size := len(rb.buf)
	for rb.n == size && rb.wErr == nil && rb.rErr == nil {
		rb.writerWaiting = true
		rb.writable.Wait()
		rb.writerWaiting = false
	}
	if err := rb.writeErrLocked(); err != nil {
		return 0, 0, err
	}
	start = rb.r + rb.n
	if start >= size {
		start -= size
	}
	return start, min(size-rb.n, size-start), nil
}

// commitWriteLocked publishes k bytes just copied into the free region.
func (rb *ring) commitWriteLocked(k int) {
	rb.n += k
	if rb.readerWaiting {
		rb.readable.Signal()
	}
}

func (rb *ring) write(p []byte) (int, error) {
	rb.wmu.Lock()
	defer rb.wmu.Unlock()
	total := 0
	rb.mu.Lock()
	for {
		if len(p) == 0 {
			// Still report a closed pipe, so a zero-length write is a cheap
			// liveness probe, but never wake the reader for nothing.
			err := rb.writeErrLocked()
			rb.mu.Unlock()
			return total, err
		}
		start, free, err := rb.waitWritableLocked()
		if err != nil {
			rb.mu.Unlock()
			return total, err
		}
		k := min(free, len(p))
		if k <= smallCopy {
			copy(rb.buf[start:start+k], p[:k])
		} else {
			rb.writerCopying = true
			rb.mu.Unlock()
			copy(rb.buf[start:start+k], p[:k])
			rb.mu.Lock()
			rb.writerCopying = false
		}
		rb.commitWriteLocked(k)
		total += k
		p = p[k:]
	}
}

func (rb *ring) readFrom(src io.Reader) (int64, error) {
	rb.wmu.Lock()
	defer rb.wmu.Unlock()
	var total int64
	for {
		rb.mu.Lock()
		start, free, err := rb.waitWritableLocked()
		if err != nil {
			rb.mu.Unlock()
			return total, err
		}
		rb.writerCopying = true
		rb.mu.Unlock()
		m, rerr := src.Read(rb.buf[start : start+free])
		rb.mu.Lock()
		rb.writerCopying = false
		if m < 0 || m > free {
			rb.mu.Unlock()
			return total, errInvalidRead
		}
		rb.commitWriteLocked(m)
		rb.mu.Unlock()
		total += int64(m)
		if rerr == io.EOF {
			return total, nil
		}
		if rerr != nil {
			return total, rerr
		}
	}
}

// waitReadableLocked parks until there are bytes to read or a close. It
// returns ok=false with the error to return when there is nothing to read.
// With wait=false it does not park, for zero-length reads.
func (rb *ring) waitReadableLocked(wait bool) (ok bool, err error) {
	for wait && rb.n == 0 && rb.wErr == nil && rb.rErr == nil {
		rb.readerWaiting = true
		rb.readable.Wait()
		rb.readerWaiting = false
	}
	if rb.rErr != nil {
		return false, io.ErrClosedPipe
	}
	if rb.n == 0 {
		// Buffered bytes are always delivered before the writer's close error.
		return false, rb.wErr
	}
	return true, nil
}

// commitReadLocked releases k bytes just consumed from the front.
func (rb *ring) commitReadLocked(k int) {
	rb.r += k
	if rb.r >= len(rb.buf) {
		rb.r -= len(rb.buf)
	}
	rb.n -= k
	if rb.n == 0 && !rb.writerCopying {
		// Restarting at the front keeps later reads and writes contiguous,
		// so WriteTo issues fewer, larger dst.Write calls.
		rb.r = 0
	}
	if rb.writerWaiting {
		rb.writable.Signal()
	}
}

func (rb *ring) read(p []byte) (int, error) {
	rb.rmu.Lock()
	defer rb.rmu.Unlock()
	rb.mu.Lock()
	ok, err := rb.waitReadableLocked(len(p) > 0)
	if !ok || len(p) == 0 {
		rb.mu.Unlock()
		return 0, err
	}
	size := len(rb.buf)
	start := rb.r
	first := min(rb.n, size-start, len(p))
	second := min(rb.n-first, len(p)-first) // the wrapped part at the front, if any
	rb.mu.Unlock()

	copy(p[:first], rb.buf[start:start+first])
	if second > 0 {
		copy(p[first:first+second], rb.buf[:second])
	}

	rb.mu.Lock()
	rb.commitReadLocked(first + second)
	rb.mu.Unlock()
	return first + second, nil
}

func (rb *ring) writeTo(dst io.Writer) (int64, error) {
	rb.rmu.Lock()
	defer rb.rmu.Unlock()
	var total int64
	for {
		rb.mu.Lock()
		ok, err := rb.waitReadableLocked(true)
		if !ok {
			rb.mu.Unlock()
			if err == io.EOF {
				err = nil
			}
			return total, err
		}
		start := rb.r
		k := min(rb.n, len(rb.buf)-start, maxDrainChunk)
		rb.mu.Unlock()

		m, werr := dst.Write(rb.buf[start : start+k])
		if m < 0 || m > k {
			return total, errInvalidWrite
		}
		rb.mu.Lock()
		rb.commitReadLocked(m)
		rb.mu.Unlock()
		total += int64(m)
		if werr != nil {
			return total, werr
		}
		if m < k {
			return total, io.ErrShortWrite
		}
	}
}
