package erasure

import (
	"fmt"
	"sync"

	"github.com/gridstore/gridstore/internal/iobuf"
	"github.com/klauspost/reedsolomon"
)

const (
	// DefaultBlockSize is the amount of object data encoded at a time.
	DefaultBlockSize = 1 << 20

	// MaxBlockSize bounds the memory one Encode, Decode or Heal holds: two
	// block buffers of up to twice the block size each (parity <= data).
	MaxBlockSize = 16 << 20

	// MaxShards is the largest erasure set we code for (DESIGN §5: 4-16 drives).
	MaxShards = 16
)

// Config describes one erasure layout. It is what the object layer records
// per object, so that the same layout can decode it later.
type Config struct {
	DataShards   int
	ParityShards int
	BlockSize    int // 0 means DefaultBlockSize
}

// Coder encodes and decodes objects for one Config. It is safe for
// concurrent use and pools its block buffers, so create one per layout and
// share it rather than one per request.
type Coder struct {
	data, parity int
	blockSize    int64
	shardSize    int64 // shard bytes of one full block; also the bitrot chunk size
	rs           reedsolomon.Encoder
	blocks       sync.Pool // *blockBuffer

	// sequentialIO makes Encode, Decode and Heal call the shard writers and
	// readers one after another from the caller's goroutine instead of one
	// goroutine per shard. Only tests and benchmarks set it, to measure what
	// the goroutines buy (BENCHMARKS.txt).
	sequentialIO bool
}

// NewCoder validates cfg and builds its Reed-Solomon matrices.
func NewCoder(cfg Config) (*Coder, error) {
	if cfg.BlockSize == 0 {
		cfg.BlockSize = DefaultBlockSize
	}
	switch {
	case cfg.DataShards < 1:
		return nil, fmt.Errorf("%w: %d data shards, need at least 1", ErrInvalidConfig, cfg.DataShards)
	case cfg.ParityShards < 1:
		return nil, fmt.Errorf("%w: %d parity shards, need at least 1", ErrInvalidConfig, cfg.ParityShards)
	case cfg.ParityShards > cfg.DataShards:
		// More parity than data would let two disjoint halves of the set
		// each hold a read quorum of different versions.
		return nil, fmt.Errorf("%w: %d parity shards exceed %d data shards", ErrInvalidConfig, cfg.ParityShards, cfg.DataShards)
	case cfg.DataShards+cfg.ParityShards > MaxShards:
		return nil, fmt.Errorf("%w: %d+%d shards exceed the maximum of %d", ErrInvalidConfig, cfg.DataShards, cfg.ParityShards, MaxShards)
	case cfg.BlockSize < 0 || cfg.BlockSize > MaxBlockSize:
		return nil, fmt.Errorf("%w: block size %d outside 1..%d", ErrInvalidConfig, cfg.BlockSize, MaxBlockSize)
	}
	c := &Coder{
		data:      cfg.DataShards,
		parity:    cfg.ParityShards,
		blockSize: int64(cfg.BlockSize),
		shardSize: ceilDiv(int64(cfg.BlockSize), int64(cfg.DataShards)),
	}
	rs, err := reedsolomon.New(c.data, c.parity, reedsolomon.WithAutoGoroutines(int(c.shardSize)))
	if err != nil {
		return nil, fmt.Errorf("%w: reedsolomon: %w", ErrInvalidConfig, err)
	}
	c.rs = rs
	return c, nil
}

// Config returns the layout c codes for, with BlockSize filled in.
func (c *Coder) Config() Config {
	return Config{DataShards: c.data, ParityShards: c.parity, BlockSize: int(c.blockSize)}
}

// DataShards returns the number of data shards, which is also the read quorum.
func (c *Coder) DataShards() int { return c.data }

// ParityShards returns the number of parity shards.
func (c *Coder) ParityShards() int { return c.parity }

// TotalShards returns data + parity.
func (c *Coder) TotalShards() int { return c.data + c.parity }

// BlockSize returns the number of object bytes encoded per block.
func (c *Coder) BlockSize() int64 { return c.blockSize }

// ShardSize returns the bytes each shard holds for one full block. It is the
// chunk size to give NewBitrotWriter and NewBitrotReader for this layout.
func (c *Coder) ShardSize() int64 { return c.shardSize }

// ReadQuorum returns how many healthy shards decoding needs.
func (c *Coder) ReadQuorum() int { return c.data }

// WriteQuorum returns how many shards a write must reach (DESIGN §5). With
// data == parity, two disjoint sets of `data` drives could each accept a
// different write; one more drive forces any two quorums to overlap.
func (c *Coder) WriteQuorum() int {
	if c.data == c.parity {
		return c.data + 1
	}
	return c.data
}

// BlockCount returns how many blocks an object of size bytes is coded in.
// An empty object has no blocks. Negative sizes count as empty.
func (c *Coder) BlockCount(size int64) int64 {
	if size <= 0 {
		return 0
	}
	return ceilDiv(size, c.blockSize)
}

// ShardFileSize returns the shard data bytes (bitrot hashes excluded) each
// shard holds for an object of size bytes. Negative sizes count as empty.
func (c *Coder) ShardFileSize(size int64) int64 {
	if size <= 0 {
		return 0
	}
	return c.shardOffset(size/c.blockSize) + ceilDiv(size%c.blockSize, int64(c.data))
}

// ShardDiskSize returns the size of one shard file on disk for an object of
// size bytes, bitrot hashes included.
func (c *Coder) ShardDiskSize(size int64) int64 {
	return bitrotDiskSize(c.ShardFileSize(size), c.shardSize)
}

// ShardRange returns the part of every shard's data, [shardOffset,
// shardOffset+shardLength), that holds the object bytes [offset,
// offset+length) of an object of size bytes. Shard readers given to Decode
// for that range must start at shardOffset. It is block (and so bitrot
// chunk) aligned. A zero length yields an empty range.
func (c *Coder) ShardRange(offset, length, size int64) (shardOffset, shardLength int64, err error) {
	if err := checkRange(offset, length, size); err != nil {
		return 0, 0, err
	}
	if length == 0 {
		return 0, 0, nil
	}
	first, last := c.blockSpan(offset, length)
	shardOffset = c.shardOffset(first)
	return shardOffset, c.shardOffset(last) + c.blockShardSize(last, size) - shardOffset, nil
}

// blockSpan returns the first and last block holding [offset, offset+length).
// length must be positive.
func (c *Coder) blockSpan(offset, length int64) (first, last int64) {
	return offset / c.blockSize, (offset + length - 1) / c.blockSize
}

// blockLength returns the object bytes in block b of an object of size bytes.
func (c *Coder) blockLength(b, size int64) int64 {
	return min(c.blockSize, size-b*c.blockSize)
}

// blockShardSize returns the bytes each shard holds for block b: the full
// shard size, or less for a short last block.
func (c *Coder) blockShardSize(b, size int64) int64 {
	return ceilDiv(c.blockLength(b, size), int64(c.data))
}

// shardOffset returns where block b starts in every shard's data. Only the
// last block may be short, so all blocks before b are full.
func (c *Coder) shardOffset(b int64) int64 {
	return b * c.shardSize
}

func checkRange(offset, length, size int64) error {
	if size < 0 || offset < 0 || length < 0 || offset > size || length > size-offset {
		return fmt.Errorf("%w: range offset %d length %d outside object of %d bytes", ErrInvalidArgument, offset, length, size)
	}
	return nil
}

// ceilDiv divides non-negative a by positive b, rounding up, without the
// overflow of (a+b-1)/b near the int64 limit.
func ceilDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 {
		q++
	}
	return q
}

// blockBuffer holds all shards of one block in a single allocation. Data
// shards come first and are contiguous, so a block's object bytes are
// backing[:blockLength] without any join or copy.
type blockBuffer struct {
	backing []byte
	shards  [][]byte
	// present marks which shards hold valid bytes for the block being
	// decoded; asked marks which shards were asked for it.
	present []bool
	asked   []bool
	// rel is where the block starts in the shard data of the range being
	// read, relative to the range start.
	rel int64
}

// getBlock takes a block buffer; its backing array, one block's shards
// with parity (2 MiB at 1 MiB blocks and half parity), comes from outside
// the Go heap (package iobuf) and goes back with putBlock.
func (c *Coder) getBlock() *blockBuffer {
	b, ok := c.blocks.Get().(*blockBuffer)
	if !ok {
		total := c.TotalShards()
		b = &blockBuffer{
			shards:  make([][]byte, total),
			present: make([]bool, total),
			asked:   make([]bool, total),
		}
	}
	b.backing = iobuf.Get(c.TotalShards() * int(c.shardSize))
	return b
}

// putBlock returns b's backing array, and keeps the rest of b (a few small
// slices) in the pool.
func (c *Coder) putBlock(b *blockBuffer) {
	iobuf.Put(b.backing)
	b.backing = nil
	clear(b.shards)
	c.blocks.Put(b)
}

// blockPair is the two buffers of a double-buffered coding loop: one being
// written (or read) while the next block goes into the other. The second
// is taken from the pool only once a second block needs it, so an object
// of one block, as most small ones are, holds one.
type blockPair struct {
	c    *Coder
	bufs [2]*blockBuffer
}

// get returns buffer i, taken from the pool if it has none.
func (p *blockPair) get(i int) *blockBuffer {
	if p.bufs[i] == nil {
		p.bufs[i] = p.c.getBlock()
	}
	return p.bufs[i]
}

// drop forgets buffer i without returning it to the pool (a writer still
// reads from it and returns it itself); the next get takes a fresh one.
func (p *blockPair) drop(i int) { p.bufs[i] = nil }

// release returns the buffers to the pool.
func (p *blockPair) release() {
	for i, b := range p.bufs {
		if b != nil {
			p.c.putBlock(b)
			p.bufs[i] = nil
		}
	}
}

// layout slices the backing array into shards of shardSize bytes each and
// clears the per-block read state. Capacities are capped at the shard so
// that reedsolomon, which reuses the capacity of an emptied shard, rebuilds
// it in place.
// count returns how many shards of the block b holds.
func (b *blockBuffer) count() int {
	n := 0
	for _, ok := range b.present {
		if ok {
			n++
		}
	}
	return n
}

func (b *blockBuffer) layout(shardSize int) {
	for i := range b.shards {
		lo, hi := i*shardSize, (i+1)*shardSize
		b.shards[i] = b.backing[lo:hi:hi]
		b.present[i] = false
		b.asked[i] = false
	}
}
