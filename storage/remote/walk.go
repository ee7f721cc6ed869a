package remote

import (
	"context"
	"sync"

	"github.com/gridstore/gridstore/grid"
	"github.com/gridstore/gridstore/proto"
	"github.com/gridstore/gridstore/storage"
)

// Remote WalkDir is a typed grid stream without input: the caller opens it
// with the storage.WalkDirOptions, and the handler sends the entries as they
// are walked, several per message (a walkBatch). The stream's flow control is
// the walk's: when the caller stops reading, the handler's callback blocks on
// the full window and the drive stops walking.
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

// streamWalkDir is the WalkDir stream, shared by the server (Register) and
// the client (Call). walkBatch is a grid.Resetter, so the client decodes
// every batch of a walk into one value (and its Entries into one array).
var streamWalkDir = func() *grid.StreamRPC[*storage.WalkDirOptions, *emptyMsg, *walkBatch] {
	r := grid.NewStreamRPC[*storage.WalkDirOptions, *emptyMsg](proto.HandlerDriveWalkDir,
		func() *storage.WalkDirOptions { return new(storage.WalkDirOptions) }, nil,
		func() *walkBatch { return new(walkBatch) })
	// A batch stops growing once it reaches walkBatchBytes, so it can be
	// a record larger; twice the size per message leaves room for that.
	r.OutWindow = grid.Window{Msgs: walkWindowMsgs, Bytes: walkWindowMsgs * 2 * walkBatchBytes}
	return r
}()

// WalkDir walks the remote drive; see storage.Drive.
func (c *Client) WalkDir(ctx context.Context, opts storage.WalkDirOptions, fn func(storage.MetaEntry) error) error {
	const op = "WalkDir"
	if err := c.ready(ctx); err != nil {
		return c.wrap(op, err)
	}
	st, err := streamWalkDir.Call(ctx, c.conn, &opts)
	if err != nil {
		return c.wrap(op, err)
	}
	// Results cancels the stream on any error of the callback; fn's own
	// error (or the context's, between entries) is returned as is, as the
	// Drive contract wants, the stream's and the decoder's are wrapped.
	var visitErr error
	err = st.Results(func(b *walkBatch) error {
		visitErr = visitBatch(ctx, b, fn)
		return visitErr
	})
	if visitErr != nil {
		return visitErr
	}
	if err != nil {
		return c.wrap(op, err)
	}
	return nil
}

// visitBatch calls fn for every entry of one batch. fn's error is returned as
// is; a cancelled ctx stops the walk between entries. The batch is reused for
// the next message, its entries are not: decoding gave each its own name and
// record, so fn may keep them.
func visitBatch(ctx context.Context, b *walkBatch, fn func(storage.MetaEntry) error) error {
	for _, e := range b.Entries {
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
//
// The entries of a batch are the drive's own until the batch is sent: a
// Drive hands fn entries it does not reuse (the local drive reads each
// record into a buffer of its own), so they are kept as they are, not
// copied. The batch is sent with the grid's send function, which encodes it
// at once: it is free again as soon as send returns, so one batch (from
// walkBatches) serves the whole walk, and a slow caller blocks the drive's
// callback in send, with nothing more walked ahead than a raw stream would.
func (s *Server) walkDirHandler(key string) func(context.Context, *storage.WalkDirOptions, <-chan *emptyMsg, func(*walkBatch) error) error {
	return func(ctx context.Context, opts *storage.WalkDirOptions, _ <-chan *emptyMsg, send func(*walkBatch) error) error {
		d, err := s.drive(key)
		if err != nil {
			return err
		}
		batch, _ := walkBatches.Get().(*walkBatch)
		if batch == nil {
			batch = &walkBatch{Entries: make([]storage.MetaEntry, 0, walkFirstBatch)}
		}
		defer func() {
			batch.Reset()
			walkBatches.Put(batch)
		}()
		limit, size := walkFirstBatch, 0 // size: an upper bound of the batch's encoding
		err = d.WalkDir(ctx, *opts, func(e storage.MetaEntry) error {
			batch.Entries = append(batch.Entries, e)
			if size += e.Msgsize(); len(batch.Entries) < limit && size < walkBatchBytes {
				return nil
			}
			// While the caller is slow, send blocks, which pauses the
			// walk; after cancellation the grid drops what it is sent.
			if err := send(batch); err != nil {
				return err
			}
			batch.Reset()
			size, limit = 0, min(2*limit, walkMaxBatch)
			return ctx.Err()
		})
		// Entries walked before an error are delivered before it, as a
		// local walk would have handed them to fn.
		if len(batch.Entries) > 0 && ctx.Err() == nil {
			if serr := send(batch); serr != nil && err == nil {
				err = serr
			}
		}
		return err
	}
}

// walkBatches holds the handlers' batches between walks, with the memory of
// their Entries (reset: they keep no entry).
var walkBatches sync.Pool
