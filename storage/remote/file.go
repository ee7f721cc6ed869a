package remote

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/gridstore/gridstore/grid"
	"github.com/gridstore/gridstore/proto"
	"github.com/gridstore/gridstore/storage"
)

// Remote CreateFile is a grid stream. The caller opens it with a
// createFileReq and sends the shard bytes as raw messages of up to
// createChunk bytes; CloseSend marks the end of the input. The handler feeds
// the messages to the drive's CreateFile through an io.Reader and ends the
// stream with CreateFile's result, so the caller learns it only once the
// file is complete and synced (or removed).
//
// A message of zero bytes is an abort: the caller's source failed or its
// context ended. The handler's reader then fails, the drive removes what it
// wrote, and only then does the stream end, so a failed remote CreateFile
// leaves nothing behind by the time it returns, as a local one does. That is
// why cancellation is sent in the stream rather than left to the grid: a
// grid cancel returns at once, while the handler is still cleaning up.
const (
	// createChunk is the size of one message of shard bytes: large enough
	// that per-message costs vanish, small enough that the window holds
	// several. On loopback (storage/REMOTE_BENCHMARKS.txt) 512 KiB and
	// 1 MiB messages did equally well, 128-256 KiB ones 20-30% worse.
	createChunk = 512 << 10
	// createWindowMsgs and createWindowBytes are the handler's receive
	// window: how much of one upload may be in flight unconsumed. With the
	// 2 MiB ring buffer in front (ShardWriter) and the message being
	// filled, 4.5 MiB per shard stream is in memory at most.
	createWindowMsgs  = 4
	createWindowBytes = createWindowMsgs * createChunk
	// abortGrace bounds how long an aborting caller waits for the handler to
	// confirm the cleanup before cancelling the stream outright (a peer so
	// congested that even the abort cannot get through).
	abortGrace = 2 * time.Second
)

// CreateFile streams r to the drive's CreateFile over the grid.
func (c *Client) CreateFile(ctx context.Context, volume, path string, size int64, r io.Reader) error {
	const op = "CreateFile"
	if err := c.ready(ctx); err != nil {
		return c.wrap(op, err)
	}
	req := createFileReq{Volume: volume, Path: path, Size: size}
	payload, err := req.MarshalMsg(grid.GetBuffer(req.Msgsize()))
	if err != nil {
		return c.wrap(op, err)
	}
	// The stream runs on a context that the caller's cancellation does not
	// end: on cancellation we abort in the stream and wait for the cleanup
	// (see above). The caller's deadline still travels, abortGrace later,
	// as the handler's hard stop.
	sctx, scancel := detach(ctx, abortGrace)
	defer scancel()
	// Until the handler accepts the stream there is nothing to clean up
	// and no stream to abort in: a cancellation then ends the opening at
	// once. (A peer cut off never accepts it; the opening waited for the
	// grid to give up on the connection, seconds after the caller did.)
	opening := context.AfterFunc(ctx, scancel)
	st, err := c.conn.NewStreamWindow(sctx, proto.HandlerDriveCreateFile, payload, grid.Window{Msgs: 1, Bytes: 1})
	grid.PutBuffer(payload)
	if !opening() && err == nil {
		// Cancelled as it was accepted: the stream is cancelled too, and
		// the handler removes what it wrote on its own.
		st.Cancel()
		err = ctx.Err()
	}
	if err != nil {
		return c.wrap(op, err)
	}
	stop := context.AfterFunc(ctx, func() { time.AfterFunc(abortGrace, scancel) })
	defer stop()

	src := r
	if size >= 0 {
		// One byte more than announced is enough for the drive to report
		// ErrSizeMismatch; there is no point shipping the rest.
		src = io.LimitReader(r, size+1)
	}
	var readErr, sendErr error
	for {
		buf := grid.GetBuffer(createChunk)[:createChunk]
		n, eof, err := fill(ctx, src, buf)
		if n > 0 {
			if sendErr = st.Send(buf[:n]); sendErr != nil {
				break
			}
		} else {
			grid.PutBuffer(buf)
		}
		if err != nil {
			readErr = err
			break
		}
		if eof {
			break
		}
	}

	switch {
	case sendErr != nil:
		// The stream ended under us: the handler failed (it did not wait
		// for the rest) or the connection went. Its end says which.
		if err := endOf(st); err != nil {
			return c.wrap(op, err)
		}
		return c.wrap(op, sendErr)
	case readErr != nil:
		t := time.AfterFunc(abortGrace, scancel)
		defer t.Stop()
		if st.Send(grid.GetBuffer(0)) == nil {
			_ = st.CloseSend()
		}
		end := endOf(st)
		if end == nil || errors.Is(end, errUploadAborted) || errors.Is(end, context.Canceled) {
			return fmt.Errorf("%s %s/%s on %s: %w", op, volume, path, c, readErr)
		}
		// The handler failed for a reason of its own before it saw the
		// abort, or the connection went: report both.
		if offline(end) {
			end = fmt.Errorf("%w: %w", storage.ErrDriveOffline, end)
		}
		return fmt.Errorf("%s %s/%s on %s: %w (and on the drive: %w)", op, volume, path, c, readErr, end)
	}
	_ = st.CloseSend()
	if err := endOf(st); err != nil {
		return c.wrap(op, err)
	}
	return nil
}

// fill reads from r into buf until buf is full, r ends (eof) or fails. It
// fills whole messages even from a reader that returns a few bytes at a time,
// and checks ctx between reads since a remote upload has no other way to
// notice cancellation while its source keeps yielding.
func fill(ctx context.Context, r io.Reader, buf []byte) (n int, eof bool, err error) {
	for n < len(buf) {
		if err := ctx.Err(); err != nil {
			return n, false, err
		}
		k, err := r.Read(buf[n:])
		n += k
		if err == io.EOF {
			return n, true, nil
		}
		if err != nil {
			return n, false, err
		}
	}
	return n, false, nil
}

// endOf waits for the handler's end and returns its error, nil for a clean
// end. The handler sends no messages; any it did would be dropped.
func endOf(st *grid.Stream) error {
	for {
		msg, err := st.Recv()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		grid.PutBuffer(msg)
	}
}

// detach returns a context that ctx's cancellation does not end, with ctx's
// deadline (if any) moved grace later, and its cancel function.
func detach(ctx context.Context, grace time.Duration) (context.Context, context.CancelFunc) {
	d := context.WithoutCancel(ctx)
	if dl, ok := ctx.Deadline(); ok {
		return context.WithDeadline(d, dl.Add(grace))
	}
	return context.WithCancel(d)
}

// createFileHandler serves CreateFile for the drive under key.
//
// Unlike WalkDir, this stream is raw (grid.StreamHandler, not a
// grid.StreamRPC), and so is its opening payload. The messages are shard
// bytes, not records: streamReader hands each one from the grid's receive
// buffer straight to the drive's writer, with no decode and no copy, and
// gives it back to the pool after. Wrapping them in a msgp type would add a
// header to strip and, through the typed wrapper, a copy of every chunk into
// a decoded value. A StreamRPC types its messages and its payload alike, so
// the payload stays a hand-decoded createFileReq (msgp-generated all the
// same): one decode per upload, with the same ErrBadRequest as a typed
// handler's.
func (s *Server) createFileHandler(key string) grid.StreamHandlerFunc {
	return func(ctx context.Context, payload []byte, in <-chan []byte, _ chan<- []byte) error {
		var req createFileReq
		if _, err := req.UnmarshalMsg(payload); err != nil {
			return fmt.Errorf("%w: CreateFile request: %v", grid.ErrBadRequest, err)
		}
		d, err := s.drive(key)
		if err != nil {
			return err
		}
		r := &streamReader{ctx: ctx, in: in}
		defer r.release()
		return d.CreateFile(ctx, req.Volume, req.Path, req.Size, r)
	}
}

// streamReader reads the shard bytes of a CreateFile stream.
type streamReader struct {
	ctx context.Context
	in  <-chan []byte
	msg []byte // the message being read, from the grid's pool
	off int
	err error // sticky
}

func (r *streamReader) Read(p []byte) (int, error) {
	for r.off == len(r.msg) {
		if r.err != nil {
			return 0, r.err
		}
		r.release()
		msg, ok := <-r.in
		switch {
		case !ok:
			// The channel closes after CloseSend, or when the stream is
			// cancelled or its connection lost: the context tells which.
			if err := r.ctx.Err(); err != nil {
				r.err = err
			} else {
				r.err = io.EOF
			}
		case len(msg) == 0:
			grid.PutBuffer(msg)
			r.err = errUploadAborted
		default:
			r.msg, r.off = msg, 0
		}
	}
	n := copy(p, r.msg[r.off:])
	r.off += n
	return n, nil
}

// release gives the current message back to the grid's pool.
func (r *streamReader) release() {
	if r.msg != nil {
		grid.PutBuffer(r.msg)
		r.msg, r.off = nil, 0
	}
}
