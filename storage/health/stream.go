package health

import (
	"context"
	"errors"
	"io"
	"os"
	"time"

	"github.com/gridstore/gridstore/internal/iobuf"
)

// streamBufSize is the size of a stream's buffer, the most one Read of the
// wrapped stream asks for. Small reads (a bitrot hash) are served from it
// without another trip to the drive's goroutine; with StreamIdleTimeout it
// sets the slowest read rate that does not count as a hang.
const streamBufSize = 256 << 10

var (
	errStreamClosed = errors.New("health: read of a closed stream")
	errInvalidCount = errors.New("health: the drive's stream returned an invalid byte count")
)

// getBuf takes a stream buffer from outside the Go heap (package iobuf);
// putBuf returns it. buffers counts those the drive's streams hold.
func (d *Drive) getBuf() []byte {
	d.buffers.Add(1)
	return iobuf.Get(streamBufSize)
}

func (d *Drive) putBuf(b []byte) {
	d.buffers.Add(-1)
	iobuf.Put(b)
}

// fileRanger is the local drive's zero-copy hook, which storage/remote's
// read endpoint looks for (its fileRanger).
type fileRanger interface {
	FileRange() (f *os.File, remaining int64)
}

// ReadFileStream opens the range within CallTimeout and returns a stream
// whose Reads fail with storage.ErrDriveTimeout when one goes
// StreamIdleTimeout without an answer from the drive. The stream is read
// into a buffer of its own and copied into the caller's (see the package
// documentation).
func (d *Drive) ReadFileStream(ctx context.Context, volume, path string, offset, length int64) (io.ReadCloser, error) {
	const op = "ReadFileStream"
	ep, err := d.admit(ctx, op)
	if err != nil {
		return nil, err
	}
	// The wrapped stream keeps its context (the local drive checks it at
	// every Read), so it lives until the stream is closed.
	sctx, scancel := context.WithCancelCause(ctx)
	rc, err := runCall(d, ctx, sctx, scancel, ep, op, d.cfg.CallTimeout, closeLate,
		func(ctx context.Context) (io.ReadCloser, error) {
			return d.inner.ReadFileStream(ctx, volume, path, offset, length)
		})
	if err != nil {
		scancel(nil)
		return nil, err
	}
	s := &stream{d: d, ctx: ctx, cancel: scancel, rc: rc, res: make(chan readAnswer, 1)}
	if fr, ok := rc.(fileRanger); ok {
		return &rangedStream{stream: s, fr: fr}, nil
	}
	return s, nil
}

// closeLate closes a stream that was opened after its caller had gone.
func closeLate(rc io.ReadCloser) {
	if rc != nil {
		_ = rc.Close()
	}
}

// stream is a ReadFileStream stream. Like any io.ReadCloser it is used by
// one goroutine at a time; the wrapped stream is read on another, one Read
// at a time, into buf.
type stream struct {
	d      *Drive
	ctx    context.Context
	cancel context.CancelCauseFunc // the wrapped stream's context
	rc     io.ReadCloser
	res    chan readAnswer // of the Read in flight; buffered

	buf     []byte // from getBuf, taken at the first Read
	r, w    int    // (*buf)[r:w] is read from the drive, not yet by the caller
	err     error  // sticky: the wrapped stream's error (io.EOF) or why the stream broke
	touched bool   // a Read has been made
	closed  bool
	// abandoned: a Read was given up on. Its goroutine owns rc and buf
	// from then on, and closes and returns them when the wrapped Read
	// returns at last.
	abandoned bool
}

func (s *stream) Read(p []byte) (int, error) {
	if s.closed {
		return 0, errStreamClosed
	}
	s.touched = true
	if s.r == s.w && s.err == nil && len(p) > 0 {
		s.fill()
	}
	if s.r < s.w {
		n := copy(p, s.buf[s.r:s.w])
		s.r += n
		return n, nil
	}
	return 0, s.err
}

// fill reads the next bytes of the wrapped stream into buf, on a goroutine
// of its own, waiting at most StreamIdleTimeout for them.
func (s *stream) fill() {
	const op = "ReadFileStream.Read"
	d := s.d
	ep := d.epoch.Load()
	if ep.isFaulty() {
		s.err = d.faultyErr(op)
		return
	}
	if s.buf == nil {
		s.buf = d.getBuf()
	}
	bound := d.cfg.StreamIdleTimeout
	c := d.newCall(op, bound)
	buf := s.buf
	go func() {
		n, err := s.rc.Read(buf)
		if c.finish() {
			s.res <- readAnswer{n, err}
			return
		}
		// The caller has gone: the stream is broken, and what it held is
		// this goroutine's to release.
		_ = s.rc.Close()
		s.cancel(errAbandoned)
		d.putBuf(buf)
		d.lateReturn(c, err)
	}()
	t := time.NewTimer(bound)
	defer t.Stop()
	done := s.ctx.Done()
	for {
		var w why
		select {
		case a := <-s.res:
			s.answer(a)
			return
		case <-t.C:
			w = whyTimeout
		case <-done:
			if !deadlineOnly(s.ctx) {
				done = nil // the wrapped stream's context is cancelled too
				continue
			}
			w = whyDeadline
		case <-ep.faulty:
			w = whyFaulty
		}
		if !d.abandon(c, w) {
			s.answer(<-s.res)
			return
		}
		s.abandoned, s.buf = true, nil
		s.cancel(errAbandoned)
		s.err = d.abandonErr(s.ctx, op, bound, w, "no data")
		return
	}
}

func (s *stream) answer(a readAnswer) {
	s.d.answered()
	if a.n < 0 || a.n > len(s.buf) {
		a.n, a.err = 0, errInvalidCount // a broken Reader: never trust the count
	}
	s.r, s.w, s.err = 0, a.n, a.err
}

// Close closes the wrapped stream (within CallTimeout) and returns the
// buffer, or leaves both to the goroutine of a Read that was given up on.
func (s *stream) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	if s.abandoned {
		return nil
	}
	if s.buf != nil {
		s.d.putBuf(s.buf)
		s.buf = nil
	}
	bg := context.Background()
	_, err := runCall(s.d, bg, bg, nil, nil, "ReadFileStream.Close", s.d.cfg.CallTimeout, nil,
		func(context.Context) (struct{}, error) { return struct{}{}, s.rc.Close() })
	s.cancel(nil)
	return err
}

// rangedStream is a stream over a local file, which can be handed to
// sendfile whole (see fileRanger and the package documentation).
type rangedStream struct {
	*stream
	fr fileRanger
}

// FileRange returns the wrapped stream's file and the bytes left in its
// range, for a caller that copies it with sendfile before any Read (as the
// remote drive's read endpoint does). Once the stream has been read through
// the wrapper, bytes of the range sit in its buffer and the file no longer
// says what is left: FileRange then reports nothing (nil, 0).
func (s *rangedStream) FileRange() (*os.File, int64) {
	if s.touched || s.closed || s.abandoned {
		return nil, 0
	}
	return s.fr.FileRange()
}
