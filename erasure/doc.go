// Package erasure splits objects into Reed-Solomon coded shards and back,
// and protects every shard against bitrot.
//
// It sits between the object layer and the drives (DESIGN §1, §3) and does
// no I/O of its own: objects come in and go out as io.Reader/io.Writer, and
// shards as one io.Writer or io.Reader per drive of the erasure set.
//
// # Coding
//
// A Coder codes one layout: DataShards + ParityShards shards (1 <= parity
// <= data, at most 16 in all) and a block size (1 MiB by default). An
// object is coded block by block. Every block is split into DataShards
// equal shards, the last one zero padded, and ParityShards parity shards are
// computed from them, so each shard of a full block holds
// ShardSize() = ceil(BlockSize/DataShards) bytes. Only the last block of an
// object may be short; its shards hold ceil(len/DataShards) bytes. Shard i
// of an object is the concatenation of shard i of its blocks; an empty
// object has no blocks and empty shards. All of this arithmetic lives in
// coder.go (ShardFileSize, ShardRange, BlockCount).
//
// Encode streams an object into the shard writers, going on while a write
// quorum of them is healthy; EncodeWith can also leave behind a writer that
// holds the others back past their quorum (EncodeOptions.Grace). Decode streams any byte range back from any
// DataShards healthy shards, reading data shards only while they are all
// healthy. Heal rebuilds chosen shards from the others. All three pipeline
// one block ahead and talk to each shard from its own goroutine, so a slow
// drive costs the time of the slowest, not the sum.
//
// # Bitrot format
//
// A shard file is a sequence of records, one per block of the object:
//
//	record = hash chunk
//	hash   = HighwayHash-256(key, chunk)   32 bytes
//	chunk  = the shard's bytes of one block: ShardSize() bytes, the last
//	         record's chunk possibly fewer (never zero)
//
// The 32-byte key is fixed per deployment. An empty shard is an empty file;
// there is no header, so a shard file of n data bytes and chunk size c is
// n + 32*ceil(n/c) bytes long (Coder.ShardDiskSize, BitrotDiskSize) and the
// record of chunk k starts at k*(c+32) (BitrotDiskOffset), which lets a
// range read start at any block.
//
// BitrotWriter produces this format. BitrotReader reads it back from any
// chunk boundary and returns no byte of a chunk before the chunk has been
// verified: a mismatch is a *BitrotError (wrapping ErrBitrot) naming the
// chunk, a stream that ends early an error wrapping io.ErrUnexpectedEOF.
// Decode and Heal treat both like a missing shard.
//
// The hash covers a chunk's bytes only, not its position: it detects decay
// of the stored bytes, not records that were reordered or swapped between
// files, which the layers above guard against by where they put files.
package erasure
