package erasure

import "errors"

// Sentinel errors. Every error returned by this package that callers may want
// to act on wraps one of these, so errors.Is works through the added context.
var (
	// ErrInvalidConfig: a Config, key or chunk size that cannot work.
	ErrInvalidConfig = errors.New("erasure: invalid configuration")

	// ErrInvalidArgument: a call whose arguments do not fit the Coder
	// (wrong number of shards, impossible quorum, range outside the object).
	ErrInvalidArgument = errors.New("erasure: invalid argument")

	// ErrWriteQuorum: fewer writers than the write quorum are still healthy,
	// so what was written must not be committed.
	ErrWriteQuorum = errors.New("erasure: write quorum not met")

	// ErrReadQuorum: fewer than DataShards shards of a block are healthy, so
	// the block cannot be decoded. No byte of that block has been written.
	ErrReadQuorum = errors.New("erasure: read quorum not met")

	// ErrShardLate is what a shard reader's Read returns when Decode
	// interrupts it (Interrupter) because other shards made the block
	// first. The reader stays usable: the interrupted bytes are still
	// coming, and the next Read or Skip takes them.
	ErrShardLate = errors.New("erasure: shard read outrun by other shards")

	// ErrShardStraggler marks a shard writer EncodeWith abandoned because
	// it fell behind the write quorum by more than EncodeOptions.Grace:
	// the writer is slow, not failed, and what it wrote is incomplete.
	ErrShardStraggler = errors.New("erasure: shard writer left behind the write quorum")

	// ErrShardMissing marks a shard whose reader or writer was given as nil.
	ErrShardMissing = errors.New("erasure: shard missing")

	// ErrBitrot: a chunk's stored hash does not match its content. Returned
	// wrapped in *BitrotError, which names the chunk's offset.
	ErrBitrot = errors.New("erasure: bitrot detected")
)
