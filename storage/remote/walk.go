package remote

import (
	"context"
	"fmt"
	"io"

	"github.com/gridstore/gridstore/grid"
	"github.com/gridstore/gridstore/proto"
	"github.com/gridstore/gridstore/storage"
)

// Remote WalkDir is a grid stream without input: the caller opens it with
// the msgp-encoded storage.WalkDirOptions, and the handler sends the entries
// as they are walked, several per message: each message is one or more
// msgp-encoded storage.MetaEntry values back to back. The stream's flow
// control is the walk's: when the caller stops reading, the handler's
// callback blocks on the full window and the drive stops walking.
const (
	// The first batches are small so the first entries arrive at once (a
	// listing often wants only the first few); they grow up to
	// walkMaxBatch entries or walkBatchBytes, whichever comes first.
	walkFirstBatch = 8
	walkMaxBatch   = 1024
	walkBatchBytes = 256 << 10
	// walkWindowMsgs is the caller's receive window, in batches.
	walkWindowMsgs = 4
)

// WalkDir walks the remote drive; see storage.Drive.
func (c *Client) WalkDir(ctx context.Context, opts storage.WalkDirOptions, fn func(storage.MetaEntry) error) error {
	const op = "WalkDir"
	if err := c.ready(ctx); err != nil {
		return c.wrap(op, err)
	}
	payload, err := opts.MarshalMsg(grid.GetBuffer(opts.Msgsize()))
	if err != nil {
		return c.wrap(op, err)
	}
	st, err := c.conn.NewStreamWindow(ctx, proto.HandlerDriveWalkDir, payload,
		grid.Window{Msgs: walkWindowMsgs, Bytes: walkWindowMsgs * 2 * walkBatchBytes})
	grid.PutBuffer(payload)
	if err != nil {
		return c.wrap(op, err)
	}
	for {
		msg, err := st.Recv()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return c.wrap(op, err)
		}
		err = visitBatch(ctx, msg, fn)
		grid.PutBuffer(msg)
		if err != nil {
			st.Cancel()
			return err
		}
	}
}

// visitBatch calls fn for every entry of one message. fn's error is returned
// as is, as the Drive contract wants; a cancelled ctx stops the walk between
// entries.
func visitBatch(ctx context.Context, msg []byte, fn func(storage.MetaEntry) error) error {
	for len(msg) > 0 {
		var e storage.MetaEntry
		var err error
		// UnmarshalMsg copies names and records out of msg, so entries
		// outlive the message, which goes back to the pool.
		if msg, err = e.UnmarshalMsg(msg); err != nil {
			return fmt.Errorf("WalkDir: undecodable entry from the drive: %w", err)
		}
		if len(e.Metadata) == 0 {
			e.Metadata = nil // a directory; msgp decodes nil as empty
		}
		if err := fn(e); err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	return nil
}

// walkDirHandler serves WalkDir for the drive under key.
func (s *Server) walkDirHandler(key string) grid.StreamHandlerFunc {
	return func(ctx context.Context, payload []byte, _ <-chan []byte, out chan<- []byte) error {
		var opts storage.WalkDirOptions
		if _, err := opts.UnmarshalMsg(payload); err != nil {
			return fmt.Errorf("%w: WalkDir options: %v", grid.ErrBadRequest, err)
		}
		d, err := s.drive(key)
		if err != nil {
			return err
		}
		limit, n := walkFirstBatch, 0
		batch := grid.GetBuffer(walkBatchBytes)
		err = d.WalkDir(ctx, opts, func(e storage.MetaEntry) error {
			// Encoding at once means the drive's entry is not retained
			// past the callback.
			var err error
			if batch, err = e.MarshalMsg(batch); err != nil {
				return err
			}
			if n++; n < limit && len(batch) < walkBatchBytes {
				return nil
			}
			// The grid drains out even after cancellation, so this send
			// cannot block forever; while the caller is slow it blocks
			// here, which pauses the walk.
			out <- batch
			batch, n, limit = grid.GetBuffer(walkBatchBytes), 0, min(2*limit, walkMaxBatch)
			return ctx.Err()
		})
		// Entries walked before an error are delivered before it, as a
		// local walk would have handed them to fn.
		if n > 0 && ctx.Err() == nil {
			out <- batch
		} else {
			grid.PutBuffer(batch)
		}
		return err
	}
}
