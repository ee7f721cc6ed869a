package erasure

import (
	"context"
	"fmt"
	"io"
)

// Heal rebuilds whole shards of an object of size bytes. writers[i] non-nil
// marks shard i as missing or outdated: it receives the rebuilt shard data,
// block by block, exactly as Encode wrote it (wrap it in a BitrotWriter for
// a shard file). Its reader is ignored. The other shards are read from
// readers as in Decode (from shard offset 0, nil = missing, data shards
// preferred) and any DataShards healthy ones suffice.
//
// writerErrs[i] is set for a target writer that failed; it is dropped and
// the others go on. readerErrs[i] tells why a source shard was unusable, so
// the caller can heal it too. Heal fails with an error wrapping
// ErrReadQuorum when a block has fewer than DataShards healthy sources, and
// with one wrapping ErrWriteQuorum when no target writer is left.
func (c *Coder) Heal(ctx context.Context, writers []io.Writer, readers []io.Reader, size int64) (writerErrs, readerErrs []error, err error) {
	total := c.TotalShards()
	if len(writers) != total || len(readers) != total {
		return nil, nil, fmt.Errorf("%w: heal: %d writers and %d readers for %d shards", ErrInvalidArgument, len(writers), len(readers), total)
	}
	if size < 0 {
		return nil, nil, fmt.Errorf("%w: heal: size %d", ErrInvalidArgument, size)
	}
	sources := make([]io.Reader, total)
	required := make([]bool, total)
	for i := range writers {
		if writers[i] != nil {
			required[i] = true
		} else {
			sources[i] = readers[i]
		}
	}

	out := newShardWriters(writers, !c.sequentialIO)
	defer out.close()
	in := newShardReaders(sources, c.data, !c.sequentialIO)
	defer in.close()
	for i, target := range required {
		if target {
			in.errs[i] = nil // not read, so not unhealthy
		} else {
			out.errs[i] = nil // not a target, so not failed
		}
	}
	if out.healthy == 0 {
		return out.errs, in.errs, nil
	}
	blocks := c.BlockCount(size)
	if blocks == 0 {
		return out.errs, in.errs, nil
	}
	if h := in.healthy(); h < c.data {
		return out.errs, in.errs, fmt.Errorf("heal: %d of %d source shards available, need %d: %w", h, total-out.healthy, c.data, ErrReadQuorum)
	}

	bufs := blockPair{c: c}
	defer bufs.release()
	defer out.wait()      // writers and readers must be done with bufs
	defer in.collect(nil) // before they go back to the pool

	finishWrites := func(block int64) error {
		out.wait()
		for i := range required {
			required[i] = required[i] && out.errs[i] == nil
		}
		if out.healthy == 0 {
			return fmt.Errorf("heal block %d: every target writer failed: %w", block, ErrWriteQuorum)
		}
		return nil
	}

	c.startBlockRead(in, bufs.get(0), 0, 0, size)
	for block, cur := int64(0), 0; block < blocks; block, cur = block+1, cur^1 {
		if err := ctx.Err(); err != nil {
			return out.errs, in.errs, fmt.Errorf("heal block %d: %w", block, err)
		}
		b := bufs.get(cur)
		if err := in.finish(b, block); err != nil {
			return out.errs, in.errs, fmt.Errorf("heal block %d: %w", block, err)
		}
		// The writers of the previous block used the other buffer.
		if err := finishWrites(block - 1); err != nil {
			return out.errs, in.errs, err
		}
		if block+1 < blocks {
			c.startBlockRead(in, bufs.get(cur^1), block+1, 0, size)
		}
		if err := c.reconstruct(b, required); err != nil {
			return out.errs, in.errs, fmt.Errorf("heal block %d: reconstruct: %w", block, err)
		}
		out.write(b.shards, block)
	}
	return out.errs, in.errs, finishWrites(blocks - 1)
}
